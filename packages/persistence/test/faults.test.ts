import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, PersistenceError, type StoreOptions, TxnSnapStore } from '../src/index.js';
import { CapturingLogger, mulberry32, openRecovered, payloadFor } from './helpers.js';

const DIR = '/data';
/** Small bounds keep the torn-write window (16 + maxBatchBytes + 16 + maxTxnBytes) small. */
const SMALL: Partial<StoreOptions> = { maxBatchBytes: 1024, maxTxnBytes: 256, preallocateBytes: 0 };
const WINDOW = 16 + 1024 + 16 + 256;

async function rejection(p: Promise<unknown>): Promise<PersistenceError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PersistenceError);
    return err as PersistenceError;
  }
  throw new Error('expected a rejection');
}

function options(fs: MemoryFileSystem, extra: Partial<StoreOptions> = {}): StoreOptions {
  return { dataDir: DIR, fs, ...SMALL, ...extra };
}

/** Appends zxids 1..n one by one (each durable before the next). */
async function appendSequential(store: TxnSnapStore, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) await store.append(BigInt(i), payloadFor(BigInt(i), 100));
}

const range = (from: number, to: number): bigint[] =>
  Array.from({ length: to - from + 1 }, (_, i) => BigInt(from + i));

/** Offset of record `k` (1-based) in a file of 100-byte txns: header 16, records 116 bytes each. */
const recordOffset = (k: number): number => 16 + (k - 1) * 116;

describe('crash simulation (lost unsynced writes)', () => {
  it('after a crash at a random moment, every acknowledged append is recovered, in order, and nothing else is half-present', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom<'drop' | 'torn'>('drop', 'torn'),
        fc.integer({ min: 0, max: 150 }),
        async (seed, unsynced, crashAfterTicks) => {
          const random = mulberry32(seed);
          const fs = new MemoryFileSystem([DIR], { yieldEachOp: true });
          const opts = options(fs, {
            rollTxns: 1 + Math.floor(random() * 40),
            snapCount: 20,
            random,
            preallocateBytes: [0, 512, 4096][Math.floor(random() * 3)]!,
          });
          const { store } = await openRecovered(opts);
          store.onSnapshotDue((z) => {
            void store.writeSnapshot(z, [payloadFor(z, 50)]).catch(() => undefined);
          });
          const acked = new Set<bigint>();
          let next = 1;
          let stop = false;
          const appender = async (): Promise<void> => {
            while (!stop) {
              const z = BigInt(next++);
              const size = 1 + Math.floor(random() * 250);
              try {
                await store.append(z, payloadFor(z, size));
                acked.add(z);
              } catch {
                return;
              }
            }
          };
          const appenders = Array.from({ length: 1 + Math.floor(random() * 8) }, appender);
          for (let t = 0; t < crashAfterTicks; t++) await new Promise((r) => setImmediate(r));
          const after = fs.crash({ unsynced, random });
          stop = true;
          await Promise.all(appenders);
          const r = await openRecovered(options(after));
          const got = r.txns.map((t) => t.zxid);
          const fromSnapshot = r.snapshot?.zxid ?? 0n;
          // every txn recovered is intact and in order; the recovered history is a prefix
          for (const t of r.txns) expect(t.payload.length).toBeGreaterThan(0);
          for (let i = 1; i < got.length; i++) expect(got[i]).toBe(got[i - 1]! + 1n);
          if (got.length > 0) expect(got[0]).toBe(fromSnapshot + 1n);
          const last = r.result.lastZxid;
          for (const z of acked) expect(z <= last).toBe(true);
          for (const t of r.txns) {
            expect(t.payload).toEqual(payloadFor(t.zxid, t.payload.length));
          }
          // appends continue after recovery
          await r.store.append(last + 1n, payloadFor(1n));
          await r.store.close();
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a crash loses a log file whose directory entry was never synced only if nothing in it was acknowledged', async () => {
    const fs = new MemoryFileSystem([DIR]);
    const { store } = await openRecovered(options(fs, { rollTxns: 3 }));
    await appendSequential(store, 1, 7);
    const r = await openRecovered(options(fs.crash()));
    expect(r.txns.map((t) => t.zxid)).toEqual(range(1, 7));
    await r.store.close();
  });
});

describe('forceSync', () => {
  it('off: appends resolve without an fdatasync, and a restart of the process keeps them', async () => {
    const fs = new MemoryFileSystem([DIR]);
    const { store } = await openRecovered(options(fs, { forceSync: false }));
    await appendSequential(store, 1, 20);
    expect(store.durableZxid).toBe(20n);
    expect(fs.calls.get('datasync') ?? 0).toBe(0);
    await store.close();
    const r = await openRecovered(options(fs));
    expect(r.txns.map((t) => t.zxid)).toEqual(range(1, 20));
    await r.store.close();
  });

  it('on (the default): every group commit is synced', async () => {
    const fs = new MemoryFileSystem([DIR]);
    const { store } = await openRecovered(options(fs));
    await appendSequential(store, 1, 20);
    expect(fs.calls.get('datasync') ?? 0).toBeGreaterThanOrEqual(19);
    await store.close();
    const r = await openRecovered(options(fs.crash()));
    expect(r.txns.map((t) => t.zxid)).toEqual(range(1, 20));
    await r.store.close();
  });
});

describe('torn tails and corruption', () => {
  async function setup(n: number, extra: Partial<StoreOptions> = {}): Promise<MemoryFileSystem> {
    const fs = new MemoryFileSystem([DIR]);
    const { store } = await openRecovered(options(fs, extra));
    await appendSequential(store, 1, n);
    await store.close();
    return fs;
  }

  it('truncates a partial last record and logs it', async () => {
    const fs = await setup(30);
    const len = fs.readFile('/data/log.1').length;
    fs.setLength('/data/log.1', len - 50);
    const logger = new CapturingLogger();
    const r = await openRecovered(options(fs, { logger }));
    expect(r.txns.map((t) => t.zxid)).toEqual(range(1, 29));
    expect(r.result.tornTail).toMatchObject({
      path: '/data/log.1',
      offset: recordOffset(30),
      droppedBytes: 66,
    });
    expect(logger.warnings.join('\n')).toMatch(/torn tail at offset 3380/);
    expect(fs.readFile('/data/log.1').length).toBe(recordOffset(30));
    await r.store.append(30n, payloadFor(30n));
    await r.store.close();
    const again = await openRecovered(options(fs));
    expect(again.txns.map((t) => t.zxid)).toEqual(range(1, 30));
    expect(again.result.tornTail).toBeUndefined();
  });

  it('treats a flipped bit in the last write as a torn tail', async () => {
    const fs = await setup(30);
    fs.flipBit('/data/log.1', recordOffset(30) + 40);
    const r = await openRecovered(options(fs));
    expect(r.txns.map((t) => t.zxid)).toEqual(range(1, 29));
    expect(r.result.tornTail?.reason).toBe('crc mismatch');
  });

  it('refuses to start on a flipped bit in the middle of the log, naming file and offset', async () => {
    const fs = await setup(60);
    fs.flipBit('/data/log.1', recordOffset(5) + 30, 3);
    const s = await TxnSnapStore.open(options(fs, { logger: new CapturingLogger() }));
    const err = await rejection(s.recover());
    expect(err).toMatchObject({ kind: 'corrupt-log', path: '/data/log.1', offset: recordOffset(5) });
    expect(err.message).toMatch(/\/data\/log\.1.*crc mismatch at offset 480/);
    // nothing was changed on disk
    expect(fs.readFile('/data/log.1').length).toBe(recordOffset(61));
  });

  it('refuses to start on a damaged record length in the middle', async () => {
    const fs = await setup(60);
    fs.flipBit('/data/log.1', recordOffset(10) + 1, 7);
    const err = await rejection(TxnSnapStore.open(options(fs)).then((s) => s.recover()));
    expect(err).toMatchObject({ kind: 'corrupt-log', offset: recordOffset(10) });
  });

  it('refuses to start on garbage in an older log file, even at its end', async () => {
    const fs = await setup(30, { rollTxns: 10 });
    expect(fs.list(DIR)).toEqual(['log.1', 'log.15', 'log.b']);
    const len = fs.readFile('/data/log.b').length;
    fs.setLength('/data/log.b', len - 10);
    const err = await rejection(TxnSnapStore.open(options(fs)).then((s) => s.recover()));
    expect(err).toMatchObject({ kind: 'corrupt-log', path: '/data/log.b', offset: recordOffset(10) });
  });

  it('refuses to start when non-zero data lies beyond the torn-write window', async () => {
    const fs = await setup(60);
    const data = fs.readFile('/data/log.1');
    const bigger = new Uint8Array(data.length + WINDOW + 100);
    bigger.set(data);
    bigger.fill(0xab, data.length + WINDOW + 50);
    // a bad record at the old end, and junk far beyond it
    bigger.fill(0x01, data.length, data.length + 4);
    fs.writeFile('/data/log.1', bigger);
    const err = await rejection(TxnSnapStore.open(options(fs)).then((s) => s.recover()));
    expect(err).toMatchObject({ kind: 'corrupt-log', offset: data.length });
  });

  it('judges the torn window by the size recorded in the file, not by the current options', async () => {
    const fs = await setup(60);
    // reopened with a far larger batch bound, damage 30 records before the end is still corruption
    fs.flipBit('/data/log.1', recordOffset(30) + 20);
    const s = await TxnSnapStore.open(options(fs, { maxBatchBytes: 1 << 20, maxTxnBytes: 1 << 20 }));
    await expect(s.recover()).rejects.toMatchObject({ kind: 'corrupt-log', offset: recordOffset(30) });
  });

  it('removes a newest log file whose header was torn', async () => {
    const fs = await setup(12, { rollTxns: 5 });
    fs.setLength('/data/log.b', 7);
    const r = await openRecovered(options(fs));
    expect(r.txns.map((t) => t.zxid)).toEqual(range(1, 10));
    expect(fs.list(DIR)).toEqual(['log.1', 'log.6']);
    await r.store.append(11n, payloadFor(11n));
    await r.store.close();
  });

  it('refuses a log file whose first record does not match its name', async () => {
    const fs = await setup(10, { rollTxns: 5 });
    fs.writeFile('/data/log.7', fs.readFile('/data/log.6'));
    fs.writeFile('/data/log.6', new Uint8Array(0));
    const s = await TxnSnapStore.open(options(fs));
    await expect(s.recover()).rejects.toMatchObject({ kind: 'corrupt-log' });
  });
});

describe('I/O errors', () => {
  it('ENOSPC on write: the batch and later appends reject, acknowledged appends survive a reopen', async () => {
    const fs = new MemoryFileSystem([DIR]);
    const { store } = await openRecovered(options(fs));
    await appendSequential(store, 1, 10);
    fs.inject({ op: 'write', code: 'ENOSPC', partialBytes: 150 });
    const batch = [11, 12, 13].map((i) => store.append(BigInt(i), payloadFor(BigInt(i), 100)));
    for (const p of batch) expect((await rejection(p)).kind).toBe('disk-full');
    expect(store.failed?.kind).toBe('disk-full');
    const later = await rejection(store.append(14n, payloadFor(14n)));
    expect(later.kind).toBe('failed');
    expect(later.cause).toBe(store.failed);
    await expect(store.whenDurable(11n)).rejects.toMatchObject({ kind: 'disk-full' });
    await store.close();
    fs.clearFaults();
    const r = await openRecovered(options(fs));
    // 150 bytes reached the file: txn 11 whole (never acknowledged, but intact), txn 12 torn
    expect(r.txns.map((t) => t.zxid)).toEqual(range(1, 11));
    expect(r.txns[10]!.payload).toEqual(payloadFor(11n, 100));
    expect(r.result.tornTail).toMatchObject({ offset: recordOffset(12), reason: 'partial record' });
    await r.store.append(12n, payloadFor(12n));
    await r.store.close();
  });

  it('EIO on fdatasync is fail-stop: the pending appends and every later one reject', async () => {
    const fs = new MemoryFileSystem([DIR]);
    const { store } = await openRecovered(options(fs));
    await appendSequential(store, 1, 3);
    fs.inject({ op: 'datasync', code: 'EIO', times: 1 });
    const inFlight = store.append(4n, payloadFor(4n));
    const queued = store.append(5n, payloadFor(5n));
    expect((await rejection(inFlight)).kind).toBe('io');
    expect((await rejection(queued)).kind).toBe('io');
    // the fault is spent, yet the log still refuses until reopened
    expect((await rejection(store.append(6n, payloadFor(6n)))).kind).toBe('failed');
    await store.close();
    const r = await openRecovered(options(fs.crash()));
    expect(r.txns.map((t) => t.zxid)).toEqual(range(1, 3));
    await r.store.close();
  });

  it('write (no promise per txn): onSync tells what is durable, onFailure the failure, later writes throw', async () => {
    const fs = new MemoryFileSystem([DIR]);
    const { store } = await openRecovered(options(fs));
    const durable: bigint[] = [];
    const failures: string[] = [];
    store.onSync((info) => durable.push(info.durableZxid));
    store.onFailure((e) => failures.push(e.kind));
    for (let i = 1; i <= 5; i++) store.write(BigInt(i), payloadFor(BigInt(i), 50));
    await store.whenDurable(5n);
    expect(durable.at(-1)).toBe(5n);
    expect(() => store.write(5n, payloadFor(5n))).toThrow(PersistenceError);
    fs.inject({ op: 'datasync', code: 'EIO', times: 1 });
    store.write(6n, payloadFor(6n, 50));
    await expect(store.whenDurable(6n)).rejects.toBeInstanceOf(PersistenceError);
    expect(store.failed).toBeDefined();
    expect(failures).toEqual([store.failed?.kind]);
    expect(durable.at(-1)).toBe(5n);
    let thrown: unknown;
    try {
      store.write(7n, payloadFor(7n));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ kind: 'failed' });
    await store.close();
    fs.clearFaults();
    const r = await openRecovered(options(fs));
    expect(r.txns.map((t) => t.zxid).slice(0, 5)).toEqual(range(1, 5));
    await r.store.close();
  });

  it('ENOSPC when creating a new log file', async () => {
    const fs = new MemoryFileSystem([DIR]);
    const { store } = await openRecovered(options(fs, { rollTxns: 2 }));
    await appendSequential(store, 1, 2);
    fs.inject({ op: 'open', path: 'log.3', code: 'ENOSPC' });
    const err = await rejection(store.append(3n, payloadFor(3n)));
    expect(err).toMatchObject({ kind: 'disk-full', path: '/data/log.3' });
    await store.close();
  });

  it('EACCES on the log file or directory gives permission-denied', async () => {
    const fs = new MemoryFileSystem([DIR]);
    fs.inject({ op: 'open', path: 'log.', code: 'EACCES' });
    const { store } = await openRecovered(options(fs));
    const err = await rejection(store.append(1n, payloadFor(1n)));
    expect(err).toMatchObject({ kind: 'permission-denied', path: '/data/log.1' });
    await store.close();
    fs.clearFaults();
    fs.inject({ op: 'readdir', code: 'EACCES' });
    const s = await TxnSnapStore.open(options(fs)).catch((e: unknown) => e);
    expect(s).toBeInstanceOf(PersistenceError);
    expect((s as PersistenceError).kind).toBe('permission-denied');
  });

  it('a directory that disappears gives missing-directory', async () => {
    const fs = new MemoryFileSystem([DIR]);
    const { store } = await openRecovered(options(fs));
    fs.inject({ op: 'open', code: 'ENOENT' });
    expect((await rejection(store.append(1n, payloadFor(1n)))).kind).toBe('missing-directory');
    await store.close();
  });

  it('ENOSPC while streaming a snapshot: typed error, no file left, the log goes on', async () => {
    const fs = new MemoryFileSystem([DIR]);
    const { store } = await openRecovered(options(fs, { snapshotBufferBytes: 4096 }));
    await appendSequential(store, 1, 5);
    await store.writeSnapshot(3n, [payloadFor(1n, 2000)]);
    fs.inject({ op: 'write', path: 'snapshot.5', code: 'ENOSPC', after: 2 });
    const chunks = Array.from({ length: 100 }, (_, i) => payloadFor(BigInt(i), 500));
    const err = await rejection(store.writeSnapshot(5n, chunks));
    expect(err.kind).toBe('disk-full');
    expect(fs.list(DIR)).toEqual(['log.1', 'snapshot.3']);
    await appendSequential(store, 6, 8);
    await store.close();
    const r = await openRecovered(options(fs));
    expect(r.snapshot?.zxid).toBe(3n);
    expect(r.txns.map((t) => t.zxid)).toEqual(range(4, 8));
  });

  it('a crash before the snapshot rename (or its directory sync) leaves the previous snapshot in charge', async () => {
    for (const failing of ['rename', 'syncDir'] as const) {
      const fs = new MemoryFileSystem([DIR]);
      const { store } = await openRecovered(options(fs));
      await appendSequential(store, 1, 6);
      await store.writeSnapshot(2n, [payloadFor(2n, 30)]);
      fs.inject({ op: failing, path: DIR, code: 'EIO', times: 1 });
      await expect(store.writeSnapshot(5n, [payloadFor(5n, 30)])).rejects.toMatchObject({ kind: 'io' });
      const after = fs.crash();
      const r = await openRecovered(options(after));
      expect(r.snapshot?.zxid).toBe(2n);
      expect(r.txns.map((t) => t.zxid)).toEqual(range(3, 6));
      expect(after.list(DIR).filter((n) => n.includes('tmp'))).toEqual([]);
    }
  });

  it('epoch files survive a crash with either the old or the new value', async () => {
    const fs = new MemoryFileSystem([DIR]);
    const store = await TxnSnapStore.open(options(fs));
    await store.writeEpoch('currentEpoch', 4n);
    fs.inject({ op: 'rename', code: 'EIO', times: 1 });
    await expect(store.writeEpoch('currentEpoch', 5n)).rejects.toMatchObject({ kind: 'io' });
    const fs2 = fs.crash();
    const again = await TxnSnapStore.open(options(fs2));
    expect(await again.readEpoch('currentEpoch')).toBe(4n);
    await again.writeEpoch('currentEpoch', 5n);
    expect(await (await TxnSnapStore.open(options(fs2.crash()))).readEpoch('currentEpoch')).toBe(5n);
  });
});
