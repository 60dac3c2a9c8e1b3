import { createClient, type Watcher, type ZooKeeperClient } from '@zkts/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Lease,
  Lock,
  RecipeError,
  Semaphore,
  ServiceDiscovery,
  type ServiceInstance,
} from '../src/index.js';
import { clients, closeAll, sleep, TARGETS, type Target, TcpProxy, until } from './targets.js';

/**
 * Counts the one-shot watches (exists, getChildren) a client sets and the notifications they
 * receive.
 */
function countWatches(zk: ZooKeeperClient, counter: { set: number; fired: number }): void {
  const wrap = (w: Watcher | undefined): Watcher | undefined => {
    if (w === undefined) return undefined;
    counter.set++;
    return (event) => {
      counter.fired++;
      w(event);
    };
  };
  const exists = zk.exists.bind(zk);
  zk.exists = ((path, options = {}) =>
    exists(path, { ...options, watch: wrap(options.watch) })) as typeof zk.exists;
  const getChildren = zk.getChildren.bind(zk);
  zk.getChildren = ((path: string, options: Parameters<typeof getChildren>[1] = {}) =>
    getChildren(path, { ...options, watch: wrap(options.watch) })) as typeof zk.getChildren;
}

describe.each(TARGETS)('Curator behaviour against %s', (_name, start) => {
  let target: Target;
  beforeAll(async () => {
    target = await start();
  });
  afterAll(async () => {
    await target?.stop();
  });

  it('semaphore: a release wakes one waiter, not the herd, and leases go in arrival order', async () => {
    const waiters = 8;
    const zks = await clients(target.connectString, waiters + 2);
    const watches = { set: 0, fired: 0 };
    for (const zk of zks.slice(2)) countWatches(zk, watches);
    const sem = (zk: ZooKeeperClient) => new Semaphore(zk, '/sem-herd', 2);
    const probe = zks[0] as ZooKeeperClient;
    try {
      const held = [
        (await sem(zks[0] as ZooKeeperClient).acquire()) as Lease,
        (await sem(zks[1] as ZooKeeperClient).acquire()) as Lease,
      ];
      expect(held.every((l) => l !== null)).toBe(true);
      const order: number[] = [];
      const leases = new Map<number, Lease>();
      const done: Promise<void>[] = [];
      for (let i = 0; i < waiters; i++) {
        const acquired = sem(zks[i + 2] as ZooKeeperClient)
          .acquire(30_000)
          .then((lease) => {
            expect(lease).not.toBeNull();
            order.push(i);
            leases.set(i, lease as Lease);
          });
        // Failures surface through Promise.all below; a test cut short must not leave them unhandled.
        acquired.catch(() => undefined);
        done.push(acquired);
        // Queue them one after another so arrival order is known.
        await until(
          async () => (await probe.getChildren('/sem-herd/locks')).length === i + 1,
          10_000,
          'queued',
        );
      }
      await sleep(200);
      // Every waiter set one watch: the head on the leases, each other on the lock node before its own.
      expect(watches).toEqual({ set: waiters, fired: 0 });
      // Of them only the head's is a child watch; the others are exists watches on distinct nodes.
      const wchs = await target.fourLetterWord('wchs');
      expect(Number(/watching (\d+) path/.exec(wchs)?.[1])).toBeGreaterThanOrEqual(waiters - 1);
      const released = [held[0] as Lease, held[1] as Lease];
      for (let r = 0; r < waiters; r++) {
        const before = { ...watches };
        const lease = r < 2 ? released[r] : leases.get(r - 2);
        await lease?.release();
        await until(() => order.length === r + 1, 10_000, `lease ${r + 1} granted`);
        await sleep(r + 1 < waiters ? 100 : 0);
        // The head hears the lease go; handing the queue on wakes the next one: two, however many wait.
        expect(watches.fired - before.fired).toBeLessThanOrEqual(2);
        expect(watches.set - before.set).toBeLessThanOrEqual(2);
      }
      await Promise.all(done);
      expect(order).toEqual([...Array(waiters).keys()]);
      for (let i = waiters - 2; i < waiters; i++) await leases.get(i)?.release();
      expect(await probe.getChildren('/sem-herd/leases')).toEqual([]);
      expect(await probe.getChildren('/sem-herd/locks')).toEqual([]);
    } finally {
      await closeAll(zks);
    }
  });

  it('service discovery registers its instances again on a new session after expiry', async () => {
    const proxy = new TcpProxy(target.port);
    await proxy.start();
    const first = createClient(`127.0.0.1:${proxy.listenPort}`, { sessionTimeout: 2000, retryDelay: 200 });
    await first.connect();
    const [observer] = (await clients(target.connectString, 1)) as [ZooKeeperClient];
    const made: ZooKeeperClient[] = [];
    const discovery = new ServiceDiscovery(first, '/services-expiry', {
      newClient: async () => {
        const zk = createClient(target.connectString, { sessionTimeout: 10_000 });
        made.push(zk);
        await zk.connect();
        return zk;
      },
    });
    const reregistered: ServiceInstance[][] = [];
    discovery.on('reregistered', (list) => reregistered.push(list));
    const view = new ServiceDiscovery(observer, '/services-expiry');
    try {
      const a = await discovery.registerService({ name: 'api', id: 'a', address: '10.0.0.1', port: 1 });
      await discovery.registerService({ name: 'api', id: 'b', address: '10.0.0.2', port: 2 });
      await discovery.registerService({ name: 'api', id: 'gone', address: '10.0.0.3' });
      await discovery.unregisterService('api', 'gone');
      expect((await view.queryForInstances('api')).map((i) => i.id)).toEqual(['a', 'b']);
      await proxy.cut();
      // The server expires the session: its ephemeral instances go.
      await until(async () => (await view.queryForInstances('api')).length === 0, 15_000, 'instances gone');
      await proxy.restore();
      await until(() => first.state === 'expired', 15_000, 'the client learns of the expiry');
      await until(async () => (await view.queryForInstances('api')).length === 2, 15_000, 'registered again');
      expect(made).toHaveLength(1);
      expect(discovery.zk).toBe(made[0]);
      expect(reregistered.map((l) => l.map((i) => i.id).sort())).toEqual([['a', 'b']]);
      expect(await view.queryForInstance('api', 'a')).toEqual(a);
      const owner = (await observer.exists('/services-expiry/api/a'))?.ephemeralOwner;
      expect(owner).toBe(made[0]?.sessionId);
      discovery.close();
    } finally {
      await proxy.cut();
      await closeAll([first, observer, ...made]);
    }
  }, 60_000);

  it('lock: reentrant per Lock object; the node goes with the last release', async () => {
    const zks = await clients(target.connectString, 2);
    const [a, b] = zks as [ZooKeeperClient, ZooKeeperClient];
    try {
      const lock = new Lock(a, '/locks/reentrant');
      expect(await lock.acquire()).toBe(true);
      expect(await lock.acquire(10)).toBe(true);
      expect(lock.holdCount).toBe(2);
      const nested = await lock.withLock(async () => {
        expect(lock.holdCount).toBe(3);
        return 'inner';
      });
      expect(nested).toBe('inner');
      expect(lock.holdCount).toBe(2);
      expect(await a.getChildren('/locks/reentrant')).toHaveLength(1);
      const other = new Lock(b, '/locks/reentrant');
      expect(await other.acquire(200)).toBe(false);
      await lock.release();
      expect(lock.isHeld).toBe(true);
      expect(await other.acquire(200)).toBe(false);
      await lock.release();
      expect(lock.isHeld).toBe(false);
      expect(lock.holdCount).toBe(0);
      await expect(lock.release()).rejects.toBeInstanceOf(RecipeError);
      expect(await other.acquire(5000)).toBe(true);
      // A second acquire while the first still waits is refused.
      const waiting = lock.acquire(5000);
      await expect(lock.acquire(10)).rejects.toMatchObject({ kind: 'IllegalState' });
      await other.release();
      expect(await waiting).toBe(true);
      await lock.release();
      expect(await a.getChildren('/locks/reentrant')).toEqual([]);
    } finally {
      await closeAll(zks);
    }
  });
});
