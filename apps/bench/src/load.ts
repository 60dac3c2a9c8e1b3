/**
 * The load generator and reporting shared by the server benchmarks (`server`, `ensemble`): a raw
 * wire-protocol session with pipelined requests (@zkts/codec), a throughput loop, latency
 * samples, per-process CPU time from /proc and a side-by-side table with zkts/apache ratios.
 */
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import {
  decodeConnectResponse,
  encodeConnectRequest,
  encodeRequestFrame,
  FrameReader,
  type Request,
} from '@zkts/codec';

export const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

/** Error code a request gets when its connection closes before the reply (ZooKeeper's CONNECTIONLOSS). */
export const CONNECTION_LOSS = -4;

/** A positive number option `name N`, or `fallback`. */
export function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

/** A string option `name value`, or undefined. */
export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export interface ConnectOptions {
  /** Resumes this session (with `passwd`) instead of creating one. */
  sessionId?: bigint;
  passwd?: Uint8Array;
  /** Requested session timeout. */
  sessionTimeoutMs?: number;
  /** Gives up when the server has not answered the handshake by then. */
  handshakeTimeoutMs?: number;
}

/** One session on the raw wire protocol: pipelined requests, replies matched in order. */
export class LoadClient {
  private readonly reader = new FrameReader({ maxFrameSize: 16 * 1024 * 1024 });
  private readonly waiting: Array<{ xid: number; done: (err: number) => void }> = [];
  private head = 0;
  private xid = 1;
  private onConnected: ((sessionId: bigint, passwd: Uint8Array) => void) | undefined;
  private onRefused: ((e: Error) => void) | undefined;
  /** The session, once the server has accepted the handshake. */
  sessionId = 0n;
  passwd: Uint8Array = new Uint8Array(16);
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of this.reader.push(chunk)) this.onFrame(frame);
      } catch (e) {
        // A refused handshake fails `connect`; a broken reply stream is a bug: let it crash.
        if (this.onRefused === undefined) throw e;
        this.onRefused(e as Error);
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.onRefused?.(new Error('connection closed during the handshake'));
      for (let i = this.head; i < this.waiting.length; i++) this.waiting[i]?.done(CONNECTION_LOSS);
      this.waiting.length = 0;
      this.head = 0;
    });
  }

  static connect(port: number, options: ConnectOptions = {}): Promise<LoadClient> {
    return new Promise((resolvePromise, reject) => {
      const s = new Socket();
      const c = new LoadClient(s);
      let settled = false;
      const timer =
        options.handshakeTimeoutMs === undefined
          ? undefined
          : setTimeout(() => fail(new Error(`no handshake from port ${port}`)), options.handshakeTimeoutMs);
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        c.onConnected = undefined;
        c.onRefused = undefined;
        s.destroy();
        reject(e);
      };
      c.onRefused = fail;
      s.once('error', fail);
      s.connect(port, '127.0.0.1', () => {
        const body = encodeConnectRequest({
          protocolVersion: 0,
          lastZxidSeen: 0n,
          timeOut: options.sessionTimeoutMs ?? 30_000,
          sessionId: options.sessionId ?? 0n,
          passwd: options.passwd ?? new Uint8Array(16),
          readOnly: false,
        });
        const frame = Buffer.alloc(4 + body.length);
        frame.writeInt32BE(body.length, 0);
        body.copy(frame, 4);
        c.onConnected = (sessionId, passwd) => {
          settled = true;
          clearTimeout(timer);
          c.onRefused = undefined;
          s.off('error', fail);
          c.sessionId = sessionId;
          c.passwd = passwd;
          resolvePromise(c);
        };
        s.write(frame);
      });
    });
  }

  private onFrame(frame: Buffer): void {
    if (this.onConnected !== undefined) {
      const r = decodeConnectResponse(frame);
      if (r.timeOut <= 0) throw new Error('session refused (expired)');
      const f = this.onConnected;
      this.onConnected = undefined;
      f(r.sessionId, r.passwd);
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

  /** Sends `request`; `done` gets the reply's error code (0 on success, CONNECTION_LOSS on close). */
  send(request: Request, done: (err: number) => void): void {
    if (this.closed) {
      queueMicrotask(() => done(CONNECTION_LOSS));
      return;
    }
    const xid = this.xid++;
    this.waiting.push({ xid, done });
    // Requests issued while handling one batch of replies leave in one write, as a client that
    // pipelines does (a syscall per request would make the generator the bottleneck).
    if (this.out.length === 0) process.nextTick(this.writeOut);
    this.out.push(encodeRequestFrame(xid, request));
  }

  private out: Buffer[] = [];
  private readonly writeOut = (): void => {
    const out = this.out;
    this.out = [];
    if (!this.closed && out.length > 0)
      this.socket.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
  };

  call(request: Request): Promise<number> {
    return new Promise((r) => this.send(request, r));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** CPU milliseconds (user + system) a process has used, from /proc; undefined elsewhere. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line (11 and 12 after the command), in ticks.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS = 100;

export type Op = (session: number, n: number) => Request;

export interface ThroughputResult {
  /** Successful replies inside the measured window. */
  ops: number;
  /** Every reply, warm-up included. */
  completed: number;
  errors: number;
  generatorCpuMs: number;
}

/** Runs `op` from every session with `inflight` requests each in flight; ops counted after a warm-up. */
export async function throughput(
  clients: LoadClient[],
  inflight: number,
  seconds: number,
  warmMs: number,
  op: Op,
): Promise<ThroughputResult> {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const from = start + warmMs;
  const until = from + seconds * 1000;
  let counted = 0;
  let completed = 0;
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
              completed++;
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
  return { ops: counted, completed, errors, generatorCpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Latencies (ms) of `ops` requests sent one at a time. */
export async function latencySamples(c: LoadClient, ops: number, op: () => Request): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < ops; i++) {
    const t0 = performance.now();
    const err = await c.call(op());
    samples.push(performance.now() - t0);
    if (err !== 0) throw new Error(`latency op failed with ${err}`);
  }
  return samples;
}

export const quantile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;

/** Median of `xs`; NaN when empty. */
export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export interface TableRow {
  label: string;
  apache: number | undefined;
  zkts: number | undefined;
  /** Shown in a last column when any row has one, e.g. `>= 1.5`. */
  goal?: string;
}

const fmt = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? '-' : Number.isInteger(v) || v >= 100 ? v.toFixed(0) : v.toFixed(3);

/** A tab-separated table: metric, apache, zkts, zkts/apache (and the goal for that ratio, if any). */
/** Rows side by side; `first` names the column compared against (default `apache`). */
export function ratioTable(rows: TableRow[], first = 'apache'): string {
  const goals = rows.some((r) => r.goal !== undefined);
  const lines = [['metric', first, 'zkts', `zkts/${first}`, ...(goals ? ['goal'] : [])].join('\t')];
  for (const { label, apache: av, zkts: zv, goal } of rows) {
    const ratio =
      av !== undefined && zv !== undefined && av > 0 && !Number.isNaN(zv) ? (zv / av).toFixed(2) : '-';
    lines.push([label, fmt(av), fmt(zv), ratio, ...(goals ? [goal ?? ''] : [])].join('\t'));
  }
  return `${lines.join('\n')}\n`;
}
