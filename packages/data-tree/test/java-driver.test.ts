import { type ApacheZooKeeper, type JavaDriver, startApacheZooKeeper, startJavaDriver } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientInfos, generateDigest } from '../src/index.js';

describe('Java driver over the Apache ZooKeeper client', () => {
  let zk: ApacheZooKeeper;
  let d: JavaDriver;
  beforeAll(async () => {
    zk = await startApacheZooKeeper();
    d = await startJavaDriver(zk.connectString);
  });
  afterAll(async () => {
    await d?.close();
    await zk?.stop();
  });

  it('creates a node and returns its full Stat', async () => {
    const r = await d.must({ op: 'create', path: '/drv', data: 'hello', mode: 0 });
    expect(r.path).toBe('/drv');
    expect(r.stat.dataLength).toBe(5);
    expect(r.stat.czxid).toBe(r.stat.mzxid);
    expect(typeof r.stat.czxid).toBe('bigint');
    const g = await d.must({ op: 'getData', path: '/drv' });
    expect(new TextDecoder().decode(g.data!)).toBe('hello');
    expect(g.stat).toEqual(r.stat);
  });

  it('reports server error codes', async () => {
    const r = await d.request({ op: 'delete', path: '/nope', version: -1 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(-101);
    const bad = await d.request({ op: 'setData', path: '/drv', data: 'x', version: 7 });
    expect(!bad.ok && bad.code).toBe(-103);
  });

  it('reports client-side refusals separately', async () => {
    const r = await d.request({ op: 'create', path: 'no-slash', data: null });
    expect(!r.ok && r.clientError).toBe('IllegalArgument');
  });

  it('delivers watch events as lines', async () => {
    await d.must({ op: 'exists', path: '/drv-w', watch: true });
    await d.must({ op: 'create', path: '/drv-w', data: null });
    const e = await d.waitForEvent((x) => x.path === '/drv-w');
    expect(e.type).toBe('NodeCreated');
    expect(e.typeCode).toBe(1);
  });

  it('returns per-op results of a failed multi', async () => {
    const r = await d.request({
      op: 'multi',
      ops: [
        { op: 'create', path: '/m1', data: null },
        { op: 'delete', path: '/missing' },
        { op: 'create', path: '/m2', data: null },
      ],
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(-101);
      expect(r.results?.map((x) => (x.type === 'error' ? x.code : x.type))).toEqual([0, -101, -2]);
    }
  });

  it('runs several sessions, auth and whoAmI', async () => {
    const c = await d.must({ op: 'connect', client: 'second' });
    expect(c.sessionId).not.toBe(0n);
    await d.must({ op: 'addAuth', client: 'second', scheme: 'digest', auth: 'bob:pw' });
    const who = await d.must({ op: 'whoAmI', client: 'second' });
    // (the server keeps a connection's ids in a set: compare without order)
    const byScheme = (a: { authScheme: string }, b: { authScheme: string }) =>
      a.authScheme.localeCompare(b.authScheme);
    expect([...who.clientInfo].sort(byScheme)).toEqual(
      clientInfos([
        { scheme: 'ip', id: '127.0.0.1' },
        { scheme: 'digest', id: generateDigest('bob:pw') },
      ]).sort(byScheme),
    );
    await d.must({ op: 'create', client: 'second', path: '/eph', data: null, mode: 1 });
    const e = await d.must({ op: 'getEphemerals', client: 'second' });
    expect(e.paths).toEqual(['/eph']);
    await d.must({ op: 'close', client: 'second' });
    const gone = await d.must({ op: 'exists', path: '/eph' });
    expect(gone.stat).toBeNull();
  });

  it('covers ACLs, counts, sync, persistent watches and removeWatches', async () => {
    await d.must({
      op: 'create',
      path: '/acl',
      data: 'a',
      acl: [{ perms: 1, scheme: 'world', id: 'anyone' }],
    });
    const g = await d.must({ op: 'getACL', path: '/acl' });
    expect(g.acl).toEqual([{ perms: 1, scheme: 'world', id: 'anyone' }]);
    const denied = await d.request({ op: 'setData', path: '/acl', data: 'b' });
    expect(!denied.ok && denied.code).toBe(-102);
    await d.must({ op: 'create', path: '/acl2', data: null });
    const s = await d.must({
      op: 'setACL',
      path: '/acl2',
      acl: [{ perms: 31, scheme: 'world', id: 'anyone' }],
      version: 0,
    });
    expect(s.stat.aversion).toBe(1);
    await d.must({ op: 'create', path: '/acl2/x', data: null });
    expect((await d.must({ op: 'getAllChildrenNumber', path: '/acl2' })).count).toBe(1);
    const c2 = await d.must({ op: 'getChildren2', path: '/acl2' });
    expect(c2.children).toEqual(['x']);
    expect(c2.stat.numChildren).toBe(1);
    await d.must({ op: 'sync', path: '/' });
    await d.must({ op: 'addWatch', path: '/acl2', mode: 1 });
    await d.must({ op: 'setData', path: '/acl2/x', data: 'y' });
    const e = await d.waitForEvent((x) => x.path === '/acl2/x' && x.type === 'NodeDataChanged');
    expect(e.typeCode).toBe(3);
    await d.must({ op: 'getData', path: '/acl2', watch: true });
    await d.must({ op: 'removeWatches', path: '/acl2', watcherType: 2 });
    const none = await d.request({ op: 'removeWatches', path: '/nowatch', watcherType: 1 });
    expect(!none.ok && none.code).toBe(-121);
  });
});
