import { CreateMode, ErrorCode, Perms } from '@zkts/codec';
import { describe, expect, it } from 'vitest';
import { CONTAINER_EPHEMERAL_OWNER, DataTree, OPEN_ACL_UNSAFE, ttlToEphemeralOwner } from '../src/index.js';
import { dec, enc, Harness, IP } from './harness.js';

describe('the initial tree', () => {
  it('has /, /zookeeper, /zookeeper/quota and /zookeeper/config with ZooKeeper stats', () => {
    const t = new DataTree();
    expect(t.paths().sort()).toEqual(['/', '/zookeeper', '/zookeeper/config', '/zookeeper/quota']);
    // children added at start-up do not count as creations: cversion reads -numChildren
    expect(t.statNode('/')?.cversion).toBe(-1);
    expect(t.statNode('/zookeeper')?.cversion).toBe(-2);
    expect(t.statNode('/zookeeper/config')?.aversion).toBe(-1);
    expect(t.aclOf('/zookeeper/config')).toEqual([
      { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
    ]);
    expect(t.lastZxid).toBe(0n);
  });
});

describe('create', () => {
  it('gives a persistent node a fresh Stat: czxid = mzxid = pzxid = its zxid, versions 0', () => {
    const h = new Harness();
    const r = h.create('/a', 'hello');
    expect(r.err).toBe(0);
    expect(r.path).toBe('/a');
    expect(r.stat).toEqual({
      czxid: 1n,
      mzxid: 1n,
      pzxid: 1n,
      ctime: h.time,
      mtime: h.time,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0n,
      dataLength: 5,
      numChildren: 0,
    });
    expect(dec(h.tree.getData('/a', { authIds: [] }).data ?? new Uint8Array(0))).toBe('hello');
  });

  it("moves the parent's cversion, pzxid and numChildren but not its mzxid or version", () => {
    const h = new Harness();
    h.create('/p');
    h.create('/p/c');
    const p = h.stat('/p');
    expect(p).toMatchObject({ cversion: 1, pzxid: 2n, numChildren: 1, mzxid: 1n, version: 0 });
  });

  it('rejects a node whose parent does not exist with NoNode', () => {
    const h = new Harness();
    expect(h.create('/x/y').err).toBe(ErrorCode.NoNode);
  });

  it('rejects an existing path with NodeExists', () => {
    const h = new Harness();
    h.create('/a');
    const r = h.create('/a');
    expect(r.err).toBe(ErrorCode.NodeExists);
    expect(r.error?.path).toBe('/a');
  });

  it('still takes a zxid for a rejected request (an error txn)', () => {
    const h = new Harness();
    h.create('/a');
    h.create('/a');
    expect(h.tree.lastZxid).toBe(2n);
    expect(h.create('/b').stat?.czxid).toBe(3n);
  });

  it('makes an ephemeral node owned by the session', () => {
    const h = new Harness();
    h.session(77n);
    const r = h.create('/e', '', CreateMode.EPHEMERAL, { session: 77n });
    expect(r.stat?.ephemeralOwner).toBe(77n);
    expect(h.tree.getEphemerals(77n)).toEqual(['/e']);
  });

  it('refuses an ephemeral for a session the tree does not know with SessionExpired', () => {
    const h = new Harness();
    expect(h.create('/e', '', CreateMode.EPHEMERAL, { session: 5n }).err).toBe(ErrorCode.SessionExpired);
  });

  it('refuses children of an ephemeral node with NoChildrenForEphemerals', () => {
    const h = new Harness();
    h.session(1n);
    h.create('/e', '', CreateMode.EPHEMERAL);
    expect(h.create('/e/c').err).toBe(ErrorCode.NoChildrenForEphemerals);
  });

  it('allows children under containers and TTL nodes', () => {
    const h = new Harness();
    h.create('/c', '', CreateMode.CONTAINER);
    h.create('/t', '', CreateMode.PERSISTENT_WITH_TTL, { ttl: 1000 });
    expect(h.create('/c/x').err).toBe(0);
    expect(h.create('/t/x').err).toBe(0);
  });

  it('hides the container and TTL owners from clients (ephemeralOwner 0) but keeps them internally', () => {
    const h = new Harness();
    expect(h.create('/c', '', CreateMode.CONTAINER).stat?.ephemeralOwner).toBe(0n);
    expect(h.create('/t', '', CreateMode.PERSISTENT_WITH_TTL, { ttl: 500 }).stat?.ephemeralOwner).toBe(0n);
    expect(ttlToEphemeralOwner(500n)).toBe(BigInt.asIntN(64, 0xff000000000001f4n));
    expect(CONTAINER_EPHEMERAL_OWNER).toBe(-(2n ** 63n));
  });

  it('validates the TTL: 1..2^40-1 for TTL modes, none for the others', () => {
    const h = new Harness();
    expect(h.create('/t0', '', CreateMode.PERSISTENT_WITH_TTL, { ttl: 0 }).err).toBe(ErrorCode.BadArguments);
    expect(h.create('/t1', '', CreateMode.PERSISTENT_WITH_TTL, { ttl: 2 ** 40 }).err).toBe(
      ErrorCode.BadArguments,
    );
    expect(h.create('/t2', '', CreateMode.PERSISTENT_WITH_TTL, { ttl: 2 ** 40 - 1 }).err).toBe(0);
    expect(h.create('/t3', '', CreateMode.PERSISTENT, { ttl: 10 }).err).toBe(ErrorCode.BadArguments);
    expect(h.create('/t4', '', CreateMode.PERSISTENT_WITH_TTL).err).toBe(ErrorCode.BadArguments);
  });

  it('answers TTL modes with Unimplemented when extended types are off', () => {
    const h = new Harness({ extendedTypesEnabled: false });
    expect(h.create('/t', '', CreateMode.PERSISTENT_WITH_TTL, { ttl: 10 }).err).toBe(ErrorCode.Unimplemented);
  });

  it('rejects unknown create flags with BadArguments', () => {
    const h = new Harness();
    expect(h.create('/x', '', 9).err).toBe(ErrorCode.BadArguments);
  });

  it('rejects data over the maximum size with BadArguments', () => {
    const h = new Harness({ maxDataBytes: 8 });
    expect(h.create('/big', '123456789').err).toBe(ErrorCode.BadArguments);
    expect(h.create('/ok', '12345678').err).toBe(0);
    expect(h.setData('/ok', '123456789').err).toBe(ErrorCode.BadArguments);
  });

  it.each([
    ['no leading slash', 'a'],
    ['trailing slash', '/a/'],
    ['dot component', '/a/.'],
    ['dot-dot component', '/a/..'],
    ['control character', '/a\u0001'],
    ['surrogate (non-BMP character)', '/a\u{1f600}'],
  ])('rejects an invalid path (%s) with BadArguments', (_why, path) => {
    const h = new Harness();
    h.create('/a');
    expect(h.create(path).err).toBe(ErrorCode.BadArguments);
  });

  it('answers NoNode when the invalid part is in the parent: the parent is looked up before the path is validated', () => {
    const h = new Harness();
    h.create('/a');
    expect(h.create('/a//b').err).toBe(ErrorCode.NoNode);
    expect(h.create('/a/../b').err).toBe(ErrorCode.NoNode);
  });

  it('accepts names that merely contain dots', () => {
    const h = new Harness();
    expect(h.create('/.a').err).toBe(0);
    expect(h.create('/...').err).toBe(0);
    expect(h.create('/a.b').err).toBe(0);
  });
});

describe('sequential nodes', () => {
  it("suffixes the name with %010d of the parent's cversion", () => {
    const h = new Harness();
    h.create('/q');
    expect(h.create('/q/n-', '', CreateMode.PERSISTENT_SEQUENTIAL).path).toBe('/q/n-0000000000');
    h.create('/q/other');
    h.delete('/q/other');
    // two creations so far, and the delete does not move the persisted cversion
    expect(h.create('/q/n-', '', CreateMode.PERSISTENT_SEQUENTIAL).path).toBe('/q/n-0000000002');
  });

  it('gives the child of a sequential parent a name from that parent only', () => {
    const h = new Harness();
    h.create('/q');
    const p = h.create('/q/p-', '', CreateMode.PERSISTENT_SEQUENTIAL).path!;
    expect(h.create(`${p}/c-`, '', CreateMode.PERSISTENT_SEQUENTIAL).path).toBe(`${p}/c-0000000000`);
  });

  it('numbers ephemeral sequential and TTL sequential nodes the same way', () => {
    const h = new Harness();
    h.session(1n);
    h.create('/q');
    expect(h.create('/q/', '', CreateMode.EPHEMERAL_SEQUENTIAL).path).toBe('/q/0000000000');
    expect(h.create('/q/t', '', CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, { ttl: 5 }).path).toBe(
      '/q/t0000000001',
    );
  });

  it('numbers consecutive creates prepped before either is applied from the outstanding changes', () => {
    const t = new DataTree();
    const ctx = (z: bigint) => ({ sessionId: 1n, authIds: [IP], zxid: z, time: 0n });
    t.apply(
      t.prep({ type: 'create', path: '/q', data: enc(''), acl: OPEN_ACL_UNSAFE, flags: 0 }, ctx(1n)).txn,
      1n,
      0n,
    );
    const req = { type: 'create', path: '/q/n', data: enc(''), acl: OPEN_ACL_UNSAFE, flags: 2 } as const;
    const a = t.prep(req, ctx(2n)).txn;
    const b = t.prep(req, ctx(3n)).txn;
    expect(t.outstandingChanges).toBe(4);
    expect(t.apply(a, 2n, 0n).path).toBe('/q/n0000000000');
    expect(t.apply(b, 3n, 0n).path).toBe('/q/n0000000001');
    expect(t.outstandingChanges).toBe(0);
  });

  it('formats a cversion past 2147483647 as Java does: the int wraps and the name collides', () => {
    const h = new Harness();
    h.create('/q');
    h.tree.setCversionPzxid('/q', 2147483646, 5n);
    expect(h.create('/q/n', '', CreateMode.PERSISTENT_SEQUENTIAL).path).toBe('/q/n2147483646');
    expect(h.create('/q/n', '', CreateMode.PERSISTENT_SEQUENTIAL).path).toBe('/q/n2147483647');
    // the parent's cversion wrapped to -2147483648, which is not larger, so it stays put...
    expect(h.create('/q/n', '', CreateMode.PERSISTENT_SEQUENTIAL).err).toBe(ErrorCode.NodeExists);
  });

  it('writes negative sequence numbers with the sign first', () => {
    const t = new DataTree();
    expect(t).toBeDefined();
    return import('../src/index.js').then(({ sequenceSuffix }) => {
      expect(sequenceSuffix(-5)).toBe('-000000005');
      expect(sequenceSuffix(-2147483648)).toBe('-2147483648');
      expect(sequenceSuffix(42)).toBe('0000000042');
    });
  });
});

describe('delete', () => {
  it("sets the parent's pzxid, lowers numChildren and so raises the visible cversion by one", () => {
    const h = new Harness();
    h.create('/p');
    h.create('/p/c');
    expect(h.stat('/p').cversion).toBe(1);
    const r = h.delete('/p/c');
    expect(r.err).toBe(0);
    expect(h.stat('/p')).toMatchObject({ pzxid: 3n, numChildren: 0, cversion: 2 });
  });

  it('checks the version: -1 matches any, others must equal, BadVersion otherwise', () => {
    const h = new Harness();
    h.create('/a');
    h.setData('/a', 'x');
    expect(h.delete('/a', 0).err).toBe(ErrorCode.BadVersion);
    expect(h.delete('/a', 1).err).toBe(0);
    h.create('/b');
    expect(h.delete('/b', -1).err).toBe(0);
  });

  it('refuses a node with children with NotEmpty', () => {
    const h = new Harness();
    h.create('/a');
    h.create('/a/b');
    expect(h.delete('/a').err).toBe(ErrorCode.NotEmpty);
  });

  it('answers NoNode for a missing node and BadArguments for /, /zookeeper and its system nodes', () => {
    const h = new Harness();
    expect(h.delete('/nope').err).toBe(ErrorCode.NoNode);
    for (const p of ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']) {
      expect(h.delete(p).err).toBe(ErrorCode.BadArguments);
    }
  });

  it('sees a delete prepped but not yet applied (outstanding change)', () => {
    const t = new DataTree();
    const ctx = (z: bigint) => ({ sessionId: 1n, authIds: [IP], zxid: z, time: 0n });
    t.apply(
      t.prep({ type: 'create', path: '/a', data: enc(''), acl: OPEN_ACL_UNSAFE, flags: 0 }, ctx(1n)).txn,
      1n,
      0n,
    );
    t.prep({ type: 'delete', path: '/a', version: -1 }, ctx(2n));
    expect(t.prep({ type: 'setData', path: '/a', data: enc('x'), version: -1 }, ctx(3n)).error?.code).toBe(
      ErrorCode.NoNode,
    );
    expect(
      t.prep({ type: 'create', path: '/a', data: enc(''), acl: OPEN_ACL_UNSAFE, flags: 0 }, ctx(4n)).error,
    ).toBe(undefined);
  });
});

describe('setData', () => {
  it('sets data, mzxid, mtime and version+1, leaving czxid, cversion and pzxid', () => {
    const h = new Harness();
    h.create('/a', 'one');
    const r = h.setData('/a', 'three');
    expect(r.stat).toMatchObject({
      czxid: 1n,
      mzxid: 2n,
      pzxid: 1n,
      version: 1,
      dataLength: 5,
      mtime: h.time,
    });
    expect(r.stat!.ctime).toBeLessThan(r.stat!.mtime);
  });

  it('checks the version', () => {
    const h = new Harness();
    h.create('/a');
    expect(h.setData('/a', 'x', 3).err).toBe(ErrorCode.BadVersion);
    expect(h.setData('/a', 'x', 0).stat?.version).toBe(1);
    expect(h.setData('/a', 'x', 1).stat?.version).toBe(2);
  });

  it('answers NoNode for a missing node', () => {
    expect(new Harness().setData('/nope', 'x').err).toBe(ErrorCode.NoNode);
  });

  it('wraps the version past 2147483647 as a Java int', () => {
    const h = new Harness();
    h.create('/a');
    const t = h.tree;
    // version comes from the txn, so a txn may carry the largest version
    t.apply(
      { sessionId: 1n, cxid: 0, body: { type: 'setData', path: '/a', data: enc(''), version: 2147483647 } },
      10n,
      0n,
    );
    h.zxid = 10n;
    expect(h.setData('/a', 'x').stat?.version).toBe(-2147483648);
  });
});

describe('setACL and getACL', () => {
  it('replaces the ACL and bumps aversion, checked against the expected aversion', () => {
    const h = new Harness();
    h.create('/a');
    const acl = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
    expect(h.run({ type: 'setACL', path: '/a', acl, version: 5 }).err).toBe(ErrorCode.BadVersion);
    const r = h.run({ type: 'setACL', path: '/a', acl, version: 0 });
    expect(r.stat).toMatchObject({ aversion: 1, version: 0, mzxid: 1n });
    expect(h.tree.getACL('/a', { authIds: [] }).acl).toEqual(acl);
  });

  it('checks the ACL list before looking the node up (InvalidACL wins over NoNode)', () => {
    const h = new Harness();
    expect(h.run({ type: 'setACL', path: '/nope', acl: [], version: -1 }).err).toBe(ErrorCode.InvalidACL);
    expect(h.run({ type: 'setACL', path: '/nope', acl: OPEN_ACL_UNSAFE, version: -1 }).err).toBe(
      ErrorCode.NoNode,
    );
  });
});

describe('check', () => {
  it('passes on the right version and fails with BadVersion or NoNode, changing nothing', () => {
    const h = new Harness();
    h.create('/a');
    const before = h.tree.digest;
    expect(h.run({ type: 'check', path: '/a', version: 0 }).err).toBe(0);
    expect(h.run({ type: 'check', path: '/a', version: 1 }).err).toBe(ErrorCode.BadVersion);
    expect(h.run({ type: 'check', path: '/b', version: 0 }).err).toBe(ErrorCode.NoNode);
    expect(h.tree.digest).toBe(before);
  });
});

describe('multi', () => {
  it('applies every op at one zxid when all succeed', () => {
    const h = new Harness();
    const r = h.run({
      type: 'multi',
      ops: [
        { type: 'create', path: '/m', data: enc('1'), acl: OPEN_ACL_UNSAFE, flags: 0 },
        { type: 'create', path: '/m/c', data: enc(''), acl: OPEN_ACL_UNSAFE, flags: 2 },
        { type: 'setData', path: '/m', data: enc('22'), version: 0 },
        { type: 'check', path: '/m', version: 1 },
      ],
    });
    expect(r.err).toBe(0);
    expect(r.results?.map((x) => x.type)).toEqual(['create', 'create', 'setData', 'check']);
    expect(r.results?.[1]?.path).toBe('/m/c0000000000');
    expect(h.stat('/m')).toMatchObject({ czxid: 1n, mzxid: 1n, version: 1, pzxid: 1n });
  });

  it('is all or nothing: a failing op leaves the tree untouched and reports 0, the error, then RuntimeInconsistency', () => {
    const h = new Harness();
    h.create('/a');
    const before = h.tree.digest;
    const r = h.run({
      type: 'multi',
      ops: [
        { type: 'create', path: '/b', data: enc(''), acl: OPEN_ACL_UNSAFE, flags: 0 },
        { type: 'setData', path: '/a', data: enc('x'), version: 9 },
        { type: 'delete', path: '/a', version: -1 },
      ],
    });
    expect(r.err).toBe(ErrorCode.BadVersion);
    expect(r.error?.code).toBe(ErrorCode.BadVersion);
    expect(r.results?.map((x) => x.err)).toEqual([0, ErrorCode.BadVersion, ErrorCode.RuntimeInconsistency]);
    expect(h.tree.statNode('/b')).toBeUndefined();
    expect(h.tree.digest).toBe(before);
  });

  it('rolls back its outstanding changes so later requests do not see them', () => {
    const h = new Harness();
    h.run({
      type: 'multi',
      ops: [
        { type: 'create', path: '/f', data: enc(''), acl: OPEN_ACL_UNSAFE, flags: 0 },
        { type: 'delete', path: '/missing', version: -1 },
      ],
    });
    expect(h.create('/f').err).toBe(0);
  });

  it('lets later ops see earlier ops of the same multi', () => {
    const h = new Harness();
    const r = h.run({
      type: 'multi',
      ops: [
        { type: 'create', path: '/x', data: enc(''), acl: OPEN_ACL_UNSAFE, flags: 0 },
        { type: 'delete', path: '/x', version: 0 },
        { type: 'create', path: '/x', data: enc('again'), acl: OPEN_ACL_UNSAFE, flags: 0 },
      ],
    });
    expect(r.err).toBe(0);
    expect(h.stat('/x').dataLength).toBe(5);
  });
});

describe('sessions', () => {
  it('closeSession deletes exactly that session’s ephemerals, setting the parents’ pzxid', () => {
    const h = new Harness();
    h.session(1n);
    h.session(2n);
    h.create('/p');
    h.create('/p/a', '', CreateMode.EPHEMERAL, { session: 1n });
    h.create('/p/b', '', CreateMode.EPHEMERAL, { session: 2n });
    h.create('/c', '', CreateMode.EPHEMERAL_SEQUENTIAL, { session: 1n });
    const r = h.run({ type: 'closeSession' }, 1n);
    expect(r.err).toBe(0);
    expect(
      h.tree
        .paths()
        .filter((p) => !p.startsWith('/zookeeper'))
        .sort(),
    ).toEqual(['/', '/p', '/p/b']);
    expect(h.stat('/p').pzxid).toBe(r.zxid);
    expect(h.tree.getEphemerals(1n)).toEqual([]);
    expect(h.tree.getSessions().has(1n)).toBe(false);
    expect(h.tree.getSessions().get(2n)).toBe(30_000);
  });

  it('closeSession also deletes ephemerals created by txns still outstanding at prep time', () => {
    const t = new DataTree();
    const ctx = (z: bigint) => ({ sessionId: 9n, authIds: [IP], zxid: z, time: 0n });
    t.apply(t.prep({ type: 'createSession', timeout: 1000 }, ctx(1n)).txn, 1n, 0n);
    const create = t.prep(
      { type: 'create', path: '/e', data: enc(''), acl: OPEN_ACL_UNSAFE, flags: 1 },
      ctx(2n),
    ).txn;
    const close = t.prep({ type: 'closeSession' }, ctx(3n)).txn;
    expect(close.body).toEqual({ type: 'closeSession', paths2Delete: ['/e'] });
    t.apply(create, 2n, 0n);
    t.apply(close, 3n, 0n);
    expect(t.statNode('/e')).toBeUndefined();
  });

  it('lists a session’s ephemerals by prefix', () => {
    const h = new Harness();
    h.session(1n);
    h.create('/a');
    h.create('/a/x', '', CreateMode.EPHEMERAL);
    h.create('/b', '', CreateMode.EPHEMERAL);
    expect(h.tree.getEphemerals(1n)).toEqual(['/a/x', '/b']);
    expect(h.tree.getEphemerals(1n, '/a')).toEqual(['/a/x']);
    expect(h.tree.getEphemerals(1n, '/')).toEqual(['/a/x', '/b']);
  });
});

describe('reads', () => {
  it('getChildren returns names and the parent Stat; getAllChildrenNumber counts descendants', () => {
    const h = new Harness();
    h.create('/a');
    h.create('/a/b');
    h.create('/a/b/c');
    h.create('/a/d');
    const g = h.tree.getChildren('/a', { authIds: [] });
    expect(g.children.sort()).toEqual(['b', 'd']);
    expect(g.stat.numChildren).toBe(2);
    expect(h.tree.getAllChildrenNumber('/a', { authIds: [] })).toBe(3);
    // for / ZooKeeper counts every node but the root, system nodes included
    expect(h.tree.getAllChildrenNumber('/', { authIds: [] })).toBe(7);
  });

  it('exists returns null for a missing node and the Stat otherwise', () => {
    const h = new Harness();
    h.create('/a', 'xy');
    expect(h.tree.exists('/b', { authIds: [] })).toBeNull();
    expect(h.tree.exists('/a', { authIds: [] })?.dataLength).toBe(2);
  });

  it('reads fail with NoNode on a missing node', () => {
    const t = new DataTree();
    expect(() => t.getData('/x', { authIds: [] })).toThrow(
      expect.objectContaining({ code: ErrorCode.NoNode }),
    );
    expect(() => t.getChildren('/x', { authIds: [] })).toThrow(
      expect.objectContaining({ code: ErrorCode.NoNode }),
    );
    expect(() => t.getACL('/x', { authIds: [] })).toThrow(
      expect.objectContaining({ code: ErrorCode.NoNode }),
    );
  });
});

describe('apply', () => {
  it('reports NoNode for a create under a missing parent and NodeExists for a replayed create', () => {
    const t = new DataTree();
    const body = {
      type: 'create',
      path: '/a/b',
      data: enc(''),
      acl: OPEN_ACL_UNSAFE,
      ephemeral: false,
      parentCVersion: 1,
    } as const;
    expect(t.apply({ sessionId: 0n, cxid: 0, body }, 1n, 0n).err).toBe(ErrorCode.NoNode);
    const a = { ...body, path: '/a' };
    t.apply({ sessionId: 0n, cxid: 0, body: a }, 2n, 0n);
    expect(t.apply({ sessionId: 0n, cxid: 0, body: a }, 3n, 0n).err).toBe(ErrorCode.NodeExists);
  });

  it('advances lastZxid for every txn, errors included', () => {
    const t = new DataTree();
    t.apply({ sessionId: 0n, cxid: 0, body: { type: 'error', err: ErrorCode.NoNode } }, 5n, 0n);
    expect(t.lastZxid).toBe(5n);
  });
});

describe('outstanding changes', () => {
  it('are bounded: prep throws Throttled without making a txn until txns are applied', () => {
    const t = new DataTree({ maxOutstandingChanges: 4 });
    const ctx = (z: bigint) => ({ sessionId: 1n, authIds: [IP], zxid: z, time: 0n });
    const req = (p: string) =>
      ({ type: 'create', path: p, data: enc(''), acl: OPEN_ACL_UNSAFE, flags: 0 }) as const;
    const a = t.prep(req('/a'), ctx(1n)).txn;
    const b = t.prep(req('/b'), ctx(2n)).txn;
    expect(t.outstandingChanges).toBe(4);
    expect(() => t.prep(req('/c'), ctx(3n))).toThrow(expect.objectContaining({ code: ErrorCode.Throttled }));
    t.apply(a, 1n, 0n);
    t.apply(b, 2n, 0n);
    expect(t.outstandingChanges).toBe(0);
    expect(t.prep(req('/c'), ctx(3n)).error).toBeUndefined();
    t.clearOutstanding();
    expect(t.outstandingChanges).toBe(0);
  });
});
