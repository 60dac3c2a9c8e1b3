/**
 * A 3-server ensemble on 127.0.0.1, zkts side by side with Apache ZooKeeper 3.8 (QuorumPeerMain),
 * with the load generator of the `server` benchmark (./load.ts) and the same zoo.cfg for both.
 *
 *   pnpm --filter @zkts/bench build && pnpm --filter @zkts/bench run bench ensemble \
 *     [--seconds 5] [--rounds 3] [--failovers 3] [--sessions 32] [--inflight 16] [--size 100] \
 *     [--retry-ms 20] [--only zkts|apache] [--phases create,setData,getData] [--keep-logs] \
 *     [--profile-leader <dir>]
 *
 * Each member is a real process in its own process group (java QuorumPeerMain, or
 * `node apps/server/dist/main.js zoo.cfg`), with its own data directory holding `myid`, fsync on.
 * Both ensembles run at once and take turns in every round (the first to go alternates), so
 * background load on a shared machine falls on both alike; the table gives medians over rounds.
 *
 * Throughput: `sessions` sessions spread round-robin over the members' client ports, `inflight`
 * requests in flight each: create (unique names) and setData of `size` bytes, then getData.
 *
 * Failover: one writer session on each follower, setData with one request in flight. The leader's
 * process group gets SIGKILL; the failover time runs from the kill to the first successful reply
 * to a write sent after the kill, by any writer. A writer whose connection breaks reconnects
 * (resuming its session) to the next member of its connect string (all three members, its own
 * first) every `retry-ms`. Then the killed member restarts on its data and the next failover
 * waits until all three serve again (`srvr` answers `Mode: leader|follower`, one leader).
 *
 * Member output goes to `s<sid>/member.log` in the ensemble's temporary directory, which is kept
 * (and its logs named) when the run fails or shows errors, or with `--keep-logs`.
 * `--profile-leader <dir>` runs zkts alone under `node --cpu-prof`, without failovers, and prints
 * the leader's profile summary.
 *
 * Every process started is killed (by process group) on exit, error, SIGINT and SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  APACHE_ZK_CONF_DIR,
  APACHE_ZK_JAR,
  assertApacheZooKeeperInstalled,
  fourLetterWord,
  freePort,
} from '@zkts/testkit';
import {
  CONNECTION_LOSS,
  flag,
  LoadClient,
  median,
  OPEN,
  type Op,
  option,
  processCpuMs,
  ratioTable,
  throughput,
} from './load.js';
import { formatSummary, readProfile, summarise } from './profile-summary.js';

type Kind = 'zkts' | 'apache';
const KINDS: Kind[] = ['zkts', 'apache'];

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SERVER_MAIN = join(REPO_ROOT, 'apps/server/dist/main.js');
const TICK = { tickTime: 2000, initLimit: 10, syncLimit: 5 };
const JVM = ['-Xmx1g', '-Xms1g'];
const SIZE = 3;
const START_TIMEOUT_MS = 60_000;
const FAILOVER_TIMEOUT_MS = 60_000;
const HANDSHAKE_TIMEOUT_MS = 5000;
const REQUEST_TIMEOUT_MS = 5000;
const SESSION_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const WARM_MS = 300;
/** Bytes of a member's log quoted in an error. */
const LOG_TAIL = 8192;
/** ZooKeeper's NODEEXISTS and SESSIONEXPIRED error codes. */
const NODE_EXISTS = -110;
const SESSION_EXPIRED = -112;

/** Process groups (their leaders' pids) and directories this run created, for cleanup on any exit. */
const groups = new Set<number>();
const dirs = new Set<string>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function cleanupSync(): void {
  for (const pid of groups) killGroup(pid);
  groups.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

function installCleanup(): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    cleanupSync();
    process.stderr.write(`bench ensemble: ${signal}, every member stopped\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', cleanupSync);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', cleanupSync);
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function distinctPorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const p = await freePort();
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

interface Member {
  readonly sid: number;
  readonly clientPort: number;
  readonly cfg: string;
  /** The member's stdout and stderr, appended to over restarts (zkts: pino JSON lines). */
  readonly log: string;
  proc: ChildProcess | undefined;
  exited: Promise<void>;
  exitCode: number | null | undefined;
  /** A spawn error, if any. */
  spawnError: string;
}

/** The last `LOG_TAIL` bytes of `m`'s log, and its spawn error if any. */
function tail(m: Member): string {
  let text = '';
  try {
    text = readFileSync(m.log, 'utf8').slice(-LOG_TAIL);
  } catch {
    // no log yet
  }
  return `${text}${m.spawnError}`.trim();
}

class Ensemble {
  /** The sid of the leader when last seen. */
  leaderSid: number | undefined;

  private constructor(
    readonly kind: Kind,
    readonly root: string,
    readonly members: Member[],
    /** Node.js options for zkts members (e.g. `--cpu-prof`), by sid. */
    private readonly nodeOptions: (sid: number) => string[],
  ) {}

  static async create(kind: Kind, nodeOptions: (sid: number) => string[] = () => []): Promise<Ensemble> {
    const root = await mkdtemp(join(tmpdir(), `bench-ensemble-${kind}-`));
    dirs.add(root);
    const ports = await distinctPorts(3 * SIZE);
    const sids = Array.from({ length: SIZE }, (_, i) => i + 1);
    const client = (i: number) => ports[2 * SIZE + i] as number;
    const serverLines = sids.map(
      (sid, i) => `server.${sid}=127.0.0.1:${ports[i]}:${ports[SIZE + i]};127.0.0.1:${client(i)}`,
    );
    const members: Member[] = [];
    for (const [i, sid] of sids.entries()) {
      const dir = join(root, `s${sid}`);
      const dataDir = join(dir, 'data');
      await mkdir(dataDir, { recursive: true });
      await writeFile(join(dataDir, 'myid'), `${sid}\n`);
      const cfg = join(dir, 'zoo.cfg');
      await writeFile(
        cfg,
        `${[
          `tickTime=${TICK.tickTime}`,
          `initLimit=${TICK.initLimit}`,
          `syncLimit=${TICK.syncLimit}`,
          `dataDir=${dataDir}`,
          `clientPort=${client(i)}`,
          'clientPortAddress=127.0.0.1',
          'maxClientCnxns=0',
          'forceSync=yes',
          '4lw.commands.whitelist=*',
          'admin.enableServer=false',
          ...serverLines,
        ].join('\n')}\n`,
      );
      members.push({
        sid,
        clientPort: client(i),
        cfg,
        log: join(dir, 'member.log'),
        proc: undefined,
        exited: Promise.resolve(),
        exitCode: undefined,
        spawnError: '',
      });
    }
    return new Ensemble(kind, root, members, nodeOptions);
  }

  /** Starts `m` in its own process group, its output appended to `m.log`. */
  start(m: Member): void {
    const [cmd, args] =
      this.kind === 'apache'
        ? [
            'java',
            [
              ...JVM,
              '-cp',
              `${APACHE_ZK_CONF_DIR}:${APACHE_ZK_JAR}`,
              'org.apache.zookeeper.server.quorum.QuorumPeerMain',
              m.cfg,
            ],
          ]
        : [process.execPath, [...this.nodeOptions(m.sid), SERVER_MAIN, m.cfg]];
    // The member writes straight to its log file: nothing passes through this (load generating)
    // process, and whatever it wrote before a SIGKILL is kept.
    appendFileSync(
      m.log,
      `--- bench ensemble: ${this.kind} member ${m.sid} started ${new Date().toISOString()}\n`,
    );
    const fd = openSync(m.log, 'a');
    let proc: ChildProcess;
    try {
      proc = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    const pid = proc.pid;
    if (pid !== undefined) groups.add(pid);
    m.proc = proc;
    m.exitCode = undefined;
    m.spawnError = '';
    m.exited = new Promise((r) =>
      proc.on('exit', (code) => {
        m.exitCode = code;
        if (pid !== undefined) {
          // The group may still hold children; it goes with its leader.
          killGroup(pid);
          groups.delete(pid);
        }
        r();
      }),
    );
    proc.on('error', (e) => {
      m.spawnError = `\n${e.message}`;
      m.exitCode = null;
    });
  }

  /** SIGKILL to `m`'s process group, as a crash; resolves when its process has exited. */
  async kill(m: Member): Promise<void> {
    const proc = m.proc;
    if (proc?.pid === undefined) return;
    killGroup(proc.pid);
    await m.exited;
    m.proc = undefined;
  }

  /** SIGTERM to `m` (a clean shutdown, which writes a `--cpu-prof` profile); SIGKILL after a timeout. */
  async terminate(m: Member): Promise<void> {
    const proc = m.proc;
    if (proc?.pid === undefined) return;
    try {
      process.kill(proc.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(true), STOP_TIMEOUT_MS);
    });
    if (await Promise.race([m.exited.then(() => false), late])) {
      process.stderr.write(`${this.kind} member ${m.sid} ignored SIGTERM for ${STOP_TIMEOUT_MS} ms\n`);
    }
    clearTimeout(timer);
    await this.kill(m);
  }

  /** Waits until every running member answers `srvr` with `Mode: leader|follower` and one is leader. */
  async serving(timeoutMs = START_TIMEOUT_MS): Promise<Member> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const m of this.members) {
        if (m.proc !== undefined && m.exitCode !== undefined) {
          throw new Error(
            `${this.kind} member ${m.sid} exited (code ${m.exitCode}) before serving; ` +
              `the end of ${m.log}:\n${tail(m)}`,
          );
        }
      }
      const running = this.members.filter((m) => m.proc !== undefined);
      const modes = await Promise.all(running.map((m) => mode(m.clientPort)));
      const leaders = running.filter((_, i) => modes[i] === 'leader');
      if (modes.every((x) => x !== undefined) && leaders.length === 1) {
        const leader = leaders[0] as Member;
        this.leaderSid = leader.sid;
        return leader;
      }
      if (Date.now() > deadline) {
        const notServing = running.filter((_, i) => modes[i] === undefined)[0] ?? this.members[0];
        throw new Error(
          `${this.kind} ensemble not serving after ${timeoutMs} ms (modes ${modes.join(', ')}); ` +
            `the end of ${notServing?.log}:\n${notServing === undefined ? '' : tail(notServing)}`,
        );
      }
      await sleep(20);
    }
  }

  pids(): number[] {
    return this.members.flatMap((m) => (m.proc?.pid === undefined ? [] : [m.proc.pid]));
  }

  ports(): number[] {
    return this.members.map((m) => m.clientPort);
  }

  /**
   * Stops every member (SIGKILL, or SIGTERM first when `graceful`); removes the temporary directory
   * unless `keep`, in which case it stays for its member logs (`s<sid>/member.log`).
   */
  async stop(keep: boolean, graceful = false): Promise<void> {
    await Promise.all(this.members.map((m) => (graceful ? this.terminate(m) : this.kill(m))));
    dirs.delete(this.root);
    if (keep) {
      process.stderr.write(`${this.kind} member logs kept: ${this.members.map((m) => m.log).join(' ')}\n`);
    } else {
      rmSync(this.root, { recursive: true, force: true });
    }
  }
}

async function mode(port: number): Promise<'leader' | 'follower' | undefined> {
  try {
    const text = await fourLetterWord(port, 'srvr', '127.0.0.1', 1000);
    const r = /Mode: (leader|follower)/.exec(text);
    return r ? (r[1] as 'leader' | 'follower') : undefined;
  } catch {
    return undefined;
  }
}

async function startEnsemble(kind: Kind, nodeOptions?: (sid: number) => string[]): Promise<Ensemble> {
  if (kind === 'apache') assertApacheZooKeeperInstalled();
  if (kind === 'zkts' && !existsSync(SERVER_MAIN)) {
    throw new Error(`${relative(process.cwd(), SERVER_MAIN)} is missing: run \`pnpm build\` first`);
  }
  const ens = await Ensemble.create(kind, nodeOptions);
  for (const m of ens.members) ens.start(m);
  try {
    await ens.serving();
  } catch (e) {
    await ens.stop(true);
    const hint =
      kind === 'zkts'
        ? '\nzkts-server did not form an ensemble (it may not support server.N configurations yet); ' +
          'measure Apache ZooKeeper alone with `--only apache`.'
        : '';
    throw new Error(`the ${kind} ensemble did not start: ${(e as Error).message}${hint}`);
  }
  return ens;
}

type Phase = 'create' | 'setData' | 'getData';
const PHASES: Phase[] = ['create', 'setData', 'getData'];

interface Stats {
  /** ops/s per round. */
  ops: Record<Phase, number[]>;
  /** Ensemble CPU (every member) and completed requests, summed over rounds. */
  cpuMs: Record<Phase, number>;
  completed: Record<Phase, number>;
  errors: number;
  failoverMs: number[];
  failoverTimeouts: number;
  rejoinMs: number[];
}

function emptyStats(): Stats {
  return {
    ops: { create: [], setData: [], getData: [] },
    cpuMs: { create: 0, setData: 0, getData: 0 },
    completed: { create: 0, setData: 0, getData: 0 },
    errors: 0,
    failoverMs: [],
    failoverTimeouts: 0,
    rejoinMs: [],
  };
}

function cpuOf(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) sum += processCpuMs(pid) ?? Number.NaN;
  return sum;
}

interface Options {
  phases: Phase[];
  seconds: number;
  rounds: number;
  failovers: number;
  sessions: number;
  inflight: number;
  size: number;
  retryMs: number;
}

/** Creates `path` unless it exists. */
async function ensure(c: LoadClient, path: string, data: Buffer | null): Promise<void> {
  const err = await c.call({ type: 'create', path, data, acl: OPEN, flags: 0 });
  if (err !== 0 && err !== NODE_EXISTS) throw new Error(`create ${path} failed with ${err}`);
}

async function setup(ens: Ensemble, o: Options, data: Buffer): Promise<void> {
  const c = await LoadClient.connect(ens.ports()[0] as number);
  try {
    await ensure(c, '/bench', null);
    for (let s = 0; s < o.sessions; s++) await ensure(c, `/bench/d${s}`, data);
    await ensure(c, '/failover', null);
    for (const m of ens.members) await ensure(c, `/failover/w${m.sid}`, data);
  } finally {
    c.close();
  }
}

/** Sessions round-robin over the members' client ports. */
function connectSessions(ens: Ensemble, n: number): Promise<LoadClient[]> {
  const ports = ens.ports();
  return Promise.all(
    Array.from({ length: n }, (_, s) => LoadClient.connect(ports[s % ports.length] as number)),
  );
}

async function measurePhase(
  ens: Ensemble,
  clients: LoadClient[],
  phase: Phase,
  round: number,
  o: Options,
  data: Buffer,
  stats: Stats,
): Promise<number> {
  const ops: Record<Phase, Op> = {
    create: (s, n) => ({ type: 'create', path: `/bench/c${round}-${s}-${n}`, data, acl: OPEN, flags: 0 }),
    setData: (s) => ({ type: 'setData', path: `/bench/d${s}`, data, version: -1 }),
    getData: (s) => ({ type: 'getData', path: `/bench/d${s}`, watch: false }),
  };
  const pids = ens.pids();
  const cpu0 = cpuOf(pids);
  const r = await throughput(clients, o.inflight, o.seconds, WARM_MS, ops[phase]);
  stats.cpuMs[phase] += cpuOf(pids) - cpu0;
  stats.completed[phase] += r.completed;
  stats.errors += r.errors;
  const perSecond = r.ops / o.seconds;
  stats.ops[phase].push(perSecond);
  return perSecond;
}

/**
 * One failover: writers on the followers, SIGKILL to the leader's group, time to the first
 * successful write sent after the kill; then the killed member restarts and rejoins.
 */
async function failover(
  ens: Ensemble,
  o: Options,
  data: Buffer,
): Promise<{ failoverMs: number | undefined; rejoinMs: number }> {
  const leader = await ens.serving();
  const ports = ens.ports();
  let killAt = Number.POSITIVE_INFINITY;
  let firstAck: number | undefined;
  let stopped = false;
  let onFirst: () => void = () => {};
  const first = new Promise<void>((r) => {
    onFirst = r;
  });
  const open = new Set<LoadClient>();
  const successes = new Map<number, number>();
  const writers = ens.members
    .filter((m) => m !== leader)
    .map(async (m) => {
      const own = ports.indexOf(m.clientPort);
      const order = ports.map((_, i) => ports[(own + i) % ports.length] as number);
      const path = `/failover/w${m.sid}`;
      let attempt = 0;
      let session: { sessionId: bigint; passwd: Uint8Array } | undefined;
      let client: LoadClient | undefined;
      successes.set(m.sid, 0);
      while (!stopped) {
        if (client === undefined) {
          const port = order[attempt++ % order.length] as number;
          try {
            client = await LoadClient.connect(port, {
              ...session,
              sessionTimeoutMs: SESSION_TIMEOUT_MS,
              handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
            });
            session = { sessionId: client.sessionId, passwd: client.passwd };
            open.add(client);
          } catch (e) {
            if (/expired/.test((e as Error).message)) session = undefined;
            client = undefined;
            await sleep(o.retryMs);
            continue;
          }
        }
        const c = client;
        const sentAt = performance.now();
        const timer = setTimeout(() => c.close(), REQUEST_TIMEOUT_MS);
        const err = await c.call({ type: 'setData', path, data, version: -1 });
        clearTimeout(timer);
        if (err === 0) {
          successes.set(m.sid, (successes.get(m.sid) ?? 0) + 1);
          if (sentAt >= killAt && firstAck === undefined) {
            firstAck = performance.now();
            onFirst();
          }
          continue;
        }
        // Connection lost (the member lost its leader) or refused: on to the next member.
        if (err === SESSION_EXPIRED) session = undefined;
        c.close();
        open.delete(c);
        client = undefined;
        if (err !== CONNECTION_LOSS) await sleep(o.retryMs);
      }
      client?.close();
    });
  const closeAll = () => {
    stopped = true;
    for (const c of open) c.close();
  };
  try {
    // Steady state first: every writer has had writes acknowledged.
    const warmUntil = Date.now() + 10_000;
    while ([...successes.values()].some((n) => n < 5)) {
      if (Date.now() > warmUntil) throw new Error(`${ens.kind}: writers got no replies before the kill`);
      await sleep(10);
    }
    await sleep(200);
    const victim = leader.proc?.pid;
    if (victim === undefined) throw new Error(`${ens.kind}: the leader has no process`);
    killAt = performance.now();
    killGroup(victim);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => {
      timer = setTimeout(r, FAILOVER_TIMEOUT_MS);
    });
    await Promise.race([first, timeout]);
    clearTimeout(timer);
  } finally {
    closeAll();
    await Promise.all(writers);
  }
  const failoverMs = firstAck === undefined ? undefined : firstAck - killAt;
  await leader.exited;
  leader.proc = undefined;
  const t0 = performance.now();
  ens.start(leader);
  await ens.serving();
  return { failoverMs, rejoinMs: performance.now() - t0 };
}

interface LogCounts {
  warn: number;
  error: number;
  /** Distinct warn/error messages with their counts. */
  messages: Map<string, number>;
}

/**
 * Warnings and errors in zkts members' logs (pino JSON lines: level 40 warn, 50 error, 60 fatal).
 * Apache ZooKeeper logs nothing here: its classpath has no SLF4J binding (SLF4J's no-op logger).
 */
function scanLogs(ens: Ensemble): LogCounts {
  const counts: LogCounts = { warn: 0, error: 0, messages: new Map() };
  for (const m of ens.members) {
    let text = '';
    try {
      text = readFileSync(m.log, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      let level: 'warn' | 'error' | undefined;
      let msg = '';
      try {
        const j = JSON.parse(line) as { level?: number; msg?: string; err?: unknown };
        const n = j.level ?? 0;
        level = n >= 50 ? 'error' : n >= 40 ? 'warn' : undefined;
        const err = typeof j.err === 'string' ? j.err : (j.err as { message?: string } | undefined)?.message;
        msg = `${j.msg ?? ''}${err === undefined ? '' : `: ${err}`}`;
      } catch {
        continue;
      }
      if (level === undefined) continue;
      counts[level]++;
      // Numbers (ids, zxids, ports, times) vary between otherwise equal messages.
      const key = `${level} ${msg.replace(/0x[0-9a-f]+|\d+/gi, 'N').slice(0, 160)}`;
      counts.messages.set(key, (counts.messages.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** A non-negative integer option `name N`, or `fallback`. */
function count(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} needs a whole number >= 0`);
  return v;
}

/** The newest `.cpuprofile` under `dir`, if any. */
function newestProfile(dir: string): string | undefined {
  try {
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    return files.length === 0 ? undefined : join(dir, files.sort().at(-1) as string);
  } catch {
    return undefined;
  }
}

export async function run(args: string[]): Promise<void> {
  const profileDir = flag(args, '--profile-leader');
  const phases = (flag(args, '--phases') ?? PHASES.join(',')).split(',');
  for (const p of phases) {
    if (!PHASES.includes(p as Phase)) throw new Error(`--phases takes ${PHASES.join(',')}, not ${p}`);
  }
  const o: Options = {
    phases: PHASES.filter((p) => phases.includes(p)),
    seconds: option(args, '--seconds', 5),
    rounds: option(args, '--rounds', 3),
    // A profile is written on a clean exit only: a killed leader leaves none.
    failovers: count(args, '--failovers', profileDir === undefined ? 3 : 0),
    sessions: option(args, '--sessions', 32),
    inflight: option(args, '--inflight', 16),
    size: option(args, '--size', 100),
    retryMs: option(args, '--retry-ms', 20),
  };
  const keepLogs = args.includes('--keep-logs');
  const only = flag(args, '--only') ?? (profileDir === undefined ? undefined : 'zkts');
  if (only !== undefined && !KINDS.includes(only as Kind)) {
    throw new Error(`--only takes zkts or apache, not ${only}`);
  }
  if (profileDir !== undefined && only !== 'zkts') throw new Error('--profile-leader profiles zkts only');
  const kinds = only === undefined ? KINDS : [only as Kind];
  const profileRoot = profileDir === undefined ? undefined : resolve(profileDir);
  const nodeOptions = (sid: number) =>
    profileRoot === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(profileRoot, `s${sid}`)];
  const data = Buffer.alloc(o.size, 0x61);
  process.stdout.write(
    `ensemble benchmark: ${SIZE} servers on 127.0.0.1 (tickTime=${TICK.tickTime} initLimit=${TICK.initLimit} ` +
      `syncLimit=${TICK.syncLimit}, fsync on); ${o.sessions} sessions x ${o.inflight} in flight over the ` +
      `members, ${o.size}-byte data, ${o.seconds} s per phase (${o.phases.join(', ')}), ${o.rounds} rounds ` +
      `alternating ${kinds.join('/')}, ${o.failovers} leader kills per round` +
      `${profileRoot === undefined ? '' : `; zkts members under --cpu-prof into ${profileRoot}`}\n`,
  );
  const uninstall = installCleanup();
  const ensembles = new Map<Kind, Ensemble>();
  const stats = new Map<Kind, Stats>(kinds.map((k) => [k, emptyStats()]));
  const logs = new Map<Kind, LogCounts>();
  let failed = true;
  try {
    // zkts first: when it cannot form an ensemble, the run stops before the JVMs start.
    for (const kind of kinds) {
      const t0 = performance.now();
      const ens = await startEnsemble(kind, kind === 'zkts' ? nodeOptions : undefined);
      ensembles.set(kind, ens);
      await setup(ens, o, data);
      process.stderr.write(`${kind}: ensemble serving after ${(performance.now() - t0).toFixed(0)} ms\n`);
    }
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 === 0 ? kinds : [...kinds].reverse();
      const sessions = new Map<Kind, LoadClient[]>();
      for (const kind of order) {
        const ens = ensembles.get(kind) as Ensemble;
        await ens.serving();
        sessions.set(kind, await connectSessions(ens, o.sessions));
      }
      for (const phase of o.phases) {
        for (const kind of order) {
          const ens = ensembles.get(kind) as Ensemble;
          const s = stats.get(kind) as Stats;
          const v = await measurePhase(ens, sessions.get(kind) ?? [], phase, round, o, data, s);
          process.stderr.write(`round ${round + 1} ${kind}: ${phase} ${v.toFixed(0)} ops/s\n`);
        }
      }
      for (const clients of sessions.values()) for (const c of clients) c.close();
      for (let i = 0; i < o.failovers; i++) {
        for (const kind of order) {
          const ens = ensembles.get(kind) as Ensemble;
          const s = stats.get(kind) as Stats;
          const r = await failover(ens, o, data);
          if (r.failoverMs === undefined) s.failoverTimeouts++;
          else s.failoverMs.push(r.failoverMs);
          s.rejoinMs.push(r.rejoinMs);
          process.stderr.write(
            `round ${round + 1} ${kind}: failover ${
              r.failoverMs === undefined
                ? `none within ${FAILOVER_TIMEOUT_MS} ms`
                : `${r.failoverMs.toFixed(0)} ms`
            }, killed member serving again ${r.rejoinMs.toFixed(0)} ms after its restart\n`,
          );
        }
      }
    }
    failed = false;
  } finally {
    for (const [kind, ens] of ensembles) {
      // Final counts: a clean shutdown (for a profile) may log more.
      if (profileRoot !== undefined) await Promise.all(ens.members.map((m) => ens.terminate(m)));
      const s = stats.get(kind) as Stats;
      const counts = kind === 'zkts' ? scanLogs(ens) : undefined;
      if (counts !== undefined) logs.set(kind, counts);
      const troubled = failed || s.errors > 0 || s.failoverTimeouts > 0 || (counts?.error ?? 0) > 0;
      if (failed) process.stderr.write(`bench ensemble: the run failed; keeping the ${kind} member logs\n`);
      await ens.stop(keepLogs || troubled);
    }
    cleanupSync();
    uninstall();
  }
  for (const [kind, counts] of logs) {
    process.stderr.write(`${kind} member logs: ${counts.warn} warnings, ${counts.error} errors\n`);
    const top = [...counts.messages.entries()].sort((x, y) => y[1] - x[1]).slice(0, 10);
    for (const [msg, n] of top) process.stderr.write(`  ${n}x ${msg}\n`);
  }
  const a = stats.get('apache');
  const z = stats.get('zkts');
  const cpuUs = (s: Stats | undefined, p: Phase) =>
    s === undefined || s.completed[p] === 0 ? undefined : (s.cpuMs[p] * 1000) / s.completed[p];
  const row = (label: string, f: (s: Stats) => number, goal?: string) => ({
    label,
    apache: a === undefined ? undefined : f(a),
    zkts: z === undefined ? undefined : f(z),
    ...(goal === undefined ? {} : { goal }),
  });
  process.stdout.write(
    ratioTable([
      row('create ops/s (median of rounds)', (s) => median(s.ops.create), '>= 1.5'),
      row('setData ops/s (median of rounds)', (s) => median(s.ops.setData), '>= 1.5'),
      row('getData ops/s (median of rounds)', (s) => median(s.ops.getData)),
      row('ensemble CPU us/create', (s) => cpuUs(s, 'create') ?? Number.NaN),
      row('ensemble CPU us/setData', (s) => cpuUs(s, 'setData') ?? Number.NaN),
      row('ensemble CPU us/getData', (s) => cpuUs(s, 'getData') ?? Number.NaN),
      row('kill -9 leader -> first write ms (median)', (s) => median(s.failoverMs), '<= 0.5'),
      row('kill -9 leader -> first write ms (min)', (s) =>
        s.failoverMs.length === 0 ? Number.NaN : Math.min(...s.failoverMs),
      ),
      row('kill -9 leader -> first write ms (max)', (s) =>
        s.failoverMs.length === 0 ? Number.NaN : Math.max(...s.failoverMs),
      ),
      row('failovers without a write in 60 s', (s) => s.failoverTimeouts),
      row('restart -> killed member serving ms (median)', (s) => median(s.rejoinMs)),
      row('throughput errors', (s) => s.errors),
    ]),
  );
  process.stdout.write(
    `command: pnpm --filter @zkts/bench run bench ensemble ${args.join(' ')}`.trimEnd() +
      `\nfailovers measured per kind: ${o.rounds * o.failovers}; ` +
      'a failover counts only writes sent after the kill\n',
  );
  if (profileRoot !== undefined) {
    const sid = ensembles.get('zkts')?.leaderSid;
    const file = sid === undefined ? undefined : newestProfile(join(profileRoot, `s${sid}`));
    if (file === undefined) throw new Error(`no profile of the zkts leader under ${profileRoot}`);
    process.stdout.write(`\nzkts leader (member ${sid}) CPU profile: ${file}\n`);
    process.stdout.write(formatSummary(summarise(readProfile(file)), 15, 2));
  }
}
