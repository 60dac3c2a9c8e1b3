/**
 * Client throughput: getData and setData requests per second (100-byte data, one connection, 1 and
 * 1000 requests in flight) of @zkts/client next to node-zookeeper-client, against the same Apache
 * ZooKeeper 3.8 in the same run (a throwaway one, or `--connect host:port`). Each case runs
 * `--rounds` times alternating the two clients; requests/s are the best round of each (and the
 * ratio of the median rounds is printed too), CPU times per request the median round.
 *
 * Every case also reports the CPU time per request of the client process (process.cpuUsage, the
 * only load in this process is the client being measured) and of the server process (/proc; the
 * throwaway server, or `--server-pid` with `--connect`), and how many cores each kept busy
 * (CPU per request x requests/s), which tells which process saturates.
 *
 * The throwaway server runs with forceSync=no unless `--fsync` is given: with an fsync per write
 * batch, setData measures the disk rather than the clients.
 *
 * `--pin` isolates CPU: the server (every thread of its process) runs on CPU 0 and this process
 * (the load: each client in turn) on CPU 1, with `taskset` (util-linux). Without it, the server
 * and the clients share every core, as in the issue's measurement. Other processes on the machine
 * are not moved: run it on a quiet machine.
 *
 * To compare against a zkts server, start one (`node apps/server/dist/main.js zoo.cfg`) and pass
 * `--connect 127.0.0.1:<port> --server-pid <its pid>`.
 *
 *   pnpm --filter @zkts/bench run bench client [--ms 3000] [--rounds 3] [--size 100] [--fsync] [--pin]
 *     [--connect 127.0.0.1:2181 [--server-pid <pid>]]
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { createClient, type ZooKeeperClient } from '@zkts/client';
import { type ApacheZooKeeper, startApacheZooKeeper } from '@zkts/testkit';
import { processCpuMs } from './load.js';

/** The part of node-zookeeper-client 1.1.3 this benchmark uses (it ships no types). */
interface NzkStat {
  version: number;
}
interface NzkClient {
  once(event: 'connected', listener: () => void): void;
  connect(): void;
  close(): void;
  getData(path: string, callback: (error: Error | null, data: Buffer, stat: NzkStat) => void): void;
  setData(
    path: string,
    data: Buffer,
    version: number,
    callback: (error: Error | null, stat: NzkStat) => void,
  ): void;
}
interface NzkModule {
  createClient(connectString: string, options?: { sessionTimeout?: number; retries?: number }): NzkClient;
}

const require = createRequire(import.meta.url);

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

function stringOption(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fmtOptional(n: number | undefined, digits: number): string {
  return n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The CPUs `--pin` uses: the server on the first, this process (the clients) on the second. */
const SERVER_CPU = 0;
const CLIENT_CPU = 1;

/** Pins every thread of `pid` to `cpu` with taskset (util-linux); throws a clear error without it. */
function pin(pid: number, cpu: number): void {
  try {
    execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', String(cpu), String(pid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') {
      throw new Error('--pin needs taskset (util-linux), which is not on the PATH');
    }
    throw new Error(
      `taskset could not pin process ${pid} to CPU ${cpu}: ${err.stderr?.toString().trim() ?? err.message}`,
    );
  }
}

type Op = 'getData' | 'setData';

/** One request with a completion callback: the shape both clients are driven through. */
type Issue = (done: (error: Error | null) => void) => void;

interface Result {
  /** Completed requests per second. */
  rate: number;
  /** CPU time this process (the client) spent per request (user + system), in microseconds. */
  cpu: number;
  /** CPU time the server process spent per request, in microseconds; undefined without its pid. */
  serverCpu: number | undefined;
}

/**
 * Keeps `inFlight` requests outstanding for `ms` (after a warm-up of a fifth of it), each completion
 * issuing the next; returns completed requests per second, and this process's and the server's
 * CPU time per request.
 */
function measure(issue: Issue, inFlight: number, ms: number, serverPid: number | undefined): Promise<Result> {
  return new Promise((resolve, reject) => {
    let phase: 'warmup' | 'timed' | 'stopping' = 'warmup';
    let completed = 0;
    let outstanding = 0;
    let failed: Error | undefined;
    let start = 0n;
    let elapsed = 0n;
    let cpuStart = process.cpuUsage();
    let cpu = 0;
    let serverStart: number | undefined;
    let serverUsed: number | undefined;
    const loop = (): void => {
      outstanding++;
      issue((error) => {
        outstanding--;
        if (error !== null && failed === undefined) failed = error;
        if (phase === 'timed') completed++;
        if (phase !== 'stopping' && failed === undefined) loop();
        else if (outstanding === 0) {
          if (failed !== undefined) reject(failed);
          else {
            resolve({
              rate: (completed * 1e9) / Number(elapsed),
              cpu: cpu / completed,
              serverCpu: serverUsed === undefined ? undefined : (serverUsed * 1000) / completed,
            });
          }
        }
      });
    };
    for (let i = 0; i < inFlight; i++) loop();
    setTimeout(
      () => {
        phase = 'timed';
        start = process.hrtime.bigint();
        cpuStart = process.cpuUsage();
        serverStart = processCpuMs(serverPid);
        setTimeout(() => {
          elapsed = process.hrtime.bigint() - start;
          const used = process.cpuUsage(cpuStart);
          const serverEnd = processCpuMs(serverPid);
          cpu = used.user + used.system;
          serverUsed =
            serverStart === undefined || serverEnd === undefined ? undefined : serverEnd - serverStart;
          phase = 'stopping';
        }, ms);
      },
      Math.max(200, ms / 5),
    );
  });
}

function zktsIssue(client: ZooKeeperClient, op: Op, path: string, data: Buffer): Issue {
  if (op === 'getData') {
    return (done) =>
      client.getData(path).then(
        () => done(null),
        (e: Error) => done(e),
      );
  }
  return (done) =>
    client.setData(path, data).then(
      () => done(null),
      (e: Error) => done(e),
    );
}

function nzkIssue(client: NzkClient, op: Op, path: string, data: Buffer): Issue {
  if (op === 'getData') return (done) => client.getData(path, (e) => done(e));
  return (done) => client.setData(path, data, -1, (e) => done(e));
}

async function nzkConnect(nzk: NzkModule, connectString: string): Promise<NzkClient> {
  const client = nzk.createClient(connectString, { sessionTimeout: 30_000 });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('node-zookeeper-client did not connect in 10 s')), 10_000);
    client.once('connected', () => {
      clearTimeout(t);
      resolve();
    });
    client.connect();
  });
  return client;
}

/** The rounds of one client in one case, summarised. */
interface Summary {
  /** Best and median requests/s over the rounds. */
  rate: number;
  medianRate: number;
  /** Median CPU us per request over the rounds, of the client and of the server. */
  cpu: number;
  serverCpu: number | undefined;
  /** Median over the rounds of the cores each process kept busy (its CPU per request x req/s). */
  clientBusy: number;
  serverBusy: number | undefined;
}

function summarise(results: Result[]): Summary {
  const withServer = results.every((r) => r.serverCpu !== undefined);
  return {
    rate: Math.max(...results.map((r) => r.rate)),
    medianRate: median(results.map((r) => r.rate)),
    cpu: median(results.map((r) => r.cpu)),
    serverCpu: withServer ? median(results.map((r) => r.serverCpu as number)) : undefined,
    clientBusy: median(results.map((r) => (r.cpu * r.rate) / 1e6)),
    serverBusy: withServer ? median(results.map((r) => ((r.serverCpu as number) * r.rate) / 1e6)) : undefined,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows.map((row) => `${row.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  ')}\n`).join('');
}

export async function run(args: string[]): Promise<void> {
  const ms = option(args, '--ms', 3000);
  const rounds = option(args, '--rounds', 3);
  const size = option(args, '--size', 100);
  const external = stringOption(args, '--connect');
  const serverPidArg = stringOption(args, '--server-pid');
  const pinned = args.includes('--pin');
  const fsync = args.includes('--fsync');
  if (serverPidArg !== undefined && external === undefined) {
    throw new Error('--server-pid is for a server given with --connect');
  }
  const externalPid = serverPidArg === undefined ? undefined : option(args, '--server-pid', 0);
  if (pinned && external !== undefined && externalPid === undefined) {
    throw new Error("--pin with --connect needs the server's process id: --server-pid <pid>");
  }
  if (pinned && availableParallelism() < 2) throw new Error('--pin needs at least 2 CPUs');
  const nzk = require('node-zookeeper-client') as NzkModule;
  const apache: ApacheZooKeeper | undefined =
    external === undefined
      ? await startApacheZooKeeper({ config: { forceSync: fsync ? 'yes' : 'no' } })
      : undefined;
  const connectString = external ?? (apache as ApacheZooKeeper).connectString;
  const serverPid = externalPid ?? apache?.process.pid;
  let zkts: ZooKeeperClient | undefined;
  let other: NzkClient | undefined;
  try {
    if (pinned) {
      pin(serverPid as number, SERVER_CPU);
      pin(process.pid, CLIENT_CPU);
    }
    zkts = createClient(connectString, { sessionTimeout: 30_000, maxPendingRequests: 100_000 });
    await zkts.connect();
    other = await nzkConnect(nzk, connectString);
    const path = `/bench-client-${process.pid}`;
    const data = Buffer.alloc(size, 0x61);
    const client = zkts;
    await client.create(path, data).catch(async () => {
      await client.setData(path, data);
    });
    const server =
      external === undefined
        ? `a throwaway Apache ZooKeeper (forceSync=${fsync ? 'yes' : 'no'}, pid ${serverPid})`
        : `${connectString}${externalPid === undefined ? '' : ` (pid ${externalPid})`}`;
    process.stdout.write(
      `client throughput against ${server}, ${size}-byte data, one connection each, ${rounds} rounds of ${ms} ms\n` +
        (pinned
          ? `CPU pinned with taskset: the server on CPU ${SERVER_CPU}, the clients (this process, pid ${process.pid}) on CPU ${CLIENT_CPU}\n`
          : 'not pinned: the server and the clients share every core\n') +
        'req/s: best round (ratio of the medians too); CPU us/req: median round, of the client process and of ' +
        'the server process (while that client ran); busy: cores kept busy (CPU per request x req/s), median round\n\n',
    );
    const throughput: string[][] = [
      [
        'op',
        'in flight',
        '@zkts/client req/s',
        'node-zookeeper-client req/s',
        'ratio',
        '2x goal',
        'median ours',
        'theirs',
        'ratio',
      ],
    ];
    const cpu: string[][] = [
      [
        'op',
        'in flight',
        'client us/req ours',
        'theirs',
        'ratio',
        'server us/req with ours',
        'with theirs',
        'busy client ours',
        'theirs',
        'busy server with ours',
        'with theirs',
      ],
    ];
    for (const op of ['getData', 'setData'] as const) {
      for (const inFlight of [1, 1000]) {
        const ours: Result[] = [];
        const theirs: Result[] = [];
        for (let r = 0; r < rounds; r++) {
          theirs.push(await measure(nzkIssue(other, op, path, data), inFlight, ms, serverPid));
          ours.push(await measure(zktsIssue(client, op, path, data), inFlight, ms, serverPid));
        }
        const a = summarise(ours);
        const b = summarise(theirs);
        const ratio = a.rate / b.rate;
        throughput.push([
          op,
          String(inFlight),
          fmt(a.rate),
          fmt(b.rate),
          `${ratio.toFixed(2)}x`,
          ratio >= 2 ? 'met' : 'not met',
          fmt(a.medianRate),
          fmt(b.medianRate),
          `${(a.medianRate / b.medianRate).toFixed(2)}x`,
        ]);
        cpu.push([
          op,
          String(inFlight),
          a.cpu.toFixed(1),
          b.cpu.toFixed(1),
          `${(b.cpu / a.cpu).toFixed(2)}x`,
          fmtOptional(a.serverCpu, 1),
          fmtOptional(b.serverCpu, 1),
          a.clientBusy.toFixed(2),
          b.clientBusy.toFixed(2),
          fmtOptional(a.serverBusy, 2),
          fmtOptional(b.serverBusy, 2),
        ]);
      }
    }
    process.stdout.write(
      `${table(throughput)}\nCPU per request (ratio: theirs over ours) and cores kept busy\n${table(cpu)}`,
    );
    await client.delete(path);
  } finally {
    other?.close();
    await zkts?.close();
    await apache?.stop();
  }
}
