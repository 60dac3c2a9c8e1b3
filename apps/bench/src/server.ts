/**
 * Server throughput and latency, zkts side by side with Apache ZooKeeper 3.8 standalone (fsync on
 * for both), driven by the same raw-protocol load generator (@zkts/codec, pipelined requests).
 *
 *   pnpm build && pnpm --filter @zkts/bench run bench server \
 *     [--seconds 5] [--rounds 5] [--sessions 32] [--inflight 16] [--size 100] [--latency-ops 2000] \
 *     [--targets apache,zkts|base:PATH,zkts|port:N] [--phases create,setData,getData]
 *
 * Write throughput: create and setData of `size` bytes from `sessions` sessions with `inflight`
 * requests each in flight. Read throughput: getData the same way. Latency: one session, one
 * request in flight, p50/p99 of setData and getData. zkts runs as its own process
 * (apps/server/dist/main.js), as Apache ZooKeeper runs in its JVM. Both servers run at once and
 * take turns: each phase is cut into `rounds` slices measured alternately, so background load on
 * a shared machine falls on both alike. It also reports each server's CPU time per request (from
 * /proc), which background load disturbs far less than throughput.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fourLetterWord, freePort, startApacheZooKeeper, waitFor } from '@zkts/testkit';
import {
  LoadClient,
  latencySamples,
  OPEN,
  type Op,
  option,
  processCpuMs,
  quantile,
  ratioTable,
  throughput,
} from './load.js';

const SERVER_MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../server/dist/main.js');

interface Target {
  name: string;
  port: number;
  /** The server's process, to read its CPU time. */
  pid?: number | undefined;
  stop(): Promise<void>;
}

async function startZkts(main = SERVER_MAIN, name = 'zkts'): Promise<Target> {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`pnpm build\` first`);
  if (!statSync(main).isFile()) {
    throw new Error(`${main} is not a server's entry point (a build's apps/server/dist/main.js)`);
  }
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
      'admin.enableServer=false',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(process.execPath, [main, cfg], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  await waitFor(
    async () => (await fourLetterWord(port, 'srvr', '127.0.0.1', 1000)).startsWith('Zookeeper version:'),
    30_000,
    'zkts-server',
  );
  return {
    name,
    port,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startApache(): Promise<Target> {
  const zk = await startApacheZooKeeper({ jvmOptions: ['-Xmx1g', '-Xms1g'] });
  return { name: 'apache', port: zk.port, pid: zk.process.pid, stop: () => zk.stop() };
}

interface Result {
  /** Server CPU microseconds per completed request, per phase (NaN without /proc). */
  createCpuUs: number;
  setDataCpuUs: number;
  getDataCpuUs: number;
  create: number;
  setData: number;
  getData: number;
  writeP50: number;
  writeP99: number;
  readP50: number;
  readP99: number;
  errors: number;
}

interface Loaded {
  target: Target;
  clients: LoadClient[];
  admin: LoadClient;
  ops: { create: number; setData: number; getData: number };
  completed: { create: number; setData: number; getData: number };
  serverCpuMs: { create: number; setData: number; getData: number };
  errors: number;
  cpuMs: number;
  writeSamples: number[];
  readSamples: number[];
}

/**
 * Measures every target in turns: each phase is split into `rounds` slices and the targets take
 * the slices in alternation, so background load on a shared machine hits both alike.
 */
async function measureAll(
  targets: Target[],
  opts: Record<string, number>,
  only?: readonly string[],
): Promise<Map<string, Result>> {
  const sessions = opts.sessions ?? 32;
  const inflight = opts.inflight ?? 16;
  const seconds = opts.seconds ?? 5;
  const rounds = opts.rounds ?? 5;
  const slice = seconds / rounds;
  const warmMs = 300;
  const data = Buffer.alloc(opts.size ?? 100, 0x61);
  const loaded: Loaded[] = [];
  for (const target of targets) {
    const clients = await Promise.all(
      Array.from({ length: sessions }, () => LoadClient.connect(target.port)),
    );
    const admin = clients[0] as LoadClient;
    await admin.call({ type: 'create', path: '/bench', data: null, acl: OPEN, flags: 0 });
    for (let s = 0; s < sessions; s++) {
      await admin.call({ type: 'create', path: `/bench/d${s}`, data, acl: OPEN, flags: 0 });
    }
    loaded.push({
      target,
      clients,
      admin,
      ops: { create: 0, setData: 0, getData: 0 },
      completed: { create: 0, setData: 0, getData: 0 },
      serverCpuMs: { create: 0, setData: 0, getData: 0 },
      errors: 0,
      cpuMs: 0,
      writeSamples: [],
      readSamples: [],
    });
  }
  const phases: Array<[keyof Loaded['ops'], (round: number) => Op]> = [
    [
      'create',
      (round) => (s, n) => ({
        type: 'create',
        path: `/bench/c${round}-${s}-${n}`,
        data,
        acl: OPEN,
        flags: 0,
      }),
    ],
    ['setData', () => (s) => ({ type: 'setData', path: `/bench/d${s}`, data, version: -1 })],
    ['getData', () => (s) => ({ type: 'getData', path: `/bench/d${s}`, watch: false })],
  ];
  for (const [phase, makeOp] of phases) {
    if (only !== undefined && !only.includes(phase)) continue;
    for (let round = 0; round < rounds; round++) {
      for (const l of loaded) {
        const cpu0 = processCpuMs(l.target.pid);
        const r = await throughput(l.clients, inflight, slice, warmMs, makeOp(round));
        const cpu1 = processCpuMs(l.target.pid);
        l.serverCpuMs[phase] += cpu0 === undefined || cpu1 === undefined ? Number.NaN : cpu1 - cpu0;
        l.completed[phase] += r.completed;
        l.ops[phase] += r.ops;
        l.errors += r.errors;
        l.cpuMs += r.generatorCpuMs;
      }
    }
  }
  const latencyOps = opts.latencyOps ?? 2000;
  const perRound = Math.max(1, Math.ceil(latencyOps / rounds));
  for (const l of loaded) {
    // Warm the path first.
    await latencySamples(l.admin, 200, () => ({ type: 'getData', path: '/bench/d0', watch: false }));
  }
  for (let round = 0; round < rounds; round++) {
    for (const l of loaded) {
      l.writeSamples.push(
        ...(await latencySamples(l.admin, perRound, () => ({
          type: 'setData',
          path: '/bench/d0',
          data,
          version: -1,
        }))),
      );
      l.readSamples.push(
        ...(await latencySamples(l.admin, perRound, () => ({
          type: 'getData',
          path: '/bench/d0',
          watch: false,
        }))),
      );
    }
  }
  const out = new Map<string, Result>();
  for (const l of loaded) {
    for (const c of l.clients) c.close();
    const w = [...l.writeSamples].sort((a, b) => a - b);
    const r = [...l.readSamples].sort((a, b) => a - b);
    const total = seconds * rounds > 0 ? seconds : 1;
    process.stdout.write(
      `${l.target.name}: load generator CPU ${(l.cpuMs / 1000).toFixed(1)} s over ${3 * total} s of measured load\n`,
    );
    const perOp = (k: keyof Loaded['ops']) => (l.serverCpuMs[k] * 1000) / Math.max(1, l.completed[k]);
    out.set(l.target.name, {
      createCpuUs: perOp('create'),
      setDataCpuUs: perOp('setData'),
      getDataCpuUs: perOp('getData'),
      create: l.ops.create / total,
      setData: l.ops.setData / total,
      getData: l.ops.getData / total,
      writeP50: quantile(w, 0.5),
      writeP99: quantile(w, 0.99),
      readP50: quantile(r, 0.5),
      readP99: quantile(r, 0.99),
      errors: l.errors,
    });
  }
  return out;
}

export async function run(args: string[]): Promise<void> {
  const opts = {
    seconds: option(args, '--seconds', 5),
    sessions: option(args, '--sessions', 32),
    inflight: option(args, '--inflight', 16),
    size: option(args, '--size', 100),
    latencyOps: option(args, '--latency-ops', 2000),
    rounds: option(args, '--rounds', 5),
  };
  const ti = args.indexOf('--targets');
  const names = ti >= 0 ? (args[ti + 1] ?? '').split(',') : ['apache', 'zkts'];
  process.stdout.write(
    `server benchmark: ${opts.sessions} sessions x ${opts.inflight} in flight, ${opts.size}-byte data, ` +
      `${opts.seconds} s per phase and server in ${opts.rounds} alternating slices, fsync on\n`,
  );
  const targets: Target[] = [];
  let results = new Map<string, Result>();
  try {
    for (const name of names) {
      // `port:N` measures a server started by hand (e.g. under --cpu-prof), reported as zkts.
      // `base:PATH` runs another build's apps/server/dist/main.js in the first column, to compare
      // two versions of zkts side by side.
      const external = /^port:(\d+)$/.exec(name);
      const base = /^base:(.+)$/.exec(name);
      const target = external
        ? { name: 'zkts', port: Number(external[1]), stop: async () => {} }
        : base
          ? await startZkts(resolve(base[1] as string), 'base')
          : name === 'apache'
            ? await startApache()
            : name === 'zkts'
              ? await startZkts()
              : undefined;
      if (target === undefined) throw new Error(`unknown target ${name} (apache, zkts, base:PATH, port:N)`);
      targets.push(target);
    }
    const pi = args.indexOf('--phases');
    const only = pi >= 0 ? (args[pi + 1] ?? '').split(',') : undefined;
    const known = ['create', 'setData', 'getData'];
    const unknown = only?.find((p) => !known.includes(p));
    if (unknown !== undefined) throw new Error(`unknown phase ${unknown} (${known.join(', ')})`);
    results = await measureAll(targets, opts, only);
  } finally {
    for (const t of targets) await t.stop();
  }
  const rows: Array<[string, keyof Result, 'higher' | 'lower']> = [
    ['create ops/s', 'create', 'higher'],
    ['setData ops/s', 'setData', 'higher'],
    ['getData ops/s', 'getData', 'higher'],
    ['setData p50 ms (1 in flight)', 'writeP50', 'lower'],
    ['setData p99 ms (1 in flight)', 'writeP99', 'lower'],
    ['getData p50 ms (1 in flight)', 'readP50', 'lower'],
    ['getData p99 ms (1 in flight)', 'readP99', 'lower'],
    ['server CPU us/create', 'createCpuUs', 'lower'],
    ['server CPU us/setData', 'setDataCpuUs', 'lower'],
    ['server CPU us/getData', 'getDataCpuUs', 'lower'],
    ['errors', 'errors', 'lower'],
  ];
  const first = results.has('base') ? 'base' : 'apache';
  const a = results.get(first);
  const z = results.get('zkts');
  process.stdout.write(
    ratioTable(
      rows.map(([label, key]) => ({ label, apache: a?.[key], zkts: z?.[key] })),
      first,
    ),
  );
}
