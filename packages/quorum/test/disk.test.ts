import { MemoryFileSystem, TxnSnapStore } from '@zkts/persistence';
import { describe, expect, it } from 'vitest';
import { DiskAdapter } from '../src/index.js';

const E = 1n << 32n;
const txn = (n: bigint) => ({ zxid: E | n, data: new Uint8Array([Number(n)]) });

async function openStore(fs = new MemoryFileSystem(['/data'], { yieldEachOp: true })) {
  const store = await TxnSnapStore.open({ dataDir: '/data', fs });
  await store.recover();
  return { store, fs };
}

describe('DiskAdapter', () => {
  it('reports every write in order, only once it and everything before it is durable', async () => {
    const { store } = await openStore();
    const failures: unknown[] = [];
    const disk = new DiskAdapter(store, (e) => failures.push(e));
    const done: number[] = [];
    const durableAt: bigint[] = [];
    const report = (seq: number) => () => {
      done.push(seq);
      durableAt.push(store.durableZxid);
    };
    disk.write({ op: 'acceptedEpoch', epoch: 1n }, report(1));
    disk.write({ op: 'append', txns: [txn(1n), txn(2n)] }, report(2));
    disk.write({ op: 'append', txns: [txn(3n)] }, report(3));
    disk.write({ op: 'currentEpoch', epoch: 1n }, report(4));
    disk.write({ op: 'append', txns: [txn(4n)] }, report(5));
    disk.write({ op: 'truncate', zxid: E | 3n }, report(6));
    disk.write({ op: 'append', txns: [txn(5n)] }, report(7));
    await disk.drain();
    expect(failures).toEqual([]);
    expect(done).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Each append was durable when it was reported.
    expect(durableAt[1]).toBeGreaterThanOrEqual(E | 2n);
    expect(durableAt[2]).toBeGreaterThanOrEqual(E | 3n);
    expect(durableAt[4]).toBeGreaterThanOrEqual(E | 4n);
    expect(await store.readEpoch('acceptedEpoch')).toBe(1n);
    expect(await store.readEpoch('currentEpoch')).toBe(1n);
    const left: bigint[] = [];
    for await (const t of store.readFrom(E | 1n)) left.push(t.zxid);
    expect(left).toEqual([E | 1n, E | 2n, E | 3n, E | 5n]);
    await store.close();
  });

  it('a SNAP write replaces the log: snapshot at its zxid, nothing logged above it survives', async () => {
    const { store, fs } = await openStore();
    const disk = new DiskAdapter(store, () => {});
    disk.write({ op: 'append', txns: [txn(1n), txn(2n), txn(3n)] }, () => {});
    disk.write({ op: 'snapshot', zxid: E | 2n, snapshot: [new Uint8Array([42])] }, () => {});
    disk.write({ op: 'append', txns: [txn(7n)] }, () => {});
    await disk.drain();
    await store.close();
    const again = await TxnSnapStore.open({ dataDir: '/data', fs });
    const seen: string[] = [];
    await again.recover({
      async onSnapshot(zxid, chunks) {
        for await (const c of chunks) seen.push(`snap ${zxid - E} ${[...c].join(',')}`);
      },
      onTxn(zxid) {
        seen.push(`txn ${zxid - E}`);
      },
    });
    expect(seen).toEqual(['snap 2 42', 'txn 7']);
    await again.close();
  });

  it('a failed write stops the reports and calls onFailure once', async () => {
    const fs = new MemoryFileSystem(['/data'], { yieldEachOp: true });
    const { store } = await openStore(fs);
    const failures: unknown[] = [];
    const disk = new DiskAdapter(store, (e) => failures.push(e));
    const done: number[] = [];
    disk.write({ op: 'append', txns: [txn(1n)] }, () => done.push(1));
    await disk.drain();
    fs.inject({ op: 'datasync', code: 'EIO' });
    disk.write({ op: 'append', txns: [txn(2n)] }, () => done.push(2));
    disk.write({ op: 'currentEpoch', epoch: 1n }, () => done.push(3));
    await disk.drain();
    expect(done).toEqual([1]);
    expect(failures).toHaveLength(1);
    expect(disk.failed).toBe(true);
    await store.close().catch(() => {});
  });
});
