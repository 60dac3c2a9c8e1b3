import { createServer, type Server, Socket } from 'node:net';
import { CodecError, encodeQuorumFrame, QUORUM_FRAME_HEADER, QuorumFrameDecoder } from '@zkts/codec';
import {
  type Decision,
  type ElectionOutput,
  type ElectionTimer,
  ElectionTransport,
  type EnsembleConfig,
  FastLeaderElection,
  membersOf,
  NamedTimers,
} from '@zkts/election';
import type { TxnSnapStore } from '@zkts/persistence';
import {
  type Txn,
  ZabError,
  ZabFollower,
  type ZabInput,
  ZabLeader,
  ZabObserver,
  type ZabOutput,
} from '@zkts/zab';
import { DiskAdapter } from './disk.js';
import { LoggedTxns } from './logged.js';

/** Severity of a log line. */
export type PeerLogLevel = 'debug' | 'info' | 'warn' | 'error';

import { assertNever, QuorumError } from './errors.js';
import {
  decodeCompact,
  encodeCompactFrame,
  type PeerZabMessage,
  QUORUM_CONNECTION_VERSION,
  type QuorumWireMessage,
  type SnapshotChunks,
  snapParts,
  toWire,
} from './wire.js';

/**
 * The replicated data, as the host keeps it. The peer calls `apply` for every committed txn in
 * zxid order (never twice for one zxid, never with a gap), `restore` when the state is replaced
 * (recovery from a local snapshot, or a SNAP from the leader), and `snapshot` when the leader must
 * send its state to a learner: it returns the state as of the last applied txn, synchronously.
 */
export interface ReplicatedStateMachine {
  apply(zxid: bigint, payload: Uint8Array): void;
  snapshot(): readonly Uint8Array[];
  /**
   * Optional: the state as of the last applied txn as a stream read later, a chunk at a time,
   * while txns keep being applied (a point-in-time view; a chunk may be reused once the next is
   * asked for). Used for the snapshots the store asks for, instead of `snapshot()`, so that a
   * large state is neither serialized at once nor held whole; `return()` is called when the
   * write ends, read to the end or not.
   */
  snapshotStream?(): Iterator<Uint8Array> & Iterable<Uint8Array>;
  restore(zxid: bigint, chunks: readonly Uint8Array[]): void;
}

/** ZooKeeper's server states. */
export type PeerRole = 'LOOKING' | 'LEADING' | 'FOLLOWING' | 'OBSERVING';

/** What a role change reports. */
export interface RoleChange {
  readonly role: PeerRole;
  /** The leader this server leads or follows; undefined while LOOKING. */
  readonly leaderId: number | undefined;
  /** Whether the role serves: the leader is established, or the learner got UPTODATE. */
  readonly serving: boolean;
  /** The leader's epoch once known (-1 before). */
  readonly epoch: bigint;
}

/**
 * What the leader does with a learner's forwarded request (`onForwarded`): propose a payload
 * (`onRefused` is called if it cannot be proposed after all, so the host can undo what it prepared),
 * or answer with a zxid the learner waits to have applied, proposing nothing (a sync).
 */
export type ForwardedAction =
  | { readonly propose: Uint8Array; readonly onRefused?: (err: QuorumError) => void }
  | { readonly waitFor: bigint };

/** The leader's view of its learners (for monitoring). */
export interface LearnerSummary {
  /** Learners connected to this leader. */
  readonly learners: number;
  /** Followers synchronised with this leader (they count for commits). */
  readonly syncedFollowers: number;
  /** Observers synchronised with this leader. */
  readonly syncedObservers: number;
  /** Learners still being synchronised. */
  readonly pendingSyncs: number;
}

export interface QuorumPeerOptions {
  /** The parsed zoo.cfg (`parseEnsembleConfig` of `@zkts/election`). */
  readonly config: EnsembleConfig;
  readonly myId: number;
  /** An opened store that has not been recovered yet: the peer recovers it on `start`. */
  readonly store: TxnSnapStore;
  readonly stateMachine: ReplicatedStateMachine;
  /** FastLeaderElection's finalize wait (default 200 ms, as ZooKeeper). */
  readonly finalizeWaitMs?: number;
  /** Cap of the election's notification time-out (default 60 s). */
  readonly maxNotificationIntervalMs?: number;
  /** Largest quorum frame on Zab connections, SNAP included (default 64 MiB). */
  readonly maxFrameSize?: number;
  /** Bytes queued on one Zab connection before it is closed as too slow (default 64 MiB). */
  readonly maxSendQueueBytes?: number;
  /**
   * Largest snapshot a learner accepts from its leader (SNAP travels in parts of at most a frame
   * each; default 4 GiB). A larger one closes the connection.
   */
  readonly maxSnapshotBytes?: number;
  /** Largest txn payload `propose` / `forward` accept (default 1 MiB). */
  readonly maxPayloadBytes?: number;
  /** Proposals in flight at the leader (Zab's maxOutstanding, default 1000). */
  readonly maxOutstanding?: number;
  /** Forwarded requests a learner waits for at most (default 10,000). */
  readonly maxPendingForwards?: number;
  /** Delay between a learner's attempts to connect to its leader (default 100 ms). */
  readonly connectRetryMs?: number;
  /** Address the quorum and election ports listen on (default: this server's host). */
  readonly listenHost?: string;
  readonly log?: (level: PeerLogLevel, message: string) => void;
  /**
   * Leader: turns a learner's forwarded request into what to do (default: propose it as is). Runs
   * only while this leader can propose. Throwing a QuorumError refuses the request with its kind.
   */
  readonly onForwarded?: (data: Uint8Array, from: number) => ForwardedAction;
}

interface Conn {
  readonly sid: number;
  readonly socket: Socket;
  /** Frames written in this turn of the event loop are gathered and leave together (one syscall). */
  corked: boolean;
  /**
   * A SNAP leaving in parts, paced by the socket draining; the frames made meanwhile wait in
   * `backlog` (bounded by maxSendQueueBytes) and follow the last part.
   */
  snap?: { parts: Iterator<QuorumWireMessage>; backlog: Uint8Array[]; backlogBytes: number };
}

/** A SNAP leaves in parts of about this many bytes (less when frames are smaller). */
const SNAP_PART_BYTES = 1024 * 1024;
/** Parts are written while the connection has less than this queued. */
const SNAP_PACE_BYTES = 4 * 1024 * 1024;

interface Waiter {
  resolve(zxid: bigint): void;
  reject(err: QuorumError): void;
}

type Core =
  | ZabLeader<Uint8Array, SnapshotChunks>
  | ZabFollower<Uint8Array, SnapshotChunks>
  | ZabObserver<Uint8Array, SnapshotChunks>;

interface LeaderRole {
  readonly kind: 'leader';
  readonly gen: number;
  readonly core: ZabLeader<Uint8Array, SnapshotChunks>;
  readonly conns: Map<number, Conn>;
  /** Proposals made here, by zxid, resolved when applied. */
  readonly proposals: Map<bigint, Waiter>;
  tick: NodeJS.Timeout | undefined;
  serving: boolean;
  /** The snapshot of the epoch's start (see `snapshotWhenLeading`). */
  epochSnapshot: 'not-yet' | 'wanted' | 'scheduled' | 'done';
}

interface LearnerRole {
  readonly kind: 'learner';
  readonly gen: number;
  readonly observer: boolean;
  readonly leaderId: number;
  readonly core: ZabFollower<Uint8Array, SnapshotChunks> | ZabObserver<Uint8Array, SnapshotChunks>;
  conn: Conn | undefined;
  /** The socket of a connection attempt in progress. */
  connecting: Socket | undefined;
  retry: NodeJS.Timeout | undefined;
  /** Frames produced before the connection is up (bounded). */
  readonly outbox: QuorumWireMessage[];
  /** The parts of a SNAP received so far (see `snap` in wire.ts). */
  snapIn: { zxid: bigint; chunks: Uint8Array[]; bytes: number } | undefined;
  /** Forwarded requests waiting for the leader's reply, by request id. */
  readonly forwards: Map<number, Waiter>;
  tick: NodeJS.Timeout | undefined;
  serving: boolean;
}

type Role = LeaderRole | LearnerRole;

/** Connections to the quorum port whose server is not leading yet (adopted when it leads). */
interface PendingConn {
  readonly socket: Socket;
  readonly decoder: QuorumFrameDecoder;
  readonly frames: unknown[];
  readonly timer: NodeJS.Timeout;
}

const MAX_OUTBOX = 10_000;
const MAX_PENDING_FRAMES = 1_000;
const MAX_PENDING_CONNS = 64;

/**
 * One ensemble member's consensus, run for real: FastLeaderElection over the election ports
 * (`ElectionTransport`), then Zab (`ZabLeader` / `ZabFollower` / `ZabObserver`) over TCP on the
 * quorum port, Zab's disk writes on a `TxnSnapStore`, ticks from a real timer, and back to the
 * election when the role ends. The host supplies the replicated state (`ReplicatedStateMachine`),
 * proposes at the leader and forwards from learners.
 */
export class QuorumPeer {
  private readonly voters: number[];
  private readonly observers: number[];
  private readonly fle: FastLeaderElection;
  private readonly transport: ElectionTransport;
  private readonly fleTimers = new NamedTimers<ElectionTimer>();
  private readonly disk: DiskAdapter;
  private server: Server | undefined;
  private readonly pendingConns = new Map<number, PendingConn>();
  private readonly handshaking = new Set<Socket>();

  private acceptedEpoch = 0n;
  private _currentEpoch = 0n;
  /** The last txn applied to the state machine (committed). */
  private applied = 0n;
  /** Logged (written or queued) txns above `applied`, ascending. */
  private mirror = new LoggedTxns();
  /** Forwards answered by the leader, waiting until this server applied their zxid. */
  private readonly appliedWaiters: Array<{
    zxid: bigint;
    resolve(z: bigint): void;
    reject(e: QuorumError): void;
  }> = [];

  private role: Role | undefined;
  private unsubscribeSnapshots: (() => void) | undefined;
  /** The store asked for a snapshot that is not taken yet. */
  private snapshotWanted = false;
  private lastSnapshotZxid = 0n;
  private gen = 0;
  private nextRequestId = 0;
  private _role: PeerRole = 'LOOKING';
  private started = false;
  private closed = false;
  private readonly roleListeners = new Set<(c: RoleChange) => void>();
  private readonly commitListeners = new Set<(zxid: bigint, payload: Uint8Array) => void>();
  private readonly stoppedListeners = new Set<(err: QuorumError) => void>();
  private readonly learnerListeners = new Set<(from: number, data: Uint8Array) => void>();

  private readonly maxFrame: number;
  private readonly maxQueue: number;
  private readonly maxSnapshot: number;
  private readonly maxPayload: number;
  private readonly maxForwards: number;
  private readonly retryMs: number;

  constructor(private readonly opts: QuorumPeerOptions) {
    const me = opts.config.servers.get(opts.myId);
    if (me === undefined) throw new QuorumError('config', `no server.${opts.myId} line in the configuration`);
    const { voters, observers } = membersOf(opts.config);
    this.voters = voters;
    this.observers = observers;
    this.maxFrame = opts.maxFrameSize ?? 64 * 1024 * 1024;
    this.maxQueue = opts.maxSendQueueBytes ?? 64 * 1024 * 1024;
    this.maxSnapshot = opts.maxSnapshotBytes ?? 4 * 1024 ** 3;
    this.maxPayload = opts.maxPayloadBytes ?? 1024 * 1024;
    this.maxForwards = opts.maxPendingForwards ?? 10_000;
    this.retryMs = opts.connectRetryMs ?? 100;
    for (const [name, v] of [
      ['maxFrameSize', this.maxFrame],
      ['maxSendQueueBytes', this.maxQueue],
      ['maxSnapshotBytes', this.maxSnapshot],
      ['maxPayloadBytes', this.maxPayload],
      ['maxPendingForwards', this.maxForwards],
      ['connectRetryMs', this.retryMs],
    ] as const) {
      if (!Number.isInteger(v) || v < 1)
        throw new QuorumError('config', `${name} must be a positive integer`);
    }
    this.fle = new FastLeaderElection({
      myId: opts.myId,
      voters,
      observers,
      finalizeWaitMs: opts.finalizeWaitMs,
      maxNotificationIntervalMs: opts.maxNotificationIntervalMs,
    });
    this.transport = new ElectionTransport({
      myId: opts.myId,
      servers: opts.config.servers,
      listenHost: opts.listenHost,
      onMessage: (from, msg) => {
        if (msg.kind === 'fle') this.runFle(this.fle.step({ type: 'notification', from, n: msg.n }));
      },
      onPeerReachability: (sid, reachable) =>
        this.runFle(this.fle.step({ type: 'peerReachability', sid, reachable })),
      log: (level, message) => this.log(level, message),
    });
    this.disk = new DiskAdapter(opts.store, (err) => this.diskFailed(err));
  }

  // --- public API ---

  /** The server state: LOOKING, LEADING, FOLLOWING or OBSERVING. */
  get state(): PeerRole {
    return this._role;
  }

  /** The leader this server leads or follows; undefined while LOOKING. */
  get leaderId(): number | undefined {
    const r = this.role;
    if (r === undefined) return undefined;
    return r.kind === 'leader' ? this.opts.myId : r.leaderId;
  }

  /** Whether this server serves: an established leader or a learner that got UPTODATE. */
  get serving(): boolean {
    return this.role?.serving ?? false;
  }

  /** The epoch of the current leader once known, else the persisted currentEpoch. */
  get epoch(): bigint {
    const r = this.role;
    if (r !== undefined) {
      const e = r.kind === 'leader' ? r.core.epoch : r.core.leaderEpoch;
      if (e >= 0n) return e;
    }
    return this._currentEpoch;
  }

  /** The epoch of the last leader this server synchronised with (persisted). */
  get currentEpoch(): bigint {
    return this._currentEpoch;
  }

  /** The last zxid logged (durable or queued). */
  get lastZxid(): bigint {
    return this.mirror.last?.zxid ?? this.applied;
  }

  /**
   * Leader only: the zxid the next `propose` gets, so that the host can prepare a txn for it;
   * undefined unless this server is the established leader.
   */
  get nextZxid(): bigint | undefined {
    const r = this.role;
    if (r?.kind !== 'leader' || !r.serving) return undefined;
    const epoch = r.core.epoch;
    const last = this.lastZxid;
    return last >> 32n === epoch ? last + 1n : (epoch << 32n) | 1n;
  }

  /** Whether `propose` would accept a payload now (established leader, under maxOutstanding). */
  get canPropose(): boolean {
    const r = this.role;
    return !this.closed && r?.kind === 'leader' && r.serving && r.core.canPropose;
  }

  /** Leader only: its learners, by synchronisation state; undefined when not leading. */
  learnerSummary(): LearnerSummary | undefined {
    const r = this.role;
    if (r?.kind !== 'leader') return undefined;
    let syncedFollowers = 0;
    let syncedObservers = 0;
    let pendingSyncs = 0;
    const views = r.core.learners;
    for (const l of views) {
      const synced = l.phase === 'synced' || l.phase === 'upToDate';
      if (!synced) pendingSyncs++;
      else if (l.observer) syncedObservers++;
      else syncedFollowers++;
    }
    return { learners: views.length, syncedFollowers, syncedObservers, pendingSyncs };
  }

  /** The last zxid applied to the state machine. */
  get appliedZxid(): bigint {
    return this.applied;
  }

  /** Called on every role change (and when a role starts serving). Returns an unsubscribe function. */
  onRoleChange(listener: (change: RoleChange) => void): () => void {
    this.roleListeners.add(listener);
    return () => this.roleListeners.delete(listener);
  }

  /**
   * Called when the peer stops by itself (fail-stop): a disk write failed (`disk`) or the state
   * machine threw (`state-machine`). The peer is closed; the process should restart it.
   */
  onStopped(listener: (err: QuorumError) => void): () => void {
    this.stoppedListeners.add(listener);
    return () => this.stoppedListeners.delete(listener);
  }

  /** Called for every committed txn, in zxid order, right after the state machine applied it. */
  /** Leader: the `tellLeader` notices of its learners. */
  onLearnerMessage(listener: (from: number, data: Uint8Array) => void): () => void {
    this.learnerListeners.add(listener);
    return () => this.learnerListeners.delete(listener);
  }

  /**
   * Learner: sends a notice to the leader, fire and forget (dropped, returning false, unless this
   * server is a synced learner connected to its leader).
   */
  tellLeader(data: Uint8Array): boolean {
    const r = this.role;
    if (this.closed || r?.kind !== 'learner' || !r.serving || r.conn === undefined) return false;
    if (data.length > this.maxPayload) return false;
    this.write(r.conn, { t: 'app', data });
    return true;
  }

  /**
   * Resolves once the state machine applied `zxid` (at once if it has); rejects with `closed`
   * when the peer closes first.
   */
  whenApplied(zxid: bigint): Promise<bigint> {
    if (zxid <= this.applied) return Promise.resolve(this.applied);
    if (this.closed) return Promise.reject(new QuorumError('closed', 'the peer is closed'));
    if (this.appliedWaiters.length >= this.maxForwards) {
      return Promise.reject(
        new QuorumError('overloaded', `${this.appliedWaiters.length} waits for applied txns in flight`),
      );
    }
    return new Promise<bigint>((resolve, reject) => {
      this.appliedWaiters.push({ zxid, resolve, reject });
      this.appliedWaiters.sort((a, b) => (a.zxid < b.zxid ? -1 : a.zxid > b.zxid ? 1 : 0));
    });
  }

  onCommit(listener: (zxid: bigint, payload: Uint8Array) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /**
   * Recovers the store (snapshot into the state machine, logged txns kept to be re-applied once
   * committed), reads the epochs, listens on the quorum and election ports and starts looking.
   */
  async start(): Promise<void> {
    if (this.started) throw new QuorumError('config', 'start() called twice');
    this.started = true;
    let snap: { zxid: bigint; chunks: Uint8Array[] } | undefined;
    const logged: Txn<Uint8Array>[] = [];
    await this.opts.store.recover({
      onSnapshot: async (zxid, it) => {
        const chunks: Uint8Array[] = [];
        for await (const c of it) chunks.push(c);
        snap = { zxid, chunks };
      },
      onTxn: (zxid, payload) => {
        logged.push({ zxid, data: payload });
      },
    });
    if (snap !== undefined) {
      this.opts.stateMachine.restore(snap.zxid, snap.chunks);
      this.applied = snap.zxid;
      this.lastSnapshotZxid = snap.zxid;
    }
    this.mirror = new LoggedTxns(logged);
    this.mirror.dropThrough(this.applied);
    this.acceptedEpoch = (await this.opts.store.readEpoch('acceptedEpoch')) ?? 0n;
    this._currentEpoch = (await this.opts.store.readEpoch('currentEpoch')) ?? 0n;
    if (this._currentEpoch > this.acceptedEpoch) this.acceptedEpoch = this._currentEpoch;
    this.unsubscribeSnapshots = this.opts.store.onSnapshotDue(() => this.takeSnapshot());
    try {
      await this.listen();
      await this.transport.listen();
    } catch (e) {
      await this.close();
      throw e instanceof QuorumError ? e : new QuorumError('config', (e as Error)?.message ?? String(e));
    }
    this.log(
      'info',
      `Recovered: snapshot ${hex(this.applied)}, ${this.mirror.size} logged txns after it, acceptedEpoch ${this.acceptedEpoch}, currentEpoch ${this._currentEpoch}`,
    );
    this.lookForLeader();
  }

  /**
   * Leader only: replicates `payload`; resolves with its zxid once a quorum logged it durably and
   * it was applied here. Rejects with `not-leader` unless this server is the established leader,
   * `overloaded` beyond maxOutstanding, `outcome-unknown` when leadership is lost first.
   */
  propose(payload: Uint8Array): Promise<bigint> {
    try {
      return this.proposeNow(payload);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Follower or observer: sends `payload` to the leader over the Zab connection; resolves with
   * its zxid once the leader committed it and this server applied it. Rejects with `not-ready`
   * unless this server is a synced learner, `overloaded`, or `outcome-unknown` when the leader
   * connection is lost before the answer.
   */
  forward(payload: Uint8Array): Promise<bigint> {
    const r = this.role;
    if (this.closed) return Promise.reject(new QuorumError('closed', 'the peer is closed'));
    if (r === undefined || r.kind !== 'learner' || !r.serving || r.conn === undefined) {
      return Promise.reject(
        new QuorumError('not-ready', `cannot forward while ${this._role} and not synced`),
      );
    }
    if (payload.length > this.maxPayload) {
      return Promise.reject(
        new QuorumError('limit', `payload of ${payload.length} bytes exceeds ${this.maxPayload}`),
      );
    }
    if (r.forwards.size >= this.maxForwards) {
      return Promise.reject(new QuorumError('overloaded', `${r.forwards.size} forwarded requests in flight`));
    }
    const id = ++this.nextRequestId;
    return new Promise<bigint>((resolve, reject) => {
      r.forwards.set(id, { resolve, reject });
      this.sendLearner(r, { t: 'req', id, data: payload });
    });
  }

  /** Writes through the leader whatever this server's role: `propose` when leading, else `forward`. */
  submit(payload: Uint8Array): Promise<bigint> {
    return this.role?.kind === 'leader' ? this.propose(payload) : this.forward(payload);
  }

  /** Stops: closes every connection and listener, waits for queued disk writes. The store stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribeSnapshots?.();
    this.endRole(new QuorumError('closed', 'the peer is closed'));
    this.fleTimers.clear();
    for (const w of this.appliedWaiters.splice(0)) w.reject(new QuorumError('closed', 'the peer is closed'));
    for (const p of this.pendingConns.values()) {
      clearTimeout(p.timer);
      p.socket.destroy();
    }
    this.pendingConns.clear();
    for (const s of this.handshaking) s.destroy();
    this.handshaking.clear();
    await this.transport.close();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
    await this.disk.drain();
  }

  // --- election ---

  private lookForLeader(): void {
    this.setRole('LOOKING');
    this.runFle(this.fle.step({ type: 'start', currentEpoch: this._currentEpoch, lastZxid: this.lastZxid }));
  }

  private runFle(outs: readonly ElectionOutput[]): void {
    if (this.closed) return;
    for (const o of outs) {
      switch (o.type) {
        case 'send':
          this.transport.send(o.to, { kind: 'fle', n: o.n });
          break;
        case 'setTimer': {
          const timer = o.timer;
          this.fleTimers.set(timer, o.afterMs, () => this.runFle(this.fle.step({ type: 'timeout', timer })));
          break;
        }
        case 'cancelTimer':
          this.fleTimers.cancel(o.timer);
          break;
        case 'decided':
          if (this.role === undefined) this.startRole(o);
          break;
        case 'log':
          this.log(o.level, o.message);
          break;
        default:
          assertNever(o);
      }
    }
  }

  // --- roles ---

  private startRole(d: Decision): void {
    const gen = ++this.gen;
    const disk = {
      acceptedEpoch: this.acceptedEpoch,
      currentEpoch: this._currentEpoch,
      // The state machine is the snapshot the role starts from: what follows it is re-applied once
      // committed (see the README on why this, and not the snapshot file, is the base).
      snapshotZxid: this.applied,
      log: this.mirror.toArray(),
    };
    const { initLimit, syncLimit } = this.opts.config;
    const zcfg = {
      myId: this.opts.myId,
      voters: this.voters,
      observers: this.observers,
      initLimit,
      syncLimit,
      maxOutstanding: this.opts.maxOutstanding,
    };
    if (d.state === 'LEADING') {
      const role: LeaderRole = {
        kind: 'leader',
        gen,
        core: new ZabLeader<Uint8Array, SnapshotChunks>(zcfg, disk),
        conns: new Map(),
        proposals: new Map(),
        tick: undefined,
        serving: false,
        epochSnapshot: 'not-yet',
      };
      this.role = role;
      this.setRole('LEADING');
      this.startTicks(role);
      this.feed(role, { type: 'start' });
      for (const [sid, p] of [...this.pendingConns]) {
        this.pendingConns.delete(sid);
        clearTimeout(p.timer);
        this.adopt(role, sid, p.socket, p.decoder, p.frames);
      }
      return;
    }
    for (const p of this.pendingConns.values()) {
      clearTimeout(p.timer);
      p.socket.destroy();
    }
    this.pendingConns.clear();
    const observer = d.state === 'OBSERVING';
    const lcfg = { ...zcfg, leaderId: d.vote.leader };
    const role: LearnerRole = {
      kind: 'learner',
      gen,
      observer,
      leaderId: d.vote.leader,
      core: observer
        ? new ZabObserver<Uint8Array, SnapshotChunks>(lcfg, disk)
        : new ZabFollower<Uint8Array, SnapshotChunks>(lcfg, disk),
      conn: undefined,
      connecting: undefined,
      retry: undefined,
      outbox: [],
      snapIn: undefined,
      forwards: new Map(),
      tick: undefined,
      serving: false,
    };
    this.role = role;
    this.setRole(observer ? 'OBSERVING' : 'FOLLOWING');
    this.startTicks(role);
    this.feed(role, { type: 'start' });
    this.connectToLeader(role);
  }

  private startTicks(role: Role): void {
    role.tick = setInterval(() => this.feed(role, { type: 'tick' }), this.opts.config.tickTime);
  }

  /** Ends the current role (no election): connections closed, waiters rejected. */
  private endRole(err: QuorumError): void {
    const r = this.role;
    if (r === undefined) return;
    this.role = undefined;
    if (r.tick) clearInterval(r.tick);
    if (r.kind === 'leader') {
      for (const c of r.conns.values()) c.socket.destroy();
      r.conns.clear();
      for (const w of r.proposals.values()) w.reject(err);
      r.proposals.clear();
    } else {
      if (r.retry) clearTimeout(r.retry);
      r.connecting?.destroy();
      r.connecting = undefined;
      r.conn?.socket.destroy();
      r.conn = undefined;
      for (const w of r.forwards.values()) w.reject(err);
      r.forwards.clear();
    }
  }

  private feed(role: Role, input: ZabInput<Uint8Array, SnapshotChunks>): void {
    if (this.role !== role || this.closed) return;
    this.run(role, (role.core as Core).step(input));
  }

  private run(role: Role, outs: readonly ZabOutput<Uint8Array, SnapshotChunks>[]): void {
    for (const o of outs) {
      if (this.role !== role || this.closed) return;
      switch (o.type) {
        case 'send':
          this.sendZab(role, o.to, o.msg);
          break;
        case 'sendSnapshot': {
          if (o.zxid !== this.applied) {
            this.log('error', `SNAP at ${hex(o.zxid)} but the state machine is at ${hex(this.applied)}`);
          }
          let snapshot: SnapshotChunks;
          try {
            snapshot = this.opts.stateMachine.snapshot();
          } catch (e) {
            this.fatal('state-machine', `snapshot threw: ${(e as Error)?.message ?? String(e)}`);
            return;
          }
          this.sendZab(role, o.to, { type: 'SNAP', zxid: o.zxid, snapshot });
          break;
        }
        case 'disk': {
          this.mirrorWrite(o.write);
          const seq = o.seq;
          this.disk.write(o.write, () => this.feed(role, { type: 'diskDone', seq }));
          break;
        }
        case 'apply':
          this.applyTxn(role, o.txn.zxid, o.txn.data);
          break;
        case 'restore':
          try {
            this.opts.stateMachine.restore(o.zxid, o.snapshot);
          } catch (e) {
            this.fatal(
              'state-machine',
              `restore ${hex(o.zxid)} threw: ${(e as Error)?.message ?? String(e)}`,
            );
            return;
          }
          this.applied = o.zxid;
          // The SNAP is written to disk as a snapshot too (Zab's disk output).
          if (o.zxid > this.lastSnapshotZxid) this.lastSnapshotZxid = o.zxid;
          this.mirror.dropThrough(o.zxid);
          this.log('info', `Restored the state from the leader's snapshot at ${hex(o.zxid)}`);
          this.releaseApplied();
          break;
        case 'disconnect':
          if (role.kind === 'leader') {
            const c = role.conns.get(o.peer);
            if (c !== undefined) {
              role.conns.delete(o.peer);
              c.socket.destroy();
            }
          } else role.conn?.socket.destroy();
          break;
        case 'established':
        case 'synced':
          role.serving = true;
          this.log('info', `${o.type === 'established' ? 'Established' : 'Synced'} in epoch ${o.epoch}`);
          this.emitRole();
          if (role.kind === 'leader') role.epochSnapshot = 'wanted';
          break;
        case 'lookForLeader':
          this.log('warn', `Leaving ${this._role}: ${o.reason}: ${o.detail}`);
          this.endRole(
            new QuorumError('outcome-unknown', `the role ended (${o.reason}) before the outcome was known`),
          );
          if (!this.disk.failed) this.lookForLeader();
          return;
        default:
          assertNever(o);
      }
    }
  }

  private mirrorWrite(op: Extract<ZabOutput<Uint8Array, SnapshotChunks>, { type: 'disk' }>['write']): void {
    switch (op.op) {
      case 'append':
        for (const t of op.txns) if (t.zxid > this.lastZxid) this.mirror.push(t);
        break;
      case 'truncate':
        this.mirror.keepThrough(op.zxid);
        break;
      case 'snapshot':
        this.mirror.dropThrough(op.zxid);
        break;
      case 'acceptedEpoch':
        this.acceptedEpoch = op.epoch;
        break;
      case 'currentEpoch':
        this._currentEpoch = op.epoch;
        break;
      default:
        assertNever(op);
    }
  }

  private applyTxn(role: Role, zxid: bigint, data: Uint8Array): void {
    if (zxid <= this.applied) return;
    try {
      this.opts.stateMachine.apply(zxid, data);
    } catch (e) {
      this.fatal('state-machine', `apply ${hex(zxid)} threw: ${(e as Error)?.message ?? String(e)}`);
      return;
    }
    this.applied = zxid;
    this.mirror.dropThrough(zxid);
    for (const l of this.commitListeners) l(zxid, data);
    if (this.snapshotWanted) this.maybeSnapshot();
    if (role.kind === 'leader') {
      if (role.epochSnapshot === 'wanted' && zxid >> 32n === role.core.epoch) this.snapshotWhenLeading(role);
      const w = role.proposals.get(zxid);
      if (w !== undefined) {
        role.proposals.delete(zxid);
        w.resolve(zxid);
      }
    }
    this.releaseApplied();
  }

  private releaseApplied(): void {
    while (
      this.appliedWaiters.length > 0 &&
      (this.appliedWaiters[0] as { zxid: bigint }).zxid <= this.applied
    ) {
      const w = this.appliedWaiters.shift() as { zxid: bigint; resolve(z: bigint): void };
      w.resolve(w.zxid);
    }
  }

  private proposeNow(payload: Uint8Array): Promise<bigint> {
    if (this.closed) throw new QuorumError('closed', 'the peer is closed');
    const r = this.role;
    if (r === undefined || r.kind !== 'leader' || !r.serving) {
      throw new QuorumError(
        'not-leader',
        `this server is ${this._role}${r?.serving === false ? ' (not established)' : ''}`,
      );
    }
    if (payload.length > this.maxPayload) {
      throw new QuorumError('limit', `payload of ${payload.length} bytes exceeds ${this.maxPayload}`);
    }
    let outs: ZabOutput<Uint8Array, SnapshotChunks>[];
    try {
      outs = r.core.step({ type: 'propose', data: payload });
    } catch (e) {
      if (e instanceof ZabError && e.kind === 'overloaded') throw new QuorumError('overloaded', e.message);
      if (e instanceof ZabError) throw new QuorumError('not-leader', e.message);
      throw e;
    }
    let zxid: bigint | undefined;
    for (const o of outs) {
      if (o.type === 'disk' && o.write.op === 'append') zxid = o.write.txns[o.write.txns.length - 1]?.zxid;
    }
    const p =
      zxid === undefined
        ? Promise.reject(new QuorumError('outcome-unknown', 'the leader stepped down instead of proposing'))
        : new Promise<bigint>((resolve, reject) => r.proposals.set(zxid, { resolve, reject }));
    this.run(r, outs);
    return p;
  }

  // --- Zab connections ---

  private sendZab(role: Role, to: number, m: PeerZabMessage): void {
    if (role.kind === 'leader') {
      const c = role.conns.get(to);
      if (c === undefined) return;
      // A broadcast (PROPOSAL, COMMIT, INFORM of one zxid) is the same bytes for every learner:
      // encoded once.
      const key =
        m.type === 'PROPOSAL' || m.type === 'COMMIT' || m.type === 'INFORM'
          ? `${m.type}${m.zxid}`
          : undefined;
      if (key !== undefined && this.lastEncoded?.key === key) {
        this.writeFrame(c, this.lastEncoded.frame);
        return;
      }
      if (m.type === 'SNAP') {
        this.sendSnap(c, m.zxid, m.snapshot);
        return;
      }
      const frame = this.encode(c, { t: 'zab', m });
      if (frame === undefined) return;
      if (key !== undefined) this.lastEncoded = { key, frame };
      this.writeFrame(c, frame);
    } else this.sendLearner(role, { t: 'zab', m });
  }

  private lastEncoded: { key: string; frame: Uint8Array } | undefined;

  private sendLearner(role: LearnerRole, msg: QuorumWireMessage): void {
    if (role.conn !== undefined) {
      this.write(role.conn, msg);
      return;
    }
    if (role.outbox.length >= MAX_OUTBOX) {
      this.log('warn', `Dropping the connection to leader ${role.leaderId}: ${MAX_OUTBOX} messages queued`);
      this.feed(role, { type: 'disconnected', peer: role.leaderId });
      return;
    }
    role.outbox.push(msg);
  }

  /** Writes one frame; a connection whose queue is over its bound is closed (its close is reported). */
  private write(c: Conn, msg: QuorumWireMessage): void {
    if (c.socket.destroyed) return;
    const frame = this.encode(c, msg);
    if (frame !== undefined) this.writeFrame(c, frame);
  }

  /** A message as a frame; undefined (and the connection closed) if it cannot be encoded. */
  private encode(c: Conn, msg: QuorumWireMessage): Uint8Array | undefined {
    try {
      const compact = encodeCompactFrame(msg);
      if (compact === undefined) return encodeQuorumFrame(msg, { maxFrameSize: this.maxFrame });
      if (compact.length - QUORUM_FRAME_HEADER > this.maxFrame) {
        throw new CodecError(
          'frame-too-large',
          `quorum frame of ${compact.length} bytes exceeds ${this.maxFrame}`,
        );
      }
      return compact;
    } catch (e) {
      this.log('error', `Closing the connection to ${c.sid}: ${(e as Error).message}`);
      c.socket.destroy();
      return undefined;
    }
  }

  /**
   * Sends a SNAP in parts (see `snap` in wire.ts), a few MiB queued at a time: a snapshot may be
   * larger than a frame and than the send queue's bound.
   */
  private sendSnap(c: Conn, zxid: bigint, chunks: SnapshotChunks): void {
    if (c.socket.destroyed) return;
    const partBytes = Math.max(1, Math.min(SNAP_PART_BYTES, this.maxFrame - 1024));
    c.snap = { parts: snapParts(zxid, chunks, partBytes), backlog: [], backlogBytes: 0 };
    this.pumpSnap(c);
  }

  private pumpSnap(c: Conn): void {
    const snap = c.snap;
    if (snap === undefined || c.socket.destroyed) return;
    while (c.socket.writableLength < SNAP_PACE_BYTES) {
      const next = snap.parts.next();
      if (next.done === true) {
        c.snap = undefined;
        for (const f of snap.backlog) this.writeFrame(c, f);
        return;
      }
      const frame = this.encode(c, next.value);
      if (frame === undefined) return;
      this.queueFrame(c, frame);
    }
    c.socket.once('drain', () => this.pumpSnap(c));
  }

  private writeFrame(c: Conn, frame: Uint8Array): void {
    if (c.socket.destroyed) return;
    const snap = c.snap;
    if (snap !== undefined) {
      // Behind a SNAP still leaving: in order, after its last part.
      if (snap.backlogBytes + frame.length > this.maxQueue) {
        this.log('warn', `Closing the connection to ${c.sid}: more than ${this.maxQueue} bytes queued`);
        c.socket.destroy();
        return;
      }
      snap.backlog.push(frame);
      snap.backlogBytes += frame.length;
      return;
    }
    this.queueFrame(c, frame);
  }

  private queueFrame(c: Conn, frame: Uint8Array): void {
    if (c.socket.writableLength + frame.length > this.maxQueue) {
      this.log('warn', `Closing the connection to ${c.sid}: more than ${this.maxQueue} bytes queued`);
      c.socket.destroy();
      return;
    }
    // Frames made anywhere in this turn of the event loop (every socket event of one poll, not just
    // the current one) leave together: under load a follower gets one write carrying many
    // PROPOSALs and COMMITs instead of a syscall per event, the biggest cost a leader had.
    if (!c.corked) {
      c.corked = true;
      c.socket.cork();
      setImmediate(() => {
        c.corked = false;
        c.socket.uncork();
      });
    }
    c.socket.write(frame);
  }

  private listen(): Promise<void> {
    const me = this.opts.config.servers.get(this.opts.myId);
    if (me === undefined) throw new QuorumError('config', `no server.${this.opts.myId}`);
    return new Promise((resolve, reject) => {
      const server = createServer((s) => this.accept(s));
      server.once('error', (e) =>
        reject(new QuorumError('config', `cannot listen on quorum port ${me.quorumPort}: ${e.message}`)),
      );
      server.listen(me.quorumPort, this.opts.listenHost ?? me.host, () => {
        this.server = server;
        resolve();
      });
    });
  }

  private accept(socket: Socket): void {
    if (this.closed || this.handshaking.size >= MAX_PENDING_CONNS) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.handshaking.add(socket);
    const decoder = new QuorumFrameDecoder({ maxFrameSize: this.maxFrame, decodeOther: decodeCompact });
    const timeoutMs = this.opts.config.tickTime * this.opts.config.initLimit;
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.handshaking.delete(socket));
    const onData = (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        this.log('warn', `Closing quorum connection from ${socket.remoteAddress}: ${(e as Error).message}`);
        socket.destroy();
        return;
      }
      if (frames.length === 0) return;
      socket.off('data', onData);
      socket.setTimeout(0);
      this.handshaking.delete(socket);
      const hello = toWire(frames[0]);
      const sid = hello?.t === 'hello' ? hello.sid : undefined;
      if (
        hello?.t !== 'hello' ||
        hello.protocol !== QUORUM_CONNECTION_VERSION ||
        sid === undefined ||
        sid === this.opts.myId ||
        !this.opts.config.servers.has(sid)
      ) {
        this.log('warn', `Closing quorum connection from ${socket.remoteAddress}: bad handshake`);
        socket.destroy();
        return;
      }
      const r = this.role;
      if (r?.kind === 'leader') {
        this.adopt(r, sid, socket, decoder, frames.slice(1));
        return;
      }
      if (r !== undefined || this.pendingConns.size >= MAX_PENDING_CONNS) {
        // Not leading: the learner gives up and looks again.
        socket.destroy();
        return;
      }
      // Still looking: keep it until this server leads (or not).
      const old = this.pendingConns.get(sid);
      if (old) {
        clearTimeout(old.timer);
        old.socket.destroy();
      }
      const pending: PendingConn = {
        socket,
        decoder,
        frames: frames.slice(1),
        timer: setTimeout(() => {
          if (this.pendingConns.get(sid) === pending) this.pendingConns.delete(sid);
          socket.destroy();
        }, timeoutMs),
      };
      this.pendingConns.set(sid, pending);
      const buffer = (c: Buffer) => {
        try {
          pending.frames.push(...decoder.push(c));
        } catch {
          socket.destroy();
        }
        if (pending.frames.length > MAX_PENDING_FRAMES) socket.destroy();
      };
      socket.on('data', buffer);
      socket.once('close', () => {
        if (this.pendingConns.get(sid) === pending) {
          clearTimeout(pending.timer);
          this.pendingConns.delete(sid);
        }
      });
    };
    socket.on('data', onData);
  }

  /** A learner's connection joins the leader role. */
  private adopt(
    role: LeaderRole,
    sid: number,
    socket: Socket,
    decoder: QuorumFrameDecoder,
    early: unknown[],
  ): void {
    socket.removeAllListeners('data');
    const old = role.conns.get(sid);
    if (old !== undefined) {
      role.conns.delete(sid);
      old.socket.destroy();
      this.feed(role, { type: 'disconnected', peer: sid });
    }
    const conn: Conn = { sid, socket, corked: false };
    role.conns.set(sid, conn);
    socket.on('close', () => {
      if (role.conns.get(sid) !== conn) return;
      role.conns.delete(sid);
      this.feed(role, { type: 'disconnected', peer: sid });
    });
    const handle = (f: unknown) => {
      if (role.conns.get(sid) !== conn) return;
      const w = toWire(f);
      if (w === undefined || w.t === 'hello' || w.t === 'rep' || w.t === 'snap') {
        this.log('warn', `Closing the connection of learner ${sid}: malformed or unexpected message`);
        socket.destroy();
        return;
      }
      if (w.t === 'zab') this.feed(role, { type: 'message', from: sid, msg: w.m });
      else if (w.t === 'app') {
        for (const l of this.learnerListeners) l(sid, w.data);
      } else this.forwarded(conn, w.id, w.data);
    };
    socket.on('data', (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        this.log('warn', `Closing the connection of learner ${sid}: ${(e as Error).message}`);
        socket.destroy();
        return;
      }
      for (const f of frames) handle(f);
    });
    for (const f of early) handle(f);
  }

  /** A learner's forwarded write, at the leader. */
  private forwarded(conn: Conn, id: number, data: Uint8Array): void {
    let result: Promise<bigint>;
    const hook = this.opts.onForwarded;
    if (hook === undefined) result = this.propose(data);
    else if (!this.canPropose) {
      result = Promise.reject(
        new QuorumError(this.role?.kind === 'leader' ? 'overloaded' : 'not-leader', 'cannot propose now'),
      );
    } else {
      try {
        const action = hook(data, conn.sid);
        if ('waitFor' in action) result = Promise.resolve(action.waitFor);
        else {
          result = this.propose(action.propose);
          const refused = action.onRefused;
          if (refused !== undefined) {
            result.catch((e: unknown) => {
              if (e instanceof QuorumError && e.kind !== 'outcome-unknown') refused(e);
            });
          }
        }
      } catch (e) {
        result = Promise.reject(e);
      }
    }
    result.then(
      (zxid) => this.write(conn, { t: 'rep', id, zxid }),
      (e: unknown) => {
        const err = e instanceof QuorumError ? e : new QuorumError('outcome-unknown', String(e));
        const kind =
          err.kind === 'overloaded'
            ? 'overloaded'
            : err.kind === 'not-leader' || err.kind === 'limit'
              ? 'not-ready'
              : 'outcome-unknown';
        this.write(conn, { t: 'rep', id, error: kind, message: err.message });
      },
    );
  }

  private connectToLeader(role: LearnerRole): void {
    if (this.role !== role || role.conn !== undefined || role.connecting) return;
    const addr = this.opts.config.servers.get(role.leaderId);
    if (addr === undefined) return;
    const socket = new Socket();
    role.connecting = socket;
    socket.setNoDelay(true);
    const fail = () => {
      socket.destroy();
      if (role.connecting !== socket) return;
      role.connecting = undefined;
      if (this.role !== role) return;
      // Keep trying: the learner core gives up after initLimit ticks without its leader.
      role.retry = setTimeout(() => {
        role.retry = undefined;
        this.connectToLeader(role);
      }, this.retryMs);
    };
    socket.once('error', fail);
    socket.setTimeout(this.opts.config.tickTime * this.opts.config.syncLimit, fail);
    socket.connect(addr.quorumPort, addr.host, () => {
      socket.setTimeout(0);
      role.connecting = undefined;
      if (this.role !== role) {
        socket.destroy();
        return;
      }
      socket.removeAllListeners('error');
      socket.on('error', () => socket.destroy());
      const conn: Conn = { sid: role.leaderId, socket, corked: false };
      role.conn = conn;
      this.write(conn, { t: 'hello', protocol: QUORUM_CONNECTION_VERSION, sid: this.opts.myId });
      for (const m of role.outbox.splice(0)) this.write(conn, m);
      const decoder = new QuorumFrameDecoder({ maxFrameSize: this.maxFrame, decodeOther: decodeCompact });
      socket.on('close', () => {
        if (role.conn !== conn) return;
        role.conn = undefined;
        role.snapIn = undefined;
        this.feed(role, { type: 'disconnected', peer: role.leaderId });
      });
      socket.on('data', (chunk: Buffer) => {
        let frames: unknown[];
        try {
          frames = decoder.push(chunk);
        } catch (e) {
          this.log('warn', `Closing the connection to leader ${role.leaderId}: ${(e as Error).message}`);
          socket.destroy();
          return;
        }
        for (const f of frames) {
          if (role.conn !== conn) return;
          const w = toWire(f);
          if (w?.t === 'snap') {
            const problem = this.snapPart(role, w);
            if (problem !== undefined) {
              this.log('warn', `Closing the connection to leader ${role.leaderId}: ${problem}`);
              socket.destroy();
              return;
            }
          } else if (role.snapIn !== undefined) {
            this.log('warn', `Closing the connection to leader ${role.leaderId}: a message inside a SNAP`);
            socket.destroy();
            return;
          } else if (w?.t === 'zab') {
            this.logSync(w.m);
            this.feed(role, { type: 'message', from: role.leaderId, msg: w.m });
          } else if (w?.t === 'rep') this.reply(role, w);
          else {
            this.log(
              'warn',
              `Closing the connection to leader ${role.leaderId}: malformed or unexpected message`,
            );
            socket.destroy();
            return;
          }
        }
      });
    });
  }

  /** Takes one part of a SNAP; hands the SNAP to Zab after the last. A problem closes the connection. */
  private snapPart(role: LearnerRole, w: Extract<QuorumWireMessage, { t: 'snap' }>): string | undefined {
    const s = role.snapIn ?? { zxid: w.zxid, chunks: [], bytes: 0 };
    if (s.zxid !== w.zxid) return `SNAP parts of 0x${s.zxid.toString(16)} and 0x${w.zxid.toString(16)}`;
    for (const c of w.chunks) {
      s.bytes += c.length;
      s.chunks.push(c);
    }
    if (s.bytes > this.maxSnapshot) return `a snapshot larger than ${this.maxSnapshot} bytes`;
    role.snapIn = w.last ? undefined : s;
    if (w.last) {
      const m: PeerZabMessage = { type: 'SNAP', zxid: s.zxid, snapshot: s.chunks };
      this.logSync(m);
      this.feed(role, { type: 'message', from: role.leaderId, msg: m });
    }
    return undefined;
  }

  private reply(role: LearnerRole, w: Extract<QuorumWireMessage, { t: 'rep' }>): void {
    const waiter = role.forwards.get(w.id);
    if (waiter === undefined) return;
    role.forwards.delete(w.id);
    if (w.zxid === undefined) {
      waiter.reject(new QuorumError(w.error ?? 'outcome-unknown', `the leader refused: ${w.message ?? ''}`));
      return;
    }
    this.appliedWaiters.push({ zxid: w.zxid, resolve: waiter.resolve, reject: waiter.reject });
    this.appliedWaiters.sort((a, b) => (a.zxid < b.zxid ? -1 : a.zxid > b.zxid ? 1 : 0));
    this.releaseApplied();
  }

  // --- snapshots ---

  /**
   * The store asks for a snapshot (every snapCount txns or so): the state machine's state as of
   * the last applied txn goes to disk in the background; once durable, the role may forget what
   * it covers (a learner further behind then gets SNAP).
   */
  private takeSnapshot(): void {
    this.snapshotWanted = true;
    this.maybeSnapshot();
  }

  private maybeSnapshot(): void {
    if (!this.snapshotWanted) return;
    if (this.writeSnapshot(true)) this.snapshotWanted = false;
  }

  /**
   * An established leader snapshots its state once its epoch has begun, as ZooKeeper's leader does
   * when it starts leading: a restart of this member then recovers from that snapshot and replays
   * only this epoch's log file, instead of every txn since its last snapshot (and re-applying them
   * all before it serves). It is taken after the first txn of the epoch is applied (so the snapshot
   * lies in this epoch's log file and recovery reads no older file), once that txn's COMMITs and
   * replies have left, in the background like any snapshot (retried at a later apply if one is
   * being written).
   * The role is not told, so it keeps its DIFF window, as ZooKeeper's committed log is not trimmed
   * by this snapshot either.
   */
  private snapshotWhenLeading(role: LeaderRole): void {
    role.epochSnapshot = 'scheduled';
    // Two turns on: the frames of this turn (the COMMITs and replies of that txn) are flushed in an
    // immediate queued after this one, and must leave before the state is serialised.
    setImmediate(() =>
      setImmediate(() => {
        if (this.role !== role) return;
        role.epochSnapshot = this.writeSnapshot(false) ? 'done' : 'wanted';
      }),
    );
  }

  /**
   * Writes a snapshot of the applied state in the background; `report` tells the role once it is
   * durable, so that the leader forgets what it covers. Returns whether one was started.
   */
  private writeSnapshot(report: boolean): boolean {
    if (this.closed || this.disk.snapshotting || this.disk.failed) return false;
    const zxid = this.applied;
    // Not before something new was applied, and never ahead of what the store logged (a snapshot
    // moves the store forward): it is taken at a later apply.
    if (zxid <= this.lastSnapshotZxid || zxid > this.opts.store.lastZxid) return false;
    this.lastSnapshotZxid = zxid;
    const sm = this.opts.stateMachine;
    let chunks: Iterable<Uint8Array>;
    let stream: (Iterator<Uint8Array> & Iterable<Uint8Array>) | undefined;
    try {
      if (sm.snapshotStream !== undefined) {
        stream = sm.snapshotStream();
        chunks = stream;
      } else chunks = sm.snapshot();
    } catch (e) {
      this.fatal('state-machine', `snapshot threw: ${(e as Error)?.message ?? String(e)}`);
      return true;
    }
    const written = this.disk.snapshot(zxid, chunks);
    // However the write ends, the stream is released (a failed write may not have read it all).
    written.then(
      () => stream?.return?.(),
      () => stream?.return?.(),
    );
    written.then(
      () => {
        this.log('info', `Snapshot written at ${hex(zxid)}`);
        const r = this.role;
        if (!report || r === undefined || this.closed) return;
        try {
          this.run(r, (r.core as Core).step({ type: 'snapshotTaken', zxid }));
        } catch (e) {
          this.log('warn', `Snapshot at ${hex(zxid)} not reported to the role: ${(e as Error).message}`);
        }
      },
      (e: unknown) =>
        this.log('warn', `Snapshot at ${hex(zxid)} failed: ${(e as Error)?.message ?? String(e)}`),
    );
    return true;
  }

  // --- misc ---

  /** ZooKeeper's lines for how a learner synchronises. */
  private logSync(m: PeerZabMessage): void {
    if (m.type === 'DIFF') this.log('info', `Getting a diff from the leader ${hex(m.zxid)}`);
    else if (m.type === 'TRUNC')
      this.log('warn', `Truncating log to get in sync with the leader ${hex(m.zxid)}`);
    else if (m.type === 'SNAP') this.log('info', `Getting a snapshot from leader ${hex(m.zxid)}`);
  }

  private diskFailed(err: unknown): void {
    this.fatal('disk', `disk write failed: ${(err as Error)?.message ?? String(err)}`);
  }

  /** Fail-stop: the peer closes itself and tells `onStopped` listeners why. */
  private fatal(kind: 'disk' | 'state-machine', message: string): void {
    if (this.closed) return;
    const err = new QuorumError(kind, message);
    this.log('error', `Stopping: ${message}`);
    this.endRole(err);
    this.setRole('LOOKING');
    void this.close();
    for (const l of this.stoppedListeners) l(err);
  }

  private setRole(role: PeerRole): void {
    this._role = role;
    this.emitRole();
  }

  private emitRole(): void {
    const change: RoleChange = {
      role: this._role,
      leaderId: this.leaderId,
      serving: this.serving,
      epoch: this.epoch,
    };
    for (const l of this.roleListeners) l(change);
  }

  private log(level: PeerLogLevel, message: string): void {
    this.opts.log?.(level, `[myid:${this.opts.myId}] ${message}`);
  }
}

function hex(z: bigint): string {
  return `0x${z.toString(16)}`;
}
