import type { ZooKeeperClient } from '@zkts/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Barrier,
  type CachedNode,
  DistributedQueue,
  DoubleBarrier,
  LeaderElection,
  LeaderLatch,
  ReadWriteLock,
  Semaphore,
  ServiceDiscovery,
  SharedCounter,
  TreeCache,
} from '../src/index.js';
import { clients, closeAll, sleep, TARGETS, type Target, until } from './targets.js';

/** Tracks how many run at once inside sections of two kinds. */
class Occupancy {
  readers = 0;
  writers = 0;
  maxReaders = 0;
  violations: string[] = [];
  enter(kind: 'r' | 'w'): void {
    if (kind === 'r') {
      this.readers++;
      this.maxReaders = Math.max(this.maxReaders, this.readers);
      if (this.writers > 0) this.violations.push('reader with a writer');
    } else {
      this.writers++;
      if (this.writers > 1 || this.readers > 0) this.violations.push('writer not alone');
    }
  }
  leave(kind: 'r' | 'w'): void {
    if (kind === 'r') this.readers--;
    else this.writers--;
  }
}

describe.each(TARGETS)('recipes against %s', (_name, start) => {
  let target: Target;
  let zks: ZooKeeperClient[];
  beforeAll(async () => {
    target = await start();
    zks = await clients(target.connectString, 6);
  });
  afterAll(async () => {
    await closeAll(zks ?? []);
    await target?.stop();
  });
  const zk = (i: number) => zks[i] as ZooKeeperClient;

  it('read/write lock: readers share, writers exclude everyone', async () => {
    const occ = new Occupancy();
    await Promise.all(
      zks.map(async (c, i) => {
        for (let r = 0; r < 3; r++) {
          const kind = (i + r) % 3 === 0 ? 'w' : 'r';
          const rw = new ReadWriteLock(c, '/rw');
          const lock = kind === 'w' ? rw.writeLock : rw.readLock;
          await lock.acquire();
          occ.enter(kind);
          await sleep(15);
          occ.leave(kind);
          await lock.release();
        }
      }),
    );
    expect(occ.violations).toEqual([]);
    expect(occ.maxReaders).toBeGreaterThan(1);
  });

  it('read/write lock: a queued writer holds back later readers (writers do not starve)', async () => {
    const order: string[] = [];
    const r1 = new ReadWriteLock(zk(0), '/rw2').readLock;
    await r1.acquire();
    order.push('r1');
    const w = new ReadWriteLock(zk(1), '/rw2').writeLock;
    const writing = w.acquire(10_000).then(async () => {
      order.push('w');
      await sleep(50);
      order.push('w-done');
      await w.release();
    });
    await until(async () => (await zk(0).getChildren('/rw2')).length === 2, 5000, 'writer queued');
    const r2 = new ReadWriteLock(zk(2), '/rw2').readLock;
    const reading = r2.acquire(10_000).then(async () => {
      order.push('r2');
      await r2.release();
    });
    await sleep(200);
    expect(order).toEqual(['r1']);
    await r1.release();
    await Promise.all([writing, reading]);
    expect(order).toEqual(['r1', 'w', 'w-done', 'r2']);
  });

  it('semaphore: never more than maxLeases holders, and all get through', async () => {
    const sem = (c: ZooKeeperClient) => new Semaphore(c, '/sem', 2);
    let inside = 0;
    let max = 0;
    let served = 0;
    await Promise.all(
      zks.map(async (c) => {
        for (let r = 0; r < 2; r++) {
          const lease = await sem(c).acquire(20_000);
          expect(lease).not.toBeNull();
          inside++;
          max = Math.max(max, inside);
          await sleep(20);
          inside--;
          served++;
          await lease?.release();
        }
      }),
    );
    expect(max).toBe(2);
    expect(served).toBe(zks.length * 2);
    const a = await sem(zk(0)).acquire();
    const b = await sem(zk(1)).acquire();
    expect(await sem(zk(2)).acquire(200)).toBeNull();
    await a?.release();
    await b?.release();
  });

  it('leader latch: exactly one leader, the next takes over when it leaves', async () => {
    const latches = zks.slice(0, 4).map((c, i) => new LeaderLatch(c, '/latch', `member-${i}`));
    for (const l of latches) {
      l.start();
      await until(async () => (await l.getParticipants()).includes(l.id), 5000, 'joined');
    }
    await until(() => latches.filter((l) => l.hasLeadership()).length === 1, 5000, 'a leader');
    expect(latches[0]?.hasLeadership()).toBe(true);
    expect(await latches[0]?.getLeader()).toBe('member-0');
    expect(await latches[0]?.getParticipants()).toEqual(['member-0', 'member-1', 'member-2', 'member-3']);
    const notLeader = new Promise<void>((r) => latches[0]?.once('notLeader', r));
    await latches[0]?.close();
    await notLeader;
    expect(await latches[1]?.await(5000)).toBe(true);
    expect(latches.filter((l) => l.hasLeadership()).length).toBe(1);
    expect(await latches[2]?.await(100)).toBe(false);
    for (const l of latches) await l.close();
  });

  it('leader election: run() executes one leader at a time, in order', async () => {
    const ran: string[] = [];
    let inside = 0;
    await Promise.all(
      zks.slice(0, 4).map((c, i) =>
        new LeaderElection(c, '/election', `e${i}`).run(async () => {
          inside++;
          expect(inside).toBe(1);
          ran.push(`e${i}`);
          await sleep(20);
          inside--;
        }),
      ),
    );
    expect(ran.sort()).toEqual(['e0', 'e1', 'e2', 'e3']);
    expect(await new LeaderElection(zk(0), '/election').contenders()).toEqual([]);
  });

  it('barrier: waiters block until it is removed', async () => {
    const b = new Barrier(zk(0), '/barriers/b1');
    await b.setBarrier();
    expect(await new Barrier(zk(1), '/barriers/b1').waitOnBarrier(200)).toBe(false);
    const waiting = Promise.all(
      [1, 2, 3].map((i) => new Barrier(zk(i), '/barriers/b1').waitOnBarrier(10_000)),
    );
    await sleep(100);
    await b.removeBarrier();
    expect(await waiting).toEqual([true, true, true]);
  });

  it('double barrier: nobody enters before all arrive, nobody leaves before all left', async () => {
    const n = 3;
    const log: string[] = [];
    await Promise.all(
      zks.slice(0, n).map(async (c, i) => {
        await sleep(i * 60);
        const db = new DoubleBarrier(c, '/barriers/double', n, `m${i}`);
        log.push(`arrive`);
        expect(await db.enter(10_000)).toBe(true);
        log.push('enter');
        await sleep(i * 40);
        log.push('work-done');
        expect(await db.leave(10_000)).toBe(true);
        log.push('left');
      }),
    );
    expect(log.slice(0, n)).toEqual(new Array(n).fill('arrive'));
    expect(log.lastIndexOf('enter')).toBeLessThan(log.indexOf('left'));
    expect(log.lastIndexOf('work-done')).toBeLessThan(log.indexOf('left'));
    const lonely = new DoubleBarrier(zk(0), '/barriers/lonely', 2);
    expect(await lonely.enter(200)).toBe(false);
  });

  it('queue: FIFO for one consumer, every item to exactly one of many consumers', async () => {
    const q = new DistributedQueue(zk(0), '/queue');
    for (const v of ['a', 'b', 'c']) await q.offer(v);
    expect((await q.peek())?.toString()).toBe('a');
    expect(await q.size()).toBe(3);
    expect([
      (await q.poll())?.toString(),
      (await q.take())?.toString(),
      (await q.take())?.toString(),
    ]).toEqual(['a', 'b', 'c']);
    expect(await q.poll()).toBeNull();
    expect(await q.take(100)).toBeNull();
    const items = 40;
    const got: string[] = [];
    const consumers = zks.slice(3).map(async (c) => {
      const cq = new DistributedQueue(c, '/queue');
      for (;;) {
        const item = await cq.take(1500);
        if (item === null) return;
        got.push(item.toString());
      }
    });
    await Promise.all(
      zks.slice(0, 3).map(async (c, p) => {
        const pq = new DistributedQueue(c, '/queue');
        for (let i = 0; i < items / 2; i++) {
          if (i % 3 === p || p === 2) await pq.offer(`${p}-${i}`);
        }
      }),
    );
    await Promise.all(consumers);
    const expected: string[] = [];
    for (let p = 0; p < 3; p++)
      for (let i = 0; i < items / 2; i++) if (i % 3 === p || p === 2) expected.push(`${p}-${i}`);
    expect([...got].sort()).toEqual(expected.sort());
  });

  it('shared counter: concurrent compare-and-set increments are all counted', async () => {
    const counters = zks.map((c) => new SharedCounter(c, '/counter', 10));
    await Promise.all(
      counters.map(async (c) => {
        for (let i = 0; i < 5; i++) await c.increment();
      }),
    );
    const v = await counters[0]?.get();
    expect(v?.value).toBe(10 + zks.length * 5);
    expect(await counters[1]?.trySet({ value: 0, version: (v?.version ?? 0) - 1 }, 99)).toBe(false);
    expect(await counters[1]?.trySet(v as { value: number; version: number }, 99)).toBe(true);
    expect((await counters[2]?.get())?.value).toBe(99);
  });

  it('tree cache: initial load, then adds, updates and removals from other clients', async () => {
    await zk(1).create('/tree');
    await zk(1).create('/tree/a', 'A');
    await zk(1).create('/tree/a/x', 'X');
    const cache = new TreeCache(zk(0), '/tree');
    const events: string[] = [];
    const log = (kind: string) => (n: CachedNode) => events.push(`${kind} ${n.path}`);
    cache.on('nodeAdded', log('added'));
    cache.on('nodeUpdated', log('updated'));
    cache.on('nodeRemoved', log('removed'));
    await cache.start();
    expect(cache.paths()).toEqual(['/tree', '/tree/a', '/tree/a/x']);
    expect(cache.get('/tree/a/x')?.data?.toString()).toBe('X');
    events.length = 0;
    await zk(2).create('/tree/b', 'B');
    await zk(2).setData('/tree/a', 'A2');
    await zk(2).delete('/tree/a/x');
    await until(() => events.length >= 3, 5000, 'three cache events');
    expect(events).toEqual(['added /tree/b', 'updated /tree/a', 'removed /tree/a/x']);
    expect(cache.get('/tree/a')?.data?.toString()).toBe('A2');
    expect(cache.children('/tree')).toEqual(['a', 'b']);
    await cache.close();
  });

  it('service discovery: instances register, are found, and vanish with their session', async () => {
    const [own] = await clients(target.connectString, 1);
    try {
      const mine = new ServiceDiscovery(own as ZooKeeperClient, '/services');
      const other = new ServiceDiscovery(zk(0), '/services');
      const cache = other.serviceCache('api');
      await cache.start();
      await mine.registerService({
        name: 'api',
        id: 'one',
        address: '10.0.0.1',
        port: 8080,
        payload: { v: 1 },
      });
      await other.registerService({ name: 'api', id: 'two', address: '10.0.0.2', port: 8080 });
      await other.registerService({ name: 'db', address: '10.0.0.3' });
      expect(await other.queryForNames()).toEqual(['api', 'db']);
      expect((await other.queryForInstances('api')).map((i) => [i.id, i.address, i.port])).toEqual([
        ['one', '10.0.0.1', 8080],
        ['two', '10.0.0.2', 8080],
      ]);
      expect((await other.queryForInstance<{ v: number }>('api', 'one'))?.payload).toEqual({ v: 1 });
      await until(() => cache.instances().length === 2, 5000, 'cache sees both');
      await own?.close();
      await until(() => cache.instances().length === 1, 5000, 'cache sees one gone');
      expect((await other.queryForInstances('api')).map((i) => i.id)).toEqual(['two']);
      await other.unregisterService('api', 'two');
      expect(await other.queryForInstances('api')).toEqual([]);
      await cache.close();
    } finally {
      await own?.close().catch(() => undefined);
    }
  });
});
