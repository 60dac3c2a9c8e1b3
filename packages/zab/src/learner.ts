import { checkDisk, resolveConfig } from './config.js';
import { DiskWrites } from './disk.js';
import { assertNever, ZabError } from './errors.js';
import {
  epochOf,
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

/** Where a learner is in Zab. */
export type LearnerState =
  /** FOLLOWERINFO / OBSERVERINFO sent, waiting for LEADERINFO. */
  | 'discovery'
  /** Writing the accepted epoch; ACKEPOCH once it is durable. */
  | 'acceptingEpoch'
  /** ACKEPOCH sent, waiting for DIFF, TRUNC or SNAP. */
  | 'awaitingSync'
  /** Receiving the synchronisation stream, up to NEWLEADER. */
  | 'syncing'
  /** NEWLEADER received: persisting the stream and currentEpoch; ACK once durable. */
  | 'persistingNewLeader'
  /** NEWLEADER acknowledged, waiting for UPTODATE. */
  | 'awaitingUpToDate'
  /** Serving: proposals, commits. */
  | 'broadcast'
  /** Gave up (`lookForLeader` was output); every later input is ignored. */
  | 'stopped';

export interface LearnerConfig extends ZabConfig {
  /** The leader the election chose. */
  readonly leaderId: number;
}

/**
 * A Zab learner (follower or observer) as a sans-I/O state machine. It connects to the leader the
 * election chose, accepts its epoch (durably, before ACKEPOCH), takes the synchronisation stream
 * and acknowledges NEWLEADER only once the synced transactions and then the new currentEpoch are
 * durable — the order whose violations lost data in Apache ZooKeeper. It applies transactions only
 * once the leader says they are committed, in zxid order.
 */
export class ZabLearner<T = Uint8Array, S = Uint8Array> {
  protected readonly cfg: ResolvedConfig;
  readonly leaderId: number;
  readonly observer: boolean;
  private _state: LearnerState = 'discovery';
  private started = false;
  private silentTicks = 0;

  private acceptedEpoch: bigint;
  private currentEpoch: bigint;
  private epoch = -1n;
  private _lastLogged: Zxid;
  private _lastApplied: Zxid;
  /** Logged, not yet applied, ascending. */
  private unapplied: Txn<T>[];
  private committed: Zxid = 0n;
  private acceptSeq = 0;
  private newLeaderSeq = 0;
  /** Synced transactions held back to write after currentEpoch (the `epochBeforeTxns` variant). */
  private heldBack: Txn<T>[] = [];
  /** Numbers the writes; tracks the proposals logged but not yet acknowledged. */
  private readonly writes = new DiskWrites<T, S>();
  private durableSeq = 0;

  constructor(config: LearnerConfig, disk: ZabDiskState<T>, observer: boolean) {
    this.cfg = resolveConfig(config);
    this.observer = observer;
    if (observer !== this.cfg.observers.has(this.cfg.myId)) {
      throw new ZabError(
        'config',
        `server ${config.myId} is ${observer ? 'not an observer' : 'an observer'}`,
      );
    }
    if (!this.cfg.voters.has(config.leaderId) || config.leaderId === config.myId) {
      throw new ZabError('config', `server ${config.leaderId} cannot be this server's leader`);
    }
    this.leaderId = config.leaderId;
    this.unapplied = checkDisk(disk);
    this.acceptedEpoch = disk.acceptedEpoch;
    this.currentEpoch = disk.currentEpoch;
    this._lastApplied = disk.snapshotZxid;
    this._lastLogged = this.unapplied.length > 0 ? (this.unapplied.at(-1) as Txn<T>).zxid : disk.snapshotZxid;
  }

  get state(): LearnerState {
    return this._state;
  }

  get lastLogged(): Zxid {
    return this._lastLogged;
  }

  get lastApplied(): Zxid {
    return this._lastApplied;
  }

  /** The leader's epoch once LEADERINFO arrived (-1 before). */
  get leaderEpoch(): bigint {
    return this.epoch;
  }

  step(input: ZabInput<T, S>): ZabOutput<T, S>[] {
    const out: ZabOutput<T, S>[] = [];
    if (this._state === 'stopped') return out;
    switch (input.type) {
      case 'start':
        if (!this.started) {
          this.started = true;
          const info = { acceptedEpoch: this.acceptedEpoch, lastZxid: this._lastLogged };
          this.send(
            this.observer ? { type: 'OBSERVERINFO', ...info } : { type: 'FOLLOWERINFO', ...info },
            out,
          );
        }
        break;
      case 'message':
        if (input.from !== this.leaderId) break;
        this.silentTicks = 0;
        this.receive(input.msg, out);
        break;
      case 'tick': {
        this.silentTicks++;
        const limit = this._state === 'broadcast' ? this.cfg.syncLimit : this.cfg.initLimit;
        if (this.silentTicks > limit) {
          this.stop(
            this._state === 'broadcast' ? 'syncLimit' : 'initLimit',
            `nothing from leader ${this.leaderId} for ${this.silentTicks} ticks`,
            out,
          );
        }
        break;
      }
      case 'diskDone':
        this.diskDone(input.seq, out);
        break;
      case 'propose':
        throw new ZabError('state', 'only the leader takes proposals');
      case 'disconnected':
        if (input.peer === this.leaderId) this.stop('disconnected', `lost leader ${this.leaderId}`, out);
        break;
      case 'snapshotTaken':
        if (input.zxid > this._lastApplied) {
          throw new ZabError('state', `snapshot ${hexZxid(input.zxid)} is above what was applied`);
        }
        break;
      default:
        assertNever(input);
    }
    return out;
  }

  private receive(msg: ZabMessage<T, S>, out: ZabOutput<T, S>[]): undefined {
    switch (msg.type) {
      case 'LEADERINFO':
        return this.leaderInfo(msg.epoch, out);
      case 'DIFF':
        if (this._state !== 'awaitingSync') return this.violation(msg.type, out);
        if (msg.zxid !== this._lastLogged) {
          return this.stop(
            'protocol',
            `DIFF from ${hexZxid(msg.zxid)} but last logged is ${hexZxid(this._lastLogged)}`,
            out,
          );
        }
        this._state = 'syncing';
        return;
      case 'TRUNC':
        if (this._state !== 'awaitingSync') return this.violation(msg.type, out);
        this.truncate(msg.zxid, out);
        return;
      case 'SNAP':
        if (this._state !== 'awaitingSync') return this.violation(msg.type, out);
        this._state = 'syncing';
        out.push({ type: 'restore', zxid: msg.zxid, snapshot: msg.snapshot });
        this.writes.write({ op: 'snapshot', zxid: msg.zxid, snapshot: msg.snapshot }, out);
        this.unapplied = [];
        this.heldBack = [];
        this._lastApplied = msg.zxid;
        this._lastLogged = msg.zxid;
        if (this.committed < msg.zxid) this.committed = msg.zxid;
        return;
      case 'PROPOSAL':
        return this.proposal(msg.zxid, msg.data, out);
      case 'COMMIT':
        if (this.observer || this._state === 'awaitingSync' || this._state === 'discovery') {
          return this.violation(msg.type, out);
        }
        if (msg.zxid > this._lastLogged) {
          return this.stop('protocol', `COMMIT ${hexZxid(msg.zxid)} for a proposal never received`, out);
        }
        if (msg.zxid > this.committed) this.committed = msg.zxid;
        if (this._state === 'broadcast') this.applyCommitted(out);
        return;
      case 'INFORM':
        if (!this.observer) return this.violation(msg.type, out);
        if (
          this._state !== 'awaitingUpToDate' &&
          this._state !== 'broadcast' &&
          this._state !== 'persistingNewLeader'
        ) {
          return this.violation(msg.type, out);
        }
        if (msg.zxid <= this._lastLogged) {
          return this.stop(
            'protocol',
            `INFORM ${hexZxid(msg.zxid)} not after ${hexZxid(this._lastLogged)}`,
            out,
          );
        }
        this.log({ zxid: msg.zxid, data: msg.data }, out);
        this.committed = msg.zxid;
        if (this._state === 'broadcast') this.applyCommitted(out);
        return;
      case 'NEWLEADER':
        return this.newLeader(msg.zxid, out);
      case 'UPTODATE':
        if (this._state !== 'awaitingUpToDate') return this.violation(msg.type, out);
        if (msg.zxid > this._lastLogged) {
          return this.stop('protocol', `UPTODATE at ${hexZxid(msg.zxid)} beyond what was synced`, out);
        }
        if (msg.zxid > this.committed) this.committed = msg.zxid;
        this._state = 'broadcast';
        this.applyCommitted(out);
        out.push({ type: 'synced', epoch: this.epoch });
        return;
      case 'PING':
        this.send({ type: 'PING', zxid: this._lastLogged }, out);
        return;
      case 'FOLLOWERINFO':
      case 'OBSERVERINFO':
      case 'ACKEPOCH':
      case 'ACK':
        return this.violation(msg.type, out);
      default:
        assertNever(msg);
    }
  }

  private leaderInfo(epoch: bigint, out: ZabOutput<T, S>[]): undefined {
    if (this._state !== 'discovery') return this.violation('LEADERINFO', out);
    this.epoch = epoch;
    if (epoch > this.acceptedEpoch) {
      this.acceptedEpoch = epoch;
      this._state = 'acceptingEpoch';
      this.acceptSeq = this.writes.write({ op: 'acceptedEpoch', epoch }, out);
      if (this.durableSeq >= this.acceptSeq) this.ackEpoch(true, out);
    } else if (epoch === this.acceptedEpoch) {
      // Accepted before (from this leader in an earlier session, or from a rival): answer, but
      // the leader must not count it again.
      this.ackEpoch(false, out);
    } else {
      this.stop('epochRefused', `leader epoch ${epoch} is below accepted epoch ${this.acceptedEpoch}`, out);
    }
  }

  private ackEpoch(fresh: boolean, out: ZabOutput<T, S>[]): undefined {
    this._state = 'awaitingSync';
    this.send(
      {
        type: 'ACKEPOCH',
        epoch: this.epoch,
        fresh,
        currentEpoch: this.currentEpoch,
        lastZxid: this._lastLogged,
      },
      out,
    );
  }

  private truncate(zxid: Zxid, out: ZabOutput<T, S>[]): undefined {
    this._state = 'syncing';
    if (this.cfg.unsafe.ignoreTrunc) return;
    if (zxid < this._lastApplied) {
      this.stop(
        'protocol',
        `TRUNC to ${hexZxid(zxid)} is below the applied ${hexZxid(this._lastApplied)}`,
        out,
      );
      return;
    }
    if (zxid !== this._lastApplied && !this.unapplied.some((t) => t.zxid === zxid)) {
      // The leader keeps our log up to `zxid`, which we do not hold: our history diverged earlier.
      this.stop('protocol', `TRUNC to ${hexZxid(zxid)}, which is not in this log`, out);
      return;
    }
    this.writes.write({ op: 'truncate', zxid }, out);
    let keep = this.unapplied.length;
    while (keep > 0 && (this.unapplied[keep - 1] as Txn<T>).zxid > zxid) keep--;
    this.unapplied.length = keep;
    this._lastLogged = zxid;
  }

  private proposal(zxid: Zxid, data: T, out: ZabOutput<T, S>[]): undefined {
    const s = this._state;
    if (this.observer && s !== 'syncing') return this.violation('PROPOSAL', out);
    if (s !== 'syncing' && s !== 'persistingNewLeader' && s !== 'awaitingUpToDate' && s !== 'broadcast') {
      return this.violation('PROPOSAL', out);
    }
    if (zxid <= this._lastLogged) {
      this.stop('protocol', `PROPOSAL ${hexZxid(zxid)} not after ${hexZxid(this._lastLogged)}`, out);
      return;
    }
    const txn: Txn<T> = { zxid, data };
    if (s === 'syncing' && this.cfg.unsafe.epochBeforeTxns) {
      this.heldBack.push(txn);
      this.unapplied.push(txn);
      this._lastLogged = zxid;
      return;
    }
    const seq = this.log(txn, out);
    if (s === 'syncing') return; // covered by the NEWLEADER acknowledgement
    if (this.cfg.unsafe.ackBeforeDurable && s !== 'persistingNewLeader') {
      this.send({ type: 'ACK', zxid }, out);
      return;
    }
    this.writes.track(seq, zxid);
    if (s !== 'persistingNewLeader') this.ackDurable(out);
  }

  private newLeader(zxid: Zxid, out: ZabOutput<T, S>[]): undefined {
    if (this._state !== 'syncing') return this.violation('NEWLEADER', out);
    if (epochOf(zxid) !== this.epoch) {
      this.stop('protocol', `NEWLEADER for epoch ${epochOf(zxid)}, expected ${this.epoch}`, out);
      return;
    }
    this._state = 'persistingNewLeader';
    // The synced transactions were queued before this write; the disk is FIFO, so once
    // currentEpoch is durable they are too. Only then is NEWLEADER acknowledged.
    this.newLeaderSeq = this.writes.write({ op: 'currentEpoch', epoch: this.epoch }, out);
    this.currentEpoch = this.epoch;
    if (this.heldBack.length > 0) {
      this.writes.write({ op: 'append', txns: this.heldBack }, out);
      this.heldBack = [];
    }
    if (this.cfg.unsafe.ackNewLeaderBeforePersist) this.newLeaderAcked(out);
    else if (this.durableSeq >= this.newLeaderSeq) this.newLeaderAcked(out);
  }

  private newLeaderAcked(out: ZabOutput<T, S>[]): undefined {
    this._state = 'awaitingUpToDate';
    this.send({ type: 'ACK', zxid: makeZxid(this.epoch, 0n) }, out);
    this.ackDurable(out);
    if (this.cfg.unsafe.applySyncedEarly) {
      this.committed = this._lastLogged;
      this.applyCommitted(out);
    }
  }

  private diskDone(seq: number, out: ZabOutput<T, S>[]): undefined {
    if (seq <= this.durableSeq) return;
    this.durableSeq = seq;
    if (this._state === 'acceptingEpoch' && seq >= this.acceptSeq) this.ackEpoch(true, out);
    if (this._state === 'persistingNewLeader' && seq >= this.newLeaderSeq) this.newLeaderAcked(out);
    else if (this._state === 'awaitingUpToDate' || this._state === 'broadcast') this.ackDurable(out);
  }

  /** One ACK for the highest proposal now durable (ACKs are cumulative: the log is FIFO). */
  private ackDurable(out: ZabOutput<T, S>[]): undefined {
    const zxid = this.writes.durableUpTo(this.durableSeq);
    if (zxid !== undefined && !this.observer) this.send({ type: 'ACK', zxid }, out);
  }

  private log(txn: Txn<T>, out: ZabOutput<T, S>[]): number {
    this.unapplied.push(txn);
    this._lastLogged = txn.zxid;
    return this.writes.write({ op: 'append', txns: [txn] }, out);
  }

  private applyCommitted(out: ZabOutput<T, S>[]): undefined {
    let n = 0;
    while (n < this.unapplied.length && (this.unapplied[n] as Txn<T>).zxid <= this.committed) {
      const txn = this.unapplied[n] as Txn<T>;
      out.push({ type: 'apply', txn });
      this._lastApplied = txn.zxid;
      n++;
    }
    if (n > 0) this.unapplied.splice(0, n);
  }

  private violation(what: string, out: ZabOutput<T, S>[]): undefined {
    this.stop('protocol', `unexpected ${what} in state ${this._state}`, out);
  }

  private send(msg: ZabMessage<T, S>, out: ZabOutput<T, S>[]): undefined {
    out.push({ type: 'send', to: this.leaderId, msg });
  }

  private stop(reason: StopReason, detail: string, out: ZabOutput<T, S>[]): undefined {
    this._state = 'stopped';
    out.push({ type: 'lookForLeader', reason, detail });
  }
}

/** A follower: a voting learner that acknowledges proposals. */
export class ZabFollower<T = Uint8Array, S = Uint8Array> extends ZabLearner<T, S> {
  constructor(config: LearnerConfig, disk: ZabDiskState<T>) {
    super(config, disk, false);
  }
}

/** An observer: a non-voting learner that receives committed transactions (INFORM). */
export class ZabObserver<T = Uint8Array, S = Uint8Array> extends ZabLearner<T, S> {
  constructor(config: LearnerConfig, disk: ZabDiskState<T>) {
    super(config, disk, true);
  }
}
