import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PersistenceError, type TxnSnapStore } from '../src/index.js';
import { openRecovered, payloadFor, tempDir, zxid } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

async function collect(store: TxnSnapStore, from: bigint): Promise<bigint[]> {
  const out: bigint[] = [];
  for await (const t of store.readFrom(from)) {
    expect(t.payload).toEqual(payloadFor(t.zxid));
    out.push(t.zxid);
  }
  return out;
}

async function rejection(p: Promise<unknown>): Promise<PersistenceError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PersistenceError);
    return err as PersistenceError;
  }
  throw new Error('expected a rejection');
}

const range = (from: number, to: number): bigint[] =>
  Array.from({ length: to - from + 1 }, (_, i) => BigInt(from + i));

describe('readFrom (DIFF sync)', () => {
  it('yields the durable txns from a zxid on, across log files and the active file', async () => {
    const { store } = await openRecovered({ dataDir: dir, rollTxns: 7, preallocateBytes: 64 * 1024 });
    for (let i = 1; i <= 30; i++) await store.append(BigInt(i), payloadFor(BigInt(i)));
    expect(await collect(store, 1n)).toEqual(range(1, 30));
    expect(await collect(store, 12n)).toEqual(range(12, 30));
    expect(await collect(store, 30n)).toEqual([30n]);
    expect(await collect(store, 31n)).toEqual([]);
    expect(store.firstLogZxid).toBe(1n);
    await store.close();
  });

  it('stops at the durable zxid of the moment it was called', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    for (let i = 1; i <= 5; i++) await store.append(BigInt(i), payloadFor(BigInt(i)));
    const iter = store.readFrom(2n);
    const later = store.append(6n, payloadFor(6n));
    const got: bigint[] = [];
    for await (const t of iter) got.push(t.zxid);
    await later;
    expect(got).toEqual(range(2, 5));
    await store.close();
  });

  it('works across epochs and after a restart', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    for (let i = 1; i <= 3; i++) await store.append(zxid(1, i), payloadFor(zxid(1, i)));
    await store.close();
    const r = await openRecovered({ dataDir: dir });
    for (let i = 1; i <= 3; i++) await r.store.append(zxid(2, i), payloadFor(zxid(2, i)));
    expect(await collect(r.store, zxid(1, 3))).toEqual([zxid(1, 3), zxid(2, 1), zxid(2, 2), zxid(2, 3)]);
    await r.store.close();
  });

  it('says unavailable when the log does not reach back far enough', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    expect((await rejection(collect(store, 0n))).kind).toBe('unavailable');
    for (let i = 10; i <= 12; i++) await store.append(BigInt(i), payloadFor(BigInt(i)));
    expect((await rejection(collect(store, 9n))).kind).toBe('unavailable');
    expect(await collect(store, 10n)).toEqual(range(10, 12));
    await store.close();
  });
});

describe('truncate (TRUNC)', () => {
  it('drops every txn after the zxid, in the holding file and in later files, and survives a restart', async () => {
    const { store } = await openRecovered({ dataDir: dir, rollTxns: 10 });
    for (let i = 1; i <= 35; i++) await store.append(BigInt(i), payloadFor(BigInt(i)));
    await store.truncate(14n);
    expect(store.lastZxid).toBe(14n);
    expect(store.durableZxid).toBe(14n);
    expect((await readdir(dir)).sort()).toEqual(['log.1', 'log.b']);
    expect(await collect(store, 1n)).toEqual(range(1, 14));
    expect((await rejection(store.append(14n, payloadFor(14n)))).kind).toBe('out-of-order');
    for (let i = 15; i <= 17; i++) await store.append(BigInt(i), payloadFor(BigInt(i) + 1000n));
    await store.close();
    const r = await openRecovered({ dataDir: dir });
    expect(r.txns.map((t) => t.zxid)).toEqual(range(1, 17));
    expect(r.txns[15]!.payload).toEqual(payloadFor(1016n));
    await r.store.close();
  });

  it('removes snapshots newer than the zxid and keeps older ones', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    for (let i = 1; i <= 20; i++) {
      await store.append(BigInt(i), payloadFor(BigInt(i)));
      if (i % 5 === 0) await store.writeSnapshot(BigInt(i), [payloadFor(BigInt(i), 20)]);
    }
    await store.truncate(12n);
    expect((await readdir(dir)).sort()).toEqual(['log.1', 'snapshot.5', 'snapshot.a']);
    await store.close();
    const r = await openRecovered({ dataDir: dir });
    expect(r.snapshot?.zxid).toBe(10n);
    expect(r.txns.map((t) => t.zxid)).toEqual([11n, 12n]);
    await r.store.close();
  });

  it('is a no-op at or beyond the last zxid and refuses when no snapshot would remain', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    for (let i = 1; i <= 5; i++) await store.append(BigInt(i), payloadFor(BigInt(i)));
    await store.truncate(9n);
    expect(store.lastZxid).toBe(5n);
    await store.writeSnapshot(3n, [payloadFor(3n, 10)]);
    expect((await rejection(store.truncate(2n))).kind).toBe('unavailable');
    await store.truncate(3n);
    expect(await collect(store, 1n)).toEqual(range(1, 3));
    await store.close();
  });

  it('waits for appends in flight before cutting', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    const appends = range(1, 50).map((z) => store.append(z, payloadFor(z)));
    const cut = store.truncate(20n);
    expect((await rejection(store.append(51n, payloadFor(51n)))).kind).toBe('busy');
    expect((await rejection(store.truncate(10n))).kind).toBe('busy');
    expect((await rejection(store.writeSnapshot(20n, []))).kind).toBe('busy');
    await Promise.all(appends);
    await cut;
    expect(await collect(store, 1n)).toEqual(range(1, 20));
    await store.close();
  });
});

describe('retention (autopurge)', () => {
  async function history(): Promise<TxnSnapStore> {
    const { store } = await openRecovered({ dataDir: dir, snapRetainCount: 3, rollTxns: 4 });
    for (let i = 1; i <= 60; i++) {
      await store.append(BigInt(i), payloadFor(BigInt(i)));
      if (i % 10 === 5) {
        await store.writeSnapshot(BigInt(i), [payloadFor(BigInt(i), 20)]);
      }
    }
    return store;
  }

  it('keeps the newest snapRetainCount snapshots and the logs needed to recover from the oldest kept', async () => {
    const store = await history();
    const { removed } = await store.purge();
    const names = (await readdir(dir)).sort();
    expect(names.filter((n) => n.startsWith('snapshot.'))).toEqual([
      'snapshot.23',
      'snapshot.2d',
      'snapshot.37',
    ]);
    // snapshot.23 = 35: log.21 (33..36) holds 36, the first txn after it
    const logs = names
      .filter((n) => n.startsWith('log.'))
      .map((n) => BigInt(`0x${n.slice(4)}`))
      .sort((a, b) => Number(a - b));
    expect(logs[0]).toBe(33n);
    expect(removed).toContain(join(dir, 'snapshot.19'));
    expect(removed).toContain(join(dir, 'log.1'));
    expect(store.firstLogZxid).toBe(33n);
    await store.close();
    // recovery from the oldest kept snapshot still works once the newer ones are gone
    const { rm } = await import('node:fs/promises');
    await rm(join(dir, 'snapshot.37'));
    await rm(join(dir, 'snapshot.2d'));
    const r = await openRecovered({ dataDir: dir });
    expect(r.snapshot?.zxid).toBe(35n);
    expect(r.txns.map((t) => t.zxid)).toEqual(range(36, 60));
    await r.store.close();
  });

  it('counts only snapshots that validate', async () => {
    const store = await history();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'snapshot.37'), 'broken');
    await store.close();
    const r = await openRecovered({ dataDir: dir, snapRetainCount: 3 });
    await r.store.purge();
    const snaps = (await readdir(dir)).filter((n) => n.startsWith('snapshot.')).sort();
    expect(snaps).toEqual(['snapshot.19', 'snapshot.23', 'snapshot.2d', 'snapshot.37']);
    await r.store.close();
  });

  it('runs on its own every purgeInterval hours', async () => {
    const store = await history();
    await store.close();
    const snapshots = async () => (await readdir(dir)).filter((n) => n.startsWith('snapshot.'));
    expect(await snapshots()).toHaveLength(6);
    const r = await openRecovered({ dataDir: dir, purgeIntervalHours: 0.01 / 3600 });
    for (let i = 0; i < 500 && (await snapshots()).length > 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await snapshots()).toHaveLength(3);
    await r.store.close();
  });
});
