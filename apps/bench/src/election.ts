/**
 * Leader election time, zkts against Apache ZooKeeper 3.8 on the same host.
 *
 *   pnpm --filter @zkts/bench run bench election [--sizes 3,5,7] [--runs 3] [--finalize-wait 200,50] [--no-apache]
 *
 * For each ensemble size: start every server at once and time until every server has decided,
 * with one leader; then SIGKILL the leader and time until every survivor has decided on a new
 * one. zkts members are `@zkts/election`'s runnable member (dist/cli.js, a decision is a
 * `DECIDED` line on stdout). Apache ZooKeeper servers run QuorumPeerMain and are polled with the
 * `srvr` four-letter word every 10 ms until they report `Mode: leader|follower`. Both get the same
 * zoo.cfg (tickTime, initLimit, syncLimit). Needs `pnpm build` first (the member runs from dist).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  APACHE_ZK_CONF_DIR,
  APACHE_ZK_JAR,
  assertApacheZooKeeperInstalled,
  fourLetterWord,
  freePort,
} from '@zkts/testkit';

const TICK = { tickTime: 2000, initLimit: 10, syncLimit: 5 };
const POLL_MS = 10;
const TIMEOUT_MS = 60_000;

interface Member {
  readonly sid: number;
  readonly proc: ChildProcess;
  /** Latest decided leader (zkts) or mode-derived leader knowledge (Apache). */
  leader: number | undefined;
  decisions: number;
  out: string;
}

interface Ensemble {
  members: Member[];
  /** Resolves when every live member has decided a leader after `since` decisions; returns the leader. */
  settled(minDecisions: (m: Member) => number, live: (m: Member) => boolean): Promise<number>;
  stop(): Promise<void>;
}

interface Result {
  impl: string;
  size: number;
  startMs: number[];
  failoverMs: number[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function ports(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const p = await freePort();
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  const end = Date.now() + TIMEOUT_MS;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

function cfgLines(dir: string, sids: number[], quorum: number[], election: number[]): string[] {
  return [
    `tickTime=${TICK.tickTime}`,
    `initLimit=${TICK.initLimit}`,
    `syncLimit=${TICK.syncLimit}`,
    `dataDir=${dir}`,
    ...sids.map((sid, i) => `server.${sid}=127.0.0.1:${quorum[i]}:${election[i]}`),
  ];
}

async function startZkts(root: string, size: number, finalizeWaitMs: number): Promise<Ensemble> {
  const cli = join(dirname(fileURLToPath(import.meta.resolve('@zkts/election'))), 'cli.js');
  const sids = Array.from({ length: size }, (_, i) => i + 1);
  const [quorum, election] = [await ports(size), await ports(size)];
  const cfg = join(root, 'zoo.cfg');
  await writeFile(cfg, `${cfgLines(root, sids, quorum, election).join('\n')}\n`);
  const members: Member[] = sids.map((sid) => {
    const proc = spawn(
      process.execPath,
      [cli, cfg, '--myid', String(sid), '--finalize-wait', String(finalizeWaitMs)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const m: Member = { sid, proc, leader: undefined, decisions: 0, out: '' };
    let buf = '';
    proc.stdout?.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const d = /^DECIDED \w+ leader=(\d+)/.exec(line);
        if (d) {
          m.leader = Number(d[1]);
          m.decisions++;
        } else if (line.endsWith(' - LOOKING')) {
          m.leader = undefined;
        }
        nl = buf.indexOf('\n');
      }
    });
    proc.stderr?.on('data', (b: Buffer) => {
      m.out += b.toString('utf8');
    });
    return m;
  });
  return {
    members,
    settled: (min, live) =>
      until(() => {
        const alive = members.filter(live);
        if (alive.some((m) => m.decisions < min(m) || m.leader === undefined)) return undefined;
        const leaders = new Set(alive.map((m) => m.leader));
        const [leader] = [...leaders];
        return leaders.size === 1 && leader !== undefined && alive.some((m) => m.sid === leader)
          ? leader
          : undefined;
      }, 'zkts to settle'),
    stop: async () => {
      for (const m of members) m.proc.kill('SIGKILL');
    },
  };
}

async function startApache(root: string, size: number): Promise<Ensemble> {
  const sids = Array.from({ length: size }, (_, i) => i + 1);
  const [quorum, election, client] = [await ports(size), await ports(size), await ports(size)];
  const members: Member[] = [];
  for (const [i, sid] of sids.entries()) {
    const dir = join(root, `s${sid}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'myid'), `${sid}\n`);
    const lines = [
      ...cfgLines(dir, sids, quorum, election),
      `clientPort=${client[i]}`,
      'clientPortAddress=127.0.0.1',
      '4lw.commands.whitelist=*',
      'admin.enableServer=false',
    ];
    await writeFile(join(dir, 'zoo.cfg'), `${lines.join('\n')}\n`);
  }
  for (const [i, sid] of sids.entries()) {
    const dir = join(root, `s${sid}`);
    const proc = spawn(
      'java',
      [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-Xshare:auto',
        '-cp',
        `${APACHE_ZK_CONF_DIR}:${APACHE_ZK_JAR}`,
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        join(dir, 'zoo.cfg'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const m: Member = { sid, proc, leader: undefined, decisions: 0, out: '' };
    proc.stderr?.on('data', (b: Buffer) => {
      m.out = (m.out + b.toString('utf8')).slice(-4096);
    });
    (m as Member & { port: number }).port = client[i] as number;
    members.push(m);
  }
  const mode = async (m: Member): Promise<'leader' | 'follower' | undefined> => {
    try {
      const text = await fourLetterWord((m as Member & { port: number }).port, 'srvr', '127.0.0.1', 500);
      const r = /Mode: (leader|follower)/.exec(text);
      return r ? (r[1] as 'leader' | 'follower') : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    members,
    settled: (_min, live) =>
      until(async () => {
        const alive = members.filter(live);
        const modes = await Promise.all(alive.map(mode));
        if (modes.some((x) => x === undefined)) return undefined;
        const leaders = alive.filter((_, i) => modes[i] === 'leader');
        if (leaders.length !== 1) return undefined;
        const leader = (leaders[0] as Member).sid;
        for (const m of alive) {
          m.leader = leader;
          m.decisions++;
        }
        return leader;
      }, 'Apache ZooKeeper to settle'),
    stop: async () => {
      for (const m of members) m.proc.kill('SIGKILL');
    },
  };
}

async function measure(
  impl: string,
  start: (root: string) => Promise<Ensemble>,
): Promise<{ startMs: number; failoverMs: number }> {
  const root = await mkdtemp(join(tmpdir(), `bench-election-${impl.replace(/\W+/g, '-')}-`));
  let ens: Ensemble | undefined;
  try {
    const t0 = performance.now();
    ens = await start(root);
    const e = ens;
    const leader = await e.settled(
      () => 1,
      () => true,
    );
    const startMs = performance.now() - t0;
    const before = new Map(e.members.map((m) => [m.sid, m.decisions]));
    const victim = e.members.find((m) => m.sid === leader) as Member;
    const t1 = performance.now();
    victim.proc.kill('SIGKILL');
    const alive = (m: Member) => m !== victim;
    for (const m of e.members) if (alive(m)) m.leader = undefined;
    await e.settled((m) => (before.get(m.sid) ?? 0) + 1, alive);
    const failoverMs = performance.now() - t1;
    return { startMs, failoverMs };
  } finally {
    await ens?.stop();
    await sleep(300);
    await rm(root, { recursive: true, force: true });
  }
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function run(args: string[]): Promise<void> {
  const sizes = (flag(args, '--sizes') ?? '3,5,7').split(',').map(Number);
  const runs = Number(flag(args, '--runs') ?? '3');
  const finalizeWaits = (flag(args, '--finalize-wait') ?? '200,50').split(',').map(Number);
  const apache = !args.includes('--no-apache');
  if (apache) assertApacheZooKeeperInstalled();
  const results: Result[] = [];
  for (const size of sizes) {
    const impls: Array<[string, (root: string) => Promise<Ensemble>]> = finalizeWaits.map((fw) => [
      `zkts (finalizeWait ${fw})`,
      (root: string) => startZkts(root, size, fw),
    ]);
    if (apache) impls.push(['Apache ZooKeeper 3.8.x', (root: string) => startApache(root, size)]);
    for (const [impl, start] of impls) {
      const r: Result = { impl, size, startMs: [], failoverMs: [] };
      for (let i = 0; i < runs; i++) {
        const m = await measure(impl, start);
        r.startMs.push(m.startMs);
        r.failoverMs.push(m.failoverMs);
        process.stderr.write(
          `${impl} n=${size} run ${i + 1}: start ${m.startMs.toFixed(0)} ms, failover ${m.failoverMs.toFixed(0)} ms\n`,
        );
      }
      results.push(r);
    }
  }
  const rows = results.map((r) => {
    const zk = results.find((x) => x.size === r.size && x.impl.startsWith('Apache'));
    const ratio = (a: number[], b: number[] | undefined) =>
      b === undefined || r === zk ? '' : `${(median(a) / median(b)).toFixed(2)}x`;
    return {
      servers: r.size,
      implementation: r.impl,
      'start→all decided (median ms)': median(r.startMs).toFixed(0),
      'vs Apache': ratio(r.startMs, zk?.startMs),
      'SIGKILL leader→new leader (median ms)': median(r.failoverMs).toFixed(0),
      'vs Apache ': ratio(r.failoverMs, zk?.failoverMs),
    };
  });
  console.table(rows);
  console.log(
    `tickTime=${TICK.tickTime} initLimit=${TICK.initLimit} syncLimit=${TICK.syncLimit}; ${runs} runs each; ` +
      'Apache ZooKeeper is polled with srvr every 10 ms and includes JVM start and Zab synchronisation; ' +
      'zkts runs the election member (election plus the learner handshake; no Zab synchronisation yet).',
  );
}
