import { assertNever } from './errors.js';
import {
  type Decision,
  type ElectionConfig,
  type ElectionOutput,
  type ElectionTimer,
  FastLeaderElection,
  type LogLevel,
} from './fle.js';
import { hex, type Notification } from './vote.js';

/** What a server keeps across crashes: its accepted epoch and its last logged zxid. */
export interface PersistedElectionState {
  readonly currentEpoch: bigint;
  readonly lastZxid: bigint;
}

/**
 * Messages between members: election notifications, plus the learner handshake that Zab starts
 * with — what turns an election decision into leadership. FastLeaderElection alone can decide
 * differently on different servers (a slow message, a late starter): a learner that asks a server
 * which is not leading is refused and looks again, and a leader that does not gather a quorum of
 * learners in `initLimitMs` looks again. Zab replaces this later.
 */
export type MemberMessage =
  | { readonly kind: 'fle'; readonly n: Notification }
  /** A learner asks the server it elected to accept it (also its periodic ping). */
  | { readonly kind: 'follow'; readonly round: bigint; readonly peerEpoch: bigint }
  /** The answer: accepted only by a server that is LEADING. */
  | { readonly kind: 'followed'; readonly ok: boolean; readonly round: bigint }
  /** A learner stopped following, or a leader stopped leading (a closed learner connection). */
  | { readonly kind: 'leave' };

export type MemberTimer = ElectionTimer | 'init' | 'sync';

export type MemberInput =
  /** Start (or restart after a crash) looking, with the persisted state. */
  | { readonly type: 'start' }
  | { readonly type: 'message'; readonly from: number; readonly msg: MemberMessage }
  | { readonly type: 'timeout'; readonly timer: MemberTimer }
  /** A connection to `peer` opened or closed (also tells the election whether `peer` is reachable). */
  | { readonly type: 'link'; readonly peer: number; readonly up: boolean }
  /**
   * Whether `peer` can be reached, when that is learnt without a connection opening or closing
   * (a connection attempt refused, timed out or failed): see FastLeaderElection's
   * `peerReachability` input.
   */
  | { readonly type: 'reachability'; readonly peer: number; readonly reachable: boolean };

export type MemberOutput =
  | { readonly type: 'send'; readonly to: number; readonly msg: MemberMessage }
  | { readonly type: 'setTimer'; readonly timer: MemberTimer; readonly afterMs: number }
  | { readonly type: 'cancelTimer'; readonly timer: MemberTimer }
  | ({ readonly type: 'decided' } & Decision)
  | { readonly type: 'log'; readonly level: LogLevel; readonly message: string };

export interface MemberConfig extends ElectionConfig {
  readonly persisted: PersistedElectionState;
  /** Time a learner waits to be accepted, and a leader to gather a quorum (ZooKeeper: initLimit ticks). */
  readonly initLimitMs: number;
  /** A learner pings its leader this often; each side gives up after that much silence (syncLimit ticks). */
  readonly syncLimitMs: number;
}

/**
 * An ensemble member as a sans-I/O state machine: FastLeaderElection plus the learner handshake.
 * The simulator and the TCP member drive this same code.
 */
export class MemberCore {
  readonly fle: FastLeaderElection;
  readonly myId: number;
  /** Learners that confirmed this member as their leader (current sync period and before). */
  readonly learners = new Set<number>();
  private readonly heardFrom = new Set<number>();
  /** Learners that asked while this member was still looking: answered once it decides. */
  private readonly pending = new Set<number>();
  /** Peers with an open connection. */
  readonly links = new Set<number>();
  private _established = false;
  private _confirmed = false;
  private heard = false;

  constructor(readonly config: MemberConfig) {
    this.fle = new FastLeaderElection(config);
    this.myId = config.myId;
  }

  /** A leader with a quorum of learners (itself included). */
  get established(): boolean {
    return this._established;
  }

  /** A learner its leader accepted. */
  get confirmed(): boolean {
    return this._confirmed;
  }

  step(input: MemberInput): MemberOutput[] {
    const out: MemberOutput[] = [];
    switch (input.type) {
      case 'start':
        this.restart(out);
        break;
      case 'message':
        this.message(input.from, input.msg, out);
        break;
      case 'timeout':
        this.timeout(input.timer, out);
        break;
      case 'link':
        this.link(input.peer, input.up, out);
        break;
      case 'reachability':
        this.run(
          this.fle.step({ type: 'peerReachability', sid: input.peer, reachable: input.reachable }),
          out,
        );
        break;
      default:
        assertNever(input);
    }
    return out;
  }

  private restart(out: MemberOutput[]): void {
    const d = this.fle.decision;
    if (d?.state === 'LEADING') {
      for (const l of this.learners) out.push({ type: 'send', to: l, msg: { kind: 'leave' } });
    } else if (d !== undefined) {
      out.push({ type: 'send', to: d.vote.leader, msg: { kind: 'leave' } });
    }
    this.learners.clear();
    this.heardFrom.clear();
    this._established = false;
    this._confirmed = false;
    this.heard = false;
    out.push({ type: 'cancelTimer', timer: 'init' });
    out.push({ type: 'cancelTimer', timer: 'sync' });
    out.push({ type: 'log', level: 'info', message: 'LOOKING' });
    this.run(this.fle.step({ type: 'start', ...this.config.persisted }), out);
  }

  private lookAgain(why: string, out: MemberOutput[]): void {
    out.push({ type: 'log', level: 'warn', message: `${why}: looking again` });
    this.restart(out);
  }

  private run(outputs: readonly ElectionOutput[], out: MemberOutput[]): void {
    for (const o of outputs) {
      switch (o.type) {
        case 'send':
          out.push({ type: 'send', to: o.to, msg: { kind: 'fle', n: o.n } });
          break;
        case 'setTimer':
        case 'cancelTimer':
        case 'log':
          out.push(o);
          break;
        case 'decided':
          out.push(o);
          this.decided(o, out);
          break;
        default:
          assertNever(o);
      }
    }
  }

  private decided(d: Decision, out: MemberOutput[]): void {
    out.push({ type: 'setTimer', timer: 'init', afterMs: this.config.initLimitMs });
    out.push({ type: 'setTimer', timer: 'sync', afterMs: this.config.syncLimitMs });
    this.heard = true;
    if (d.state === 'LEADING') {
      this.learners.clear();
      this.heardFrom.clear();
      if (this.fle.isQuorum([this.myId])) this.establish(out);
    } else {
      out.push({
        type: 'send',
        to: d.vote.leader,
        msg: { kind: 'follow', round: d.vote.electionEpoch, peerEpoch: d.vote.peerEpoch },
      });
    }
    for (const from of this.pending) this.answerFollow(from, out);
    this.pending.clear();
  }

  private establish(out: MemberOutput[]): void {
    this._established = true;
    out.push({ type: 'cancelTimer', timer: 'init' });
    out.push({
      type: 'log',
      level: 'info',
      message: `Leading round ${hex(this.fle.logicalClock)} with learners [${[...this.learners].sort((a, b) => a - b).join(',')}]`,
    });
  }

  private answerFollow(from: number, out: MemberOutput[]): void {
    const ok = this.fle.decision?.state === 'LEADING';
    out.push({ type: 'send', to: from, msg: { kind: 'followed', ok, round: this.fle.logicalClock } });
    if (!ok) return;
    this.learners.add(from);
    this.heardFrom.add(from);
    if (!this._established && this.fle.isQuorum([this.myId, ...this.learners])) this.establish(out);
  }

  private message(from: number, msg: MemberMessage, out: MemberOutput[]): void {
    switch (msg.kind) {
      case 'fle':
        this.run(this.fle.step({ type: 'notification', from, n: msg.n }), out);
        return;
      case 'follow':
        if (this.fle.state === 'LOOKING') this.pending.add(from);
        else this.answerFollow(from, out);
        return;
      case 'followed': {
        const d = this.fle.decision;
        if (d === undefined || d.state === 'LEADING' || d.vote.leader !== from) return;
        if (msg.ok) {
          if (!this._confirmed) out.push({ type: 'cancelTimer', timer: 'init' });
          this._confirmed = true;
          this.heard = true;
        } else {
          this.lookAgain(`Server ${from} is not leading`, out);
        }
        return;
      }
      case 'leave': {
        const d = this.fle.decision;
        if (d === undefined) return;
        if (d.state === 'LEADING') {
          this.learners.delete(from);
          this.heardFrom.delete(from);
          if (this._established && !this.fle.isQuorum([this.myId, ...this.learners])) {
            this.lookAgain('Lost the quorum of learners', out);
          }
        } else if (d.vote.leader === from) {
          this.lookAgain(`Leader ${from} stopped leading`, out);
        }
        return;
      }
      default:
        assertNever(msg);
    }
  }

  private timeout(timer: MemberTimer, out: MemberOutput[]): void {
    switch (timer) {
      case 'notification':
      case 'finalize':
        this.run(this.fle.step({ type: 'timeout', timer }), out);
        return;
      case 'init': {
        const d = this.fle.decision;
        if (d === undefined) return;
        if (d.state === 'LEADING' && !this._established)
          this.lookAgain('No quorum of learners within initLimit', out);
        else if (d.state !== 'LEADING' && !this._confirmed)
          this.lookAgain(`Leader ${d.vote.leader} did not accept us within initLimit`, out);
        return;
      }
      case 'sync': {
        const d = this.fle.decision;
        if (d === undefined) return;
        if (d.state === 'LEADING') {
          if (this._established && !this.fle.isQuorum([this.myId, ...this.heardFrom])) {
            this.lookAgain('No quorum of learners within syncLimit', out);
            return;
          }
          if (this._established) {
            this.learners.clear();
            for (const l of this.heardFrom) this.learners.add(l);
          }
          this.heardFrom.clear();
        } else {
          if (!this.heard) {
            this.lookAgain(`No word from leader ${d.vote.leader} within syncLimit`, out);
            return;
          }
          this.heard = false;
          out.push({
            type: 'send',
            to: d.vote.leader,
            msg: { kind: 'follow', round: d.vote.electionEpoch, peerEpoch: d.vote.peerEpoch },
          });
        }
        out.push({ type: 'setTimer', timer: 'sync', afterMs: this.config.syncLimitMs });
        return;
      }
      default:
        assertNever(timer);
    }
  }

  private link(peer: number, up: boolean, out: MemberOutput[]): void {
    if (up) this.links.add(peer);
    else {
      this.links.delete(peer);
      this.pending.delete(peer);
    }
    // The election may decide on this at once (the peer was the last voter it waited for).
    this.run(this.fle.step({ type: 'peerReachability', sid: peer, reachable: up }), out);
    if (up) return;
    const d = this.fle.decision;
    if (d === undefined) return;
    if (d.state === 'LEADING') {
      this.learners.delete(peer);
      const reachable = [this.myId, ...this.links].filter((x) => this.fle.isVoter(x));
      if (!this.fle.isQuorum(reachable)) this.lookAgain('Lost the connections to a quorum', out);
    } else if (peer === d.vote.leader) {
      this.lookAgain(`Connection to leader ${peer} closed`, out);
    }
  }
}
