import { checkDisk, isQuorum, resolveConfig } from './config.js';
import { DiskWrites } from './disk.js';
import { assertNever, ZabError } from './errors.js';
import {
  hexZxid,
  makeZxid,
  type ResolvedConfig,
  type StopReason,
  type Txn,
  type ZabConfig,
  type ZabDiskState,
  type ZabInput,
  type ZabMessage,
  type ZabOutput,
  type Zxid,
} from './types.js';

/** Where the leader is in Zab. */
export type LeaderPhase =
  /** Gathering FOLLOWERINFO from a quorum to choose the new epoch. */
  | 'discovery'
  /** The epoch is chosen; waiting for ACKEPOCH from a quorum. */
  | 'epochAck'
  /** Synchronising learners; waiting for a quorum to acknowledge NEWLEADER. */
  | 'sync'
  /** Established: proposals, acknowledgements and commits. */
  | 'broadcast'
  /** Stepped down (`lookForLeader` was output); every later input is ignored. */
  | 'stopped';

/** Where one learner's session is, seen from the leader. */
export type LearnerPhase =
  /** FOLLOWERINFO received before the epoch was chosen. */
  | 'info'
  /** LEADERINFO sent, waiting for ACKEPOCH. */
  | 'leaderInfo'
  /** ACKEPOCH received; synchronised once a quorum acknowledged the epoch. */
  | 'epochAcked'
  /** The synchronisation stream and NEWLEADER are sent, waiting for the ACK. */
  | 'syncing'
  /** NEWLEADER acknowledged: counts for commits; UPTODATE follows once the leader is established. */
  | 'synced'
  /** UPTODATE sent. */
  | 'upToDate';

interface Session {
  readonly sid: number;
  readonly observer: boolean;
  phase: LearnerPhase;
  /** The learner's last logged zxid (from ACKEPOCH). */
  lastZxid: Zxid;
  /** The last zxid of the synchronisation stream. */
  syncEnd: Zxid;
  /** Highest zxid this follower reported durable. */
  acked: Zxid;
  /** Tick of the last message heard from it. */
  lastHeard: number;
  /** Receives proposals and commits (its synchronisation stream is queued). */
  forwarding: boolean;
}

/** A read-only view of one learner session (for hosts, tests and checks). */
export interface LearnerSessionView {
  readonly sid: number;
  readonly observer: boolean;
  readonly phase: LearnerPhase;
  readonly acked: Zxid;
}

/**
 * The Zab leader as a sans-I/O state machine. Built from the server's disk state after the
 * election chose it; `step(input)` returns what to send, write, apply and whether to step down.
 * Discovery: a new epoch above every accepted epoch of a quorum. Synchronisation: DIFF, TRUNC or
 * SNAP per learner, then NEWLEADER; established once a quorum acknowledged NEWLEADER (its history
 * is then committed). Broadcast: PROPOSAL / ACK / COMMIT counted from durable logs only, INFORM to
 * observers, any number of proposals in flight up to `maxOutstanding`.
 */
export class ZabLeader<T = Uint8Array, S = Uint8Array> {
  private readonly cfg: ResolvedConfig;
  private _phase: LeaderPhase = 'discovery';
  private started = false;
  private tickNo = 0;

  private readonly acceptedEpoch: bigint;
  private readonly currentEpoch: bigint;
  /** Transactions after `logStart`, ascending: the leader's history, then its proposals. */
  private log: Txn<T>[];
  private logStart: Zxid;
  private lastApplied: Zxid;
  private _lastCommitted: Zxid = 0n;
  /** The leader's own durable log position. */
  private selfDurable: Zxid;
  private readonly writes = new DiskWrites<T, S>();
  private outstanding = 0;
  private counter = 0n;

  private _epoch = -1n;
  private readonly epochOffers = new Map<number, bigint>();
  private readonly epochAcks = new Set<number>();
  private readonly newLeaderAcks = new Set<number>();
  private acceptedSeq = 0;
  private acceptedDurable = false;
  private currentSeq = 0;
  private currentDurable = false;
  private readonly sessions = new Map<number, Session>();

  constructor(config: ZabConfig, disk: ZabDiskState<T>) {
    this.cfg = resolveConfig(config);
    if (!this.cfg.voters.has(this.cfg.myId))
      throw new ZabError('config', `server ${config.myId} cannot lead: not a voter`);
    this.log = checkDisk(disk);
    this.acceptedEpoch = disk.acceptedEpoch;
    this.currentEpoch = disk.currentEpoch;
    this.logStart = disk.snapshotZxid;
    this.lastApplied = disk.snapshotZxid;
    this.selfDurable = this.lastLogged;
    this.epochOffers.set(this.cfg.myId, disk.acceptedEpoch);
  }

  get phase(): LeaderPhase {
    return this._phase;
  }

  /** The new epoch (-1 until chosen). */
  get epoch(): bigint {
    return this._epoch;
  }

  get lastCommitted(): Zxid {
    return this._lastCommitted;
  }

  get lastLogged(): Zxid {
    return this.log.length > 0 ? (this.log[this.log.length - 1] as Txn<T>).zxid : this.logStart;
  }

  /** Whether `propose` is accepted now. */
  get canPropose(): boolean {
    return this._phase === 'broadcast' && this.outstanding < this.cfg.maxOutstanding;
  }

  /** Proposals sent and not yet committed. */
  get inFlight(): number {
    return this.outstanding;
  }

  get learners(): LearnerSessionView[] {
    return [...this.sessions.values()].map((s) => ({
      sid: s.sid,
      observer: s.observer,
      phase: s.phase,
      acked: s.acked,
    }));
  }

  /** The transactions this leader holds in memory (its history after `snapshotTaken` trimming). */
  history(): readonly Txn<T>[] {
    return this.log;
  }

  step(input: ZabInput<T, S>): ZabOutput<T, S>[] {
    const out: ZabOutput<T, S>[] = [];
    if (this._phase === 'stopped') return out;
    switch (input.type) {
      case 'start':
        if (!this.started) {
          this.started = true;
          this.maybeChooseEpoch(out);
        }
        break;
      case 'message':
        this.receive(input.from, input.msg, out);
        break;
      case 'tick':
        this.tick(out);
        break;
      case 'diskDone':
        this.diskDone(input.seq, out);
        break;
      case 'propose':
        this.propose(input.data, out);
        break;
      case 'disconnected':
        this.sessions.delete(input.peer);
        break;
      case 'snapshotTaken':
        this.trim(input.zxid);
        break;
      default:
        assertNever(input);
    }
    return out;
  }

  // --- discovery ---

  private maybeChooseEpoch(out: ZabOutput<T, S>[]): void {
    if (this._phase !== 'discovery' || !isQuorum(this.cfg.voters, this.epochOffers.keys())) return;
    let max = -1n;
    for (const e of this.epochOffers.values()) if (e > max) max = e;
    this._epoch = max + 1n;
    this._phase = 'epochAck';
    this.acceptedSeq = this.writes.write({ op: 'acceptedEpoch', epoch: this._epoch }, out);
    for (const s of this.sessions.values()) {
      if (s.phase === 'info') this.sendLeaderInfo(s, out);
    }
  }

  private sendLeaderInfo(s: Session, out: ZabOutput<T, S>[]): void {
    s.phase = 'leaderInfo';
    this.send(s.sid, { type: 'LEADERINFO', epoch: this._epoch }, out);
  }

  private maybeEpochQuorum(out: ZabOutput<T, S>[]): void {
    if (this._phase !== 'epochAck') return;
    const acks = [...this.epochAcks];
    if (this.acceptedDurable) acks.push(this.cfg.myId);
    if (!isQuorum(this.cfg.voters, acks)) return;
    this._phase = 'sync';
    this.currentSeq = this.writes.write({ op: 'currentEpoch', epoch: this._epoch }, out);
    for (const s of this.sessions.values()) if (s.phase === 'epochAcked') this.synchronise(s, out);
  }

  // --- synchronisation ---

  /** The largest zxid this leader holds (or its log start) that is <= z. */
  private floor(z: Zxid): Zxid {
    let lo = 0;
    let hi = this.log.length - 1;
    let best = this.logStart;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = (this.log[mid] as Txn<T>).zxid;
      if (m <= z) {
        best = m;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  /** Index of the first logged txn with zxid > z. */
  private after(z: Zxid): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.log[mid] as Txn<T>).zxid <= z) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private synchronise(s: Session, out: ZabOutput<T, S>[]): void {
    // Observers only get committed transactions once broadcasting; followers get every proposal
    // (they must acknowledge the outstanding ones). Before establishment the whole history goes.
    const limit = s.observer && this._phase === 'broadcast' ? this._lastCommitted : this.lastLogged;
    const peer = s.lastZxid;
    let from: Zxid;
    const target = peer < limit ? peer : limit;
    const point = peer < this.logStart ? undefined : this.floor(target);
    const tooFar =
      point !== undefined &&
      this.lastApplied > point &&
      this.after(limit) - this.after(point) > this.cfg.maxDiffTxns;
    if (point === undefined || tooFar) {
      // The learner is behind what this leader still holds (or too far behind for a diff): the
      // whole state, then what follows it.
      out.push({ type: 'sendSnapshot', to: s.sid, zxid: this.lastApplied });
      from = this.lastApplied;
    } else {
      from = point;
      if (from === peer) this.send(s.sid, { type: 'DIFF', zxid: from }, out);
      else this.send(s.sid, { type: 'TRUNC', zxid: from }, out);
    }
    for (let i = this.after(from); i < this.log.length; i++) {
      const t = this.log[i] as Txn<T>;
      if (t.zxid > limit) break;
      this.send(s.sid, { type: 'PROPOSAL', zxid: t.zxid, data: t.data }, out);
    }
    this.send(s.sid, { type: 'NEWLEADER', zxid: makeZxid(this._epoch, 0n) }, out);
    s.syncEnd = limit > from ? limit : from;
    s.phase = 'syncing';
    s.forwarding = true;
  }

  private maybeEstablish(out: ZabOutput<T, S>[]): void {
    if (this._phase !== 'sync') return;
    const acks = [...this.newLeaderAcks];
    if (this.currentDurable) acks.push(this.cfg.myId);
    if (!isQuorum(this.cfg.voters, acks)) return;
    this._phase = 'broadcast';
    // The whole history is committed now: a quorum holds it durably under the new epoch.
    for (let i = this.after(this.lastApplied); i < this.log.length; i++) {
      out.push({ type: 'apply', txn: this.log[i] as Txn<T> });
    }
    this._lastCommitted = this.lastLogged;
    this.lastApplied = this._lastCommitted;
    for (const s of this.sessions.values()) {
      if (s.phase === 'synced') this.upToDate(s, out);
    }
    out.push({ type: 'established', epoch: this._epoch });
  }

  private upToDate(s: Session, out: ZabOutput<T, S>[]): void {
    s.phase = 'upToDate';
    this.send(s.sid, { type: 'UPTODATE', zxid: this._lastCommitted }, out);
  }

  // --- messages ---

  private receive(from: number, msg: ZabMessage<T, S>, out: ZabOutput<T, S>[]): void {
    if (msg.type === 'FOLLOWERINFO' || msg.type === 'OBSERVERINFO') {
      this.newSession(from, msg.type === 'OBSERVERINFO', msg.acceptedEpoch, out);
      return;
    }
    const s = this.sessions.get(from);
    if (s === undefined) {
      // A message from a learner without a session (it outlived its connection): make it reconnect.
      out.push({ type: 'disconnect', peer: from });
      return;
    }
    s.lastHeard = this.tickNo;
    switch (msg.type) {
      case 'ACKEPOCH':
        this.ackEpoch(s, msg, out);
        return;
      case 'ACK':
        this.ack(s, msg.zxid, out);
        return;
      case 'PING':
        return;
      case 'LEADERINFO':
      case 'DIFF':
      case 'TRUNC':
      case 'SNAP':
      case 'PROPOSAL':
      case 'COMMIT':
      case 'INFORM':
      case 'NEWLEADER':
      case 'UPTODATE':
        this.drop(s, `unexpected ${msg.type}`, out);
        return;
      default:
        assertNever(msg);
    }
  }

  private newSession(sid: number, observer: boolean, acceptedEpoch: bigint, out: ZabOutput<T, S>[]): void {
    const known = observer ? this.cfg.observers.has(sid) : this.cfg.voters.has(sid);
    if (!known || sid === this.cfg.myId) {
      this.sessions.delete(sid);
      out.push({ type: 'disconnect', peer: sid });
      return;
    }
    const s: Session = {
      sid,
      observer,
      phase: 'info',
      lastZxid: 0n,
      syncEnd: 0n,
      acked: 0n,
      lastHeard: this.tickNo,
      forwarding: false,
    };
    this.sessions.set(sid, s);
    if (this._phase === 'discovery') {
      if (!observer) this.epochOffers.set(sid, acceptedEpoch);
      this.maybeChooseEpoch(out);
    } else {
      this.sendLeaderInfo(s, out);
    }
  }

  private ackEpoch(
    s: Session,
    msg: Extract<ZabMessage<T, S>, { type: 'ACKEPOCH' }>,
    out: ZabOutput<T, S>[],
  ): void {
    if (s.phase !== 'leaderInfo' || msg.epoch !== this._epoch) {
      this.drop(s, 'ACKEPOCH out of turn', out);
      return;
    }
    // This leader's summary: its epoch (the new one once written) and its last logged zxid.
    const epoch = this._phase === 'epochAck' ? this.currentEpoch : this._epoch;
    const mine = this.lastLogged;
    const ahead = msg.currentEpoch > epoch || (msg.currentEpoch === epoch && msg.lastZxid > mine);
    if (ahead && !this.cfg.unsafe.skipAheadCheck) {
      this.stop(
        'followerAhead',
        `learner ${s.sid} is ahead: epoch ${msg.currentEpoch} zxid ${hexZxid(msg.lastZxid)}, ` +
          `leader epoch ${epoch} zxid ${hexZxid(mine)}`,
        out,
      );
      return;
    }
    if (msg.fresh && !s.observer) this.epochAcks.add(s.sid);
    s.lastZxid = msg.lastZxid;
    s.phase = 'epochAcked';
    if (this._phase === 'sync' || this._phase === 'broadcast') this.synchronise(s, out);
    else this.maybeEpochQuorum(out);
  }

  private ack(s: Session, zxid: Zxid, out: ZabOutput<T, S>[]): void {
    if (s.phase === 'syncing') {
      if (zxid !== makeZxid(this._epoch, 0n)) {
        this.drop(s, `ACK ${hexZxid(zxid)} before NEWLEADER was acknowledged`, out);
        return;
      }
      s.phase = 'synced';
      if (!s.observer) {
        s.acked = s.syncEnd;
        this.newLeaderAcks.add(s.sid);
      }
      if (this._phase === 'broadcast') {
        this.upToDate(s, out);
        this.maybeCommit(out);
      } else this.maybeEstablish(out);
      return;
    }
    if (s.phase !== 'synced' && s.phase !== 'upToDate') {
      this.drop(s, `ACK in phase ${s.phase}`, out);
      return;
    }
    if (s.observer) return;
    if (zxid > this.lastLogged) {
      this.drop(s, `ACK for ${hexZxid(zxid)} never proposed`, out);
      return;
    }
    if (zxid > s.acked) {
      s.acked = zxid;
      this.maybeCommit(out);
    }
  }

  private drop(s: Session, why: string, out: ZabOutput<T, S>[]): void {
    void why;
    this.sessions.delete(s.sid);
    out.push({ type: 'disconnect', peer: s.sid });
  }

  // --- broadcast ---

  private propose(data: T, out: ZabOutput<T, S>[]): void {
    if (this._phase !== 'broadcast') throw new ZabError('state', `cannot propose in phase ${this._phase}`);
    if (this.outstanding >= this.cfg.maxOutstanding) {
      throw new ZabError('overloaded', `${this.outstanding} proposals in flight (maxOutstanding)`);
    }
    if (this.counter >= 0xffffffffn) {
      this.stop('zxidRollover', 'the zxid counter is exhausted: a new epoch is needed', out);
      return;
    }
    this.counter += 1n;
    const txn: Txn<T> = { zxid: makeZxid(this._epoch, this.counter), data };
    this.log.push(txn);
    this.outstanding++;
    this.writes.track(this.writes.write({ op: 'append', txns: [txn] }, out), txn.zxid);
    for (const s of this.sessions.values()) {
      if (s.forwarding && !s.observer) this.send(s.sid, { type: 'PROPOSAL', zxid: txn.zxid, data }, out);
    }
    if (this.cfg.unsafe.leaderCountsUndurable) this.maybeCommit(out);
  }

  private maybeCommit(out: ZabOutput<T, S>[]): void {
    if (this._phase !== 'broadcast' || this.outstanding === 0) return;
    const self = this.cfg.unsafe.leaderCountsUndurable ? this.lastLogged : this.selfDurable;
    const acked: Zxid[] = [self];
    for (const s of this.sessions.values()) {
      if (!s.observer && (s.phase === 'synced' || s.phase === 'upToDate') && this.cfg.voters.has(s.sid)) {
        acked.push(s.acked);
      }
    }
    const need = Math.floor(this.cfg.voters.size / 2) + 1;
    if (acked.length < need) return;
    acked.sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    const upTo = acked[need - 1] as Zxid;
    if (upTo <= this._lastCommitted) return;
    const first = this.after(this._lastCommitted);
    const last = this.after(upTo);
    for (let i = first; i < last; i++) out.push({ type: 'apply', txn: this.log[i] as Txn<T> });
    this.outstanding -= last - first;
    this._lastCommitted = upTo;
    this.lastApplied = upTo;
    for (const s of this.sessions.values()) {
      if (!s.forwarding) continue;
      if (!s.observer) this.send(s.sid, { type: 'COMMIT', zxid: upTo }, out);
      else {
        for (let i = first; i < last; i++) {
          const t = this.log[i] as Txn<T>;
          if (t.zxid > s.syncEnd) this.send(s.sid, { type: 'INFORM', zxid: t.zxid, data: t.data }, out);
        }
      }
    }
  }

  // --- disk, time ---

  private diskDone(seq: number, out: ZabOutput<T, S>[]): void {
    if (!this.acceptedDurable && this.acceptedSeq > 0 && seq >= this.acceptedSeq) {
      this.acceptedDurable = true;
      this.maybeEpochQuorum(out);
    }
    if (!this.currentDurable && this.currentSeq > 0 && seq >= this.currentSeq) {
      this.currentDurable = true;
      this.maybeEstablish(out);
    }
    const durable = this.writes.durableUpTo(seq);
    if (durable !== undefined) {
      this.selfDurable = durable;
      this.maybeCommit(out);
    }
  }

  private tick(out: ZabOutput<T, S>[]): void {
    this.tickNo++;
    if (this._phase !== 'broadcast') {
      if (this.tickNo >= this.cfg.initLimit) {
        this.stop('initLimit', `not established within initLimit (${this.cfg.initLimit} ticks)`, out);
      }
      return;
    }
    const alive: number[] = [this.cfg.myId];
    for (const s of [...this.sessions.values()]) {
      if (this.tickNo - s.lastHeard > this.cfg.syncLimit) {
        this.drop(s, 'silent for syncLimit', out);
        continue;
      }
      this.send(s.sid, { type: 'PING', zxid: this._lastCommitted }, out);
      if (!s.observer && (s.phase === 'synced' || s.phase === 'upToDate')) alive.push(s.sid);
    }
    if (!isQuorum(this.cfg.voters, alive)) {
      this.stop('lostQuorum', `only ${alive.join(',')} synced and heard within syncLimit`, out);
    }
  }

  private trim(zxid: Zxid): void {
    if (zxid > this.lastApplied)
      throw new ZabError('state', `snapshot ${hexZxid(zxid)} is above what was applied`);
    if (zxid <= this.logStart) return;
    this.log = this.log.slice(this.after(zxid));
    this.logStart = zxid;
  }

  // --- helpers ---

  private send(to: number, msg: ZabMessage<T, S>, out: ZabOutput<T, S>[]): void {
    out.push({ type: 'send', to, msg });
  }

  private stop(reason: StopReason, detail: string, out: ZabOutput<T, S>[]): void {
    this._phase = 'stopped';
    out.push({ type: 'lookForLeader', reason, detail });
  }
}
