import { type ElectionOutput, FastLeaderElection, type Notification } from '@zkts/election';
import { type Effect, type NodeId, Prng, type Protocol, SimError, Simulation } from '@zkts/sim';
import { hexZxid, isQuorum, type Txn, type UnsafeVariants } from '../../src/index.js';
import {
  copyDisk,
  type Disk,
  type EnsembleConfig,
  emptyDisk,
  formatMsg,
  Host,
  type Msg,
  type State,
} from './host.js';

/**
 * The simulated ensemble: each server is a `Host` (a Zab role, a FIFO disk that keeps only what was
 * reported durable, the applied state) plus a stand-in leader election and a TCP-like connection
 * per peer. The simulator's network faults (loss, duplication, reordering) break that connection,
 * as they would a real TCP stream: both ends see `disconnected` and the next session starts fresh.
 */
export type Wire =
  | { readonly k: 'zab'; readonly gen: number; readonly seq: number; readonly msg: Msg }
  | { readonly k: 'rst'; readonly gen: number }
  /** FastLeaderElection notifications (@zkts/election). */
  | { readonly k: 'fle'; readonly n: Notification }
  /** The stand-in election (a deliberately sloppier choice of leader). */
  | { readonly k: 'look'; readonly epoch: bigint; readonly zxid: bigint }
  | { readonly k: 'leader'; readonly leader: number };

type Eff = Effect<Wire, Disk>;

interface Conn {
  gen: number;
  sendSeq: number;
  recvSeq: number;
}

export interface ClusterOptions {
  voters: readonly number[];
  observers?: readonly number[];
  tickMs?: number;
  initLimit?: number;
  syncLimit?: number;
  /** Largest simulated disk latency (ms). */
  diskMaxMs?: number;
  /** Client proposals per tick at the leader, at most. */
  load?: number;
  /** Probability per tick that a server snapshots its state and compacts its log. */
  compactRate?: number;
  unsafe?: UnsafeVariants;
  /** Diffs longer than this become SNAP. */
  maxDiffTxns?: number;
  /**
   * `fle`: FastLeaderElection from @zkts/election (default). `standin`: pick the best of whatever
   * quorum of summaries was heard recently — it may choose a server that is not the most up to date,
   * which Zab's discovery must catch.
   */
  election?: 'fle' | 'standin';
}

/** Global observations across the whole run, checked after every event. */
export class Checker {
  /** The committed sequence: every txn a leader applied (a client saw it committed), in order. */
  readonly chain: Txn<string>[] = [];
  readonly epochLeaders = new Map<bigint, number>();
  violation: string | undefined;
  now = 0;
  lastCommitAt = 0;
  established = 0;

  fail(msg: string): void {
    this.violation ??= msg;
  }

  private same(a: Txn<string> | undefined, b: Txn<string> | undefined): boolean {
    return a !== undefined && b !== undefined && a.zxid === b.zxid && a.data === b.data;
  }

  private show(t: Txn<string> | undefined): string {
    return t === undefined ? 'nothing' : `${hexZxid(t.zxid)}:${t.data}`;
  }

  onApply(host: Host, i: number, txn: Txn<string>): void {
    const c = this.chain;
    if (i < c.length) {
      if (!this.same(c[i], txn)) {
        this.fail(
          `server ${host.id} applied ${this.show(txn)} at position ${i}; committed there: ${this.show(c[i])}`,
        );
      }
      return;
    }
    if (i > c.length) {
      this.fail(
        `server ${host.id} applied ${this.show(txn)} at position ${i}, beyond the committed ${c.length}`,
      );
      return;
    }
    if (host.role !== 'leading') {
      this.fail(`server ${host.id} (${host.role}) applied ${this.show(txn)}, which no leader committed`);
      return;
    }
    const last = c[c.length - 1];
    if (last !== undefined && txn.zxid <= last.zxid) {
      this.fail(`leader ${host.id} committed ${this.show(txn)} after ${this.show(last)}: not in zxid order`);
      return;
    }
    c.push(txn);
    this.lastCommitAt = this.now;
  }

  onRestore(host: Host, state: State): void {
    for (let i = 0; i < state.length; i++) {
      if (!this.same(state[i], this.chain[i])) {
        this.fail(
          `server ${host.id} restored a snapshot with ${this.show(state[i])} at ${i}; committed: ${this.show(this.chain[i])}`,
        );
        return;
      }
    }
  }

  onEstablished(host: Host, epoch: bigint): void {
    this.established++;
    const before = this.epochLeaders.get(epoch);
    if (before !== undefined && before !== host.id) {
      this.fail(`epoch ${epoch}: server ${host.id} established as leader, server ${before} was too`);
      return;
    }
    this.epochLeaders.set(epoch, host.id);
    const h = host.history();
    for (let i = 0; i < this.chain.length; i++) {
      if (!this.same(h[i], this.chain[i])) {
        this.fail(
          `leader ${host.id} of epoch ${epoch} lacks committed ${this.show(this.chain[i])} (has ${this.show(h[i])} at ${i})`,
        );
        return;
      }
    }
  }
}

export class SimServer {
  readonly host: Host;
  readonly conns = new Map<number, Conn>();
  readonly votes = new Map<number, { epoch: bigint; zxid: bigint; at: number }>();
  readonly claims = new Map<number, { leader: number; at: number }>();
  out: Eff[] = [];
  now = 0;
  diskArmed = false;
  client = 0;
  readonly fle: FastLeaderElection | undefined;

  constructor(
    readonly id: number,
    disk: Disk,
    readonly cluster: Cluster,
    readonly prng: Prng,
  ) {
    this.host = new Host(id, disk, cluster.ensemble, {
      send: (_from, to, msg) => this.sendZab(to, msg),
      disconnect: (_from, peer) => this.reset(peer, false, true),
      applied: (h, i, t) => cluster.checker.onApply(h, i, t),
      restored: (h, s) => cluster.checker.onRestore(h, s),
      established: (h, e) => cluster.checker.onEstablished(h, e),
      stopped: () => {
        for (const p of this.cluster.all) if (p !== this.id) this.reset(p, false, true);
        this.lookForLeader();
      },
    });
    if (cluster.election === 'fle') {
      this.fle = new FastLeaderElection({
        myId: id,
        voters: cluster.ensemble.voters,
        observers: cluster.ensemble.observers,
        finalizeWaitMs: 2 * cluster.tickMs,
        minNotificationIntervalMs: 2 * cluster.tickMs,
        maxNotificationIntervalMs: 20 * cluster.tickMs,
      });
    }
  }

  /** Back to LOOKING: a new election round. */
  lookForLeader(): void {
    this.votes.clear();
    this.claims.clear();
    if (this.fle === undefined) {
      this.out.push({ kind: 'setTimer', name: 'elect', afterMs: this.prng.int(1, this.cluster.electMs) });
      return;
    }
    this.election(
      this.fle.step({
        type: 'start',
        currentEpoch: this.host.written.currentEpoch,
        lastZxid: this.host.lastLogged,
      }),
    );
  }

  election(outs: readonly ElectionOutput[]): void {
    for (const o of outs) {
      switch (o.type) {
        case 'send':
          this.out.push({ kind: 'send', to: o.to, msg: { k: 'fle', n: o.n } });
          break;
        case 'setTimer':
          this.out.push({ kind: 'setTimer', name: `fle:${o.timer}`, afterMs: o.afterMs });
          break;
        case 'cancelTimer':
          this.out.push({ kind: 'cancelTimer', name: `fle:${o.timer}` });
          break;
        case 'decided': {
          const role =
            o.state === 'LEADING' ? 'leading' : o.state === 'FOLLOWING' ? 'following' : 'observing';
          this.take(role, o.vote.leader);
          break;
        }
        case 'log':
          break;
      }
    }
  }

  /** Takes a Zab role: every connection starts afresh, as a new TCP session would. */
  take(role: 'leading' | 'following' | 'observing', leader: number): void {
    if (this.host.role !== 'looking') return;
    for (const p of this.cluster.all) if (p !== this.id) this.reset(p, false, true);
    this.host.become(role, leader);
  }

  conn(peer: number): Conn {
    let c = this.conns.get(peer);
    if (c === undefined) {
      c = { gen: 0, sendSeq: 0, recvSeq: 0 };
      this.conns.set(peer, c);
    }
    return c;
  }

  sendZab(to: number, msg: Msg): void {
    if (msg.type === 'DIFF' || msg.type === 'TRUNC' || msg.type === 'SNAP') this.cluster.syncs[msg.type]++;
    const c = this.conn(to);
    this.out.push({ kind: 'send', to, msg: { k: 'zab', gen: c.gen, seq: c.sendSeq++, msg } });
  }

  /** Closes the connection to `peer`: a new generation; optionally tell the peer and the role. */
  reset(peer: number, notify: boolean, rst: boolean): void {
    const c = this.conn(peer);
    c.gen++;
    c.sendSeq = 0;
    c.recvSeq = 0;
    if (rst) this.out.push({ kind: 'send', to: peer, msg: { k: 'rst', gen: c.gen } });
    if (notify) this.host.step({ type: 'disconnected', peer });
  }

  receive(from: number, w: Wire): void {
    switch (w.k) {
      case 'zab': {
        const c = this.conn(from);
        if (w.gen < c.gen) {
          this.out.push({ kind: 'send', to: from, msg: { k: 'rst', gen: c.gen } });
          return;
        }
        if (w.gen > c.gen) {
          c.gen = w.gen;
          c.sendSeq = 0;
          c.recvSeq = 0;
          this.host.step({ type: 'disconnected', peer: from });
        }
        if (w.seq !== c.recvSeq) {
          // A gap, a duplicate or a reordering: the stream is broken, as TCP would report.
          this.reset(from, true, true);
          return;
        }
        c.recvSeq++;
        this.host.step({ type: 'message', from, msg: w.msg });
        return;
      }
      case 'rst': {
        const c = this.conn(from);
        if (w.gen > c.gen) {
          c.gen = w.gen;
          c.sendSeq = 0;
          c.recvSeq = 0;
          this.host.step({ type: 'disconnected', peer: from });
        }
        return;
      }
      case 'fle':
        if (this.fle !== undefined) this.election(this.fle.step({ type: 'notification', from, n: w.n }));
        return;
      case 'look':
        if (this.host.role === 'looking') {
          this.votes.set(from, { epoch: w.epoch, zxid: w.zxid, at: this.now });
        } else {
          this.out.push({ kind: 'send', to: from, msg: { k: 'leader', leader: this.host.leaderId } });
        }
        return;
      case 'leader':
        if (this.host.role === 'looking') this.claims.set(from, { leader: w.leader, at: this.now });
        return;
    }
  }

  /** The stand-in election: join a leader that says it leads, or pick the best of a quorum. */
  elect(): void {
    if (this.host.role !== 'looking') return;
    const cl = this.cluster;
    const fresh = this.now - 3 * cl.electMs;
    let choice: { role: 'leading' | 'following' | 'observing'; leader: number } | undefined;
    const observer = cl.ensemble.observers.includes(this.id);
    for (const [from, c] of this.claims) {
      if (c.at >= fresh && c.leader === from) {
        choice = { role: observer ? 'observing' : 'following', leader: from };
        break;
      }
    }
    if (choice === undefined && !observer) {
      const mine = { epoch: this.host.written.currentEpoch, zxid: this.host.lastLogged, id: this.id };
      const heard = [mine];
      for (const [from, v] of this.votes) {
        if (v.at >= fresh && cl.ensemble.voters.includes(from))
          heard.push({ epoch: v.epoch, zxid: v.zxid, id: from });
      }
      if (
        isQuorum(
          cl.voterSet,
          heard.map((h) => h.id),
        )
      ) {
        let best = mine;
        for (const h of heard) {
          if (
            h.epoch > best.epoch ||
            (h.epoch === best.epoch && (h.zxid > best.zxid || (h.zxid === best.zxid && h.id > best.id)))
          ) {
            best = h;
          }
        }
        choice = { role: best.id === this.id ? 'leading' : 'following', leader: best.id };
      }
    }
    if (choice !== undefined) {
      this.votes.clear();
      this.claims.clear();
      this.take(choice.role, choice.leader);
      return;
    }
    for (const p of cl.all) {
      if (p !== this.id) {
        this.out.push({
          kind: 'send',
          to: p,
          msg: { k: 'look', epoch: this.host.written.currentEpoch, zxid: this.host.lastLogged },
        });
      }
    }
    this.out.push({ kind: 'setTimer', name: 'elect', afterMs: cl.electMs + this.prng.int(0, cl.electMs) });
  }

  tick(): void {
    const h = this.host;
    h.step({ type: 'tick' });
    const core = h.core;
    if (h.role === 'leading' && h.serving && core !== undefined && 'canPropose' in core) {
      const n = this.prng.int(0, this.cluster.load);
      for (let i = 0; i < n && core.canPropose && h.core === core; i++) {
        h.step({ type: 'propose', data: `${this.id}.${++this.client}` });
      }
    }
    if (h.core !== undefined && h.serving && this.prng.chance(this.cluster.compactRate)) h.compact();
    this.out.push({ kind: 'setTimer', name: 'tick', afterMs: this.cluster.tickMs });
  }

  disk(): void {
    this.diskArmed = false;
    // The disk completes a prefix of what is queued (FIFO); a crash loses the rest.
    this.host.completeDisk(this.prng.int(1, this.host.pending.length));
    this.out.push({ kind: 'persist', state: copyDisk(this.host.durable) });
  }

  /** Runs `f` with a fresh effect buffer; arms the disk timer when writes are pending. */
  run(now: number, f: () => void): Eff[] {
    this.now = now;
    this.cluster.checker.now = now;
    this.out = [];
    f();
    if (this.host.pending.length > 0 && !this.diskArmed) {
      this.diskArmed = true;
      this.out.push({ kind: 'setTimer', name: 'disk', afterMs: this.prng.int(1, this.cluster.diskMaxMs) });
    }
    const effects = this.out;
    this.out = [];
    return effects;
  }
}

export class Cluster {
  readonly checker = new Checker();
  readonly ensemble: EnsembleConfig;
  readonly voterSet: ReadonlySet<number>;
  readonly all: readonly number[];
  readonly tickMs: number;
  readonly electMs: number;
  readonly diskMaxMs: number;
  readonly load: number;
  readonly compactRate: number;
  readonly election: 'fle' | 'standin';
  /** How learners were synchronised. */
  readonly syncs = { DIFF: 0, TRUNC: 0, SNAP: 0 };
  private boots = 0;

  constructor(
    readonly seed: number,
    opts: ClusterOptions,
  ) {
    this.ensemble = {
      voters: opts.voters,
      observers: opts.observers ?? [],
      initLimit: opts.initLimit ?? 10,
      syncLimit: opts.syncLimit ?? 5,
      ...(opts.unsafe === undefined ? {} : { unsafe: opts.unsafe }),
      ...(opts.maxDiffTxns === undefined ? {} : { maxDiffTxns: opts.maxDiffTxns }),
    };
    this.voterSet = new Set(opts.voters);
    this.all = [...opts.voters, ...(opts.observers ?? [])];
    this.tickMs = opts.tickMs ?? 10;
    this.electMs = 2 * this.tickMs;
    this.diskMaxMs = opts.diskMaxMs ?? 8;
    this.load = opts.load ?? 2;
    this.compactRate = opts.compactRate ?? 0.02;
    this.election = opts.election ?? 'fle';
  }

  protocol(): Protocol<SimServer, Wire, Disk> {
    return {
      boot: (id, persisted, now) => {
        const s = new SimServer(
          id,
          persisted ?? emptyDisk(),
          this,
          new Prng((this.seed * 7919 + ++this.boots * 104729 + id) >>> 0),
        );
        const effects = s.run(now, () => {
          s.out.push({ kind: 'setTimer', name: 'tick', afterMs: s.prng.int(1, this.tickMs) });
          s.lookForLeader();
        });
        return { node: s, effects };
      },
      receive: (s, from, w, now) => s.run(now, () => s.receive(from, w)),
      timer: (s, name, now) =>
        s.run(now, () => {
          if (name === 'tick') s.tick();
          else if (name === 'disk') s.disk();
          else if (name === 'elect') s.elect();
          else if (name === 'fle:notification' || name === 'fle:finalize') {
            if (s.fle !== undefined)
              s.election(
                s.fle.step({ type: 'timeout', timer: name === 'fle:finalize' ? 'finalize' : 'notification' }),
              );
          }
        }),
      link: (s, peer, up, now) =>
        s.run(now, () => {
          if (!up) s.reset(peer, true, false);
        }),
      format: (w) => {
        switch (w.k) {
          case 'zab':
            return `${formatMsg(w.msg)} [${w.gen}/${w.seq}]`;
          case 'rst':
            return `RST ${w.gen}`;
          case 'fle':
            return `${w.n.state} vote(${w.n.leader}, ${hexZxid(w.n.zxid)}, round ${w.n.electionEpoch}, epoch ${w.n.peerEpoch})`;
          case 'look':
            return `look epoch=${w.epoch} zxid=${hexZxid(w.zxid)}`;
          case 'leader':
            return `leader=${w.leader}`;
        }
      },
    };
  }
}

export interface RunOptions extends ClusterOptions {
  seed: number;
  /** Faults stop at this time (ms). */
  faultsUntilMs?: number;
  lossRate?: number;
  duplicateRate?: number;
  fifo?: boolean;
  crashEveryMs?: number;
  partitionEveryMs?: number;
  /** After faults end and every server is back: commits must resume within this (ms). */
  livenessWindowMs?: number;
  checkLiveness?: boolean;
  /** Frequent crashes and slow disks. */
  aggressive?: boolean;
  /** Event budget of the run (a livelock guard). */
  maxEvents?: number;
  trace?: number;
}

export interface RunResult {
  syncs: { DIFF: number; TRUNC: number; SNAP: number };
  commits: number;
  established: number;
  events: number;
  crashes: number;
  partitions: number;
  lost: number;
  duplicated: number;
}

/** One seeded run: faults, then a quiet period in which commits must resume. Throws SimError on a violation. */
export function runSeed(o: RunOptions): RunResult {
  const cluster = new Cluster(o.seed, o);
  const until = o.faultsUntilMs ?? 1000;
  const downMax = 300;
  const partMax = 300;
  const sim = new Simulation(cluster.protocol(), {
    seed: o.seed,
    ids: cluster.all,
    network: {
      minDelayMs: 1,
      maxDelayMs: 6,
      lossRate: o.lossRate ?? 0,
      duplicateRate: o.duplicateRate ?? 0,
      fifo: o.fifo ?? true,
    },
    faults: {
      untilMs: until,
      ...(o.crashEveryMs ? { crashEveryMs: o.crashEveryMs, downMs: [20, downMax] as const } : {}),
      ...(o.partitionEveryMs
        ? { partitionEveryMs: o.partitionEveryMs, partitionMs: [20, partMax] as const }
        : {}),
    },
    invariants: [() => cluster.checker.violation],
    trace: o.trace ?? 0,
    maxEvents: o.maxEvents ?? 400_000,
  });
  const settled = until + Math.max(downMax, partMax) + 1;
  sim.run(settled);
  if (o.checkLiveness ?? true) {
    const before = cluster.checker.chain.length;
    const window = o.livenessWindowMs ?? 1500;
    const ok = sim.runUntil(() => cluster.checker.chain.length >= before + 3, settled + window);
    if (!ok) {
      const roles = cluster.all
        .map((id) => {
          const n = sim.node(id);
          return `${id}:${n === undefined ? 'down' : `${n.host.role}${n.host.serving ? '*' : ''}`}`;
        })
        .join(' ');
      throw new SimError(
        'invariant',
        `seed ${o.seed}: no commits within ${window} ms after faults ended (${before} committed; ${roles})`,
        o.seed,
        sim.nowMs,
        sim.trace().slice(),
      );
    }
  }
  return {
    syncs: cluster.syncs,
    commits: cluster.checker.chain.length,
    established: cluster.checker.established,
    events: sim.stats.events,
    crashes: sim.stats.crashes,
    partitions: sim.stats.partitions,
    lost: sim.stats.lost,
    duplicated: sim.stats.duplicated,
  };
}

/** The fault mix of a seed (a pure function of the seed). */
export function scenario(seed: number, extra: Partial<RunOptions> = {}): RunOptions {
  const p = new Prng(seed ^ 0x5bd1e995);
  const shape = p.int(0, 9);
  const voters = shape < 5 ? [1, 2, 3] : shape < 8 ? [1, 2, 3, 4, 5] : [1, 2, 3];
  const observers = shape >= 8 ? [4] : [];
  const reorder = p.chance(0.1);
  // A third of the seeds (and every seed of `aggressive` runs): frequent crashes and slow disks,
  // so crashes often land between a write and its completion.
  const aggressive = extra.aggressive ?? p.chance(0.33);
  return {
    seed,
    voters,
    observers,
    lossRate: p.chance(0.5) ? p.int(1, 5) / 100 : 0,
    duplicateRate: p.chance(0.3) ? p.int(1, 3) / 100 : 0,
    fifo: !reorder,
    crashEveryMs: aggressive ? p.int(20, 80) : p.chance(0.8) ? p.int(100, 400) : 0,
    partitionEveryMs: p.chance(aggressive ? 0.3 : 0.6) ? p.int(150, 500) : 0,
    faultsUntilMs: 600,
    diskMaxMs: aggressive ? p.int(5, 30) : p.int(1, 12),
    compactRate: p.chance(0.5) ? 0.05 : 0,
    ...(p.chance(0.3) ? { maxDiffTxns: p.int(0, 10) } : {}),
    checkLiveness: !reorder,
    election: p.chance(0.4) ? 'standin' : 'fle',
    ...extra,
  };
}

export type { NodeId };
