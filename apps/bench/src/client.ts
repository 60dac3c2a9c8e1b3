/**
 * Client throughput: getData and setData requests per second (100-byte data, one connection, 1 and
 * 1000 requests in flight) of @zkts/client next to node-zookeeper-client, against the same Apache
 * ZooKeeper 3.8 in the same run (a throwaway one, or `--connect host:port`). Each case runs
 * `--rounds` times alternating the two clients; the best round of each is reported.
 *
 * The throwaway server runs with forceSync=no unless `--fsync` is given: with an fsync per write
 * batch, setData measures the disk rather than the clients.
 *
 *   pnpm --filter @zkts/bench run bench client [--ms 3000] [--rounds 3] [--size 100] [--fsync] [--connect 127.0.0.1:2181]
 */
import { createRequire } from 'node:module';
import { createClient, type ZooKeeperClient } from '@zkts/client';
import { type ApacheZooKeeper, startApacheZooKeeper } from '@zkts/testkit';

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

type Op = 'getData' | 'setData';

/** One request with a completion callback: the shape both clients are driven through. */
type Issue = (done: (error: Error | null) => void) => void;

interface Result {
  /** Completed requests per second. */
  rate: number;
  /** CPU time this process spent per request (user + system), in microseconds. */
  cpu: number;
}

/**
 * Keeps `inFlight` requests outstanding for `ms` (after a warm-up of a fifth of it), each completion
 * issuing the next; returns completed requests per second and this process's CPU time per request.
 */
function measure(issue: Issue, inFlight: number, ms: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    let phase: 'warmup' | 'timed' | 'stopping' = 'warmup';
    let completed = 0;
    let outstanding = 0;
    let failed: Error | undefined;
    let start = 0n;
    let elapsed = 0n;
    let cpuStart = process.cpuUsage();
    let cpu = 0;
    const loop = (): void => {
      outstanding++;
      issue((error) => {
        outstanding--;
        if (error !== null && failed === undefined) failed = error;
        if (phase === 'timed') completed++;
        if (phase !== 'stopping' && failed === undefined) loop();
        else if (outstanding === 0) {
          if (failed !== undefined) reject(failed);
          else resolve({ rate: (completed * 1e9) / Number(elapsed), cpu: cpu / completed });
        }
      });
    };
    for (let i = 0; i < inFlight; i++) loop();
    setTimeout(
      () => {
        phase = 'timed';
        start = process.hrtime.bigint();
        cpuStart = process.cpuUsage();
        setTimeout(() => {
          elapsed = process.hrtime.bigint() - start;
          const used = process.cpuUsage(cpuStart);
          cpu = used.user + used.system;
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

export async function run(args: string[]): Promise<void> {
  const ms = option(args, '--ms', 3000);
  const rounds = option(args, '--rounds', 3);
  const size = option(args, '--size', 100);
  const external = stringOption(args, '--connect');
  const nzk = require('node-zookeeper-client') as NzkModule;
  const fsync = args.includes('--fsync');
  const apache: ApacheZooKeeper | undefined =
    external === undefined
      ? await startApacheZooKeeper({ config: { forceSync: fsync ? 'yes' : 'no' } })
      : undefined;
  const connectString = external ?? (apache as ApacheZooKeeper).connectString;
  const zkts = createClient(connectString, { sessionTimeout: 30_000, maxPendingRequests: 100_000 });
  let other: NzkClient | undefined;
  try {
    await zkts.connect();
    other = await nzkConnect(nzk, connectString);
    const path = `/bench-client-${process.pid}`;
    const data = Buffer.alloc(size, 0x61);
    await zkts.create(path, data).catch(async () => {
      await zkts.setData(path, data);
    });
    process.stdout.write(
      `client throughput against ${external === undefined ? `a throwaway Apache ZooKeeper (forceSync=${fsync ? 'yes' : 'no'})` : connectString}, ` +
        `${size}-byte data, one connection each, best of ${rounds} rounds of ${ms} ms\n` +
        'ratio: @zkts/client req/s over node-zookeeper-client req/s; CPU ratio: its CPU per request over ours\n\n',
    );
    const rows: string[][] = [
      ['op', 'in flight', '@zkts/client req/s', 'node-zookeeper-client req/s', 'ratio'],
    ];
    for (const op of ['getData', 'setData'] as const) {
      for (const inFlight of [1, 1000]) {
        const best = { zkts: { rate: 0, cpu: Infinity }, nzk: { rate: 0, cpu: Infinity } };
        const keep = (b: Result, r: Result) => {
          b.rate = Math.max(b.rate, r.rate);
          b.cpu = Math.min(b.cpu, r.cpu);
        };
        for (let r = 0; r < rounds; r++) {
          keep(best.nzk, await measure(nzkIssue(other, op, path, data), inFlight, ms));
          keep(best.zkts, await measure(zktsIssue(zkts, op, path, data), inFlight, ms));
        }
        rows.push([
          op,
          String(inFlight),
          fmt(best.zkts.rate),
          fmt(best.nzk.rate),
          `${(best.zkts.rate / best.nzk.rate).toFixed(2)}x`,
          best.zkts.cpu.toFixed(1),
          best.nzk.cpu.toFixed(1),
          `${(best.nzk.cpu / best.zkts.cpu).toFixed(2)}x`,
        ]);
      }
    }
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
    for (const row of rows) {
      process.stdout.write(`${row.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  ')}\n`);
    }
    await zkts.delete(path);
  } finally {
    other?.close();
    await zkts.close();
    await apache?.stop();
  }
}
