/**
 * Every operation of the client against a real server: Apache ZooKeeper 3.8 and zkts, the same
 * tests. One server per target is shared by the file; each test works under its own path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CREATOR_ALL_ACL,
  createClient,
  EventType,
  KeeperError,
  OPEN_ACL_UNSAFE,
  oneShotWatch,
  Perms,
  READ_ACL_UNSAFE,
  type WatchedEvent,
  type ZooKeeperClient,
} from '../src/index.js';
import { type ServerHandle, startServer, TARGETS } from './targets.js';

async function rejects(p: Promise<unknown>): Promise<KeeperError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeeperError) return e;
    throw e;
  }
  throw new Error('expected a KeeperError, the promise resolved');
}

function waitUntil(cond: () => boolean, ms = 5000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (cond()) resolve();
      else if (Date.now() - start > ms) reject(new Error('condition not met in time'));
      else setTimeout(check, 10);
    };
    check();
  });
}

describe.each(TARGETS)('operations against %s', (target) => {
  let server: ServerHandle;
  let zk: ZooKeeperClient;
  const clients: ZooKeeperClient[] = [];
  let n = 0;
  const root = () => `/t${++n}`;

  async function client(
    suffix = '',
    options: Parameters<typeof createClient>[1] = {},
  ): Promise<ZooKeeperClient> {
    const c = createClient(server.connectString + suffix, { sessionTimeout: 10_000, ...options });
    clients.push(c);
    await c.connect();
    return c;
  }

  beforeAll(async () => {
    server = await startServer(target);
    zk = await client();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.destroy();
  });

  it('connects with a session and reports the connected state', async () => {
    expect(zk.state).toBe('connected');
    expect(zk.sessionId).not.toBe(0n);
    expect(zk.sessionPassword.length).toBe(16);
    expect(zk.sessionTimeout).toBe(10_000);
    expect(zk.currentServer).toBe(server.connectString);
  });

  it('creates, reads, updates and deletes a node', async () => {
    const p = root();
    expect(await zk.create(p, 'hello')).toBe(p);
    const { data, stat } = await zk.getData(p);
    expect(data?.toString()).toBe('hello');
    expect(stat.version).toBe(0);
    expect(stat.dataLength).toBe(5);
    const s2 = await zk.setData(p, Buffer.from('world'));
    expect(s2.version).toBe(1);
    expect((await zk.getData(p)).data?.toString()).toBe('world');
    expect((await rejects(zk.setData(p, 'x', 0))).codeName).toBe('BadVersion');
    expect((await rejects(zk.delete(p, 0))).codeName).toBe('BadVersion');
    await zk.delete(p, 1);
    expect(await zk.exists(p)).toBeNull();
    const e = await rejects(zk.getData(p));
    expect(e.codeName).toBe('NoNode');
    expect(e.path).toBe(p);
  });

  it('reads a node created with an empty buffer as an empty buffer', async () => {
    const p = root();
    await zk.create(p, new Uint8Array(0));
    const { data, stat } = await zk.getData(p);
    expect(data).toEqual(Buffer.alloc(0));
    expect(stat.dataLength).toBe(0);
    await zk.create(`${p}/s`, '');
    expect((await zk.getData(`${p}/s`)).data).toEqual(Buffer.alloc(0));
  });

  // ZooKeeper keeps null data (a create or setData without data) apart from empty data.
  it('reads null data (none given) as null, apart from empty data', async () => {
    const p = root();
    await zk.create(p);
    const { data, stat } = await zk.getData(p);
    expect(data).toBeNull();
    expect(stat.dataLength).toBe(0);
    await zk.create(`${p}/e`, new Uint8Array(0));
    const results = await zk.multiRead([
      { type: 'getData', path: p },
      { type: 'getData', path: `${p}/e` },
    ]);
    expect(results.map((r) => (r.type === 'getData' ? r.data : r))).toEqual([null, Buffer.alloc(0)]);
    await zk.setData(`${p}/e`, null);
    expect((await zk.getData(`${p}/e`)).data).toBeNull();
    await zk.setData(p, 'x');
    expect((await zk.getData(p)).data?.toString()).toBe('x');
  });

  it('maps server errors to KeeperError codes', async () => {
    const p = root();
    await zk.create(p);
    expect((await rejects(zk.create(p))).codeName).toBe('NodeExists');
    expect((await rejects(zk.create(`${p}/a/b`))).codeName).toBe('NoNode');
    await zk.create(`${p}/c`);
    expect((await rejects(zk.delete(p))).codeName).toBe('NotEmpty');
    const eph = await zk.create(`${p}/e`, null, { mode: 'EPHEMERAL' });
    expect((await rejects(zk.create(`${eph}/x`))).codeName).toBe('NoChildrenForEphemerals');
  });

  it('refuses bad options', () => {
    expect(() => createClient(server.connectString, { sessionTimeout: 0 })).toThrow(KeeperError);
    expect(() => createClient(server.connectString, { maxPendingRequests: -1 })).toThrow(
      /maxPendingRequests/,
    );
    expect(() => createClient(server.connectString, { retryDelay: Number.NaN })).toThrow(/retryDelay/);
    expect(() => createClient('')).toThrow(KeeperError);
    expect(() => createClient(server.connectString, { sessionId: 1n })).toThrow(/sessionPassword/);
  });

  it('validates paths on the client side', async () => {
    expect((await rejects(zk.create('no-slash'))).codeName).toBe('BadArguments');
    expect((await rejects(zk.getData('/a//b'))).codeName).toBe('BadArguments');
    expect((await rejects(zk.exists('/a/'))).codeName).toBe('BadArguments');
    expect((await rejects(zk.delete('/a/./b'))).codeName).toBe('BadArguments');
  });

  it('creates in every mode', async () => {
    const p = root();
    await zk.create(p);
    const seq = await zk.create(`${p}/s-`, 'a', { mode: 'PERSISTENT_SEQUENTIAL' });
    expect(seq).toMatch(new RegExp(`^${p}/s-\\d{10}$`));
    const eseq = await zk.create(`${p}/e-`, 'a', { mode: 'EPHEMERAL_SEQUENTIAL' });
    expect(eseq).toMatch(new RegExp(`^${p}/e-\\d{10}$`));
    expect(Number(eseq.slice(-10))).toBe(Number(seq.slice(-10)) + 1);
    const eph = await zk.createWithStat(`${p}/e`, 'x', { mode: 'EPHEMERAL' });
    expect(eph.path).toBe(`${p}/e`);
    expect(eph.stat.ephemeralOwner).toBe(zk.sessionId);
    const cont = await zk.createWithStat(`${p}/c`, null, { mode: 'CONTAINER' });
    expect(cont.path).toBe(`${p}/c`);
    expect(cont.stat.version).toBe(0);
    expect(await zk.create(`${p}/c2`, null, { mode: 'CONTAINER' })).toBe(`${p}/c2`);
    const ttl = await zk.createWithStat(`${p}/ttl`, 'x', { mode: 'PERSISTENT_WITH_TTL', ttl: 60_000 });
    expect(ttl.path).toBe(`${p}/ttl`);
    expect(ttl.stat.version).toBe(0);
    const ttlSeq = await zk.create(`${p}/tseq-`, 'x', { mode: 'PERSISTENT_SEQUENTIAL_WITH_TTL', ttl: 5000 });
    expect(ttlSeq).toMatch(new RegExp(`^${p}/tseq-\\d{10}$`));
    expect((await rejects(zk.create(`${p}/t2`, 'x', { mode: 'PERSISTENT_WITH_TTL' }))).codeName).toBe(
      'BadArguments',
    );
    expect((await rejects(zk.create(`${p}/t3`, 'x', { ttl: 10 }))).codeName).toBe('BadArguments');
    const plain = await zk.createWithStat(`${p}/plain`, 'abc');
    expect(plain.stat.dataLength).toBe(3);
    expect(plain.stat.ephemeralOwner).toBe(0n);
    const kids = await zk.getChildren(p);
    expect(kids.sort()).toEqual(
      [
        'c',
        'c2',
        'e',
        'plain',
        'ttl',
        seq.slice(p.length + 1),
        eseq.slice(p.length + 1),
        ttlSeq.slice(p.length + 1),
      ].sort(),
    );
  });

  it('exists returns a Stat or null', async () => {
    const p = root();
    expect(await zk.exists(p)).toBeNull();
    await zk.create(p, 'abc');
    const stat = await zk.exists(p);
    expect(stat?.dataLength).toBe(3);
    expect(stat?.numChildren).toBe(0);
  });

  it('reads and sets ACLs', async () => {
    const p = root();
    await zk.create(p, 'x', { acl: READ_ACL_UNSAFE });
    const { acl, stat } = await zk.getACL(p);
    expect(acl).toEqual(READ_ACL_UNSAFE);
    expect(stat.aversion).toBe(0);
    expect((await rejects(zk.setData(p, 'y'))).codeName).toBe('NoAuth');
    // setACL needs ADMIN, which READ_ACL_UNSAFE does not grant.
    expect((await rejects(zk.setACL(p, OPEN_ACL_UNSAFE))).codeName).toBe('NoAuth');
    const q = root();
    await zk.create(q, 'x');
    expect((await rejects(zk.setACL(q, READ_ACL_UNSAFE, 5))).codeName).toBe('BadVersion');
    const s = await zk.setACL(
      q,
      [{ perms: Perms.READ | Perms.ADMIN, id: { scheme: 'world', id: 'anyone' } }],
      0,
    );
    expect(s.aversion).toBe(1);
    expect((await zk.getACL(q)).acl[0]?.perms).toBe(Perms.READ | Perms.ADMIN);
    expect((await rejects(zk.setACL(q, []))).codeName).toBe('InvalidACL');
    expect((await rejects(zk.create(root(), 'x', { acl: CREATOR_ALL_ACL }))).codeName).toBe('InvalidACL');
  });

  it('lists children with and without Stat, counts descendants', async () => {
    const p = root();
    await zk.create(p);
    for (const c of ['a', 'b', 'c']) await zk.create(`${p}/${c}`);
    await zk.create(`${p}/a/x`);
    await zk.create(`${p}/a/x/y`);
    expect((await zk.getChildren(p)).sort()).toEqual(['a', 'b', 'c']);
    const { children, stat } = await zk.getChildren(p, { withStat: true });
    expect(children.sort()).toEqual(['a', 'b', 'c']);
    expect(stat.numChildren).toBe(3);
    expect(stat.cversion).toBe(3);
    expect(await zk.getAllChildrenNumber(p)).toBe(5);
    expect(await zk.getAllChildrenNumber(`${p}/b`)).toBe(0);
    expect((await rejects(zk.getChildren(`${p}/nope`))).codeName).toBe('NoNode');
  });

  it("lists the session's ephemerals", async () => {
    const c = await client();
    const p = root();
    await zk.create(p);
    await c.create(`${p}/e1`, null, { mode: 'EPHEMERAL' });
    await c.create(`${p}/e2`, null, { mode: 'EPHEMERAL' });
    await zk.create(`${p}/other`, null, { mode: 'EPHEMERAL' });
    expect((await c.getEphemerals(p)).sort()).toEqual([`${p}/e1`, `${p}/e2`]);
    expect((await c.getEphemerals()).sort()).toEqual([`${p}/e1`, `${p}/e2`]);
    expect(await c.getEphemerals(`${p}/e2`)).toEqual([`${p}/e2`]);
    await c.close();
    expect(c.state).toBe('closed');
    // Closing the session deleted its ephemerals.
    expect((await zk.getChildren(p)).sort()).toEqual(['other']);
  });

  it('syncs', async () => {
    const p = root();
    await zk.create(p);
    await zk.sync(p);
    await zk.sync();
  });

  it('runs a multi and returns per-op results', async () => {
    const p = root();
    await zk.create(p, 'v0');
    const results = await zk.multi([
      { type: 'check', path: p, version: 0 },
      { type: 'create', path: `${p}/a`, data: 'a' },
      { type: 'create', path: `${p}/s-`, mode: 'PERSISTENT_SEQUENTIAL' },
      { type: 'setData', path: p, data: 'v1' },
      { type: 'create', path: `${p}/ttl`, mode: 'PERSISTENT_WITH_TTL', ttl: 10_000 },
      { type: 'delete', path: `${p}/a` },
    ]);
    expect(results.map((r) => r.type)).toEqual(['check', 'create', 'create', 'setData', 'create', 'delete']);
    expect(results[1]).toEqual({ type: 'create', path: `${p}/a` });
    expect((results[2] as { path: string }).path).toMatch(new RegExp(`^${p}/s-\\d{10}$`));
    expect((results[3] as { stat: { version: number } }).stat.version).toBe(1);
    expect((results[4] as { stat?: unknown }).stat).toBeDefined();
    expect((await zk.getData(p)).data?.toString()).toBe('v1');
    expect(await zk.exists(`${p}/a`)).toBeNull();
    expect(await zk.multi([])).toEqual([]);
  });

  it('fails a multi atomically with the first failing op and every result', async () => {
    const p = root();
    await zk.create(p, 'v0');
    const e = await rejects(
      zk.multi([
        { type: 'create', path: `${p}/a` },
        { type: 'check', path: p, version: 7 },
        { type: 'setData', path: p, data: 'no' },
      ]),
    );
    expect(e.codeName).toBe('BadVersion');
    expect(e.path).toBe(p);
    expect(e.results).toEqual([
      { type: 'error', code: 0 },
      { type: 'error', code: -103 },
      { type: 'error', code: -2 },
    ]);
    expect(await zk.exists(`${p}/a`)).toBeNull();
    expect((await zk.getData(p)).data?.toString()).toBe('v0');
    const e2 = await rejects(zk.multi([{ type: 'delete', path: `${p}/missing` }]));
    expect(e2.codeName).toBe('NoNode');
    expect(e2.results).toEqual([{ type: 'error', code: -101 }]);
    const e3 = await rejects(zk.multi([{ type: 'create', path: 'bad' }]));
    expect(e3.codeName).toBe('BadArguments');
  });

  it('builds and commits a transaction', async () => {
    const p = root();
    await zk.create(p);
    const results = await zk
      .transaction()
      .create(`${p}/x`, 'x')
      .setData(p, 'top')
      .check(`${p}/x`, 0)
      .delete(`${p}/x`)
      .commit();
    expect(results.map((r) => r.type)).toEqual(['create', 'setData', 'check', 'delete']);
    const e = await rejects(zk.transaction().create(`${p}/y`).create(`${p}/y`).commit());
    expect(e.codeName).toBe('NodeExists');
    expect(await zk.exists(`${p}/y`)).toBeNull();
  });

  it('runs multiRead with per-op success and failure', async () => {
    const p = root();
    await zk.create(p, 'top');
    await zk.create(`${p}/k`, 'kid');
    const results = await zk.multiRead([
      { type: 'getData', path: p },
      { type: 'getChildren', path: p },
      { type: 'getData', path: `${p}/missing` },
      { type: 'getData', path: `${p}/k` },
    ]);
    expect(results[0]?.type).toBe('getData');
    expect((results[0] as { data: Buffer }).data?.toString()).toBe('top');
    expect(results[1]).toEqual({ type: 'getChildren', children: ['k'] });
    expect(results[2]?.type).toBe('error');
    expect((results[2] as { error: KeeperError }).error.codeName).toBe('NoNode');
    expect((results[3] as { data: Buffer }).data?.toString()).toBe('kid');
  });

  it('fires one-shot data, exist and child watches once', async () => {
    const p = root();
    const events: WatchedEvent[] = [];
    const w = (e: WatchedEvent) => events.push(e);
    expect(await zk.exists(p, { watch: w })).toBeNull();
    await zk.create(p, 'a');
    await waitUntil(() => events.length === 1);
    expect(events[0]).toEqual({ type: EventType.NodeCreated, state: 3, path: p });
    await zk.getData(p, { watch: w });
    await zk.getChildren(p, { watch: w });
    await zk.setData(p, 'b');
    await zk.setData(p, 'c');
    await waitUntil(() => events.length === 2);
    expect(events[1]).toEqual({ type: EventType.NodeDataChanged, state: 3, path: p });
    await zk.create(`${p}/k`);
    await waitUntil(() => events.length === 3);
    expect(events[2]).toEqual({ type: EventType.NodeChildrenChanged, state: 3, path: p });
    await zk.exists(p, { watch: w });
    await zk.delete(`${p}/k`);
    await zk.delete(p);
    await waitUntil(() => events.length === 4);
    expect(events[3]).toEqual({ type: EventType.NodeDeleted, state: 3, path: p });
    await zk.create(p);
    await zk.sync(p);
    expect(events).toHaveLength(4);
  });

  it('delivers a watch event before the reply of a later request', async () => {
    const c = await client();
    const p = root();
    await zk.create(p, 'a');
    const order: string[] = [];
    await c.getData(p, { watch: () => order.push('event') });
    await zk.setData(p, 'b');
    await c.getData(p).then(() => order.push('reply'));
    expect(order).toEqual(['event', 'reply']);
  });

  it('gives a promise of the next event with oneShotWatch', async () => {
    const p = root();
    await zk.create(p, 'a');
    const w = oneShotWatch();
    await zk.getData(p, { watch: w.watcher });
    await zk.setData(p, 'b');
    const e = await w.event;
    expect(e.type).toBe(EventType.NodeDataChanged);
    expect(e.path).toBe(p);
  });

  it('keeps persistent and recursive watches', async () => {
    // The server keeps one watch mode per path and session, so each mode gets its own session.
    const c = await client();
    const p = root();
    await zk.create(p);
    const direct: WatchedEvent[] = [];
    const rec: WatchedEvent[] = [];
    await zk.addWatch(p, 'PERSISTENT', (e) => direct.push(e));
    await c.addWatch(p, 'PERSISTENT_RECURSIVE', (e) => rec.push(e));
    await zk.setData(p, '1');
    await zk.setData(p, '2');
    await zk.create(`${p}/a`);
    await zk.create(`${p}/a/b`, 'x');
    await zk.setData(`${p}/a/b`, 'y');
    await zk.sync(p);
    await c.sync(p);
    await waitUntil(() => direct.length === 3 && rec.length === 5).catch(() => {
      throw new Error(`events: ${JSON.stringify({ direct, rec })}`);
    });
    expect(direct.map((e) => [e.type, e.path])).toEqual([
      [EventType.NodeDataChanged, p],
      [EventType.NodeDataChanged, p],
      [EventType.NodeChildrenChanged, p],
    ]);
    expect(rec.map((e) => [e.type, e.path])).toEqual([
      [EventType.NodeDataChanged, p],
      [EventType.NodeDataChanged, p],
      [EventType.NodeCreated, `${p}/a`],
      [EventType.NodeCreated, `${p}/a/b`],
      [EventType.NodeDataChanged, `${p}/a/b`],
    ]);
    await zk.removeWatches(p, 'any');
    await c.removeWatches(p, 'any');
    await zk.setData(p, '3');
    await zk.create(`${p}/a/c`);
    await zk.sync(p);
    await c.sync(p);
    await new Promise((r) => setTimeout(r, 50));
    // Removal itself is reported to each removed watcher.
    expect(direct.at(-1)?.type).toBe(EventType.PersistentWatchRemoved);
    expect(rec.at(-1)?.type).toBe(EventType.PersistentWatchRemoved);
    expect(direct).toHaveLength(4);
    expect(rec).toHaveLength(6);
  });

  it('streams persistent watch events through an async iterator', async () => {
    const p = root();
    await zk.create(p);
    const stream = await zk.watchStream(p, 'PERSISTENT_RECURSIVE');
    await zk.create(`${p}/a`);
    await zk.setData(`${p}/a`, 'x');
    await zk.delete(`${p}/a`);
    const seen: Array<[number, string | undefined]> = [];
    for await (const e of stream) {
      seen.push([e.type, e.path]);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([
      [EventType.NodeCreated, `${p}/a`],
      [EventType.NodeDataChanged, `${p}/a`],
      [EventType.NodeDeleted, `${p}/a`],
    ]);
    // Breaking out closed the stream and removed the watch.
    expect((await rejects(zk.removeWatches(p, 'any'))).codeName).toBe('NoWatcher');
  });

  it('fails a watch stream whose consumer falls behind', async () => {
    const p = root();
    await zk.create(p);
    const stream = await zk.watchStream(p, 'PERSISTENT', { maxBuffered: 2 });
    for (let i = 0; i < 4; i++) await zk.setData(p, String(i));
    await zk.sync(p);
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    expect((await it.next()).done).toBe(false);
    const e = await rejects(it.next());
    expect(e.codeName).toBe('APIError');
  });

  it('removes one-shot watches on the server and locally', async () => {
    const p = root();
    await zk.create(p);
    const events: WatchedEvent[] = [];
    const w1 = (e: WatchedEvent) => events.push(e);
    await zk.getData(p, { watch: w1 });
    await zk.getChildren(p, { watch: w1 });
    expect((await rejects(zk.removeWatches(`${p}/none`, 'data'))).codeName).toBe('NoWatcher');
    await zk.removeWatches(p, 'data');
    expect(events.map((e) => e.type)).toEqual([EventType.DataWatchRemoved]);
    await zk.setData(p, 'changed');
    await zk.create(`${p}/k`);
    await waitUntil(() => events.length === 2);
    expect(events[1]?.type).toBe(EventType.NodeChildrenChanged);
    // A specific watcher: checkWatches on the server, then local removal.
    const w2 = (e: WatchedEvent) => events.push(e);
    await zk.getData(p, { watch: w2 });
    await zk.removeWatches(p, 'data', { watcher: w2 });
    expect(events[2]?.type).toBe(EventType.DataWatchRemoved);
    // A local removal.
    await zk.getChildren(p, { watch: w1 });
    await zk.removeWatches(p, 'children', { local: true });
    expect(events[3]?.type).toBe(EventType.ChildWatchRemoved);
    await zk.create(`${p}/k2`);
    await zk.setData(p, 'again');
    await zk.sync(p);
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toHaveLength(4);
  });

  it('reports NoWatcher once the watch has fired', async () => {
    const p = root();
    await zk.create(p);
    const c = await client();
    await c.getData(p, { watch: () => {} });
    const other = await client();
    await other.setData(p, 'x');
    await c.sync(p);
    expect((await rejects(c.removeWatches(p, 'data'))).codeName).toBe('NoWatcher');
  });

  it('adds digest auth, enforces ACLs and reports whoAmI', async () => {
    const a = await client();
    const b = await client();
    await a.addAuth('digest', 'alice:secret');
    const who = await a.whoAmI();
    expect(who).toContainEqual({ authScheme: 'digest', user: 'alice' });
    expect(who).toContainEqual({ authScheme: 'ip', user: '127.0.0.1' });
    const p = root();
    await a.create(p, 'private', { acl: CREATOR_ALL_ACL });
    const { acl } = await a.getACL(p);
    expect(acl[0]?.id.scheme).toBe('digest');
    expect(acl[0]?.id.id.startsWith('alice:')).toBe(true);
    expect((await rejects(b.getData(p))).codeName).toBe('NoAuth');
    await b.addAuth('digest', 'alice:secret');
    expect((await b.getData(p)).data?.toString()).toBe('private');
    const c = await client('', { authInfo: [{ scheme: 'digest', auth: 'alice:secret' }] });
    expect((await c.getData(p)).data?.toString()).toBe('private');
  });

  it('fails every request after the server rejects credentials', async () => {
    const c = createClient(server.connectString, { sessionTimeout: 10_000 });
    clients.push(c);
    await c.connect();
    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    const e = await rejects(c.addAuth('nosuchscheme', 'x'));
    expect(e.codeName).toBe('AuthFailed');
    expect(c.state).toBe('authFailed');
    expect(states).toEqual(['authFailed']);
    expect((await rejects(c.exists('/'))).codeName).toBe('AuthFailed');
  });

  it('applies and strips the chroot', async () => {
    const base = root();
    await zk.create(base);
    const c = await client(base);
    expect(c.chroot).toBe(base);
    expect(await c.create('/x', 'in')).toBe('/x');
    expect((await zk.getData(`${base}/x`)).data?.toString()).toBe('in');
    const seq = await c.create('/s-', null, { mode: 'EPHEMERAL_SEQUENTIAL' });
    expect(seq).toMatch(/^\/s-\d{10}$/);
    expect((await c.getChildren('/')).sort()).toEqual([`s-${seq.slice(3)}`, 'x'].sort());
    expect(await c.getEphemerals()).toEqual([seq]);
    const results = await c.multi([
      { type: 'create', path: '/m' },
      { type: 'create', path: '/m/n' },
    ]);
    expect(results).toEqual([
      { type: 'create', path: '/m' },
      { type: 'create', path: '/m/n' },
    ]);
    const events: WatchedEvent[] = [];
    await c.getData('/x', { watch: (e) => events.push(e) });
    await c.getChildren('/m', { watch: (e) => events.push(e) });
    await zk.setData(`${base}/x`, 'changed');
    await zk.create(`${base}/m/o`);
    await waitUntil(() => events.length === 2);
    expect(events.map((e) => e.path)).toEqual(['/x', '/m']);
    const r = await c.multiRead([{ type: 'getChildren', path: '/m' }]);
    expect((r[0] as { children: string[] }).children.sort()).toEqual(['n', 'o']);
    expect((await rejects(c.getData('/nope'))).path).toBe('/nope');
  });

  it('applies the chroot to persistent watches', async () => {
    const base = root();
    await zk.create(base);
    await zk.create(`${base}/m`);
    const c = await client(base);
    const events: WatchedEvent[] = [];
    await c.addWatch('/m', 'PERSISTENT_RECURSIVE', (e) => events.push(e));
    await zk.create(`${base}/m/n`);
    await zk.create(`${base}/m/n/o`);
    await waitUntil(() => events.length === 2);
    expect(events.map((e) => e.path)).toEqual(['/m/n', '/m/n/o']);
  });

  it('pipelines many requests on one connection and answers them in order', async () => {
    const p = root();
    await zk.create(p);
    const n = 2000;
    const order: number[] = [];
    const writes = Array.from({ length: 50 }, (_, i) => zk.create(`${p}/n${i}`, String(i)));
    const reads = Array.from({ length: n }, (_, i) =>
      zk.exists(`${p}/n${i % 50}`).then((s) => {
        order.push(i);
        return s;
      }),
    );
    await Promise.all(writes);
    const stats = await Promise.all(reads);
    expect(stats.every((s) => s !== null)).toBe(true);
    expect(order).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('bounds pending requests', async () => {
    const c = await client('', { maxPendingRequests: 10 });
    const ps = Array.from({ length: 10 }, () => c.exists('/'));
    const e = await rejects(c.exists('/'));
    expect(e.codeName).toBe('APIError');
    expect(e.message).toMatch(/too many pending requests/);
    await Promise.all(ps);
    expect(await c.exists('/')).not.toBeNull();
  });

  it('bounds the bytes held by pending requests', async () => {
    const c = await client('', { maxPendingBytes: 1000 });
    const p = root();
    await zk.create(p);
    // One request alone is always accepted, whatever its size.
    const first = c.setData(p, Buffer.alloc(2000));
    const e = await rejects(c.setData(p, Buffer.alloc(10)));
    expect(e.codeName).toBe('APIError');
    expect(e.message).toMatch(/maxPendingBytes/);
    expect((await first).dataLength).toBe(2000);
    expect((await c.setData(p, Buffer.alloc(10))).dataLength).toBe(10);
  });

  it('reads the ensemble config outside the chroot and refuses reconfig when disabled', async () => {
    const base = root();
    await zk.create(base);
    const c = await client(base);
    const direct = await zk.getConfig();
    const viaChroot = await c.getConfig({ watch: () => {} });
    expect(viaChroot.stat).toEqual(direct.stat);
    expect(viaChroot.data).toEqual(direct.data);
    const e = await rejects(zk.reconfig({ joining: 'server.9=127.0.0.1:2888:3888;2181' }));
    expect(e.codeName).toBe('ReconfigDisabled');
  });

  it('refuses requests larger than maxFrameSize and replies larger than it', async () => {
    const c = await client('', { maxFrameSize: 2048 });
    const p = root();
    const e = await rejects(c.create(p, Buffer.alloc(4096)));
    expect(e.codeName).toBe('BadArguments');
    await zk.create(p, Buffer.alloc(4096));
    // A reply above the limit drops the connection: the request fails with ConnectionLoss.
    expect((await rejects(c.getData(p))).codeName).toBe('ConnectionLoss');
    await c.connect();
    expect(await c.exists(p)).not.toBeNull();
  });

  it('fails an oversized request alone among the requests written in the same turn', async () => {
    const c = await client('', { maxFrameSize: 2048 });
    const p = root();
    await zk.create(p, 'before');
    // All issued synchronously: they share one socket write, minus the refused one.
    const set1 = c.setData(p, 'one');
    const big = rejects(c.create(`${p}/big`, Buffer.alloc(4096)));
    const get = c.getData(p);
    const set2 = c.setData(p, 'two');
    const exists = c.exists(`${p}/big`);
    expect((await big).codeName).toBe('BadArguments');
    expect((await set1).version).toBe(1);
    expect((await get).data?.toString()).toBe('one');
    expect((await set2).version).toBe(2);
    expect(await exists).toBeNull();
    expect((await c.getData(p)).data?.toString()).toBe('two');
  });

  it('keeps returned data intact across later reads and replies that span socket reads', async () => {
    const c = await client();
    const p = root();
    await zk.create(p);
    const big = Buffer.alloc(700_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    await zk.create(`${p}/big`, big);
    const names = Array.from({ length: 50 }, (_, i) => `${p}/n${i}`);
    await Promise.all(names.map((name, i) => zk.create(name, Buffer.alloc(100, 0x30 + (i % 40)))));
    const first = await Promise.all(names.map((name) => c.getData(name)));
    // Many more replies, a large one among them, go through the connection's read buffer.
    const again = await Promise.all([
      ...names.map((name) => c.getData(name)),
      c.getData(`${p}/big`),
      ...names.map((name) => c.getData(name)),
    ]);
    first.forEach((r, i) => {
      expect(r.data).toEqual(Buffer.alloc(100, 0x30 + (i % 40)));
    });
    expect(again[names.length]?.data?.equals(big)).toBe(true);
    expect(again.length).toBe(2 * names.length + 1);
  });

  it('closes: pending requests are answered, later ones fail with SessionExpired', async () => {
    const c = await client();
    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    const p = root();
    const created = c.create(p, null, { mode: 'EPHEMERAL' });
    const closing = c.close();
    expect(await created).toBe(p);
    await closing;
    expect(c.state).toBe('closed');
    expect(states).toEqual(['closed']);
    const e = await rejects(c.exists('/'));
    expect(e.codeName).toBe('SessionExpired');
    expect(e.message).toMatch(/closed/);
    expect(await zk.exists(p)).toBeNull();
    await c.close();
  });
});
