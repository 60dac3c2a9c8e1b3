/**
 * Server throughput and latency, zkts side by side with Apache ZooKeeper 3.8 standalone (fsync on
 * for both), driven by the same raw-protocol load generator (@zkts/codec, pipelined requests).
 *
 *   pnpm build && pnpm --filter @zkts/bench run bench server \
 *     [--seconds 5] [--sessions 32] [--inflight 16] [--size 100] [--latency-ops 2000] \
 *     [--targets apache,zkts|port:N]
 *
 * Write throughput: create and setData of `size` bytes from `sessions` sessions with `inflight`
 * requests each in flight. Read throughput: getData the same way. Latency: one session, one
 * request in flight, p50/p99 of setData and getData. zkts runs as its own process
 * (apps/server/dist/main.js), as Apache ZooKeeper runs in its JVM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decodeConnectResponse,
  encodeConnectRequest,
  encodeRequestFrame,
  FrameReader,
  type Request,
} from '@zkts/codec';
import { fourLetterWord, freePort, startApacheZooKeeper, waitFor } from '@zkts/testkit';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const SERVER_MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../server/dist/main.js');

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

/** One session on the raw wire protocol: pipelined requests, replies matched in order. */
class LoadClient {
  private readonly reader = new FrameReader({ maxFrameSize: 16 * 1024 * 1024 });
  private readonly waiting: Array<{ xid: number; done: (err: number) => void }> = [];
  private head = 0;
  private xid = 1;
  private onConnected: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.reader.push(chunk)) this.onFrame(frame);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      for (let i = this.head; i < this.waiting.length; i++) this.waiting[i]?.done(-4);
      this.waiting.length = 0;
      this.head = 0;
    });
  }

  static connect(port: number): Promise<LoadClient> {
    return new Promise((resolvePromise, reject) => {
      const s = new Socket();
      const c = new LoadClient(s);
      s.once('error', reject);
      s.connect(port, '127.0.0.1', () => {
        const body = encodeConnectRequest({
          protocolVersion: 0,
          lastZxidSeen: 0n,
          timeOut: 30_000,
          sessionId: 0n,
          passwd: new Uint8Array(16),
          readOnly: false,
        });
        const frame = Buffer.alloc(4 + body.length);
        frame.writeInt32BE(body.length, 0);
        body.copy(frame, 4);
        c.onConnected = () => {
          s.off('error', reject);
          resolvePromise(c);
        };
        s.write(frame);
      });
    });
  }

  private onFrame(frame: Buffer): void {
    if (this.onConnected !== undefined) {
      const r = decodeConnectResponse(frame);
      if (r.timeOut <= 0) throw new Error('session refused');
      const f = this.onConnected;
      this.onConnected = undefined;
      f();
      return;
    }
    const xid = frame.readInt32BE(0);
    if (xid < 0) return; // notifications, pings
    const w = this.waiting[this.head];
    if (w === undefined || w.xid !== xid) throw new Error(`reply out of order: ${xid}`);
    this.waiting[this.head++] = undefined as never;
    if (this.head > 4096 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    w.done(frame.readInt32BE(12));
  }

  send(request: Request, done: (err: number) => void): void {
    const xid = this.xid++;
    this.waiting.push({ xid, done });
    this.socket.write(encodeRequestFrame(xid, request));
  }

  call(request: Request): Promise<number> {
    return new Promise((r) => this.send(request, r));
  }

  close(): void {
    this.socket.destroy();
  }
}

interface Target {
  name: string;
  port: number;
  stop(): Promise<void>;
}

async function startZkts(): Promise<Target> {
  if (!existsSync(SERVER_MAIN)) throw new Error(`${SERVER_MAIN} is missing: run \`pnpm build\` first`);
  const dir = await mkdtemp(join(tmpdir(), 'bench-zkts-'));
  const port = await freePort();
  const cfg = join(dir, 'zoo.cfg');
  await writeFile(
    cfg,
    [
      'tickTime=2000',
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'maxClientCnxns=0',
      '4lw.commands.whitelist=*',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(process.execPath, [SERVER_MAIN, cfg], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  await waitFor(
    async () => (await fourLetterWord(port, 'srvr', '127.0.0.1', 1000)).startsWith('Zookeeper version:'),
    30_000,
    'zkts-server',
  );
  return {
    name: 'zkts',
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startApache(): Promise<Target> {
  const zk = await startApacheZooKeeper({ jvmOptions: ['-Xmx1g', '-Xms1g'] });
  return { name: 'apache', port: zk.port, stop: () => zk.stop() };
}

type Op = (session: number, n: number) => Request;

/** Runs `op` from every session with `inflight` requests each in flight; ops per second after a warm-up. */
async function throughput(
  clients: LoadClient[],
  inflight: number,
  seconds: number,
  op: Op,
): Promise<{ opsPerSec: number; errors: number; generatorCpu: number }> {
  const warmMs = 1000;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const from = start + warmMs;
  const until = from + seconds * 1000;
  let counted = 0;
  let errors = 0;
  await Promise.all(
    clients.map(
      (c, s) =>
        new Promise<void>((done) => {
          let n = 0;
          let open = 0;
          const next = () => {
            const now = performance.now();
            if (now >= until) {
              if (open === 0) done();
              return;
            }
            open++;
            c.send(op(s, n++), (err) => {
              open--;
              const t = performance.now();
              if (err !== 0) errors++;
              else if (t >= from && t < until) counted++;
              next();
            });
          };
          for (let i = 0; i < inflight; i++) next();
        }),
    ),
  );
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - start;
  return { opsPerSec: counted / seconds, errors, generatorCpu: (cpu.user + cpu.system) / 1000 / wall };
}

async function latency(
  c: LoadClient,
  ops: number,
  op: (n: number) => Request,
): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.min(200, ops); i++) await c.call(op(i));
  const samples: number[] = [];
  for (let i = 0; i < ops; i++) {
    const t0 = performance.now();
    const err = await c.call(op(i));
    samples.push(performance.now() - t0);
    if (err !== 0) throw new Error(`latency op failed with ${err}`);
  }
  samples.sort((a, b) => a - b);
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? 0;
  return { p50: q(0.5), p99: q(0.99) };
}

interface Result {
  create: number;
  setData: number;
  getData: number;
  writeP50: number;
  writeP99: number;
  readP50: number;
  readP99: number;
  errors: number;
}

async function measure(target: Target, opts: Record<string, number>): Promise<Result> {
  const sessions = opts.sessions ?? 32;
  const inflight = opts.inflight ?? 16;
  const seconds = opts.seconds ?? 5;
  const data = Buffer.alloc(opts.size ?? 100, 0x61);
  const clients = await Promise.all(Array.from({ length: sessions }, () => LoadClient.connect(target.port)));
  const admin = clients[0] as LoadClient;
  await admin.call({ type: 'create', path: '/bench', data: null, acl: OPEN, flags: 0 });
  for (let s = 0; s < sessions; s++) {
    await admin.call({ type: 'create', path: `/bench/d${s}`, data, acl: OPEN, flags: 0 });
  }
  const create = await throughput(clients, inflight, seconds, (s, n) => ({
    type: 'create',
    path: `/bench/c${s}-${n}`,
    data,
    acl: OPEN,
    flags: 0,
  }));
  const setData = await throughput(clients, inflight, seconds, (s) => ({
    type: 'setData',
    path: `/bench/d${s}`,
    data,
    version: -1,
  }));
  const getData = await throughput(clients, inflight, seconds, (s) => ({
    type: 'getData',
    path: `/bench/d${s}`,
    watch: false,
  }));
  const latencyOps = opts.latencyOps ?? 2000;
  const w = await latency(admin, latencyOps, () => ({
    type: 'setData',
    path: '/bench/d0',
    data,
    version: -1,
  }));
  const r = await latency(admin, latencyOps, () => ({ type: 'getData', path: '/bench/d0', watch: false }));
  for (const c of clients) c.close();
  process.stdout.write(
    `${target.name}: load generator CPU (share of one core) create ${create.generatorCpu.toFixed(2)}, ` +
      `setData ${setData.generatorCpu.toFixed(2)}, getData ${getData.generatorCpu.toFixed(2)}\n`,
  );
  return {
    create: create.opsPerSec,
    setData: setData.opsPerSec,
    getData: getData.opsPerSec,
    writeP50: w.p50,
    writeP99: w.p99,
    readP50: r.p50,
    readP99: r.p99,
    errors: create.errors + setData.errors + getData.errors,
  };
}

export async function run(args: string[]): Promise<void> {
  const opts = {
    seconds: option(args, '--seconds', 5),
    sessions: option(args, '--sessions', 32),
    inflight: option(args, '--inflight', 16),
    size: option(args, '--size', 100),
    latencyOps: option(args, '--latency-ops', 2000),
  };
  const ti = args.indexOf('--targets');
  const names = ti >= 0 ? (args[ti + 1] ?? '').split(',') : ['apache', 'zkts'];
  process.stdout.write(
    `server benchmark: ${opts.sessions} sessions x ${opts.inflight} in flight, ${opts.size}-byte data, ` +
      `${opts.seconds} s per phase, fsync on\n`,
  );
  const results = new Map<string, Result>();
  for (const name of names) {
    // `port:N` measures a server started by hand (e.g. under --cpu-prof), reported as zkts.
    const external = /^port:(\d+)$/.exec(name);
    const target = external
      ? { name: 'zkts', port: Number(external[1]), stop: async () => {} }
      : name === 'apache'
        ? await startApache()
        : name === 'zkts'
          ? await startZkts()
          : undefined;
    if (target === undefined) throw new Error(`unknown target ${name} (apache, zkts)`);
    try {
      results.set(target.name, await measure(target, opts));
    } finally {
      await target.stop();
    }
  }
  const rows: Array<[string, keyof Result, 'higher' | 'lower']> = [
    ['create ops/s', 'create', 'higher'],
    ['setData ops/s', 'setData', 'higher'],
    ['getData ops/s', 'getData', 'higher'],
    ['setData p50 ms (1 in flight)', 'writeP50', 'lower'],
    ['setData p99 ms (1 in flight)', 'writeP99', 'lower'],
    ['getData p50 ms (1 in flight)', 'readP50', 'lower'],
    ['getData p99 ms (1 in flight)', 'readP99', 'lower'],
    ['errors', 'errors', 'lower'],
  ];
  const a = results.get('apache');
  const z = results.get('zkts');
  const fmt = (v: number | undefined) => (v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(3));
  const lines = [['metric', 'apache', 'zkts', 'zkts/apache'].join('\t')];
  for (const [label, key] of rows) {
    const av = a?.[key];
    const zv = z?.[key];
    const ratio = av !== undefined && zv !== undefined && av > 0 ? (zv / av).toFixed(2) : '-';
    lines.push([label, fmt(av), fmt(zv), ratio].join('\t'));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
