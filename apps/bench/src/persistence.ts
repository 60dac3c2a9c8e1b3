/**
 * Txn log and snapshot performance, next to this disk's raw append + fdatasync rate measured in
 * the same run:
 * - durable appends/s and latency for 100-byte txns with 1, 16 and 256 concurrent appenders
 *   (group commit), with and without preallocation, over fd callbacks and over FileHandle;
 * - streaming a snapshot of N x ~150-byte chunks (default 1M), the longest event-loop stall while
 *   it runs, and recovery (snapshot load + log replay).
 *
 *   pnpm --filter @zkts/bench run bench persistence [--dir <parent>] [--seconds 5] [--rounds 5] [--nodes 1000000]
 */
import * as nodeFs from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type FileHandle, type FileSystem, nodeFileSystem, TxnSnapStore } from '@zkts/persistence';

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

function stringOption(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

interface Row {
  [column: string]: string;
}

function table(rows: Row[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(width[i]!)).join('  ');
  process.stdout.write(`${line(cols)}\n`);
  for (const r of rows) process.stdout.write(`${line(cols.map((c) => r[c] ?? ''))}\n`);
  process.stdout.write('\n');
}

/** The same seam over `fs.promises` FileHandle, to compare with the fd-callback implementation. */
const promisesFileSystem: FileSystem = {
  ...nodeFileSystem,
  async open(path, mode) {
    const flags = { read: 'r', 'read-write': 'r+', create: 'wx+', replace: 'w+' }[mode];
    const h = await nodeFs.promises.open(path, flags, 0o644);
    const handle: FileHandle = {
      async write(data, position) {
        let done = 0;
        while (done < data.length) {
          const { bytesWritten } = await h.write(data, done, data.length - done, position + done);
          done += bytesWritten;
        }
      },
      async read(buffer, position) {
        return (await h.read(buffer, 0, buffer.length, position)).bytesRead;
      },
      datasync: () => h.datasync(),
      sync: () => h.sync(),
      truncate: (length) => h.truncate(length),
      size: async () => (await h.stat()).size,
      close: () => h.close(),
    };
    return handle;
  },
};

type Prealloc = 'none' | 'sparse' | 'zero-filled';

interface Samples {
  latencies: number[];
  ops: number;
  seconds: number;
  syncs: number;
}

interface Case {
  name: string;
  appenders: number;
  run(dir: string, seconds: number): Promise<Samples>;
  total: Samples;
}

/** The disk's raw rate: one writer, write 116 bytes then fdatasync, repeatedly. */
async function rawAppendSync(dir: string, seconds: number, prealloc: Prealloc): Promise<Samples> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `raw-${prealloc}`);
  const fd = nodeFs.openSync(path, 'wx+');
  const size = 64 << 20;
  if (prealloc === 'sparse') nodeFs.ftruncateSync(fd, size);
  if (prealloc === 'zero-filled') {
    const zeros = Buffer.alloc(1 << 20);
    for (let i = 0; i < 64; i++) nodeFs.writeSync(fd, zeros, 0, zeros.length, i << 20);
  }
  nodeFs.fsyncSync(fd);
  const buf = Buffer.alloc(116, 7);
  const call = (f: (cb: (err: NodeJS.ErrnoException | null) => void) => void): Promise<void> =>
    new Promise((resolve, reject) => f((err) => (err ? reject(err) : resolve())));
  const latencies: number[] = [];
  let pos = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    await call((cb) => nodeFs.write(fd, buf, 0, buf.length, pos, (err) => cb(err)));
    pos += buf.length;
    await call((cb) => nodeFs.fdatasync(fd, cb));
    latencies.push(performance.now() - t);
  }
  const elapsed = (performance.now() - started) / 1000;
  nodeFs.closeSync(fd);
  await rm(path);
  return { latencies, ops: latencies.length, seconds: elapsed, syncs: latencies.length };
}

async function appendLoad(
  dir: string,
  seconds: number,
  appenders: number,
  opts: { preallocateBytes: number; fs: FileSystem },
): Promise<Samples> {
  const store = await TxnSnapStore.open({
    dataDir: dir,
    fs: opts.fs,
    preallocateBytes: opts.preallocateBytes,
  });
  await store.recover();
  const payload = new Uint8Array(100).fill(0x5a);
  let next = 1n;
  // warm-up (and the new file's creation) outside the timed part
  for (let i = 0; i < 50; i++) await store.append(next++, payload);
  const before = store.stats();
  const latencies: number[] = [];
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const t = performance.now();
      await store.append(next++, payload);
      latencies.push(performance.now() - t);
    }
  };
  const started = performance.now();
  const workers = Array.from({ length: appenders }, worker);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  stop = true;
  await Promise.all(workers);
  const elapsed = (performance.now() - started) / 1000;
  const after = store.stats();
  await store.close();
  await rm(dir, { recursive: true, force: true });
  return { latencies, ops: latencies.length, seconds: elapsed, syncs: after.syncs - before.syncs };
}

function summarize(s: Samples): { rate: number; mean: number; p50: number; p99: number; perSync: number } {
  const sorted = Float64Array.from(s.latencies).sort();
  return {
    rate: s.ops / s.seconds,
    mean: s.latencies.reduce((a, b) => a + b, 0) / s.latencies.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    perSync: s.ops / s.syncs,
  };
}

/** Microseconds per awaited append on a file system that does nothing (best of 5 rounds). */
async function noopOverhead(): Promise<number> {
  const handle: FileHandle = {
    write: async () => {},
    read: async () => 0,
    datasync: async () => {},
    sync: async () => {},
    truncate: async () => {},
    size: async () => 0,
    close: async () => {},
  };
  const noop: FileSystem = {
    open: async () => handle,
    readdir: async () => [],
    unlink: async () => {},
    rename: async () => {},
    mkdir: async () => {},
    syncDir: async () => {},
    isDirectory: async () => true,
  };
  const store = await TxnSnapStore.open({ dataDir: 'noop', fs: noop });
  await store.recover();
  const payload = new Uint8Array(100);
  let zxid = 1n;
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const n = 20_000;
    const t = performance.now();
    for (let i = 0; i < n; i++) await store.append(zxid++, payload);
    best = Math.min(best, ((performance.now() - t) * 1000) / n);
  }
  await store.close();
  return best;
}

function* syntheticChunks(n: number, size: number): Generator<Uint8Array> {
  const chunk = new Uint8Array(size);
  for (let i = 0; i < n; i++) {
    chunk[0] = i & 0xff;
    chunk[1] = (i >>> 8) & 0xff;
    chunk[2] = (i >>> 16) & 0xff;
    yield chunk;
  }
}

export async function run(args: string[]): Promise<void> {
  const parent = stringOption(args, '--dir', tmpdir());
  const seconds = option(args, '--seconds', 5);
  const nodes = option(args, '--nodes', 1_000_000);
  const rounds = option(args, '--rounds', 5);
  const root = await mkdtemp(join(parent, 'zkts-bench-persistence-'));
  try {
    process.stdout.write(
      `persistence benchmark in ${root}, ${seconds}s per case, Node ${process.version}\n\n`,
    );

    // Every case runs `rounds` times for seconds/rounds, interleaved, so that the noise of a shared
    // disk spreads evenly over the raw baseline and the log.
    const empty = (): Samples => ({ latencies: [], ops: 0, seconds: 0, syncs: 0 });
    const cases: Case[] = [];
    for (const p of ['none', 'sparse', 'zero-filled'] as const) {
      cases.push({
        name: `raw write+fdatasync, ${p}`,
        appenders: 1,
        run: (dir, secs) => rawAppendSync(dir, secs, p),
        total: empty(),
      });
    }
    // The first variant is the default configuration; the goals are checked against it.
    const variants = [
      {
        name: 'log (default: fd callbacks, prealloc 64 MiB)',
        fs: nodeFileSystem,
        preallocateBytes: 64 << 20,
      },
      { name: 'log, fd callbacks, no prealloc', fs: nodeFileSystem, preallocateBytes: 0 },
      { name: 'log, FileHandle, prealloc 64 MiB', fs: promisesFileSystem, preallocateBytes: 64 << 20 },
    ];
    for (const v of variants) {
      for (const appenders of [1, 16, 256]) {
        cases.push({
          name: v.name,
          appenders,
          run: (dir, secs) => appendLoad(dir, secs, appenders, v),
          total: empty(),
        });
      }
    }
    for (let round = 0; round < rounds; round++) {
      for (const [i, c] of cases.entries()) {
        const s = await c.run(join(root, `case-${round}-${i}`), seconds / rounds);
        for (const l of s.latencies) c.total.latencies.push(l);
        c.total.ops += s.ops;
        c.total.seconds += s.seconds;
        c.total.syncs += s.syncs;
      }
    }
    const raw = summarize(cases[0]!.total);
    table(
      cases.map((c) => {
        const r = summarize(c.total);
        return {
          case: c.name,
          appenders: String(c.appenders),
          'ops/s': fmt(r.rate),
          'x raw': fmt(r.rate / raw.rate, 1),
          'mean ms': fmt(r.mean, 3),
          'p50 ms': fmt(r.p50, 3),
          'p99 ms': fmt(r.p99, 3),
          'per sync': fmt(r.perSync, 1),
        };
      }),
    );
    const one = summarize(cases[3]!.total);
    const many = summarize(cases[5]!.total);
    process.stdout.write(
      `goal: 256 appenders >= 20x the raw rate: ${fmt(many.rate / raw.rate, 1)}x (${many.rate >= 20 * raw.rate ? 'met' : 'NOT met'})\n` +
        `goal: 1 appender latency <= 1.2x one raw write+fdatasync: mean ${fmt(one.mean / raw.mean, 2)}x, p50 ${fmt(one.p50 / raw.p50, 2)}x (${one.mean <= 1.2 * raw.mean ? 'met' : 'NOT met'} on the mean)\n\n`,
    );

    // What the log itself costs per append: one appender over a file system whose calls do nothing.
    const overheadUs = await noopOverhead();
    process.stdout.write(
      `log overhead per append with one appender on a no-op file system: ${fmt(overheadUs, 1)} us (${fmt((overheadUs / 1000 / raw.p50) * 100, 1)}% of the raw p50)\n\n`,
    );

    // Snapshot of `nodes` x 150-byte chunks, with appends running and the event loop watched.
    const dataDir = join(root, 'snap');
    const store = await TxnSnapStore.open({ dataDir });
    await store.recover();
    const payload = new Uint8Array(100).fill(1);
    const replayTxns = 100_000;
    for (let i = 1; i <= replayTxns; i += 1000) {
      await Promise.all(Array.from({ length: 1000 }, (_, k) => store.append(BigInt(i + k), payload)));
    }
    // Watch the event loop while one appender runs: first alone (the baseline of this machine),
    // then while the snapshot streams.
    const watch = async <T>(work: () => Promise<T>) => {
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      let maxGap = 0;
      let last = performance.now();
      const ticker = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
      }, 1);
      histogram.enable();
      let appends = 0;
      let running = true;
      const concurrent = (async () => {
        while (running) {
          await store.append(zxidNext++, payload);
          appends++;
        }
      })();
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      const value = await work();
      const ms = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      running = false;
      await concurrent;
      clearInterval(ticker);
      histogram.disable();
      return { value, ms, cpuMs, maxGap, p99: histogram.percentile(99) / 1e6, appends };
    };
    let zxidNext = BigInt(replayTxns) + 1n;
    const idle = await watch(() => new Promise((resolve) => setTimeout(resolve, 2000)));
    const snap = await watch(() => store.writeSnapshot(1n, syntheticChunks(nodes, 150)));
    await store.close();
    const info = snap.value;
    const snapMs = snap.ms;
    const t1 = performance.now();
    const reopened = await TxnSnapStore.open({ dataDir });
    let chunks = 0;
    let snapLoadedAt = 0;
    let txns = 0;
    const result = await reopened.recover({
      async onSnapshot(_zxid, it) {
        for await (const _c of it) chunks++;
        snapLoadedAt = performance.now();
      },
      onTxn() {
        txns++;
      },
    });
    const recoverMs = performance.now() - t1;
    await reopened.close();
    if (chunks !== nodes) throw new Error(`recovered ${chunks} chunks, expected ${nodes}`);
    table([
      {
        case: 'appends only (baseline), 2 s',
        'time ms': fmt(idle.ms),
        'MB/s': '',
        'file MB': '',
        'max loop stall ms': fmt(idle.maxGap, 1),
        'loop delay p99 ms': fmt(idle.p99, 1),
        'appends/s meanwhile': fmt(idle.appends / (idle.ms / 1000)),
      },
      {
        case: `snapshot write, ${fmt(nodes)} x 150 B chunks`,
        'time ms': fmt(snapMs),
        'MB/s': fmt(info.bytes / 1e6 / (snapMs / 1000), 1),
        'file MB': fmt(info.bytes / 1e6, 1),
        'max loop stall ms': fmt(snap.maxGap, 1),
        'loop delay p99 ms': fmt(snap.p99, 1),
        'appends/s meanwhile': fmt(snap.appends / (snapMs / 1000)),
      },
    ]);
    // The writer holds the event loop only while it fills one 256 KiB buffer (then awaits the
    // write): CPU time per buffer is the length of a typical slice, whatever the machine's load.
    const buffers = Math.ceil(info.bytes / (256 * 1024));
    process.stdout.write(
      `snapshot CPU time ${fmt(snap.cpuMs)} ms (process, incl. the concurrent appender) over ${fmt(buffers)} buffers of 256 KiB: ${fmt(snap.cpuMs / buffers, 2)} ms per buffer\n\n`,
    );
    table([
      {
        case: 'recovery (validate + stream snapshot, replay log)',
        'total ms': fmt(recoverMs),
        'snapshot ms': fmt(snapLoadedAt - t1),
        'log replay ms': fmt(recoverMs - (snapLoadedAt - t1)),
        'txns replayed': fmt(txns),
        'last zxid': `0x${result.lastZxid.toString(16)}`,
      },
    ]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
