import { AddWatchMode, CreateMode, EventType, WatcherType } from '@zkts/codec';
import { describe, expect, it } from 'vitest';
import { Harness } from './harness.js';

const ev = (r: { notifications: { watcher: string; type: number; path: string }[] }) =>
  r.notifications.map((n) => `${n.watcher} ${n.type} ${n.path}`);

describe('one-shot watches', () => {
  it('exists on a missing node fires NodeCreated once', () => {
    const h = new Harness();
    expect(h.tree.exists('/a', { authIds: [], watcher: 'w' })).toBeNull();
    expect(ev(h.create('/a'))).toEqual([`w ${EventType.NodeCreated} /a`]);
    expect(ev(h.delete('/a'))).toEqual([]);
  });

  it('getData fires NodeDataChanged or NodeDeleted, once', () => {
    const h = new Harness();
    h.create('/a');
    h.tree.getData('/a', { authIds: [], watcher: 'w' });
    expect(ev(h.setData('/a', 'x'))).toEqual([`w ${EventType.NodeDataChanged} /a`]);
    expect(ev(h.setData('/a', 'y'))).toEqual([]);
    h.tree.getData('/a', { authIds: [], watcher: 'w' });
    expect(ev(h.delete('/a'))).toEqual([`w ${EventType.NodeDeleted} /a`]);
  });

  it('getChildren fires NodeChildrenChanged on child create and delete, NodeDeleted on the node, not on its data', () => {
    const h = new Harness();
    h.create('/p');
    h.tree.getChildren('/p', { authIds: [], watcher: 'w' });
    expect(ev(h.setData('/p', 'x'))).toEqual([]);
    expect(ev(h.create('/p/c'))).toEqual([`w ${EventType.NodeChildrenChanged} /p`]);
    h.tree.getChildren('/p', { authIds: [], watcher: 'w' });
    expect(ev(h.delete('/p/c'))).toEqual([`w ${EventType.NodeChildrenChanged} /p`]);
    h.tree.getChildren('/p', { authIds: [], watcher: 'w' });
    expect(ev(h.delete('/p'))).toEqual([`w ${EventType.NodeDeleted} /p`]);
  });

  it('gives a watcher with both a data and a child watch one NodeDeleted', () => {
    const h = new Harness();
    h.create('/a');
    h.tree.getData('/a', { authIds: [], watcher: 'w' });
    h.tree.getChildren('/a', { authIds: [], watcher: 'w' });
    h.tree.getData('/a', { authIds: [], watcher: 'v' });
    expect(ev(h.delete('/a'))).toEqual([`w ${EventType.NodeDeleted} /a`, `v ${EventType.NodeDeleted} /a`]);
  });

  it('reports a child watch on / as "/"', () => {
    const h = new Harness();
    h.tree.getChildren('/', { authIds: [], watcher: 'w' });
    expect(ev(h.create('/x'))).toEqual([`w ${EventType.NodeChildrenChanged} /`]);
  });

  it('registers no watch when getData or getChildren fails', () => {
    const h = new Harness();
    expect(() => h.tree.getData('/a', { authIds: [], watcher: 'w' })).toThrow();
    expect(() => h.tree.getChildren('/a', { authIds: [], watcher: 'w' })).toThrow();
    expect(ev(h.create('/a'))).toEqual([]);
  });

  it('fires for ephemerals deleted by closeSession', () => {
    const h = new Harness();
    h.session(1n);
    h.create('/e', '', CreateMode.EPHEMERAL);
    h.tree.exists('/e', { authIds: [], watcher: 'w' });
    h.tree.getChildren('/', { authIds: [], watcher: 'w' });
    expect(ev(h.run({ type: 'closeSession' }, 1n))).toEqual([
      `w ${EventType.NodeDeleted} /e`,
      `w ${EventType.NodeChildrenChanged} /`,
    ]);
  });

  it('fires nothing for a failed multi and everything for a successful one', () => {
    const h = new Harness();
    h.tree.exists('/m', { authIds: [], watcher: 'w' });
    const bad = h.run({
      type: 'multi',
      ops: [
        {
          type: 'create',
          path: '/m',
          data: new Uint8Array(),
          acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
          flags: 0,
        },
        { type: 'check', path: '/nope', version: 0 },
      ],
    });
    expect(ev(bad)).toEqual([]);
    const good = h.run({
      type: 'multi',
      ops: [
        {
          type: 'create',
          path: '/m',
          data: new Uint8Array(),
          acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
          flags: 0,
        },
      ],
    });
    expect(ev(good)).toEqual([`w ${EventType.NodeCreated} /m`]);
  });
});

describe('persistent watches (addWatch)', () => {
  it('PERSISTENT fires every data and child event on the path and stays', () => {
    const h = new Harness();
    h.tree.addWatch('/a', AddWatchMode.PERSISTENT, 'w');
    expect(ev(h.create('/a'))).toEqual([`w ${EventType.NodeCreated} /a`]);
    expect(ev(h.setData('/a', 'x'))).toEqual([`w ${EventType.NodeDataChanged} /a`]);
    expect(ev(h.create('/a/b'))).toEqual([`w ${EventType.NodeChildrenChanged} /a`]);
    expect(ev(h.setData('/a/b', 'x'))).toEqual([]);
    expect(ev(h.delete('/a/b'))).toEqual([`w ${EventType.NodeChildrenChanged} /a`]);
    expect(ev(h.delete('/a'))).toEqual([`w ${EventType.NodeDeleted} /a`]);
    expect(ev(h.create('/a'))).toEqual([`w ${EventType.NodeCreated} /a`]);
  });

  it('PERSISTENT_RECURSIVE fires for the whole subtree but never NodeChildrenChanged', () => {
    const h = new Harness();
    h.create('/a');
    h.tree.addWatch('/a', AddWatchMode.PERSISTENT_RECURSIVE, 'w');
    expect(ev(h.create('/a/b'))).toEqual([`w ${EventType.NodeCreated} /a/b`]);
    expect(ev(h.create('/a/b/c'))).toEqual([`w ${EventType.NodeCreated} /a/b/c`]);
    expect(ev(h.setData('/a/b/c', 'x'))).toEqual([`w ${EventType.NodeDataChanged} /a/b/c`]);
    expect(ev(h.delete('/a/b/c'))).toEqual([`w ${EventType.NodeDeleted} /a/b/c`]);
    expect(ev(h.create('/other'))).toEqual([]);
  });

  it('a one-shot watch on the same path replaces the persistent mode', () => {
    const h = new Harness();
    h.create('/a');
    h.tree.addWatch('/a', AddWatchMode.PERSISTENT, 'w');
    h.tree.getData('/a', { authIds: [], watcher: 'w' });
    expect(ev(h.setData('/a', 'x'))).toEqual([`w ${EventType.NodeDataChanged} /a`]);
    expect(ev(h.setData('/a', 'y'))).toEqual([]);
  });
});

describe('removeWatches and checkWatches', () => {
  it('remove by type and report NoWatcher (false) when nothing matches', () => {
    const h = new Harness();
    h.create('/a');
    h.tree.getData('/a', { authIds: [], watcher: 'w' });
    h.tree.getChildren('/a', { authIds: [], watcher: 'w' });
    expect(h.tree.checkWatches('/a', WatcherType.Data, 'w')).toBe(true);
    expect(h.tree.checkWatches('/a', WatcherType.Data, 'v')).toBe(false);
    expect(h.tree.removeWatches('/a', WatcherType.Children, 'w')).toBe(true);
    expect(h.tree.removeWatches('/a', WatcherType.Children, 'w')).toBe(false);
    expect(ev(h.create('/a/b'))).toEqual([]);
    expect(h.tree.removeWatches('/a', WatcherType.Any, 'w')).toBe(true);
    expect(ev(h.setData('/a', 'x'))).toEqual([]);
    expect(h.tree.checkWatches('/a', WatcherType.Any, 'w')).toBe(false);
  });

  it('drops every watch of a watcher whose connection closed', () => {
    const h = new Harness();
    h.tree.exists('/a', { authIds: [], watcher: 'w' });
    h.tree.addWatch('/', AddWatchMode.PERSISTENT_RECURSIVE, 'w');
    expect(h.tree.watches.size).toBe(3);
    h.tree.watches.removeWatcher('w');
    expect(h.tree.watches.size).toBe(0);
    expect(ev(h.create('/a'))).toEqual([]);
  });
});

describe('setWatches after a reconnect', () => {
  it('fires at once what the client missed since its last zxid and re-registers the rest', () => {
    const h = new Harness();
    h.create('/same');
    h.create('/changed');
    h.create('/kids');
    h.create('/gone');
    const last = h.zxid;
    h.setData('/changed', 'x');
    h.create('/kids/k');
    h.delete('/gone');
    h.create('/born');
    const fired = h.tree.setWatches(
      last,
      {
        dataWatches: ['/same', '/changed', '/gone'],
        existWatches: ['/born', '/unborn'],
        childWatches: ['/kids', '/same'],
        persistentWatches: ['/p'],
        persistentRecursiveWatches: ['/r'],
      },
      'w',
    );
    expect(fired.map((n) => `${n.type} ${n.path}`)).toEqual([
      `${EventType.NodeDataChanged} /changed`,
      `${EventType.NodeDeleted} /gone`,
      `${EventType.NodeCreated} /born`,
      `${EventType.NodeChildrenChanged} /kids`,
    ]);
    expect(ev(h.setData('/same', 'y'))).toEqual([`w ${EventType.NodeDataChanged} /same`]);
    expect(ev(h.create('/unborn'))).toEqual([`w ${EventType.NodeCreated} /unborn`]);
    expect(ev(h.create('/same/c'))).toEqual([`w ${EventType.NodeChildrenChanged} /same`]);
    expect(ev(h.create('/p'))).toEqual([`w ${EventType.NodeCreated} /p`]);
    expect(ev(h.create('/r'))).toEqual([`w ${EventType.NodeCreated} /r`]);
    expect(ev(h.create('/r/x'))).toEqual([`w ${EventType.NodeCreated} /r/x`]);
  });
});
