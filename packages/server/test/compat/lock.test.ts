/**
 * The distributed lock recipe of the notes with node-zookeeper-client (npm): 10 concurrent sessions
 * create EPHEMERAL_SEQUENTIAL nodes, the lowest holds the lock, every other one watches only its
 * predecessor. Run on Apache ZooKeeper 3.8 and on zkts.
 */
import zookeeper from 'node-zookeeper-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNodeClient as connect } from '../helpers.js';
import { startTarget, TARGETS, type Target } from './targets.js';

type Client = zookeeper.Client;
const CLIENTS = 10;
const OPEN = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))];

const p = {
  create: (c: Client, path: string, data: Buffer | undefined, mode: number) =>
    new Promise<string>((res, rej) =>
      c.create(path, data ?? Buffer.alloc(0), OPEN, mode, (e, r) => (e ? rej(e) : res(r))),
    ),
  children: (c: Client, path: string) =>
    new Promise<string[]>((res, rej) => c.getChildren(path, (e, r) => (e ? rej(e) : res(r)))),
  /** exists with a watcher; resolves with whether the node exists and a promise of its event. */
  watchExists: (c: Client, path: string) =>
    new Promise<{ exists: boolean; event: Promise<zookeeper.Event> }>((res, rej) => {
      let fire: (e: zookeeper.Event) => void = () => {};
      const event = new Promise<zookeeper.Event>((r) => {
        fire = r;
      });
      c.exists(
        path,
        (e) => fire(e),
        (e, stat) => (e ? rej(e) : res({ exists: stat !== null && stat !== undefined, event })),
      );
    }),
  getData: (c: Client, path: string) =>
    new Promise<Buffer>((res, rej) => c.getData(path, (e, d) => (e ? rej(e) : res(d)))),
  setData: (c: Client, path: string, data: Buffer) =>
    new Promise<void>((res, rej) => c.setData(path, data, -1, (e) => (e ? rej(e) : res()))),
  remove: (c: Client, path: string) =>
    new Promise<void>((res, rej) => c.remove(path, -1, (e) => (e ? rej(e) : res()))),
};

/** Parses `wchp`: a path line, then one indented session id per watcher. */
function parseWchp(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('/')) {
      current = [];
      out.set(line.trim(), current);
    } else if (line.trim().startsWith('0x') && current !== undefined) current.push(line.trim());
  }
  return out;
}

describe.each(TARGETS)('distributed lock with node-zookeeper-client on %s', (name) => {
  let target: Target;
  let clients: Client[] = [];
  beforeAll(async () => {
    target = await startTarget(name);
    clients = await Promise.all(Array.from({ length: CLIENTS }, () => connect(target.connectString)));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await target?.stop();
  });

  it('10 clients: mutual exclusion, each waiter watching only its predecessor', async () => {
    const admin = clients[0] as Client;
    await p.create(admin, '/locks', undefined, zookeeper.CreateMode.PERSISTENT);
    await p.create(admin, '/counter', Buffer.from('0'), zookeeper.CreateMode.PERSISTENT);
    let holders = 0;
    let maxHolders = 0;
    const order: string[] = [];
    const watched = new Map<string, string[]>();
    let waitersWatching = 0;
    let allWatching: () => void = () => {};
    const allWatchingP = new Promise<void>((r) => {
      allWatching = r;
    });
    let wchp: Map<string, string[]> | undefined;

    const lock = async (c: Client): Promise<string> => {
      const mine = await p.create(c, '/locks/lock-', undefined, zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL);
      const me = mine.slice('/locks/'.length);
      for (;;) {
        const kids = (await p.children(c, '/locks')).sort();
        const i = kids.indexOf(me);
        expect(i).toBeGreaterThanOrEqual(0);
        if (i === 0) return mine;
        const pred = `/locks/${kids[i - 1]}`;
        const w = await p.watchExists(c, pred);
        if (!w.exists) continue;
        watched.set(me, [...(watched.get(me) ?? []), pred]);
        if (++waitersWatching === CLIENTS - 1) allWatching();
        await w.event;
      }
    };

    const worker = async (c: Client, k: number) => {
      const mine = await lock(c);
      holders++;
      maxHolders = Math.max(maxHolders, holders);
      order.push(mine);
      // The first holder keeps the lock until all others wait, then looks at the server's watches.
      if (order.length === 1) {
        await Promise.race([allWatchingP, new Promise((r) => setTimeout(r, 15_000))]);
        wchp = parseWchp(await target.fourLetterWord('wchp'));
      }
      // An unprotected read-modify-write: only mutual exclusion keeps every increment.
      const n = Number((await p.getData(c, '/counter')).toString());
      await new Promise((r) => setTimeout(r, 5 + (k % 3)));
      await p.setData(c, '/counter', Buffer.from(String(n + 1)));
      holders--;
      await p.remove(c, mine);
    };

    await Promise.all(clients.map((c, k) => worker(c, k)));

    expect(maxHolders).toBe(1);
    expect(order).toHaveLength(CLIENTS);
    expect([...order].sort()).toEqual(order);
    expect((await p.getData(admin, '/counter')).toString()).toBe(String(CLIENTS));
    // Each waiter watched exactly its predecessor, once (no herd).
    const sorted = [...order].map((x) => x.slice('/locks/'.length));
    for (let i = 1; i < sorted.length; i++) {
      expect(watched.get(sorted[i] as string)).toEqual([`/locks/${sorted[i - 1]}`]);
    }
    // The server agrees: every lock node but the last is watched by exactly one session.
    expect(wchp).toBeDefined();
    const lockWatches = [...(wchp ?? new Map<string, string[]>()).entries()].filter(([k]) =>
      k.startsWith('/locks/'),
    );
    expect(lockWatches.map(([k]) => k).sort()).toEqual(order.slice(0, -1));
    for (const [, sessions] of lockWatches) expect(sessions).toHaveLength(1);
    expect(new Set(lockWatches.map(([, s]) => s[0])).size).toBe(CLIENTS - 1);
    expect(await p.children(admin, '/locks')).toEqual([]);
  });
});
