/**
 * zkts ensemble members as real `zkts-server` processes on 127.0.0.1, each with its own zoo.cfg,
 * dataDir and myid, each in its own process group (SIGKILL of the group is kill -9, SIGSTOP and
 * SIGCONT freeze and thaw a member):
 *
 * - the seed: 1 and 2 start, 2 leads (equal zxids: the higher sid wins); 3 joins and follows 2;
 *   the leader is killed under write load: a survivor leads within a bound, every session (the
 *   killed leader's included) resumes on a survivor with its ephemeral, every acknowledged write
 *   is there;
 * - DIFF: a follower killed and restarted after some writes catches up with a diff;
 * - TRUNC: a leader that logged a proposal no follower saw is truncated when it rejoins;
 * - SNAP: a member whose absence spans the leader's snapshots catches up with a snapshot;
 * - an observer (in-process): srvr, writes through it, zk_synced_observers.
 *
 * The processes run from sources (tsx, the @zkts/source condition), so no build is needed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateMode, ErrorCode } from '@zkts/codec';
import { fourLetterWord, freePort, waitFor } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from './compat/raw-client.js';
import { startTestEnsemble, type TestEnsemble } from './ensemble-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const PACKAGE_DIR = resolve(here, '..');
const MAIN = resolve(here, '../../../apps/server/src/main.ts');
const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
/** Long enough for a failover on a loaded machine: sessions must outlive it. */
const SESSION_MS = 15_000;
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b == null ? null : new TextDecoder().decode(b));

/** Every process group this file started, killed in afterAll whatever happened. */
const groups = new Set<number>();
/** Every client this file opened. */
const clients = new Set<RawClient>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

interface Run {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
  gone: boolean;
  /** The `msg` of every JSON log line, in order (bounded). */
  readonly messages: string[];
  /** The last 32 KiB of stdout and stderr, for failure messages. */
  tail: string;
}

class Member {
  run: Run | undefined;
  constructor(
    readonly id: number,
    readonly clientPort: number,
    readonly cfgPath: string,
  ) {}

  /** Spawns the member; resolves once it answers four-letter words (it may not serve yet). */
  async start(): Promise<void> {
    if (this.run !== undefined && !this.run.gone) throw new Error(`member ${this.id} is running`);
    const child = spawn(
      process.execPath,
      ['--conditions=@zkts/source', '--import', 'tsx', MAIN, this.cfgPath],
      { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    const pid = child.pid;
    if (pid === undefined) throw new Error(`member ${this.id} did not spawn`);
    groups.add(pid);
    let resolveExit: () => void = () => {};
    const run: Run = {
      child,
      pid,
      exited: new Promise<void>((r) => {
        resolveExit = r;
      }),
      gone: false,
      messages: [],
      tail: '',
    };
    child.on('exit', () => {
      run.gone = true;
      groups.delete(pid);
      resolveExit();
    });
    let partial = '';
    child.stdout?.on('data', (c: Buffer) => {
      const s = c.toString('utf8');
      run.tail = (run.tail + s).slice(-32 * 1024);
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const msg = (JSON.parse(line) as { msg?: unknown }).msg;
          if (typeof msg === 'string' && run.messages.length < 20_000) run.messages.push(msg);
        } catch {
          // not a log line
        }
      }
    });
    child.stderr?.on('data', (c: Buffer) => {
      run.tail = (run.tail + c.toString('utf8')).slice(-32 * 1024);
    });
    this.run = run;
    try {
      await waitFor(
        async () => {
          if (run.gone) throw new Error('exited');
          return (await fourLetterWord(this.clientPort, 'srvr', '127.0.0.1', 1000)).length > 0;
        },
        30_000,
        `member ${this.id} to answer srvr`,
      );
    } catch (e) {
      killGroup(pid, 'SIGKILL');
      throw new Error(`member ${this.id} did not start: ${(e as Error).message}\n${run.tail}`);
    }
    if (run.gone) throw new Error(`member ${this.id} exited at start:\n${run.tail}`);
  }

  /** kill -9 of the member's process group. */
  async kill(): Promise<void> {
    const run = this.run;
    if (run === undefined || run.gone) return;
    killGroup(run.pid, 'SIGKILL');
    await run.exited;
  }

  pause(): void {
    if (this.run !== undefined) killGroup(this.run.pid, 'SIGSTOP');
  }

  /** `Mode:` of srvr, or undefined while it does not serve (or does not answer). */
  async mode(): Promise<string | undefined> {
    const out = await fourLetterWord(this.clientPort, 'srvr', '127.0.0.1', 2000).catch(() => '');
    return /Mode: (\w+)/.exec(out)?.[1];
  }

  /** Whether this run of the member logged a message containing `prefix`. */
  logged(prefix: string): boolean {
    return this.run?.messages.some((m) => m.includes(prefix)) ?? false;
  }

  /** Whether this run of the member entered `state` (its `[myid:N] LEADING` line, not a notification's). */
  entered(state: 'LEADING' | 'FOLLOWING'): boolean {
    return this.run?.messages.some((m) => m.endsWith(`] ${state}`)) ?? false;
  }

  describe(): string {
    return `member ${this.id}: ${this.run?.messages.slice(-40).join(' | ')}`;
  }
}

class Cluster {
  private constructor(
    readonly root: string,
    readonly members: Member[],
  ) {}

  static async create(size: number, extra: Record<string, string> = {}): Promise<Cluster> {
    const root = await mkdtemp(join(tmpdir(), 'zkts-ensemble-proc-'));
    const ids = Array.from({ length: size }, (_, i) => i + 1);
    const ports = new Map<number, [number, number, number]>();
    for (const id of ids) ports.set(id, [await freePort(), await freePort(), await freePort()]);
    const lines = ids.map((id) => {
      const [client, quorum, election] = ports.get(id) as [number, number, number];
      return `server.${id}=127.0.0.1:${quorum}:${election};127.0.0.1:${client}`;
    });
    const members: Member[] = [];
    for (const id of ids) {
      const dir = join(root, `member${id}`);
      const dataDir = join(dir, 'data');
      await mkdir(dataDir, { recursive: true });
      await writeFile(join(dataDir, 'myid'), `${id}\n`);
      const cfgPath = join(dir, 'zoo.cfg');
      await writeFile(
        cfgPath,
        [
          'tickTime=200',
          'initLimit=25',
          'syncLimit=10',
          `dataDir=${dataDir}`,
          '4lw.commands.whitelist=*',
          'admin.enableServer=false',
          'minSessionTimeout=400',
          `maxSessionTimeout=${2 * SESSION_MS}`,
          ...Object.entries(extra).map(([k, v]) => `${k}=${v}`),
          ...lines,
        ].join('\n'),
      );
      members.push(new Member(id, (ports.get(id) as [number, number, number])[0], cfgPath));
    }
    return new Cluster(root, members);
  }

  member(id: number): Member {
    const m = this.members.find((x) => x.id === id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  /** Waits until the given members serve, one leading and the rest following; returns the leader. */
  async settled(ids: number[], timeoutMs = 30_000): Promise<number> {
    let leader: number | undefined;
    let last: (string | undefined)[] = [];
    try {
      await waitFor(
        async () => {
          last = await Promise.all(ids.map((id) => this.member(id).mode()));
          const leaders = ids.filter((_, i) => last[i] === 'leader');
          leader = leaders[0];
          return leaders.length === 1 && last.filter((m) => m === 'follower').length === ids.length - 1;
        },
        timeoutMs,
        `members ${ids.join(',')} to serve`,
      );
    } catch (e) {
      throw new Error(
        `${(e as Error).message}; modes ${JSON.stringify(last)}\n${ids.map((id) => this.member(id).describe()).join('\n')}`,
      );
    }
    return leader as number;
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()));
    await rm(this.root, { recursive: true, force: true });
  }
}

async function connect(
  member: Member,
  opts: Parameters<typeof RawClient.connect>[1] = {},
): Promise<RawClient> {
  const c = await RawClient.connect(member.clientPort, { timeoutMs: SESSION_MS, ...opts });
  clients.add(c);
  return c;
}

/** A fresh session on `member` that has synced with the leader: reads show every committed write. */
async function syncedReader(member: Member): Promise<RawClient> {
  const c = await connect(member, { timeoutMs: 4000 });
  expect((await c.request({ type: 'sync', path: '/' })).header.err).toBe(0);
  return c;
}

async function children(c: RawClient, path: string): Promise<string[]> {
  const r = await c.request({ type: 'getChildren', path, watch: false });
  expect(r.header.err).toBe(0);
  return ((r.response as { children: string[] }).children ?? []).slice().sort();
}

/** Every node under `path` with its data, read through `c`. */
async function contents(c: RawClient, path: string): Promise<[string, string | null][]> {
  const out: [string, string | null][] = [];
  for (const child of await children(c, path)) {
    const r = await c.request({ type: 'getData', path: `${path}/${child}`, watch: false });
    expect(r.header.err).toBe(0);
    out.push([child, text((r.response as { data: Uint8Array | null }).data)]);
  }
  return out;
}

afterAll(() => {
  for (const c of clients) c.destroy();
  for (const pid of groups) killGroup(pid, 'SIGKILL');
});

describe('zkts-server processes as a three-member ensemble', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create(3);
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it('elects the higher sid of two, keeps it when 3 joins, fails over on kill -9 keeping sessions, ephemerals and acknowledged writes', async () => {
    const [m1, m2, m3] = [1, 2, 3].map((id) => cluster.member(id)) as [Member, Member, Member];
    await Promise.all([m1.start(), m2.start()]);
    expect(await cluster.settled([1, 2])).toBe(2);
    expect(m2.entered('LEADING')).toBe(true);
    expect(m1.entered('FOLLOWING')).toBe(true);
    await m3.start();
    expect(await cluster.settled([1, 2, 3])).toBe(2); // 3 does not take over
    expect(m3.entered('LEADING')).toBe(false);
    expect(m3.entered('FOLLOWING')).toBe(true);

    // One session per member, each with an ephemeral, all writing under /a.
    const sessions = await Promise.all([m1, m2, m3].map((m) => connect(m)));
    expect(
      (await sessions[0]!.request({ type: 'create', path: '/a', data: null, acl: OPEN, flags: 0 })).header
        .err,
    ).toBe(0);
    const lastSeen = sessions.map(() => 0n);
    for (const [i, c] of sessions.entries()) {
      const r = await c.request({
        type: 'create',
        path: `/eph-${i + 1}`,
        data: bytes(`session of member ${i + 1}`),
        acl: OPEN,
        flags: CreateMode.EPHEMERAL,
      });
      expect(r.header.err).toBe(0);
      lastSeen[i] = r.header.zxid;
    }
    const acked = new Set<string>();
    let stop = false;
    const load = sessions.map(async (c, i) => {
      const worker = async (w: number) => {
        for (let k = 0; !stop && !c.closed; k++) {
          const path = `/a/s${i + 1}-w${w}-${k}`;
          const r = await c.request({ type: 'create', path, data: bytes(path), acl: OPEN, flags: 0 });
          if (r.header.err === 0 && !c.closed) {
            acked.add(path);
            if (r.header.zxid > (lastSeen[i] as bigint)) lastSeen[i] = r.header.zxid;
          }
        }
      };
      await Promise.all([0, 1, 2, 3].map(worker));
    });
    await waitFor(async () => acked.size >= 90, 30_000, 'writes acknowledged before the kill');

    const killedAt = Date.now();
    await m2.kill();
    const leader = await cluster.settled([1, 3], 20_000);
    const failoverMs = Date.now() - killedAt;
    expect(failoverMs).toBeLessThan(20_000);
    stop = true;
    await Promise.all(load);
    expect(acked.size).toBeGreaterThanOrEqual(90);

    // Every session resumes on a survivor (the killed leader's one on the new leader's follower
    // or the leader, alternately), with its id and its ephemeral.
    const survivors = [m1, m3];
    for (const [i, old] of sessions.entries()) {
      old.destroy();
      const target = survivors[i % 2] as Member;
      const session = old.session!;
      const resumed = await connect(target, {
        sessionId: session.sessionId,
        passwd: session.passwd,
        lastZxidSeen: lastSeen[i],
      });
      expect(resumed.session!.sessionId).toBe(session.sessionId);
      expect(resumed.session!.timeOut).toBeGreaterThan(0);
      const eph = await resumed.request({ type: 'getEphemerals', prefixPath: '/' });
      expect(eph.header.err).toBe(0);
      expect((eph.response as { ephemerals: string[] }).ephemerals).toEqual([`/eph-${i + 1}`]);
    }
    // The killed leader's session, seen from the other survivor too.
    const killedSession = sessions[1]!.session!.sessionId;
    const other = await syncedReader(m1.id === leader ? m3 : m1);
    const owner = await other.request({ type: 'exists', path: '/eph-2', watch: false });
    expect(owner.header.err).toBe(0);
    expect((owner.response as { stat: { ephemeralOwner: bigint } }).stat.ephemeralOwner).toBe(killedSession);

    for (const m of survivors) {
      const r = await syncedReader(m);
      const present = new Set((await children(r, '/a')).map((k) => `/a/${k}`));
      const missing = [...acked].filter((p) => !present.has(p));
      expect({ member: m.id, missing: missing.slice(0, 5), count: missing.length }).toEqual({
        member: m.id,
        missing: [],
        count: 0,
      });
    }

    // The old leader comes back as a follower.
    await m2.start();
    await cluster.settled([1, 2, 3]);
    expect(await m2.mode()).toBe('follower');
  }, 90_000);

  it('a follower restarted behind the others gets a DIFF and serves the new data', async () => {
    const leader = await cluster.settled([1, 2, 3]);
    const follower = cluster.member([1, 2, 3].find((id) => id !== leader) as number);
    await follower.kill();
    const w = await connect(cluster.member(leader));
    await w.request({ type: 'create', path: '/diff', data: null, acl: OPEN, flags: 0 });
    for (let i = 0; i < 20; i++) {
      const r = await w.request({
        type: 'create',
        path: `/diff/n${i}`,
        data: bytes(`v${i}`),
        acl: OPEN,
        flags: 0,
      });
      expect(r.header.err).toBe(0);
    }
    await follower.start();
    await cluster.settled([1, 2, 3]);
    expect(follower.logged('Getting a diff from the leader 0x'), follower.describe()).toBe(true);
    expect(follower.logged('Getting a snapshot')).toBe(false);
    expect(follower.logged('Truncating log')).toBe(false);
    const r = await syncedReader(follower);
    expect(await contents(r, '/diff')).toEqual(
      Array.from({ length: 20 }, (_, i): [string, string] => [`n${i}`, `v${i}`]).sort(),
    );
  }, 60_000);

  it('truncates a proposal that only the old leader logged when it rejoins', async () => {
    const leaderId = await cluster.settled([1, 2, 3]);
    const leader = cluster.member(leaderId);
    const followers = [1, 2, 3].filter((id) => id !== leaderId).map((id) => cluster.member(id));
    const w = await connect(leader);
    expect(
      (await w.request({ type: 'create', path: '/t', data: null, acl: OPEN, flags: 0 })).header.err,
    ).toBe(0);
    // Both followers have logged everything so far.
    for (const f of followers) await syncedReader(f);

    // Frozen followers cannot ack: the leader logs the proposal, cannot commit it, and steps down
    // after syncLimit. The proposal reaches the followers' socket buffers only, so they are
    // killed while frozen (SIGCONT would let them read and log it, and the new leader would
    // rightly commit it).
    for (const f of followers) f.pause();
    const lost = w.request({ type: 'create', path: '/t/lost', data: bytes('x'), acl: OPEN, flags: 0 });
    await waitFor(async () => (await leader.mode()) === undefined, 20_000, 'the leader to step down');
    expect((await lost).header.err).not.toBe(0);
    for (const f of followers) await f.kill();
    await leader.kill();

    await Promise.all(followers.map((f) => f.start()));
    const newLeader = await cluster.settled(followers.map((f) => f.id));
    const w2 = await connect(cluster.member(newLeader));
    for (let i = 0; i < 5; i++) {
      const r = await w2.request({
        type: 'create',
        path: `/t/after${i}`,
        data: bytes(`a${i}`),
        acl: OPEN,
        flags: 0,
      });
      expect(r.header.err).toBe(0);
    }

    await leader.start();
    await cluster.settled([1, 2, 3]);
    expect(await leader.mode()).toBe('follower');
    expect(leader.logged('Truncating log to get in sync with the leader 0x'), leader.describe()).toBe(true);
    const expected = Array.from({ length: 5 }, (_, i): [string, string] => [`after${i}`, `a${i}`]);
    for (const m of cluster.members) {
      const r = await syncedReader(m);
      expect((await r.request({ type: 'exists', path: '/t/lost', watch: false })).header.err).toBe(
        ErrorCode.NoNode,
      );
      expect([m.id, await contents(r, '/t')]).toEqual([m.id, expected]);
    }
    // One restart more: the truncation is on disk, not only in memory.
    await leader.kill();
    await leader.start();
    await cluster.settled([1, 2, 3]);
    const again = await syncedReader(leader);
    expect(await contents(again, '/t')).toEqual(expected);
  }, 90_000);
});

describe('zkts-server processes: a member behind the leader’s snapshots', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.create(3, { snapCount: '10' });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it('rejoins with a SNAP and holds identical data', async () => {
    await Promise.all(cluster.members.map((m) => m.start()));
    const leaderId = await cluster.settled([1, 2, 3]);
    const follower = cluster.member([1, 2, 3].find((id) => id !== leaderId) as number);
    const w = await connect(cluster.member(leaderId));
    await w.request({ type: 'create', path: '/s', data: null, acl: OPEN, flags: 0 });
    for (let i = 0; i < 10; i++)
      await w.request({ type: 'create', path: `/s/before${i}`, data: bytes(`b${i}`), acl: OPEN, flags: 0 });
    await syncedReader(follower);
    await follower.kill();
    // Many times snapCount: the leader snapshots and forgets the txns the follower misses.
    for (let i = 0; i < 60; i++) {
      const r = await w.request({
        type: 'create',
        path: `/s/n${i}`,
        data: bytes(`v${i}`),
        acl: OPEN,
        flags: 0,
      });
      expect(r.header.err).toBe(0);
    }
    await w.request({ type: 'delete', path: '/s/before0', version: -1 });
    await w.request({ type: 'setData', path: '/s/before1', data: bytes('changed'), version: -1 });
    await follower.start();
    await cluster.settled([1, 2, 3]);
    expect(follower.logged('Getting a snapshot from leader 0x'), follower.describe()).toBe(true);
    expect(follower.logged("Restored the state from the leader's snapshot at 0x")).toBe(true);
    const views = [];
    for (const m of cluster.members) views.push(await contents(await syncedReader(m), '/s'));
    expect(views[0]).toHaveLength(9 + 60);
    expect(views[0]).toContainEqual(['before1', 'changed']);
    expect(views[1]).toEqual(views[0]);
    expect(views[2]).toEqual(views[0]);
  }, 60_000);
});

describe('an observer (three voters and one observer)', () => {
  let ens: TestEnsemble;
  beforeAll(async () => {
    ens = await startTestEnsemble(4, { observers: [4] });
  }, 60_000);
  afterAll(async () => {
    await ens?.close();
  });

  it('answers srvr as observer, takes writes that every member sees, and counts as a synced observer', async () => {
    const leader = await ens.ready(30_000);
    expect(await ens.member(4).mode()).toBe('observer');
    const c = await RawClient.connect(ens.member(4).clientPort, { timeoutMs: 4000 });
    clients.add(c);
    for (let i = 0; i < 5; i++) {
      const r = await c.request({
        type: 'create',
        path: `/o${i}`,
        data: bytes(`o${i}`),
        acl: OPEN,
        flags: 0,
      });
      expect(r.header.err).toBe(0);
    }
    for (const m of ens.members) {
      const r = await RawClient.connect(m.clientPort, { timeoutMs: 4000 });
      clients.add(r);
      await r.request({ type: 'sync', path: '/' });
      for (let i = 0; i < 5; i++) {
        const got = await r.request({ type: 'getData', path: `/o${i}`, watch: false });
        expect([m.id, text((got.response as { data: Uint8Array | null }).data)]).toEqual([m.id, `o${i}`]);
      }
    }
    await waitFor(
      async () =>
        /^zk_synced_observers\t1$/m.test(await fourLetterWord(ens.member(leader).clientPort, 'mntr')),
      10_000,
      'the leader to count the observer',
    );
    const mntr = await fourLetterWord(ens.member(leader).clientPort, 'mntr');
    expect(mntr).toMatch(/^zk_synced_followers\t2$/m);
    expect(mntr).toMatch(/^zk_synced_observers\t1$/m);
  }, 60_000);
});
