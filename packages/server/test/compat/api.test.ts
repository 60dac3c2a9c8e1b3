/**
 * The data model through Apache ZooKeeper's own Java client, on Apache ZooKeeper 3.8 and on zkts:
 * node types and sequential names, every stat field, the watch trigger table, multi, ACLs with
 * digest auth, containers and TTL nodes, session expiry.
 */
import { createHash } from 'node:crypto';
import { type DriverStat, type JavaDriver, startJavaDriver } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from './raw-client.js';
import { startTarget, TARGETS, type Target, type TargetName, ZKTS_TARGETS } from './targets.js';

interface Side {
  target: Target;
  zk: JavaDriver;
  sessionId: bigint;
}

const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const sides = new Map<TargetName, Side>();
const side = (n: TargetName): Side => sides.get(n) as Side;

beforeAll(async () => {
  await Promise.all(
    TARGETS.map(async (name) => {
      const target = await startTarget(name, { properties: { 'znode.container.checkIntervalMs': '500' } });
      const zk = await startJavaDriver(target.connectString);
      const { sessionId } = await zk.must({ op: 'sessionId' });
      sides.set(name, { target, zk, sessionId });
    }),
  );
});

afterAll(async () => {
  await Promise.all(
    [...sides.values()].map(async (s) => {
      await s.zk.close();
      await s.target.stop();
    }),
  );
});

/** A stat with zxids made relative to `base`, times checked then masked, our session id named. */
function norm(stat: DriverStat | null | undefined, base: bigint, self: bigint): unknown {
  if (stat === null || stat === undefined) return stat;
  expect(stat.ctime > 0n).toBe(true);
  expect(stat.mtime >= stat.ctime).toBe(true);
  const rel = (z: bigint) => (z === 0n ? 'zero' : `base+${z - base}`);
  return {
    czxid: rel(stat.czxid),
    mzxid: rel(stat.mzxid),
    pzxid: rel(stat.pzxid),
    ctime: stat.ctime === stat.mtime ? 'ctime' : 'ctime<mtime',
    version: stat.version,
    cversion: stat.cversion,
    aversion: stat.aversion,
    ephemeralOwner:
      stat.ephemeralOwner === self ? 'self' : `0x${BigInt.asUintN(64, stat.ephemeralOwner).toString(16)}`,
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
  };
}

/** One op sequence touching every node type and every stat field; returns a normalised transcript. */
async function statTranscript(s: Side): Promise<unknown[]> {
  const { zk, sessionId } = s;
  const out: unknown[] = [];
  const root = await zk.must({ op: 'create', path: '/stat', data: 'abc' });
  const base = root.stat.czxid;
  const n = (st: DriverStat | null | undefined) => norm(st, base, sessionId);
  const code = (r: { ok: boolean; code?: number }) => (r.ok ? 'ok' : r.code);
  out.push(['create /stat', root.path, n(root.stat)]);
  const creates: Array<[string, number, number | undefined]> = [
    ['/stat/p-', 2, undefined],
    ['/stat/e', 1, undefined],
    ['/stat/es-', 3, undefined],
    ['/stat/c', 4, undefined],
    ['/stat/t', 5, 60_000],
    ['/stat/ts-', 6, 60_000],
    ['/stat/p-', 2, undefined],
  ];
  for (const [path, mode, ttl] of creates) {
    const r = await zk.must({
      op: 'create',
      path,
      data: 'x'.repeat(mode + 1),
      mode,
      ...(ttl ? { ttl } : {}),
    });
    out.push([`create ${path} mode ${mode}`, r.path, n(r.stat)]);
  }
  out.push(['setData', n((await zk.must({ op: 'setData', path: '/stat', data: 'abcdef' })).stat)]);
  out.push(['setData v1', n((await zk.must({ op: 'setData', path: '/stat', data: '', version: 1 })).stat)]);
  out.push(['setData bad version', code(await zk.request({ op: 'setData', path: '/stat', version: 99 }))]);
  out.push([
    'setACL',
    n(
      (await zk.must({ op: 'setACL', path: '/stat', acl: [{ perms: 31, scheme: 'world', id: 'anyone' }] }))
        .stat,
    ),
  ]);
  out.push(['delete /stat/e', code(await zk.request({ op: 'delete', path: '/stat/e' }))]);
  out.push([
    'child of ephemeral',
    code(await zk.request({ op: 'create', path: '/stat/es-0000000002/x', data: '' })),
  ]);
  out.push(['create under container', (await zk.must({ op: 'create', path: '/stat/c/x', data: '' })).path]);
  out.push(['create exists', code(await zk.request({ op: 'create', path: '/stat/c/x', data: '' }))]);
  out.push(['create no parent', code(await zk.request({ op: 'create', path: '/nope/x', data: '' }))]);
  out.push(['delete not empty', code(await zk.request({ op: 'delete', path: '/stat/c' }))]);
  const multi = await zk.must({
    op: 'multi',
    ops: [
      { op: 'create', path: '/stat/m', data: 'm' },
      { op: 'setData', path: '/stat/m', data: 'mm' },
      { op: 'check', path: '/stat', version: 2 },
      { op: 'delete', path: '/stat/p-0000000000' },
    ],
  });
  out.push(['multi', multi.results.map((r) => ('stat' in r ? { ...r, stat: n(r.stat) } : r))]);
  const got = await zk.must({ op: 'getData', path: '/stat' });
  out.push(['getData', Buffer.from(got.data ?? []).toString(), n(got.stat)]);
  const kids = await zk.must({ op: 'getChildren2', path: '/stat' });
  out.push(['getChildren2', [...kids.children].sort(), n(kids.stat)]);
  for (const child of [...kids.children].sort()) {
    out.push([`exists ${child}`, n((await zk.must({ op: 'exists', path: `/stat/${child}` })).stat)]);
  }
  out.push(['getAllChildrenNumber', (await zk.must({ op: 'getAllChildrenNumber', path: '/stat' })).count]);
  out.push(['getEphemerals', (await zk.must({ op: 'getEphemerals', prefix: '/stat' })).paths.sort()]);
  return out;
}

describe('stat fields, node types and sequential names', () => {
  it('zkts answers the same op sequence field by field as Apache ZooKeeper', async () => {
    const apache = await statTranscript(side('apache'));
    // The reference itself: the four node types and %010d names (plus container and TTL).
    const names = apache.filter((e) => Array.isArray(e) && String(e[0]).startsWith('create /stat/'));
    expect(names.map((e) => (e as unknown[])[1])).toEqual([
      '/stat/p-0000000000',
      '/stat/e',
      '/stat/es-0000000002',
      '/stat/c',
      '/stat/t',
      '/stat/ts-0000000005',
      '/stat/p-0000000006',
    ]);
    for (const name of ZKTS_TARGETS) expect([name, await statTranscript(side(name))]).toEqual([name, apache]);
  });
});

type WatchCase = {
  name: string;
  setup: string[];
  watch: 'exists' | 'getData' | 'getChildren';
  /** Each trigger runs twice: the watch must fire on the first only. */
  trigger: Array<{ op: 'create' | 'delete' | 'setData'; path: string }>;
  again: Array<{ op: 'create' | 'delete' | 'setData'; path: string }>;
};

// The trigger table: which operation fires which watch (relative paths under the case's root).
const WATCH_CASES: WatchCase[] = [
  {
    name: 'exists x create',
    setup: [],
    watch: 'exists',
    trigger: [{ op: 'create', path: '' }],
    again: [
      { op: 'delete', path: '' },
      { op: 'create', path: '' },
    ],
  },
  {
    name: 'exists x delete',
    setup: [''],
    watch: 'exists',
    trigger: [{ op: 'delete', path: '' }],
    again: [
      { op: 'create', path: '' },
      { op: 'delete', path: '' },
    ],
  },
  {
    name: 'exists x setData',
    setup: [''],
    watch: 'exists',
    trigger: [{ op: 'setData', path: '' }],
    again: [{ op: 'setData', path: '' }],
  },
  {
    name: 'exists x create child',
    setup: [''],
    watch: 'exists',
    trigger: [{ op: 'create', path: '/c' }],
    again: [],
  },
  {
    name: 'getData x delete',
    setup: [''],
    watch: 'getData',
    trigger: [{ op: 'delete', path: '' }],
    again: [
      { op: 'create', path: '' },
      { op: 'delete', path: '' },
    ],
  },
  {
    name: 'getData x setData',
    setup: [''],
    watch: 'getData',
    trigger: [{ op: 'setData', path: '' }],
    again: [{ op: 'setData', path: '' }],
  },
  {
    name: 'getData x create child',
    setup: [''],
    watch: 'getData',
    trigger: [{ op: 'create', path: '/c' }],
    again: [],
  },
  {
    name: 'getChildren x create child',
    setup: [''],
    watch: 'getChildren',
    trigger: [{ op: 'create', path: '/c' }],
    again: [{ op: 'create', path: '/d' }],
  },
  {
    name: 'getChildren x delete child',
    setup: ['', '/c'],
    watch: 'getChildren',
    trigger: [{ op: 'delete', path: '/c' }],
    again: [{ op: 'create', path: '/c' }],
  },
  {
    name: 'getChildren x delete',
    setup: [''],
    watch: 'getChildren',
    trigger: [{ op: 'delete', path: '' }],
    again: [
      { op: 'create', path: '' },
      { op: 'create', path: '/c' },
    ],
  },
  {
    name: 'getChildren x setData',
    setup: [''],
    watch: 'getChildren',
    trigger: [{ op: 'setData', path: '' }],
    again: [],
  },
  {
    name: 'getChildren x setData child',
    setup: ['', '/c'],
    watch: 'getChildren',
    trigger: [{ op: 'setData', path: '/c' }],
    again: [],
  },
];

const EXPECTED_TABLE: Record<string, string[]> = {
  'exists x create': ['NodeCreated'],
  'exists x delete': ['NodeDeleted'],
  'exists x setData': ['NodeDataChanged'],
  'exists x create child': [],
  'getData x delete': ['NodeDeleted'],
  'getData x setData': ['NodeDataChanged'],
  'getData x create child': [],
  'getChildren x create child': ['NodeChildrenChanged'],
  'getChildren x delete child': ['NodeChildrenChanged'],
  'getChildren x delete': ['NodeDeleted'],
  'getChildren x setData': [],
  'getChildren x setData child': [],
};

async function watchTable(s: Side): Promise<Record<string, string[]>> {
  const { zk } = s;
  const out: Record<string, string[]> = {};
  await zk.must({ op: 'create', path: '/wt', data: '' });
  let i = 0;
  for (const c of WATCH_CASES) {
    const root = `/wt/case${i++}`;
    for (const p of c.setup) await zk.must({ op: 'create', path: root + p, data: '' });
    await zk.request({ op: c.watch, path: root, watch: true });
    const run = async (ops: WatchCase['trigger']) => {
      for (const o of ops) {
        if (o.op === 'create') await zk.must({ op: 'create', path: root + o.path, data: '' });
        else if (o.op === 'delete') await zk.must({ op: 'delete', path: root + o.path });
        else await zk.must({ op: 'setData', path: root + o.path, data: 'v' });
      }
    };
    await run(c.trigger);
    await run(c.again);
    // Events arrive in order: once the marker's fires, anything for `root` has arrived too.
    const marker = `${root}-marker`;
    await zk.request({ op: 'exists', path: marker, watch: true });
    await zk.must({ op: 'create', path: marker, data: '' });
    await zk.waitForEvent((e) => e.path === marker);
    out[c.name] = zk.events.filter((e) => e.path === root && e.type !== 'None').map((e) => e.type);
  }
  return out;
}

describe.each(TARGETS)('watch trigger table on %s', (name) => {
  it('fires each watch once, for exactly the operations of the table', async () => {
    expect(await watchTable(side(name))).toEqual(EXPECTED_TABLE);
  });
});

const digest = (user: string, pass: string) =>
  `${user}:${createHash('sha1').update(`${user}:${pass}`).digest('base64')}`;

async function aclTranscript(s: Side): Promise<unknown[]> {
  const { zk } = s;
  const out: unknown[] = [];
  const code = (r: { ok: boolean; code?: number }) => (r.ok ? 'ok' : r.code);
  await zk.must({ op: 'connect', client: 'alice' });
  await zk.must({ op: 'connect', client: 'mallory' });
  const acl = [{ perms: 31, scheme: 'digest', id: digest('alice', 'secret') }];
  out.push(['create digest', code(await zk.request({ op: 'create', path: '/acl', data: 'hidden', acl }))]);
  out.push(['read without auth', code(await zk.request({ op: 'getData', path: '/acl' }))]);
  out.push(['set without auth', code(await zk.request({ op: 'setData', path: '/acl', data: 'x' }))]);
  out.push(['getACL without auth', code(await zk.request({ op: 'getACL', path: '/acl' }))]);
  await zk.must({ op: 'addAuth', client: 'mallory', scheme: 'digest', auth: 'alice:wrong' });
  out.push([
    'read wrong password',
    code(await zk.request({ op: 'getData', path: '/acl', client: 'mallory' })),
  ]);
  await zk.must({ op: 'addAuth', client: 'alice', scheme: 'digest', auth: 'alice:secret' });
  const r = await zk.request({ op: 'getData', path: '/acl', client: 'alice' });
  out.push(['read with auth', code(r), r.ok ? Buffer.from(r.data ?? []).toString() : null]);
  // ZooKeeper keeps a connection's ids in a hash set: their order means nothing.
  const who = (await zk.must({ op: 'whoAmI', client: 'alice' })).clientInfo;
  out.push(['whoAmI', who.map((c) => `${c.authScheme}=${c.user}`).sort()]);
  out.push([
    'create auth scheme',
    code(
      await zk.request({
        op: 'create',
        client: 'alice',
        path: '/acl/auth',
        data: '',
        acl: [{ perms: 31, scheme: 'auth', id: '' }],
      }),
    ),
  ]);
  out.push(['getACL auth', (await zk.must({ op: 'getACL', client: 'alice', path: '/acl/auth' })).acl]);
  out.push([
    'create auth scheme unauthenticated',
    code(
      await zk.request({
        op: 'create',
        path: '/acl2',
        data: '',
        acl: [{ perms: 31, scheme: 'auth', id: '' }],
      }),
    ),
  ]);
  out.push([
    'setACL without admin',
    code(
      await zk.request({ op: 'setACL', path: '/acl', acl: [{ perms: 31, scheme: 'world', id: 'anyone' }] }),
    ),
  ]);
  out.push([
    'bad acl scheme',
    code(
      await zk.request({
        op: 'create',
        path: '/acl3',
        data: '',
        acl: [{ perms: 31, scheme: 'nope', id: 'x' }],
      }),
    ),
  ]);
  out.push([
    'read-only acl',
    code(
      await zk.request({
        op: 'create',
        path: '/ro',
        data: '',
        acl: [{ perms: 1, scheme: 'world', id: 'anyone' }],
      }),
    ),
    code(await zk.request({ op: 'setData', path: '/ro', data: 'x' })),
    code(await zk.request({ op: 'create', path: '/ro/c', data: '' })),
    code(await zk.request({ op: 'getData', path: '/ro' })),
  ]);
  await zk.must({ op: 'close', client: 'alice' });
  await zk.must({ op: 'close', client: 'mallory' });
  return out;
}

describe('ACLs with digest auth', () => {
  it('zkts grants and refuses exactly as Apache ZooKeeper', async () => {
    const apache = await aclTranscript(side('apache'));
    expect(apache[1]).toEqual(['read without auth', -102]);
    for (const name of ZKTS_TARGETS) expect([name, await aclTranscript(side(name))]).toEqual([name, apache]);
  });
});

async function multiTranscript(s: Side): Promise<unknown[]> {
  const { zk } = s;
  await zk.must({ op: 'create', path: '/mu', data: '' });
  const ok = await zk.must({
    op: 'multi',
    ops: [
      { op: 'create', path: '/mu/a', data: 'a' },
      { op: 'create', path: '/mu/s-', data: 's', mode: 2 },
      { op: 'setData', path: '/mu/a', data: 'aa', version: 0 },
      { op: 'check', path: '/mu/a', version: 1 },
      { op: 'delete', path: '/mu/a' },
    ],
  });
  const failed = await zk.request({
    op: 'multi',
    ops: [
      { op: 'create', path: '/mu/b', data: 'b' },
      { op: 'setData', path: '/mu/b', data: 'bb' },
      { op: 'check', path: '/mu', version: 7 },
      { op: 'delete', path: '/mu/nope' },
    ],
  });
  const after = await zk.must({ op: 'getChildren', path: '/mu' });
  const empty = await zk.request({ op: 'multi', ops: [] });
  return [
    ok.results.map((r) => r.type + ('path' in r ? r.path : '')),
    failed.ok ? 'ok' : [failed.code, failed.results],
    after.children.sort(),
    empty.ok ? empty.results : empty.code,
  ];
}

describe('multi', () => {
  it('commits all or nothing, with the same per-op results as Apache ZooKeeper', async () => {
    const apache = await multiTranscript(side('apache'));
    expect(apache[1]).toEqual([
      -103,
      [
        { type: 'error', code: 0 },
        { type: 'error', code: 0 },
        { type: 'error', code: -103 },
        { type: 'error', code: -2 },
      ],
    ]);
    for (const name of ZKTS_TARGETS)
      expect([name, await multiTranscript(side(name))]).toEqual([name, apache]);
  });
});

describe.each(TARGETS)('containers, TTL nodes and session expiry on %s', (name) => {
  it('deletes an emptied container and an expired TTL node, keeps a never-used container', async () => {
    const { zk } = side(name);
    await zk.must({ op: 'create', path: '/ctr', data: '', mode: 4 });
    await zk.must({ op: 'create', path: '/ctr/x', data: '' });
    await zk.must({ op: 'create', path: '/ctr-unused', data: '', mode: 4 });
    await zk.must({ op: 'create', path: '/ttl', data: '', mode: 5, ttl: 500 });
    await zk.must({ op: 'create', path: '/ttl-busy', data: '', mode: 5, ttl: 500 });
    await zk.must({ op: 'create', path: '/ttl-busy/c', data: '' });
    await zk.must({ op: 'exists', path: '/ctr', watch: true });
    await zk.must({ op: 'exists', path: '/ttl', watch: true });
    await zk.must({ op: 'delete', path: '/ctr/x' });
    await zk.waitForEvent((e) => e.path === '/ctr' && e.type === 'NodeDeleted', 15_000);
    await zk.waitForEvent((e) => e.path === '/ttl' && e.type === 'NodeDeleted', 15_000);
    expect((await zk.must({ op: 'exists', path: '/ctr-unused' })).stat).not.toBeNull();
    expect((await zk.must({ op: 'exists', path: '/ttl-busy' })).stat).not.toBeNull();
    const bad = await zk.request({ op: 'create', path: '/ttl-bad', data: '', mode: 5, ttl: 0 });
    expect(bad.ok).toBe(false);
  });

  it('deletes the ephemerals of an expired session and fires their watches', async () => {
    const t = side(name).target;
    const { zk } = side(name);
    const raw = await RawClient.connect(t.port, { timeoutMs: 4000 });
    expect(raw.session?.timeOut).toBe(4000);
    const r = await raw.request({
      type: 'create',
      path: '/exp-e',
      data: null,
      acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
      flags: 1,
    });
    expect(r.header.err).toBe(0);
    await raw.request({
      type: 'create',
      path: '/exp-s',
      data: null,
      acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
      flags: 3,
    });
    const eph = await zk.must({ op: 'exists', path: '/exp-e', watch: true });
    expect(eph.stat?.ephemeralOwner).toBe(raw.session?.sessionId);
    // A second session stays connected but silent (no pings): expiry closes its connection too.
    const silent = await RawClient.connect(t.port, { timeoutMs: 4000 });
    await silent.request({ type: 'create', path: '/exp-silent', data: null, acl: OPEN_ACL, flags: 1 });
    const t0 = Date.now();
    raw.destroy();
    await zk.waitForEvent((e) => e.path === '/exp-e' && e.type === 'NodeDeleted', 15_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    await Promise.race([silent.closedPromise, new Promise((r) => setTimeout(r, 10_000))]);
    expect(silent.closed).toBe(true);
    expect(
      (await zk.must({ op: 'getChildren', path: '/' })).children.filter((c) => c.startsWith('exp-')),
    ).toEqual([]);
    // The session is gone: resuming it is refused.
    const again = await RawClient.open(t.port);
    const resp = await again
      .handshake({
        sessionId: raw.session?.sessionId ?? 0n,
        passwd: raw.session?.passwd ?? new Uint8Array(16),
      })
      .catch(() => undefined);
    expect(resp === undefined || resp.timeOut === 0).toBe(true);
    again.destroy();
  });
});

async function sessionTranscript(s: Side): Promise<unknown[]> {
  const { zk } = s;
  const out: unknown[] = [];
  const code = (r: { ok: boolean; code?: number }) => (r.ok ? 'ok' : r.code);
  await zk.must({ op: 'create', path: '/sess', data: '' });
  await zk.must({ op: 'connect', client: 'tmp' });
  await zk.must({ op: 'create', client: 'tmp', path: '/sess/e', data: 'x', mode: 1 });
  await zk.must({ op: 'create', client: 'tmp', path: '/sess/q-', data: 'x', mode: 3 });
  out.push([
    'getEphemerals',
    (await zk.must({ op: 'getEphemerals', client: 'tmp', prefix: '/' })).paths.sort(),
  ]);
  out.push(['getEphemerals other', (await zk.must({ op: 'getEphemerals', prefix: '/' })).paths]);
  await zk.must({ op: 'exists', path: '/sess/e', watch: true });
  await zk.must({ op: 'getChildren', path: '/sess', watch: true });
  // Watch management on the server (local: false).
  await zk.must({ op: 'getData', client: 'tmp', path: '/sess', watch: true });
  out.push([
    'removeWatches data',
    code(await zk.request({ op: 'removeWatches', client: 'tmp', path: '/sess', watcherType: 2 })),
  ]);
  out.push([
    'removeWatches none',
    code(await zk.request({ op: 'removeWatches', client: 'tmp', path: '/sess', watcherType: 2 })),
  ]);
  out.push([
    'removeWatches child none',
    code(await zk.request({ op: 'removeWatches', client: 'tmp', path: '/sess', watcherType: 1 })),
  ]);
  out.push(['sync', code(await zk.request({ op: 'sync', path: '/sess' }))]);
  // Closing the session deletes its ephemerals and fires the watches of others.
  await zk.must({ op: 'close', client: 'tmp' });
  await zk.waitForEvent((e) => e.path === '/sess/e' && e.type === 'NodeDeleted');
  await zk.waitForEvent((e) => e.path === '/sess' && e.type === 'NodeChildrenChanged');
  out.push(['after close', (await zk.must({ op: 'getChildren', path: '/sess' })).children]);
  out.push([
    'tmp events',
    zk.events.filter((e) => e.client === 'tmp' && e.type !== 'None').map((e) => `${e.type} ${e.path}`),
  ]);
  return out;
}

describe('session close and watch management', () => {
  it('zkts answers as Apache ZooKeeper', async () => {
    const apache = await sessionTranscript(side('apache'));
    expect(apache.find((e) => (e as unknown[])[0] === 'after close')).toEqual(['after close', []]);
    for (const name of ZKTS_TARGETS)
      expect([name, await sessionTranscript(side(name))]).toEqual([name, apache]);
  });
});

describe.each(TARGETS)('null and empty data on %s', (name) => {
  it('keeps null data apart from empty data through create, setData, multi and a restart', async () => {
    const t = side(name).target;
    const raw = await RawClient.connect(t.port, { timeoutMs: 10_000 });
    const data = async (path: string) => {
      const r = await raw.request({ type: 'getData', path, watch: false });
      expect(r.header.err).toBe(0);
      return (r.response as { data: Uint8Array | null }).data;
    };
    try {
      await raw.request({ type: 'create', path: '/null-d', data: null, acl: OPEN_ACL, flags: 0 });
      await raw.request({
        type: 'create',
        path: '/empty-d',
        data: new Uint8Array(0),
        acl: OPEN_ACL,
        flags: 0,
      });
      await raw.request({
        type: 'create',
        path: '/set-null',
        data: new Uint8Array([1]),
        acl: OPEN_ACL,
        flags: 0,
      });
      await raw.request({ type: 'setData', path: '/set-null', data: null, version: -1 });
      const m = await raw.request({
        type: 'multi',
        ops: [{ type: 'create', path: '/multi-null', data: null, acl: OPEN_ACL, flags: 0 }],
      });
      expect(m.header.err).toBe(0);
      expect(await data('/null-d')).toBeNull();
      expect((await data('/empty-d'))?.length).toBe(0);
      expect(await data('/set-null')).toBeNull();
      expect(await data('/multi-null')).toBeNull();
      const stat = await raw.request({ type: 'exists', path: '/null-d', watch: false });
      expect((stat.response as { stat: { dataLength: number } }).stat.dataLength).toBe(0);
    } finally {
      raw.destroy();
    }
    // From the txn log and snapshot after a restart.
    await t.restart();
    const again = await RawClient.connect(t.port, { timeoutMs: 10_000 });
    try {
      const r = await again.request({ type: 'getData', path: '/null-d', watch: false });
      expect((r.response as { data: Uint8Array | null }).data).toBeNull();
      const e = await again.request({ type: 'getData', path: '/empty-d', watch: false });
      expect((e.response as { data: Uint8Array | null }).data?.length).toBe(0);
    } finally {
      again.destroy();
    }
  }, 60_000);
});
