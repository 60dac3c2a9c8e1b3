import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PersistenceError, type SyncInfo, TxnSnapStore } from '../src/index.js';
import { CapturingLogger, openRecovered, payloadFor, tempDir, zxid } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

async function rejection(p: Promise<unknown>): Promise<PersistenceError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PersistenceError);
    return err as PersistenceError;
  }
  throw new Error('expected a rejection');
}

describe('txn log on the real file system', () => {
  it('recovers every durable append in order after a clean close', async () => {
    const { store, result } = await openRecovered({ dataDir: dir });
    expect(result).toMatchObject({ snapshotZxid: undefined, lastZxid: 0n, txnCount: 0 });
    const zxids = Array.from({ length: 500 }, (_, i) => zxid(1, i + 1));
    await Promise.all(zxids.map((z) => store.append(z, payloadFor(z, (Number(z) % 300) + 1))));
    expect(store.durableZxid).toBe(zxid(1, 500));
    await store.close();
    const again = await openRecovered({ dataDir: dir });
    expect(again.txns.map((t) => t.zxid)).toEqual(zxids);
    for (const t of again.txns) expect(t.payload).toEqual(payloadFor(t.zxid, (Number(t.zxid) % 300) + 1));
    expect(again.result.lastZxid).toBe(zxid(1, 500));
    expect(again.result.tornTail).toBeUndefined();
    await again.store.close();
  });

  it('names log files log.<first zxid in hex> and keeps them in dataLogDir', async () => {
    const logDir = join(dir, 'logs');
    const { store } = await openRecovered({ dataDir: join(dir, 'data'), dataLogDir: logDir });
    await store.append(0x100000001n, payloadFor(1n));
    await store.close();
    expect(await readdir(logDir)).toEqual(['log.100000001']);
    expect(await readdir(join(dir, 'data'))).toEqual([]);
  });

  it('group-commits concurrent appends into few syncs and reports batch sizes', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    const syncs: SyncInfo[] = [];
    store.onSync((info) => syncs.push(info));
    await Promise.all(
      Array.from({ length: 256 }, (_, i) => store.append(zxid(1, i + 1), payloadFor(BigInt(i)))),
    );
    expect(syncs.reduce((n, s) => n + s.count, 0)).toBe(256);
    expect(syncs.length).toBeLessThan(4);
    expect(store.stats()).toMatchObject({ appends: 256, syncs: syncs.length, durableZxid: zxid(1, 256) });
    expect(syncs[syncs.length - 1]!.durableZxid).toBe(zxid(1, 256));
    await store.close();
  });

  it('keeps going when a listener throws', async () => {
    const logger = new CapturingLogger();
    const { store } = await openRecovered({ dataDir: dir, logger, snapCount: 2 });
    store.onSync(() => {
      throw new Error('listener bug');
    });
    store.onSnapshotDue(() => {
      throw new Error('listener bug');
    });
    for (let i = 1; i <= 5; i++) await store.append(BigInt(i), payloadFor(BigInt(i)));
    expect(store.failed).toBeUndefined();
    expect(logger.warnings.some((w) => w.includes('onSync listener threw'))).toBe(true);
    expect(logger.warnings.some((w) => w.includes('onSnapshotDue listener threw'))).toBe(true);
    await store.close();
  });

  it('splits a batch at maxBatchBytes', async () => {
    const { store } = await openRecovered({ dataDir: dir, maxBatchBytes: 4096 });
    const syncs: SyncInfo[] = [];
    store.onSync((info) => syncs.push(info));
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => store.append(zxid(1, i + 1), payloadFor(BigInt(i), 200))),
    );
    expect(syncs.length).toBeGreaterThanOrEqual(5);
    for (const s of syncs.slice(1)) expect(s.bytes).toBeLessThanOrEqual(4096);
    await store.close();
  });

  it('resolves whenDurable once the zxid is synced', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    const order: string[] = [];
    const waited = store.whenDurable(zxid(1, 3)).then(() => order.push('durable 3'));
    void store.append(zxid(1, 1), payloadFor(1n)).then(() => order.push('append 1'));
    void store.append(zxid(1, 2), payloadFor(2n));
    await store.append(zxid(1, 3), payloadFor(3n));
    await waited;
    expect(order).toEqual(['append 1', 'durable 3']);
    await store.close();
  });

  it('refuses zxids that do not increase, oversized txns and a full queue with typed errors', async () => {
    const { store } = await openRecovered({ dataDir: dir, maxTxnBytes: 1000, maxPendingBytes: 4096 });
    await store.append(zxid(1, 5), payloadFor(5n));
    expect((await rejection(store.append(zxid(1, 5), payloadFor(5n)))).kind).toBe('out-of-order');
    expect((await rejection(store.append(zxid(1, 4), payloadFor(5n)))).kind).toBe('out-of-order');
    expect((await rejection(store.append(zxid(1, 6), new Uint8Array(1001)))).kind).toBe('too-large');
    const ok = Array.from({ length: 4 }, (_, i) => store.append(zxid(1, 6 + i), new Uint8Array(900)));
    expect((await rejection(store.append(zxid(1, 10), new Uint8Array(900)))).kind).toBe('overloaded');
    await Promise.all(ok);
    await store.append(zxid(1, 10), new Uint8Array(900));
    await store.close();
    expect((await rejection(store.append(zxid(1, 11), payloadFor(1n)))).kind).toBe('closed');
  });

  it('refuses appends before recover()', async () => {
    const store = await TxnSnapStore.open({ dataDir: dir });
    expect((await rejection(store.append(1n, payloadFor(1n)))).kind).toBe('not-recovered');
  });

  it('rolls to a new file after rollTxns and after rollBytes', async () => {
    const a = await openRecovered({ dataDir: join(dir, 'a'), rollTxns: 10 });
    for (let i = 1; i <= 35; i++) await a.store.append(BigInt(i), payloadFor(BigInt(i)));
    await a.store.close();
    expect((await readdir(join(dir, 'a'))).sort()).toEqual(['log.1', 'log.15', 'log.1f', 'log.b']);
    const b = await openRecovered({ dataDir: join(dir, 'b'), rollBytes: 2000 });
    for (let i = 1; i <= 60; i++) await b.store.append(BigInt(i), payloadFor(BigInt(i)));
    await b.store.close();
    expect((await readdir(join(dir, 'b'))).length).toBeGreaterThanOrEqual(3);
    for (const [sub, n] of [
      ['a', 35],
      ['b', 60],
    ] as const) {
      const r = await openRecovered({ dataDir: join(dir, sub) });
      expect(r.txns.map((t) => t.zxid)).toEqual(Array.from({ length: n }, (_, i) => BigInt(i + 1)));
      await r.store.close();
    }
  });

  it('preallocates 64 MiB by default on the real file system and gives the space back on close', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    await store.append(1n, payloadFor(1n));
    expect((await stat(join(dir, 'log.1'))).size).toBe(64 << 20);
    await store.close();
    expect((await stat(join(dir, 'log.1'))).size).toBe(16 + 116);
  });

  it('recovers a preallocated log left behind by a crash (zeros after the last record)', async () => {
    const { store } = await openRecovered({ dataDir: dir, preallocateBytes: 1 << 20 });
    for (let i = 1; i <= 10; i++) await store.append(BigInt(i), payloadFor(BigInt(i)));
    // no close: the file keeps its preallocated length, as after a crash
    const r = await openRecovered({ dataDir: dir });
    expect(r.txns.map((t) => t.zxid)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i + 1)));
    expect(r.result.tornTail).toBeUndefined();
    await r.store.append(11n, payloadFor(11n));
    await r.store.close();
  });

  it('preallocates log files and still recovers exactly what was appended', async () => {
    const { store } = await openRecovered({ dataDir: dir, preallocateBytes: 1 << 20, rollTxns: 50 });
    for (let i = 1; i <= 120; i++) await store.append(BigInt(i), payloadFor(BigInt(i)));
    const active = (await readdir(dir)).sort().at(-1)!;
    expect((await stat(join(dir, active))).size).toBe(1 << 20);
    await store.close();
    for (const name of await readdir(dir)) expect((await stat(join(dir, name))).size).toBeLessThan(1 << 20);
    const r = await openRecovered({ dataDir: dir });
    expect(r.txns.map((t) => t.zxid)).toEqual(Array.from({ length: 120 }, (_, i) => BigInt(i + 1)));
    await r.store.close();
  });

  it('starts a new log file after a restart and keeps zxids increasing across restarts', async () => {
    for (let round = 0; round < 3; round++) {
      const { store, result } = await openRecovered({ dataDir: dir });
      expect(result.lastZxid).toBe(BigInt(round * 10));
      expect((await rejection(store.append(BigInt(round * 10), payloadFor(1n)))).kind).toBe(
        round === 0 ? 'out-of-order' : 'out-of-order',
      );
      for (let i = 1; i <= 10; i++) await store.append(BigInt(round * 10 + i), payloadFor(BigInt(i)));
      await store.close();
    }
    expect((await readdir(dir)).sort()).toEqual(['log.1', 'log.15', 'log.b']);
  });
});

describe('missing directories and permissions', () => {
  it('creates missing directories by default', async () => {
    const { store } = await openRecovered({ dataDir: join(dir, 'x', 'y') });
    await store.append(1n, payloadFor(1n));
    await store.close();
    expect(await readdir(join(dir, 'x', 'y'))).toEqual(['log.1']);
  });

  it('fails with missing-directory when creating directories is off', async () => {
    const err = await rejection(TxnSnapStore.open({ dataDir: join(dir, 'nope'), createDirs: false }));
    expect(err.kind).toBe('missing-directory');
    expect(err.path).toBe(join(dir, 'nope'));
  });

  it('fails with invalid-argument for bad options', async () => {
    expect((await rejection(TxnSnapStore.open({ dataDir: dir, snapRetainCount: 2 }))).kind).toBe(
      'invalid-argument',
    );
    expect((await rejection(TxnSnapStore.open({ dataDir: dir, snapCount: 1 }))).kind).toBe(
      'invalid-argument',
    );
  });

  it('fails with a typed error when dataDir is a file', async () => {
    await writeFile(join(dir, 'file'), 'x');
    const err = await rejection(TxnSnapStore.open({ dataDir: join(dir, 'file') }));
    expect(['missing-directory', 'io']).toContain(err.kind);
  });
});

describe('epoch files', () => {
  it('writes acceptedEpoch and currentEpoch durably as decimal text', async () => {
    const store = await TxnSnapStore.open({ dataDir: dir, logger: new CapturingLogger() });
    expect(await store.readEpoch('acceptedEpoch')).toBeUndefined();
    await store.writeEpoch('acceptedEpoch', 7n);
    await store.writeEpoch('currentEpoch', 6n);
    await store.writeEpoch('acceptedEpoch', 8n);
    expect(await store.readEpoch('acceptedEpoch')).toBe(8n);
    expect(await store.readEpoch('currentEpoch')).toBe(6n);
    expect((await readdir(dir)).sort()).toEqual(['acceptedEpoch', 'currentEpoch']);
    await writeFile(join(dir, 'currentEpoch'), 'garbage');
    expect((await rejection(store.readEpoch('currentEpoch'))).kind).toBe('corrupt-file');
  });
});
