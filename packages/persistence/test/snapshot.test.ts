import { closeSync, openSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryFileSystem, PersistenceError, TxnSnapStore } from '../src/index.js';
import { ThreadedSnapshotWrites } from '../src/snapshot-thread.js';
import { CapturingLogger, openRecovered, payloadFor, tempDir, zxid } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

function chunksFor(seed: number, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => payloadFor(BigInt(seed * 100_000 + i), (i * 37) % 300));
}

async function* slowly(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
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

describe('snapshots', () => {
  it('round-trips the exact chunks and replays only the log after the snapshot', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    for (let i = 1; i <= 20; i++) await store.append(zxid(1, i), payloadFor(BigInt(i)));
    const chunks = chunksFor(1, 2000);
    const info = await store.writeSnapshot(zxid(1, 12), chunks);
    expect(info).toMatchObject({ zxid: zxid(1, 12), chunks: 2000, path: join(dir, 'snapshot.10000000c') });
    for (let i = 21; i <= 25; i++) await store.append(zxid(1, i), payloadFor(BigInt(i)));
    await store.close();
    const r = await openRecovered({ dataDir: dir });
    expect(r.snapshot?.zxid).toBe(zxid(1, 12));
    expect(r.snapshot?.chunks).toEqual(chunks);
    expect(r.txns.map((t) => t.zxid)).toEqual(Array.from({ length: 13 }, (_, i) => zxid(1, 13 + i)));
    expect(r.result).toMatchObject({ snapshotZxid: zxid(1, 12), lastZxid: zxid(1, 25), txnCount: 13 });
    await r.store.close();
  });

  it('accepts async iterables, empty chunks and chunks larger than the write buffer', async () => {
    const { store } = await openRecovered({ dataDir: dir, snapshotBufferBytes: 1024 });
    const chunks = [new Uint8Array(0), payloadFor(1n, 5000), payloadFor(2n, 10), new Uint8Array(0)];
    await store.writeSnapshot(5n, slowly(chunks));
    await store.close();
    const r = await openRecovered({ dataDir: dir });
    expect(r.snapshot).toEqual({ zxid: 5n, chunks });
    expect(r.result.lastZxid).toBe(5n);
    await r.store.close();
  });

  it('is done with each chunk before it asks for the next (a producer may reuse one buffer)', async () => {
    const { store } = await openRecovered({ dataDir: dir, snapshotBufferBytes: 1024 });
    const expected = [payloadFor(1n, 100), payloadFor(2n, 3000), payloadFor(3n, 700), payloadFor(4n, 50)];
    const shared = new Uint8Array(4000);
    function* reusing(): Generator<Uint8Array> {
      for (const c of expected) {
        shared.set(c);
        yield shared.subarray(0, c.length);
        shared.fill(0xee);
      }
    }
    async function* reusingAsync(): AsyncGenerator<Uint8Array> {
      yield* reusing();
    }
    await store.writeSnapshot(5n, reusing());
    await store.writeSnapshot(6n, reusingAsync());
    await store.close();
    const r = await openRecovered({ dataDir: dir });
    expect(r.snapshot).toEqual({ zxid: 6n, chunks: expected });
    await r.store.close();
    const older = await readFile(join(dir, 'snapshot.5'));
    expect(older.includes(Buffer.from(expected[1]!))).toBe(true);
  });

  it('writes the same file on a worker thread as on the event loop', async () => {
    const chunks = chunksFor(3, 3000);
    chunks.push(payloadFor(9n, 5000)); // larger than the write buffer
    // A Buffer in Node's shared pool, larger than the write buffer: copied, never transferred.
    const pooled = Buffer.from(payloadFor(10n, 4500));
    const written = [...chunks, pooled];
    chunks.push(payloadFor(10n, 4500));
    const files: Buffer[] = [];
    for (const snapshotThread of [true, false]) {
      const sub = join(dir, String(snapshotThread));
      const { store } = await openRecovered({ dataDir: sub, snapshotBufferBytes: 4096, snapshotThread });
      await store.writeSnapshot(7n, written);
      await store.close();
      files.push(await readFile(join(sub, 'snapshot.7')));
      const r = await openRecovered({ dataDir: sub });
      expect(r.snapshot).toEqual({ zxid: 7n, chunks });
      await r.store.close();
    }
    expect(files[0]!.length).toBeGreaterThan(3000 * 8);
    expect(pooled.buffer.byteLength).toBeGreaterThan(0); // not detached
    expect(files[0]!.equals(files[1]!)).toBe(true);
  });

  it('lets the event loop run between buffers while the worker thread writes', async () => {
    const { store } = await openRecovered({ dataDir: dir, snapshotBufferBytes: 64 * 1024 });
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    // The longest run of chunks taken without a turn of the event loop in between.
    let longest = 0;
    let run = 0;
    let seen = 0;
    function* chunks(): Generator<Uint8Array> {
      for (let i = 0; i < 256; i++) {
        if (turns === seen) run++;
        else {
          seen = turns;
          run = 1;
        }
        longest = Math.max(longest, run);
        yield payloadFor(BigInt(i), 16 * 1024);
      }
    }
    await store.writeSnapshot(3n, chunks());
    ticking = false;
    // 16 KiB chunks in 64 KiB buffers: a turn per buffer, so at most about 4 chunks in a row.
    expect(longest).toBeLessThanOrEqual(5);
    await store.close();
  });

  it("reports the worker thread's write errors", async () => {
    const path = join(dir, 'read-only');
    await writeFile(path, 'x');
    const fd = openSync(path, 'r');
    try {
      const w = new ThreadedSnapshotWrites(fd, 64);
      w.buffer.fill(1);
      await w.flush(64, 0);
      await w.flush(10, 64);
      await expect(w.end()).rejects.toMatchObject({ code: 'EBADF' });
    } finally {
      closeSync(fd);
    }
    expect(await readFile(path, 'utf8')).toBe('x');
  });

  it('keeps appending while a large snapshot streams', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    let snapshotDone = false;
    const resolvedDuring: bigint[] = [];
    async function* big(): AsyncGenerator<Uint8Array> {
      // a producer that takes its time, as a serializer walking a large tree would
      for (let i = 0; i < 40_000; i++) {
        if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
        yield payloadFor(BigInt(i), 150);
      }
    }
    const snap = store.writeSnapshot(1n, big()).then(() => {
      snapshotDone = true;
    });
    for (let i = 1; i <= 20 && !snapshotDone; i++) {
      await store.append(BigInt(i), payloadFor(BigInt(i)));
      if (!snapshotDone) resolvedDuring.push(BigInt(i));
    }
    await snap;
    expect(resolvedDuring.length).toBeGreaterThan(0);
    await store.close();
  });

  it('close() waits for a snapshot being written', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    await store.append(1n, payloadFor(1n));
    const snap = store.writeSnapshot(1n, slowly(chunksFor(4, 2000)));
    await store.close();
    expect(await readdir(dir)).toContain('snapshot.1');
    await snap;
    await store.close();
  });

  it('refuses a second concurrent snapshot with busy', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    const first = store.writeSnapshot(1n, slowly(chunksFor(2, 1000)));
    expect((await rejection(store.writeSnapshot(2n, []))).kind).toBe('busy');
    await first;
    await store.close();
  });

  it('falls back to an older snapshot plus logs when the newest does not validate', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    for (let i = 1; i <= 30; i++) {
      await store.append(BigInt(i), payloadFor(BigInt(i)));
      if (i === 10) await store.writeSnapshot(10n, chunksFor(10, 100));
      if (i === 20) await store.writeSnapshot(20n, chunksFor(20, 100));
    }
    await store.close();
    const newest = join(dir, 'snapshot.14');
    const bytes = await readFile(newest);
    bytes[500] = (bytes[500] ?? 0) ^ 0x10;
    await writeFile(newest, bytes);
    const r = await openRecovered({ dataDir: dir });
    expect(r.snapshot?.zxid).toBe(10n);
    expect(r.snapshot?.chunks).toEqual(chunksFor(10, 100));
    expect(r.txns.map((t) => t.zxid)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(11 + i)));
    expect(r.result.skippedSnapshots).toHaveLength(1);
    expect(r.result.skippedSnapshots[0]!.reason).toMatch(/checksum mismatch/);
    await r.store.close();
  });

  it('treats a snapshot without its trailer (an interrupted write) as invalid', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    await store.append(1n, payloadFor(1n));
    await store.writeSnapshot(1n, chunksFor(1, 10));
    await store.append(2n, payloadFor(2n));
    await store.writeSnapshot(2n, chunksFor(2, 10));
    await store.close();
    const newest = join(dir, 'snapshot.2');
    const bytes = await readFile(newest);
    await writeFile(newest, bytes.subarray(0, bytes.length - 5));
    const r = await openRecovered({ dataDir: dir });
    expect(r.snapshot?.zxid).toBe(1n);
    expect(r.result.skippedSnapshots[0]!.reason).toMatch(/no end marker/);
    expect(r.txns.map((t) => t.zxid)).toEqual([2n]);
    await r.store.close();
  });

  it('falls back when the newest snapshot cannot be read (EACCES)', async () => {
    const fs = new MemoryFileSystem(['/d']);
    const { store } = await openRecovered({ dataDir: '/d', fs, preallocateBytes: 4096 });
    await store.append(1n, payloadFor(1n));
    await store.writeSnapshot(1n, chunksFor(1, 3));
    await store.append(2n, payloadFor(2n));
    await store.writeSnapshot(2n, chunksFor(2, 3));
    await store.close();
    fs.inject({ op: 'open', path: 'snapshot.2', code: 'EACCES' });
    const r = await openRecovered({ dataDir: '/d', fs });
    expect(r.snapshot?.zxid).toBe(1n);
    expect(r.txns.map((t) => t.zxid)).toEqual([2n]);
    expect(r.result.skippedSnapshots[0]!.reason).toMatch(/EACCES/);
    await r.store.close();
  });

  it('refuses to start when no snapshot validates', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    await store.writeSnapshot(1n, chunksFor(1, 3));
    await store.close();
    await writeFile(join(dir, 'snapshot.1'), 'not a snapshot at all');
    const s = await TxnSnapStore.open({ dataDir: dir, logger: new CapturingLogger() });
    const err = await rejection(s.recover());
    expect(err.kind).toBe('corrupt-snapshot');
  });

  it('refuses to start when logs after the snapshot are missing', async () => {
    const { store } = await openRecovered({ dataDir: dir, rollTxns: 5 });
    for (let i = 1; i <= 20; i++) await store.append(zxid(2, i), payloadFor(BigInt(i)));
    await store.writeSnapshot(zxid(2, 3), chunksFor(3, 3));
    await store.close();
    const { rm } = await import('node:fs/promises');
    await rm(join(dir, 'log.200000001'));
    const s = await TxnSnapStore.open({ dataDir: dir, logger: new CapturingLogger() });
    const err = await rejection(s.recover());
    expect(err.kind).toBe('missing-log');
    expect(err.path).toBe(join(dir, 'log.200000006'));
  });

  it('removes leftover temp files of interrupted snapshot writes on open', async () => {
    await writeFile(join(dir, 'snapshot.5.tmp'), 'partial');
    const r = await openRecovered({ dataDir: dir });
    expect(await readdir(dir)).toEqual([]);
    expect(r.snapshot).toBeUndefined();
    await r.store.close();
  });

  it('a snapshot received from a leader moves lastZxid forward', async () => {
    const { store } = await openRecovered({ dataDir: dir });
    await store.append(zxid(1, 1), payloadFor(1n));
    await store.writeSnapshot(zxid(3, 7), chunksFor(3, 2));
    expect(store.lastZxid).toBe(zxid(3, 7));
    expect((await rejection(store.append(zxid(3, 7), payloadFor(1n)))).kind).toBe('out-of-order');
    await store.append(zxid(3, 8), payloadFor(1n));
    await store.close();
    const r = await openRecovered({ dataDir: dir });
    expect(r.result).toMatchObject({ snapshotZxid: zxid(3, 7), lastZxid: zxid(3, 8), txnCount: 1 });
    await r.store.close();
  });
});

describe('snapshot schedule', () => {
  async function dueAt(snapCount: number, randomValue: number, txns: number): Promise<bigint[]> {
    const sub = join(dir, `s${snapCount}-${randomValue}`);
    const { store } = await openRecovered({ dataDir: sub, snapCount, random: () => randomValue });
    const due: bigint[] = [];
    store.onSnapshotDue((z) => due.push(z));
    for (let i = 1; i <= txns; i++) await store.append(BigInt(i), payloadFor(BigInt(i), 10));
    await store.close();
    return due;
  }

  it('is due after snapCount/2 + random(snapCount/2) txns, like ZooKeeper', async () => {
    expect(await dueAt(100, 0, 160)).toEqual([51n, 102n, 153n]);
    expect(await dueAt(100, 0.5, 160)).toEqual([76n, 152n]);
    expect(await dueAt(100, 0.999, 160)).toEqual([100n]);
  });

  it('rolls the log when a snapshot is due', async () => {
    await dueAt(10, 0, 20);
    const names = (await readdir(join(dir, 's10-0'))).sort();
    expect(names).toEqual(['log.1', 'log.7', 'log.d', 'log.13'].sort());
  });

  it('gives different servers different schedules', async () => {
    const a = await dueAt(100, 0.1, 120);
    const b = await dueAt(100, 0.7, 120);
    expect(a[0]).not.toBe(b[0]);
  });
});
