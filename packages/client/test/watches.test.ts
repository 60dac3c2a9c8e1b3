import { EventType } from '@zkts/codec';
import { describe, expect, it } from 'vitest';
import { type Watcher, WatchRegistry } from '../src/watches.js';

const w = (): Watcher => () => {};

describe('WatchRegistry', () => {
  it('fires data and exist watches on NodeDataChanged once', () => {
    const r = new WatchRegistry();
    const a = w();
    const b = w();
    r.add('data', '/x', a);
    r.add('exist', '/x', b);
    expect(r.materialize(EventType.NodeDataChanged, '/x')).toEqual(new Set([a, b]));
    expect(r.materialize(EventType.NodeDataChanged, '/x').size).toBe(0);
  });

  it('fires child watches only on NodeChildrenChanged and NodeDeleted', () => {
    const r = new WatchRegistry();
    const c = w();
    r.add('child', '/p', c);
    expect(r.materialize(EventType.NodeDataChanged, '/p').size).toBe(0);
    expect(r.materialize(EventType.NodeChildrenChanged, '/p')).toEqual(new Set([c]));
    r.add('child', '/p', c);
    expect(r.materialize(EventType.NodeDeleted, '/p')).toEqual(new Set([c]));
  });

  it('keeps persistent and recursive watches after they fire', () => {
    const r = new WatchRegistry();
    const p = w();
    const rec = w();
    r.add('persistent', '/a', p);
    r.add('persistentRecursive', '/', rec);
    expect(r.materialize(EventType.NodeDataChanged, '/a')).toEqual(new Set([p, rec]));
    expect(r.materialize(EventType.NodeCreated, '/a/b/c')).toEqual(new Set([rec]));
    expect(r.materialize(EventType.NodeDataChanged, '/a')).toEqual(new Set([p, rec]));
  });

  it('lists what to re-register and removes by kind', () => {
    const r = new WatchRegistry();
    const a = w();
    r.add('data', '/d', a);
    r.add('child', '/c', a);
    r.add('persistentRecursive', '/r', a);
    expect(r.snapshot()).toEqual({
      data: ['/d'],
      exist: [],
      child: ['/c'],
      persistent: [],
      persistentRecursive: ['/r'],
    });
    expect(r.remove(['child'], '/c')).toBe(true);
    expect(r.remove(['child'], '/c')).toBe(false);
    expect(r.has('data', '/d')).toBe(true);
    r.clear();
    expect(r.size).toBe(0);
  });

  it('takes one watcher or all of some kinds, and knows what is left on a path', () => {
    const r = new WatchRegistry();
    const a = w();
    const b = w();
    r.add('data', '/x', a);
    r.add('data', '/x', b);
    r.add('child', '/x', a);
    r.add('persistent', '/y', b);
    expect(r.hasWatcher('data', '/x', a)).toBe(true);
    expect(r.take(['data', 'exist'], '/x', a)).toEqual(new Set([a]));
    expect(r.hasWatcher('data', '/x', a)).toBe(false);
    expect(r.has('data', '/x')).toBe(true);
    expect(r.take(['data', 'exist'], '/x')).toEqual(new Set([b]));
    expect(r.has('data', '/x')).toBe(false);
    expect(r.hasAny('/x')).toBe(true);
    expect(r.take(['child'], '/x', b).size).toBe(0);
    expect(r.take(['child'], '/x')).toEqual(new Set([a]));
    expect(r.hasAny('/x')).toBe(false);
    expect(r.hasAny('/y')).toBe(true);
    expect(r.snapshot()).toEqual({
      data: [],
      exist: [],
      child: [],
      persistent: ['/y'],
      persistentRecursive: [],
    });
  });
});
