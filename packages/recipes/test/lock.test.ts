import type { ZooKeeperClient } from '@zkts/client';
import { createClient } from '@zkts/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CachedNode, LeaderLatch, Lock, RecipeError, TreeCache } from '../src/index.js';
import { clients, closeAll, sleep, TARGETS, type Target, TcpProxy, until } from './targets.js';

describe.each(TARGETS)('Lock against %s', (_name, start) => {
  let target: Target;
  beforeAll(async () => {
    target = await start();
  });
  afterAll(async () => {
    await target?.stop();
  });

  it('the seed example: 10 workers each take the lock and decrement a shared counter from 500', async () => {
    const zks = await clients(target.connectString, 10);
    const [admin] = zks as [ZooKeeperClient];
    await admin.create('/counter', '500');
    let inside = 0;
    let maxInside = 0;
    const intervals: Array<[number, number]> = [];
    const rounds = 3;
    try {
      await Promise.all(
        zks.map(async (zk) => {
          for (let r = 0; r < rounds; r++) {
            const lock = new Lock(zk, '/locks/test1');
            expect(await lock.acquire(30_000)).toBe(true);
            const began = performance.now();
            inside++;
            maxInside = Math.max(maxInside, inside);
            // An unguarded read-modify-write with a pause inside: only the lock keeps it correct.
            const n = Number((await zk.getData('/counter')).data?.toString());
            await sleep(2);
            await zk.setData('/counter', String(n - 1));
            inside--;
            intervals.push([began, performance.now()]);
            await lock.release();
          }
        }),
      );
      expect(maxInside).toBe(1);
      intervals.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < intervals.length; i++) {
        expect((intervals[i] as [number, number])[0]).toBeGreaterThanOrEqual(
          (intervals[i - 1] as [number, number])[1],
        );
      }
      expect(Number((await admin.getData('/counter')).data?.toString())).toBe(500 - 10 * rounds);
      expect(await admin.getChildren('/locks/test1')).toEqual([]);
    } finally {
      await closeAll(zks);
    }
  });

  it('waiters are served in arrival order, each watches one node, and one wakes per release', async () => {
    const waiters = 6;
    const zks = await clients(target.connectString, waiters + 1);
    const calls = new Array<number>(zks.length).fill(0);
    zks.forEach((zk, i) => {
      const original = zk.getChildren.bind(zk);
      zk.getChildren = ((...args: Parameters<typeof original>) => {
        calls[i] = (calls[i] as number) + 1;
        return original(...args);
      }) as typeof zk.getChildren;
    });
    const path = '/locks/fair';
    try {
      const holder = new Lock(zks[0] as ZooKeeperClient, path);
      await holder.acquire();
      const order: number[] = [];
      const done: Promise<void>[] = [];
      for (let i = 1; i <= waiters; i++) {
        const lock = new Lock(zks[i] as ZooKeeperClient, path);
        done.push(
          lock.acquire(30_000).then(async (ok) => {
            expect(ok).toBe(true);
            order.push(i);
            await sleep(20);
            await lock.release();
          }),
        );
        // Queue them one after another so arrival order is known.
        await until(
          async () => (await (zks[0] as ZooKeeperClient).getChildren(path)).length === i + 1,
          10_000,
          'queued',
        );
      }
      await until(() => calls.slice(1).every((c) => c >= 1), 10_000, 'every waiter checked once');
      await sleep(100);
      // One watch per waiter, each on a different node (no watch on the lock's parent).
      const wchs = await target.fourLetterWord('wchs');
      expect(Number(/watching (\d+) path/.exec(wchs)?.[1])).toBe(waiters);
      expect(Number(/Total watches:\s*(\d+)/.exec(wchs)?.[1])).toBe(waiters);
      const before = calls.slice(1).reduce((a, b) => a + b, 0);
      await holder.release();
      await Promise.all(done);
      expect(order).toEqual([1, 2, 3, 4, 5, 6]);
      // Each release woke exactly one waiter, which listed the children once more.
      const after = calls.slice(1).reduce((a, b) => a + b, 0);
      expect(after - before).toBe(waiters);
    } finally {
      await closeAll(zks);
    }
  });

  it('acquire(timeout) gives up and leaves no node behind', async () => {
    const zks = await clients(target.connectString, 2);
    try {
      const a = new Lock(zks[0] as ZooKeeperClient, '/locks/timeout');
      const b = new Lock(zks[1] as ZooKeeperClient, '/locks/timeout');
      await a.acquire();
      const t0 = Date.now();
      expect(await b.acquire(300)).toBe(false);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      expect(b.isHeld).toBe(false);
      expect(await (zks[0] as ZooKeeperClient).getChildren('/locks/timeout')).toHaveLength(1);
      await expect(b.release()).rejects.toBeInstanceOf(RecipeError);
      await a.release();
      expect(await b.acquire(1000)).toBe(true);
      await b.release();
    } finally {
      await closeAll(zks);
    }
  });

  it('a holder whose session expires is told so, and the next waiter gets the lock', async () => {
    const proxy = new TcpProxy(target.port);
    await proxy.start();
    const holderZk = createClient(`127.0.0.1:${proxy.listenPort}`, { sessionTimeout: 2000, retryDelay: 200 });
    await holderZk.connect();
    const [waiterZk] = (await clients(target.connectString, 1)) as [ZooKeeperClient];
    try {
      const holder = new Lock(holderZk, '/locks/expiry');
      const events: string[] = [];
      holder.on('suspended', () => events.push('suspended'));
      holder.on('lost', () => events.push('lost'));
      expect(await holder.acquire()).toBe(true);
      const waiter = new Lock(waiterZk, '/locks/expiry');
      let acquiredAt = 0;
      const waiting = waiter.acquire(30_000).then((ok) => {
        acquiredAt = Date.now();
        return ok;
      });
      await sleep(200);
      expect(acquiredAt).toBe(0);
      const cutAt = Date.now();
      await proxy.cut();
      await until(() => events.includes('suspended'), 10_000, 'suspended');
      expect(holder.isHeld).toBe(true);
      expect(await waiting).toBe(true);
      // The server had to expire the session first (timeout about 2 s).
      expect(acquiredAt - cutAt).toBeGreaterThanOrEqual(1000);
      await proxy.restore();
      await until(() => events.includes('lost'), 15_000, 'lost');
      expect(holder.isHeld).toBe(false);
      expect(holderZk.state).toBe('expired');
      await waiter.release();
    } finally {
      await proxy.cut();
      await closeAll([holderZk, waiterZk]);
    }
  });

  it('a leader whose session expires loses leadership and the follower takes over', async () => {
    const proxy = new TcpProxy(target.port);
    await proxy.start();
    const leaderZk = createClient(`127.0.0.1:${proxy.listenPort}`, { sessionTimeout: 2000, retryDelay: 200 });
    await leaderZk.connect();
    const [followerZk] = (await clients(target.connectString, 1)) as [ZooKeeperClient];
    const leader = new LeaderLatch(leaderZk, '/latch/expiry', 'a');
    const follower = new LeaderLatch(followerZk, '/latch/expiry', 'b');
    try {
      leader.start();
      expect(await leader.await(5000)).toBe(true);
      follower.start();
      expect(await follower.await(300)).toBe(false);
      const lostLeadership = new Promise<void>((r) => leader.once('notLeader', r));
      await proxy.cut();
      expect(await follower.await(15_000)).toBe(true);
      expect(await follower.getParticipants()).toEqual(['b']);
      await proxy.restore();
      await lostLeadership;
      expect(leader.hasLeadership()).toBe(false);
    } finally {
      await proxy.cut();
      await follower.close();
      await closeAll([leaderZk, followerZk]);
    }
  });

  it('a waiter that loses its connection for a while (not its session) still gets the lock', async () => {
    const proxy = new TcpProxy(target.port);
    await proxy.start();
    const waiterZk = createClient(`127.0.0.1:${proxy.listenPort}`, { sessionTimeout: 8000, retryDelay: 100 });
    await waiterZk.connect();
    const t0 = Date.now();
    const states: string[] = [];
    waiterZk.on('state', (st) => states.push(`${Date.now() - t0}ms ${st}`));
    const [holderZk] = (await clients(target.connectString, 1)) as [ZooKeeperClient];
    try {
      const holder = new Lock(holderZk, '/locks/blip');
      await holder.acquire();
      const waiter = new Lock(waiterZk, '/locks/blip');
      // Generous: on a loaded machine the reconnect alone can take seconds.
      const waiting = waiter.acquire(45_000);
      await until(async () => (await holderZk.getChildren('/locks/blip')).length === 2, 5000, 'queued');
      await proxy.cut();
      await until(() => waiterZk.state === 'disconnected', 5000, 'disconnected');
      // Released while the waiter cannot hear it: the watch is re-registered on reconnect and fires.
      await holder.release();
      await sleep(300);
      await proxy.restore();
      const got = await waiting;
      expect({ got, states }).toEqual({ got: true, states: expect.any(Array) as unknown });
      expect(waiter.isHeld).toBe(true);
      await waiter.release();
      expect(await holderZk.getChildren('/locks/blip')).toEqual([]);
    } finally {
      await proxy.cut();
      await closeAll([holderZk, waiterZk]);
    }
  }, 70_000);

  it('a tree cache catches up with changes made while its connection was down', async () => {
    const proxy = new TcpProxy(target.port);
    await proxy.start();
    const cacheZk = createClient(`127.0.0.1:${proxy.listenPort}`, { sessionTimeout: 8000, retryDelay: 100 });
    await cacheZk.connect();
    const [writer] = (await clients(target.connectString, 1)) as [ZooKeeperClient];
    try {
      await writer.create('/cached');
      await writer.create('/cached/keep', 'k1');
      await writer.create('/cached/gone', 'g');
      const cache = new TreeCache(cacheZk, '/cached');
      const events: string[] = [];
      const log = (kind: string) => (n: CachedNode) => events.push(`${kind} ${n.path}`);
      cache.on('nodeAdded', log('added'));
      cache.on('nodeUpdated', log('updated'));
      cache.on('nodeRemoved', log('removed'));
      await cache.start();
      events.length = 0;
      await proxy.cut();
      await until(() => cacheZk.state === 'disconnected', 5000, 'disconnected');
      await writer.setData('/cached/keep', 'k2');
      await writer.delete('/cached/gone');
      await writer.create('/cached/new', 'n');
      await proxy.restore();
      await until(() => events.length >= 3, 10_000, 'three events after reconnect');
      expect([...events].sort()).toEqual([
        'added /cached/new',
        'removed /cached/gone',
        'updated /cached/keep',
      ]);
      expect(cache.get('/cached/keep')?.data?.toString()).toBe('k2');
      expect(cache.paths()).toEqual(['/cached', '/cached/keep', '/cached/new']);
      await cache.close();
    } finally {
      await proxy.cut();
      await closeAll([cacheZk, writer]);
    }
  });
});
