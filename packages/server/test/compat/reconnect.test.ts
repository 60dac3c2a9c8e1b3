/**
 * The server restarts on the same port and data directory within the session timeout: Apache's
 * Java client reconnects, resumes its session and re-registers its watches (setWatches2, persistent
 * ones included); ephemerals survive and every watch fires after the restart.
 */
import { type JavaDriver, startJavaDriver } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTarget, TARGETS, type Target } from './targets.js';

describe.each(TARGETS)('reconnect after a restart of %s', (name) => {
  let target: Target;
  let zk: JavaDriver;
  beforeAll(async () => {
    target = await startTarget(name);
    zk = await startJavaDriver(target.connectString, { sessionTimeout: 30_000 });
  });
  afterAll(async () => {
    await zk?.close();
    await target?.stop();
  });

  it('resumes the session and re-registers every watch with setWatches2', async () => {
    const { sessionId } = await zk.must({ op: 'sessionId' });
    await zk.must({ op: 'create', path: '/r', data: 'v0' });
    await zk.must({ op: 'create', path: '/eph', data: '', mode: 1 });
    await zk.must({ op: 'create', path: '/p', data: '' });
    await zk.must({ op: 'create', path: '/pr', data: '' });
    await zk.must({ op: 'create', path: '/gone', data: '' });
    await zk.must({ op: 'getData', path: '/r', watch: true });
    await zk.must({ op: 'getChildren', path: '/r', watch: true });
    await zk.must({ op: 'exists', path: '/r-new', watch: true });
    await zk.must({ op: 'exists', path: '/gone', watch: true });
    await zk.must({ op: 'addWatch', path: '/p', mode: 0 });
    await zk.must({ op: 'addWatch', path: '/pr', mode: 1 });
    // A second session without persistent watches re-registers with the older setWatches.
    await zk.must({ op: 'connect', client: 'plain' });
    await zk.must({ op: 'create', client: 'plain', path: '/r2', data: '' });
    await zk.must({ op: 'getData', client: 'plain', path: '/r2', watch: true });
    const before = zk.events.length;

    await target.restart();
    await zk.waitForEvent((e, i = zk.events.indexOf(e)) => i >= before && e.state === 'Disconnected', 20_000);
    await zk.waitForEvent(
      (e, i = zk.events.indexOf(e)) => i >= before && e.type === 'None' && e.state === 'SyncConnected',
      30_000,
    );
    expect((await zk.must({ op: 'sessionId' })).sessionId).toBe(sessionId);
    expect((await zk.must({ op: 'exists', path: '/eph' })).stat?.ephemeralOwner).toBe(sessionId);
    // The server holds the re-registered watches.
    const wchp = await target.fourLetterWord('wchp');
    for (const p of ['/r', '/r-new', '/gone']) expect(wchp).toContain(`${p}\n`);

    // Another session triggers every watch.
    await zk.must({ op: 'connect', client: 'other' });
    await zk.must({ op: 'setData', client: 'other', path: '/r', data: 'v1' });
    await zk.must({ op: 'create', client: 'other', path: '/r/c', data: '' });
    await zk.must({ op: 'create', client: 'other', path: '/r-new', data: '' });
    await zk.must({ op: 'delete', client: 'other', path: '/gone' });
    await zk.must({ op: 'setData', client: 'other', path: '/p', data: 'x' });
    await zk.must({ op: 'setData', client: 'other', path: '/p', data: 'y' });
    await zk.must({ op: 'create', client: 'other', path: '/pr/a', data: '' });
    await zk.must({ op: 'create', client: 'other', path: '/pr/a/b', data: '' });
    await zk.must({ op: 'setData', client: 'other', path: '/r2', data: 'x' });
    await zk.waitForEvent(
      (e) => e.client === 'plain' && e.type === 'NodeDataChanged' && e.path === '/r2',
      10_000,
    );
    expect((await zk.request({ op: 'getData', client: 'plain', path: '/r2' })).ok).toBe(true);
    const want: Array<[string, string]> = [
      ['NodeDataChanged', '/r'],
      ['NodeChildrenChanged', '/r'],
      ['NodeCreated', '/r-new'],
      ['NodeDeleted', '/gone'],
      ['NodeDataChanged', '/p'],
      ['NodeCreated', '/pr/a'],
      ['NodeCreated', '/pr/a/b'],
    ];
    for (const [type, path] of want) {
      await zk.waitForEvent((e) => e.client === 'default' && e.type === type && e.path === path, 10_000);
    }
    // The persistent watch stays: both changes of /p arrive.
    await zk
      .waitForEvent(
        () =>
          zk.events.filter((e) => e.client === 'default' && e.type === 'NodeDataChanged' && e.path === '/p')
            .length === 2,
        10_000,
      )
      .catch(() => undefined);
    expect(
      zk.events.filter((e) => e.client === 'default' && e.type === 'NodeDataChanged' && e.path === '/p'),
    ).toHaveLength(2);
    await zk.must({ op: 'close', client: 'other' });
    await zk.must({ op: 'close', client: 'plain' });
  });
});
