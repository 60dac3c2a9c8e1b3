/**
 * Connection management against a real server (Apache ZooKeeper 3.8 and zkts): restarts, connections
 * cut by the server or the network, a silent server, session expiry, and watches carried across.
 * A TCP proxy between client and server plays the network.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ClientOptions,
  type ConnectionState,
  CREATOR_ALL_ACL,
  createClient,
  EventType,
  KeeperError,
  KeeperState,
  type WatchedEvent,
  type ZooKeeperClient,
} from '../src/index.js';
import { hijackSession, type ServerHandle, startServer, TARGETS, TcpProxy } from './targets.js';

async function rejects(p: Promise<unknown>): Promise<KeeperError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeeperError) return e;
    throw e;
  }
  throw new Error('expected a KeeperError, the promise resolved');
}

async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = 'condition',
): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > ms) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Lost and resumed. A stopping server may still accept a connection for a moment, so the client
 * can go through more than one disconnect before it is back; it never expires.
 */
function expectResumed(states: ConnectionState[]): void {
  expect(states.slice(0, 2)).toEqual(['connected', 'disconnected']);
  expect(states.at(-1)).toBe('connected');
  expect(states.filter((s) => s !== 'connected' && s !== 'disconnected')).toEqual([]);
}

describe.each(TARGETS)('connection management against %s', (target) => {
  let server: ServerHandle;
  let admin: ZooKeeperClient;
  const clients: ZooKeeperClient[] = [];
  const proxies: TcpProxy[] = [];
  let n = 0;
  const root = () => `/r${++n}`;

  function track(c: ZooKeeperClient): { c: ZooKeeperClient; states: ConnectionState[] } {
    const states: ConnectionState[] = [];
    c.on('state', (s) => states.push(s));
    clients.push(c);
    return { c, states };
  }

  function open(connectString: string, options: ClientOptions = {}) {
    return track(createClient(connectString, { sessionTimeout: 6000, retryDelay: 50, ...options }));
  }

  async function proxy(): Promise<TcpProxy> {
    const p = await TcpProxy.start(server.port);
    proxies.push(p);
    return p;
  }

  beforeAll(async () => {
    // tickTime 500: sessions of 1 s are allowed and expire promptly. Restart tests ask for long
    // sessions: stopping and starting a JVM on a loaded machine can take more than 10 s.
    server = await startServer(target, { tickTime: '500', maxSessionTimeout: '60000' });
    admin = createClient(server.connectString, { sessionTimeout: 20_000, retryDelay: 50 });
    clients.push(admin);
    await admin.connect();
  });
  // One test's failure (a stalled JVM can expire sessions) must not fail every later test.
  beforeEach(async () => {
    if (admin.state === 'expired' || admin.state === 'closed') {
      admin = createClient(server.connectString, { sessionTimeout: 20_000, retryDelay: 50 });
      clients.push(admin);
      await admin.connect();
    }
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(proxies.map((p) => p.close()));
    await server.destroy();
  });

  it('resumes the session after the server restarts between two calls, with its watches', async () => {
    const { c, states } = open(server.connectString, {
      sessionTimeout: 40_000,
      connectionWaitTimeout: 40_000,
      connectTimeout: 2000,
    });
    await c.connect();
    const id = c.sessionId;
    const p = root();
    await c.create(p, 'v1');
    await c.create(`${p}-eph`, null, { mode: 'EPHEMERAL' });
    const events: WatchedEvent[] = [];
    await c.getData(p, { watch: (e) => events.push(e) });
    await c.getChildren(p, { watch: (e) => events.push(e) });
    expect(await c.exists(`${p}/later`, { watch: (e) => events.push(e) })).toBeNull();

    await server.restart();
    // The second call: issued at once, it waits for the reconnect.
    expect((await c.getData(p)).data?.toString()).toBe('v1');
    expectResumed(states);
    expect(c.sessionId).toBe(id);
    expect(await c.exists(`${p}-eph`)).not.toBeNull();

    await admin.setData(p, 'v2');
    await admin.create(`${p}/later`);
    await waitUntil(() => events.length === 3, 10_000, 'three watch events');
    expect(events.map((e) => [e.type, e.path]).sort()).toEqual(
      [
        [EventType.NodeDataChanged, p],
        [EventType.NodeChildrenChanged, p],
        [EventType.NodeCreated, `${p}/later`],
      ].sort(),
    );
  }, 60_000);

  it('queues requests while the server is down and sends them when it is back', async () => {
    const { c, states } = open(server.connectString, {
      sessionTimeout: 40_000,
      connectionWaitTimeout: 40_000,
      connectTimeout: 2000,
    });
    await c.connect();
    const p = root();
    await c.create(p, 'x');
    await server.stop();
    await waitUntil(() => c.state === 'disconnected', 5000, 'disconnected');
    const reads = [c.getData(p), c.exists(p), c.create(`${p}/q`)] as const;
    await sleep(300);
    await server.restart();
    const [data, stat, created] = await Promise.all(reads);
    expect(data.data?.toString()).toBe('x');
    expect(stat?.numChildren).toBe(0);
    expect(created).toBe(`${p}/q`);
    expectResumed(states);
  }, 60_000);

  it('fails requests that wait for a connection longer than connectionWaitTimeout', async () => {
    const px = await proxy();
    const { c } = open(px.connectString, { connectionWaitTimeout: 300 });
    await c.connect();
    px.mode = 'refuse';
    px.dropAll();
    await waitUntil(() => c.state === 'disconnected', 5000, 'disconnected');
    const started = Date.now();
    const e = await rejects(c.exists('/'));
    expect(e.codeName).toBe('ConnectionLoss');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3000);
    px.mode = 'pass';
    await c.connect();
    expect(await c.exists('/')).not.toBeNull();
  });

  it('fails requests in flight with ConnectionLoss when the connection drops, then reconnects', async () => {
    const px = await proxy();
    const { c, states } = open(px.connectString);
    await c.connect();
    const id = c.sessionId;
    px.mode = 'hold';
    const inflight = c.exists('/');
    await sleep(100);
    px.dropAll();
    px.mode = 'pass';
    expect((await rejects(inflight)).codeName).toBe('ConnectionLoss');
    expect(await c.exists('/')).not.toBeNull();
    expect(c.sessionId).toBe(id);
    expect(states).toEqual(['connected', 'disconnected', 'connected']);
  });

  it('detects a silent server by its missing ping replies and reconnects', async () => {
    const px = await proxy();
    const { c, states } = open(px.connectString, { sessionTimeout: 1500 });
    await c.connect();
    const id = c.sessionId;
    px.mode = 'hold';
    // No reply for two thirds of the session timeout: the client gives the connection up.
    await waitUntil(() => c.state === 'disconnected', 3000, 'disconnected');
    px.mode = 'pass';
    px.dropAll();
    await c.connect();
    expect(c.sessionId).toBe(id);
    expect(states).toEqual(['connected', 'disconnected', 'connected']);
  });

  it('keeps an idle session alive with pings', async () => {
    // Well past its timeout, kept alive by pings alone (a timeout of a few seconds: a loaded
    // machine can hold a JVM for a second).
    const { c, states } = open(server.connectString, { sessionTimeout: 4000 });
    await c.connect();
    const p = root();
    await c.create(p, null, { mode: 'EPHEMERAL' });
    await sleep(9000);
    expect(states).toEqual(['connected']);
    expect(await admin.exists(p)).not.toBeNull();
    expect(await c.exists(p)).not.toBeNull();
  });

  it('survives a connection killed by the server and catches up on missed watch events', async () => {
    const px = await proxy();
    const { c, states } = open(px.connectString);
    await c.connect();
    const p = root();
    await c.create(p, 'v1');
    await c.create(`${p}/gone`);
    const events: WatchedEvent[] = [];
    const w = (e: WatchedEvent) => events.push(e);
    await c.getData(p, { watch: w });
    await c.getChildren(p, { watch: w });
    expect(await c.exists(`${p}/new`, { watch: w })).toBeNull();
    await c.getData(`${p}/gone`, { watch: w });
    await c.exists(`${p}/same`, { watch: w });
    px.mode = 'refuse';
    // Another connection takes the session over: the server closes this client's connection.
    const acl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
    const hijack = await hijackSession(server.port, c.sessionId, c.sessionPassword, [
      { type: 'setData', path: p, data: Buffer.from('v2'), version: -1 },
      { type: 'create', path: `${p}/new`, data: null, acl, flags: 0 },
      { type: 'delete', path: `${p}/gone`, version: -1 },
    ]);
    expect(hijack.timeout).toBeGreaterThan(0);
    expect(hijack.errs).toEqual([0, 0, 0]);
    await waitUntil(() => c.state === 'disconnected', 5000, 'disconnected');
    expect(events).toEqual([]);
    px.mode = 'pass';
    await c.connect();
    // setWatches2 told the server the last zxid seen: what changed meanwhile fires at once.
    await waitUntil(() => events.length >= 4, 5000, 'the missed events');
    await c.sync(p);
    expect(events.map((e) => `${e.type} ${e.path}`).sort()).toEqual(
      [
        `${EventType.NodeDataChanged} ${p}`,
        `${EventType.NodeChildrenChanged} ${p}`,
        `${EventType.NodeCreated} ${p}/new`,
        `${EventType.NodeDeleted} ${p}/gone`,
      ].sort(),
    );
    expect(events.every((e) => e.state === KeeperState.SyncConnected)).toBe(true);
    expect(states).toEqual(['connected', 'disconnected', 'connected']);
    expect((await c.getData(p)).data?.toString()).toBe('v2');
    // The watch on an unchanged path is still registered and fires later.
    await admin.create(`${p}/same`);
    await waitUntil(() => events.length === 5, 5000, 'the later event');
    expect(events[4]).toEqual({
      type: EventType.NodeCreated,
      state: KeeperState.SyncConnected,
      path: `${p}/same`,
    });
  });

  it('re-registers persistent watches after a reconnect', async () => {
    const px = await proxy();
    const { c, states } = open(px.connectString);
    await c.connect();
    const p = root();
    await c.create(p);
    const events: WatchedEvent[] = [];
    await c.addWatch(p, 'PERSISTENT_RECURSIVE', (e) => events.push(e));
    await admin.create(`${p}/a`);
    await waitUntil(() => events.length === 1, 5000, 'first event');
    px.dropAll();
    await waitUntil(() => states.length === 3, 5000, 'a reconnect');
    expect(states).toEqual(['connected', 'disconnected', 'connected']);
    await admin.create(`${p}/a/b`);
    await admin.setData(`${p}/a`, 'x');
    await waitUntil(() => events.length === 3, 5000, 'events after the reconnect');
    expect(events.map((e) => [e.type, e.path])).toEqual([
      [EventType.NodeCreated, `${p}/a`],
      [EventType.NodeCreated, `${p}/a/b`],
      [EventType.NodeDataChanged, `${p}/a`],
    ]);
  });

  it('reports an expired session as a state, to watchers and to every request', async () => {
    const px = await proxy();
    const { c, states } = open(px.connectString, { sessionTimeout: 1000, connectionWaitTimeout: 30_000 });
    await c.connect();
    expect(c.sessionTimeout).toBe(1000);
    const p = root();
    await c.create(p, null, { mode: 'EPHEMERAL' });
    const events: WatchedEvent[] = [];
    await c.exists(p, { watch: (e) => events.push(e) });
    px.mode = 'refuse';
    px.dropAll();
    // The server expires the session and deletes its ephemeral.
    await waitUntil(async () => (await admin.exists(p)) === null, 10_000, 'the ephemeral to go');
    // Deleting the node fired the watch on the server, but this client was away: only expiry reaches it.
    const waiting = c.getData(p);
    px.mode = 'pass';
    const e = await rejects(waiting);
    expect(e.codeName).toBe('SessionExpired');
    expect(c.state).toBe('expired');
    expect(states).toEqual(['connected', 'disconnected', 'expired']);
    expect(events).toEqual([{ type: EventType.None, state: KeeperState.Expired, path: undefined }]);
    expect((await rejects(c.exists('/'))).codeName).toBe('SessionExpired');
    await expect(c.connect()).rejects.toBeInstanceOf(KeeperError);
    await c.close();
    expect(c.state).toBe('closed');
  });

  it('resumes a session by id and password in a new client', async () => {
    const px = await proxy();
    const first = open(px.connectString).c;
    await first.connect();
    const p = root();
    await first.create(p, null, { mode: 'EPHEMERAL' });
    // Keep the first client away, or both would take the session from each other in turn.
    px.mode = 'refuse';
    const second = open(server.connectString, {
      sessionId: first.sessionId,
      sessionPassword: first.sessionPassword,
    }).c;
    await second.connect();
    expect(second.sessionId).toBe(first.sessionId);
    expect(await second.getEphemerals()).toContain(p);
    const bad = open(server.connectString, {
      sessionId: first.sessionId,
      sessionPassword: Buffer.alloc(16, 1),
      connectTimeout: 2000,
    });
    // A wrong password is answered as an expired session.
    await expect(bad.c.connect()).rejects.toMatchObject({ codeName: 'SessionExpired' });
    expect(bad.states).toEqual(['expired']);
  });

  it('removes watches locally while disconnected and does not re-register them', async () => {
    const px = await proxy();
    const { c, states } = open(px.connectString);
    await c.connect();
    const p = root();
    await c.create(p, 'a');
    const events: WatchedEvent[] = [];
    await c.getData(p, { watch: (e) => events.push(e) });
    await c.getChildren(p, { watch: (e) => events.push(e) });
    px.mode = 'refuse';
    px.dropAll();
    await waitUntil(() => c.state === 'disconnected', 5000, 'disconnected');
    await c.removeWatches(p, 'data', { local: true });
    expect(events.map((e) => e.type)).toEqual([EventType.DataWatchRemoved]);
    px.mode = 'pass';
    await c.connect();
    await admin.setData(p, 'b');
    await admin.create(`${p}/k`);
    await waitUntil(() => events.length === 2, 5000, 'the child event');
    await c.sync(p);
    expect(events.map((e) => e.type)).toEqual([EventType.DataWatchRemoved, EventType.NodeChildrenChanged]);
    expect(states).toEqual(['connected', 'disconnected', 'connected']);
  });

  it('re-registers more watches than fit one setWatches request', async () => {
    const px = await proxy();
    const { c, states } = open(px.connectString);
    await c.connect();
    const p = root();
    await c.create(p);
    // 2500 paths of about 70 characters: more than the 128 KiB a batch holds.
    const paths = Array.from({ length: 2500 }, (_, i) => `${p}/${'w'.repeat(60)}-${i}`);
    const seen = new Set<string>();
    await Promise.all(paths.map((q) => c.exists(q, { watch: (e) => seen.add(`${e.type} ${e.path}`) })));
    px.dropAll();
    await waitUntil(() => states.length === 3, 5000, 'a reconnect');
    const first = paths[0] as string;
    const last = paths.at(-1) as string;
    await admin.create(first);
    await admin.create(last);
    await waitUntil(() => seen.size === 2, 5000, 'both events');
    expect([...seen].sort()).toEqual(
      [`${EventType.NodeCreated} ${first}`, `${EventType.NodeCreated} ${last}`].sort(),
    );
  });

  it('sends credentials again after a reconnect', async () => {
    const px = await proxy();
    const { c, states } = open(px.connectString);
    await c.connect();
    await c.addAuth('digest', 'bob:pw');
    const p = root();
    await c.create(p, 'mine', { acl: CREATOR_ALL_ACL });
    px.dropAll();
    await waitUntil(() => states.length === 3, 5000, 'a reconnect');
    expect((await c.getData(p)).data?.toString()).toBe('mine');
    expect(await c.whoAmI()).toContainEqual({ authScheme: 'digest', user: 'bob' });
    expect((await rejects(admin.getData(p))).codeName).toBe('NoAuth');
  });

  it('gives up waiting in connect() after its timeout but keeps trying', async () => {
    const px = await proxy();
    px.mode = 'refuse';
    const { c, states } = open(px.connectString);
    const e = await rejects(c.connect({ timeout: 300 }));
    expect(e.codeName).toBe('ConnectionLoss');
    expect(states).toEqual([]);
    px.mode = 'pass';
    await c.connect();
    expect(states).toEqual(['connected']);
  });

  it('tries the next host when one is down', async () => {
    const px = await proxy();
    px.mode = 'refuse';
    const { c } = open(`${px.connectString},${server.connectString}`, { random: () => 0.99 });
    await c.connect();
    expect(c.currentServer).toBe(server.connectString);
  });
});
