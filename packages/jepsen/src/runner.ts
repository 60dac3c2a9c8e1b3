import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ClientOptions,
  createClient as defaultCreateClient,
  KeeperError,
  type ZooKeeperClient,
} from '@zkts/client';
import type { Cluster } from './cluster.js';
import { JepsenError } from './errors.js';
import {
  type History,
  HistoryRecorder,
  type OpSpec,
  parseHistory,
  serializeHistory,
  summarize,
} from './history.js';
import { type CheckOptions, checkHistory, type HistoryVerdict } from './linearizability.js';
import {
  describeFault,
  describeSchedule,
  type Fault,
  generateSchedule,
  linksOf,
  type NemesisOptions,
  type NemesisSchedule,
  retarget,
} from './nemesis.js';
import { Prng, randomSeed } from './prng.js';

/** The environment variable that fixes a run's seed. */
export const SEED_ENV = 'ZKTS_JEPSEN_SEED';

/** The seed in `ZKTS_JEPSEN_SEED`, else `fallback`, else a random one. */
export function seedFromEnv(fallback?: number): number {
  const raw = process.env[SEED_ENV];
  if (raw !== undefined && raw.trim() !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      throw new JepsenError('options', `${SEED_ENV} must be an integer in [0, 2^32), got "${raw}"`);
    }
    return n;
  }
  return fallback ?? randomSeed();
}

export interface JepsenOptions {
  cluster: Cluster;
  seed: number;
  /** How long clients run and the nemesis acts, ms. */
  durationMs: number;
  /** Client workers; worker w uses member w mod n only. */
  clients: number;
  /** Registers (znodes) the workers share. */
  keys: number;
  /** Makes a client; @zkts/client's `createClient` by default. */
  createClient?: (connectString: string, options: ClientOptions) => ZooKeeperClient;
  /** Nemesis settings over the defaults, or false for none. */
  nemesis?: Partial<Omit<NemesisOptions, 'seed' | 'members' | 'durationMs'>> | false;
  /** Requested session timeout; default 5000 ms. */
  sessionTimeoutMs?: number;
  /** Each operation's bound: past it the operation is `info`; default 2500 ms. */
  opTimeoutMs?: number;
  /** How reads are checked (see `CheckOptions.reads`); default `sequential`, ZooKeeper's guarantee. */
  reads?: 'linearizable' | 'sequential';
  /** Bound of the checker's search per key. */
  maxStates?: number;
  /** How long the healed cluster may take to serve again; default 60 s. */
  recoveryTimeoutMs?: number;
  /** Pause between a worker's operations, ms, drawn in [0, max]; default 10. */
  thinkMs?: number;
  /** The command that reruns this test, quoted in a failure with the seed before it. */
  replayCommand?: string;
  /** Throw a `JepsenError` (kind `verdict`) when the verdict is not valid; default true. */
  throwOnFailure?: boolean;
  /** Where a failing history is written; the OS temporary directory by default. */
  historyDir?: string;
  log?: (line: string) => void;
}

export interface JepsenResult {
  seed: number;
  schedule: NemesisSchedule;
  history: History;
  verdict: HistoryVerdict;
  counts: ReturnType<typeof summarize>;
  /** Operations recorded, final reads included. */
  ops: number;
  runMs: number;
  checkMs: number;
  /** Faults applied, with the leader at the time when the cluster tells. */
  nemesisLog: string[];
  nemesisErrors: string[];
  /** Where the history was written (always when the verdict is not valid). */
  historyPath?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Codes that tell an operation definitely did not take effect. */
const DEFINITE_FAILURES = new Set(['NoNode', 'NodeExists', 'BadVersion']);

class OpTimeout extends Error {
  override readonly name = 'OpTimeout';
}

/** Races `call` against a timer; a late result is ignored (the operation stays `info`). */
function bounded<T>(call: Promise<T>, ms: number): Promise<T> {
  call.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    call,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OpTimeout(`no reply within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function errorName(e: unknown): string {
  if (e instanceof KeeperError) return e.codeName;
  if (e instanceof Error) return e.name === 'Error' ? e.message : e.name;
  return String(e);
}

function isDefiniteFailure(e: unknown): boolean {
  return e instanceof KeeperError && DEFINITE_FAILURES.has(e.codeName);
}

/** A session that will never work again: make a new client. */
function isTerminal(client: ZooKeeperClient): boolean {
  return client.state === 'expired' || client.state === 'closed' || client.state === 'authFailed';
}

/**
 * Runs a Jepsen-style test: `clients` workers read, write, compare-and-set and create `keys`
 * znodes through every member while a seeded nemesis kills, pauses and partitions members; then
 * everything is healed, every member is read, and the history is checked for linearizability and
 * lost acknowledged writes.
 */
export async function runJepsen(options: JepsenOptions): Promise<JepsenResult> {
  const { cluster, seed, durationMs } = options;
  const log = options.log ?? (() => {});
  const members = [...cluster.members];
  if (options.clients < 1 || options.keys < 1 || durationMs < 1) {
    throw new JepsenError('options', 'clients, keys and durationMs must be positive');
  }
  const make = options.createClient ?? defaultCreateClient;
  const sessionTimeout = options.sessionTimeoutMs ?? 5000;
  const opTimeout = options.opTimeoutMs ?? 2500;
  const recoveryTimeout = options.recoveryTimeoutMs ?? 60_000;
  const thinkMs = options.thinkMs ?? 10;
  const clientOptions: ClientOptions = {
    sessionTimeout,
    connectionWaitTimeout: opTimeout,
    connectTimeout: Math.min(2000, sessionTimeout),
    retryDelay: 200,
    maxRetryDelay: 1000,
  };
  const rng = new Prng(seed);
  const root = `/jepsen-${seed}-${Date.now().toString(36)}`;
  const keyPaths = Array.from({ length: options.keys }, (_, i) => `k${i}`);
  const schedule =
    options.nemesis === false
      ? { seed, members, maxFaulty: 0, durationMs, faults: [] }
      : generateSchedule({ ...options.nemesis, seed, members, durationMs });
  log(describeSchedule(schedule));

  // Set-up, outside the history: the parent of the registers.
  await withRetries(
    async () => {
      const c = make(members.map((m) => cluster.connectString(m)).join(','), clientOptions);
      try {
        await bounded(c.connect(), opTimeout * 2);
        await bounded(
          c.create(root).catch((e: unknown) => {
            if (!(e instanceof KeeperError && e.is('NodeExists'))) throw e;
            return root;
          }),
          opTimeout,
        );
      } finally {
        await closeQuietly(c);
      }
    },
    recoveryTimeout,
    'creating the test root',
  );

  const recorder = new HistoryRecorder();
  recorder.meta.seed = seed;
  recorder.meta.durationMs = durationMs;
  recorder.meta.clients = options.clients;
  recorder.meta.keys = options.keys;
  recorder.meta.root = root;
  const started = Date.now();
  const deadline = started + durationMs;

  // The nemesis: each fault's start and end on timers; ends of faults still active run at the end.
  const nemesisLog: string[] = [];
  const nemesisErrors: string[] = [];
  const pendingEnds = new Map<Fault, () => Promise<void>>();
  /** Members under a fault now (as aimed at run time). */
  const faulty = new Set<string>();
  const timers: NodeJS.Timeout[] = [];
  let nemesisChain = Promise.resolve();
  const aimedAt = new Map<Fault, Fault>();
  const act = (label: string | (() => string), f: () => Promise<void>) => {
    nemesisChain = nemesisChain.then(async () => {
      const t = ((Date.now() - started) / 1000).toFixed(2);
      const what = typeof label === 'string' ? label : label();
      const leader = await cluster.leader?.().catch(() => undefined);
      const line = `${t}s ${what}${leader === undefined ? '' : ` (leader ${leader})`}`;
      nemesisLog.push(line);
      log(`nemesis ${line}`);
      try {
        await f();
      } catch (e) {
        nemesisErrors.push(`${what}: ${(e as Error).message}`);
        log(`nemesis error: ${what}: ${(e as Error).message}`);
      }
    });
    return nemesisChain;
  };
  const endOf = (f: Fault): (() => Promise<void>) => {
    const end = async () => {
      switch (f.kind) {
        case 'kill':
          await cluster.restart(f.member);
          break;
        case 'pause':
          await cluster.resume(f.member);
          break;
        case 'partition':
          for (const [a, b] of linksOf(f)) await cluster.heal(a, b);
          break;
      }
    };
    return () => end().finally(() => faulty.delete(f.member));
  };
  for (const f of schedule.faults) {
    timers.push(
      setTimeout(() => {
        void act(`start: ${describeFault(f)}`, async () => {
          // Aim at the leader when asked, keeping one fault per member: as many members are
          // affected as faults are active, which the schedule bounds.
          let aimed = f;
          if (f.leader && cluster.leader !== undefined) {
            const leader = await cluster.leader().catch(() => undefined);
            if (leader !== undefined && !faulty.has(leader)) aimed = retarget(f, leader);
          }
          if (faulty.has(aimed.member)) {
            const free = members.find((m) => !faulty.has(m));
            if (free === undefined) throw new JepsenError('cluster', 'every member is under a fault');
            aimed = retarget(aimed, free);
          }
          if (aimed !== f) {
            nemesisLog.push(`  aimed at member ${aimed.member}: ${describeFault(aimed)}`);
            log(`nemesis   aimed at member ${aimed.member}: ${describeFault(aimed)}`);
          }
          faulty.add(aimed.member);
          aimedAt.set(f, aimed);
          pendingEnds.set(f, endOf(aimed));
          switch (aimed.kind) {
            case 'kill':
              await cluster.kill(aimed.member);
              break;
            case 'pause':
              await cluster.pause(aimed.member);
              break;
            case 'partition':
              for (const [a, b] of linksOf(aimed)) await cluster.cut(a, b, aimed.mode);
              break;
          }
        });
      }, f.at),
      setTimeout(() => {
        void act(
          () => `end: ${describeFault(aimedAt.get(f) ?? f)}`,
          async () => {
            const end = pendingEnds.get(f);
            pendingEnds.delete(f);
            await end?.();
          },
        );
      }, f.at + f.duration),
    );
  }

  // The workers.
  const worker = async (w: number) => {
    const wr = rng.fork();
    const member = members[w % members.length]!;
    const connect = cluster.connectString(member);
    let process = w;
    let client = make(connect, clientOptions);
    const versions = new Map<string, number>();
    let counter = 0;
    while (Date.now() < deadline) {
      if (isTerminal(client)) {
        void closeQuietly(client);
        client = make(connect, clientOptions);
        process += options.clients;
      }
      const key = wr.pick(keyPaths);
      const path = `${root}/${key}`;
      const dice = wr.next();
      const value = `${w}.${counter++}`;
      const spec: OpSpec =
        dice < 0.4
          ? { kind: 'read', key }
          : dice < 0.65
            ? { kind: 'write', key, value }
            : dice < 0.95
              ? { kind: 'cas', key, expected: versions.get(key) ?? 0, value }
              : { kind: 'create', key, value };
      const op = recorder.invoke(process, spec, member);
      try {
        switch (spec.kind) {
          case 'read': {
            try {
              const { data, stat } = await bounded(client.getData(path), opTimeout);
              op.ok({ value: data?.toString('utf8') ?? '', version: stat.version });
              versions.set(key, stat.version);
            } catch (e) {
              if (e instanceof KeeperError && e.is('NoNode')) op.ok(null);
              else throw e;
            }
            break;
          }
          case 'write': {
            const stat = await bounded(client.setData(path, spec.value, -1), opTimeout);
            op.ok(stat.version);
            versions.set(key, stat.version);
            break;
          }
          case 'cas': {
            const stat = await bounded(client.setData(path, spec.value, spec.expected), opTimeout);
            op.ok(stat.version);
            versions.set(key, stat.version);
            break;
          }
          case 'create':
            await bounded(client.create(path, spec.value), opTimeout);
            op.ok();
            versions.set(key, 0);
            break;
        }
      } catch (e) {
        if (isDefiniteFailure(e)) {
          op.fail(errorName(e));
          if (e instanceof KeeperError && e.is('BadVersion')) versions.delete(key);
        } else {
          op.info(errorName(e));
          // A process never has two operations in flight: the unknown one may still be.
          process += options.clients;
          if (e instanceof OpTimeout) await sleep(wr.int(0, 200));
        }
      }
      if (thinkMs > 0) await sleep(wr.int(0, thinkMs));
    }
    await closeQuietly(client);
  };
  try {
    await Promise.all(Array.from({ length: options.clients }, (_, w) => worker(w)));
  } finally {
    for (const t of timers) clearTimeout(t);
  }

  // Heal everything, in order after whatever the nemesis is doing.
  await nemesisChain;
  for (const [f, end] of [...pendingEnds]) {
    pendingEnds.delete(f);
    await act(`end (run over): ${describeFault(aimedAt.get(f) ?? f)}`, end);
  }
  await act('heal all links', () => cluster.healAll());
  const runMs = Date.now() - started;
  log(`run: ${recorder.size} operations in ${(runMs / 1000).toFixed(1)}s; waiting for every member to serve`);

  // Final reads: every key through every member, after a sync, once each member serves.
  let finalProcess = 1_000_000;
  for (const member of members) {
    await withRetries(
      async () => {
        // Each attempt is a new process: an info read of a failed attempt may still be in flight.
        const process = finalProcess++;
        const c = make(cluster.connectString(member), clientOptions);
        try {
          await bounded(c.connect(), opTimeout * 2);
          for (const key of keyPaths) {
            const path = `${root}/${key}`;
            const op = recorder.invoke(process, { kind: 'read', key }, member, true);
            try {
              await bounded(c.sync(path), opTimeout);
              const { data, stat } = await bounded(c.getData(path), opTimeout);
              op.ok({ value: data?.toString('utf8') ?? '', version: stat.version });
            } catch (e) {
              if (e instanceof KeeperError && e.is('NoNode')) op.ok(null);
              else {
                op.info(errorName(e));
                throw e;
              }
            }
          }
        } finally {
          await closeQuietly(c);
        }
      },
      recoveryTimeout,
      `final reads through member ${member}`,
    ).catch((e: unknown) => {
      nemesisErrors.push(`final reads through member ${member}: ${(e as Error).message}`);
    });
  }

  const history = recorder.history();
  const checkStarted = performance.now();
  const verdict = checkHistory(history, {
    reads: options.reads ?? 'sequential',
    ...(options.maxStates === undefined ? {} : { maxStates: options.maxStates }),
  });
  const checkMs = performance.now() - checkStarted;
  const counts = summarize(history);
  const result: JepsenResult = {
    seed,
    schedule,
    history,
    verdict,
    counts,
    ops: history.ops.length,
    runMs,
    checkMs,
    nemesisLog,
    nemesisErrors,
  };
  log(`check (${checkMs.toFixed(0)} ms): ${verdict.message}`);
  if (verdict.valid !== true || nemesisErrors.length > 0) {
    const path = join(options.historyDir ?? tmpdir(), `zkts-jepsen-${seed}-${Date.now()}.json`);
    await writeFile(path, serializeHistory(history));
    result.historyPath = path;
    const outputs: string[] = [];
    if (cluster.output !== undefined) {
      for (const member of members) {
        const out = path.replace(/\.json$/, `.member-${member}.log`);
        await writeFile(out, cluster.output(member));
        outputs.push(out);
      }
    }
    if (options.throwOnFailure ?? true) {
      const replay = `${SEED_ENV}=${seed}${options.replayCommand === undefined ? '' : ` ${options.replayCommand}`}`;
      throw new JepsenError(
        'verdict',
        [
          `Jepsen run with seed ${seed} failed: ${verdict.valid === false ? 'invalid history' : verdict.valid === 'unknown' ? 'the checker could not decide' : 'the cluster did not recover'}`,
          verdict.message,
          ...nemesisErrors.map((e) => `nemesis/recovery: ${e}`),
          `history (${history.ops.length} operations): ${path}`,
          ...(outputs.length === 0 ? [] : [`member output: ${outputs.join(' ')}`]),
          `replay: ${replay}`,
          'nemesis:',
          ...nemesisLog.map((l) => `  ${l}`),
        ].join('\n'),
      );
    }
  }
  return result;
}

/** Checks a history saved by a failing run again (for a replay of the checker alone). */
export async function checkHistoryFile(
  path: string,
  options: CheckOptions = { reads: 'sequential' },
): Promise<HistoryVerdict> {
  return checkHistory(parseHistory(await readFile(path, 'utf8')), options);
}

async function closeQuietly(c: ZooKeeperClient): Promise<void> {
  await Promise.race([c.close().catch(() => {}), sleep(3000)]);
}

/** Runs `f` until it resolves, retrying for up to `timeoutMs`; then rethrows the last error. */
async function withRetries(f: () => Promise<void>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await f();
      return;
    } catch (e) {
      if (Date.now() > deadline) {
        throw new JepsenError('cluster', `${what}: gave up after ${timeoutMs} ms: ${(e as Error).message}`);
      }
      await sleep(250);
    }
  }
}
