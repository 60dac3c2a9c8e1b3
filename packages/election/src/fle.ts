import { assertNever, ElectionError } from './errors.js';
import {
  type Credentials,
  type DecidedState,
  hex,
  NO_LEADER,
  NO_ZXID,
  NOTIFICATION_VERSION,
  type Notification,
  ranksAbove,
  type ServerState,
  type Vote,
} from './vote.js';

/** The two timers the election uses. */
export type ElectionTimer =
  /** No notification arrived for the current interval: re-send our vote, double the interval. */
  | 'notification'
  /** A quorum agreed and nothing better arrived for `finalizeWaitMs`: decide. */
  | 'finalize';

export interface ElectionConfig {
  /** This server's id (`myid`). */
  readonly myId: number;
  /** Ids of the voting members (participants), this server included if it votes. */
  readonly voters: readonly number[];
  /** Ids of the observers (never vote, never lead), this server included if it observes. */
  readonly observers?: readonly number[];
  /** How long a quorum must stay unchallenged before deciding. ZooKeeper: 200 ms. */
  readonly finalizeWaitMs?: number;
  /** First notification time-out; ZooKeeper: equal to finalizeWait (200 ms). */
  readonly minNotificationIntervalMs?: number;
  /** The notification time-out doubles up to this; ZooKeeper: 60 000 ms. */
  readonly maxNotificationIntervalMs?: number;
  /**
   * Decide without the finalize wait once no voter is left that could still change the outcome:
   * every other voter told us a vote no better than ours in this round, or is unreachable (see the
   * `peerReachability` input). Default true; false waits the full finalizeWait as ZooKeeper does.
   */
  readonly decideEarly?: boolean;
}

/** What the state machine is told. */
export type ElectionInput =
  /**
   * Start looking for a leader (first start, restart after a crash, or the protocol above lost its
   * leader): a new round with this server's persisted `currentEpoch` and last logged zxid.
   */
  | { readonly type: 'start'; readonly currentEpoch: bigint; readonly lastZxid: bigint }
  /** A notification from server `from` (the connection's sid). */
  | { readonly type: 'notification'; readonly from: number; readonly n: Notification }
  /** A timer set by a `setTimer` output fired. */
  | { readonly type: 'timeout'; readonly timer: ElectionTimer }
  /**
   * What the adapter knows about server `sid`: `reachable: false` when connecting to it was
   * refused, timed out or failed, or its connection closed; `true` when a connection is up again.
   * A notification from `sid` also makes it reachable. Allowed before `start`; a server starts
   * out reachable (unknown). Only used to decide without the finalize wait.
   */
  | { readonly type: 'peerReachability'; readonly sid: number; readonly reachable: boolean };

export type LogLevel = 'debug' | 'info' | 'warn';

/** How a decision was reached (for logs, tests and invariant checks). */
export type DecisionPath =
  /** A quorum of LOOKING votes in our round agreed with our proposal, unchallenged for finalizeWait. */
  | 'quorum'
  /** Notifications from FOLLOWING/LEADING servers of our round showed a quorum behind a leader. */
  | 'recvset'
  /** Notifications from servers already out of an election (any round) showed a quorum behind a leader. */
  | 'outofelection';

/** How a `quorum` decision ended its finalize wait. */
export type FinalizeOutcome =
  /** finalizeWait ran out with nothing better (ZooKeeper's only way). */
  | 'waited'
  /** Every other voter had told us a vote no better than ours in this round: nothing left to wait for. */
  | 'all-heard'
  /** Every other voter had been heard in this round or was unreachable, at least one unreachable. */
  | 'unreachable';

export interface Decision {
  readonly state: DecidedState;
  readonly vote: Vote;
  /** Voters whose vote made the quorum. */
  readonly supporters: readonly number[];
  /** Those of `supporters` that were still LOOKING (the others had already decided). */
  readonly lookingSupporters: readonly number[];
  readonly path: DecisionPath;
  /** For `path: 'quorum'`: whether the finalize wait ran out or was skipped, and why. */
  readonly finalize?: FinalizeOutcome;
}

/** What the state machine asks its adapter to do. */
export type ElectionOutput =
  | { readonly type: 'send'; readonly to: number; readonly n: Notification }
  | { readonly type: 'setTimer'; readonly timer: ElectionTimer; readonly afterMs: number }
  | { readonly type: 'cancelTimer'; readonly timer: ElectionTimer }
  | ({ readonly type: 'decided' } & Decision)
  | { readonly type: 'log'; readonly level: LogLevel; readonly message: string };

interface Recorded extends Vote {
  readonly state: ServerState;
}

/**
 * Apache ZooKeeper's FastLeaderElection as a sans-I/O state machine: `step(input)` returns the
 * messages to send, the timers to set and, once, the decision. No sockets, timers or clocks
 * inside; the caller delivers notifications (including the ones this server sends itself) and
 * fires timers.
 */
export class FastLeaderElection {
  readonly myId: number;
  readonly finalizeWaitMs: number;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  private readonly voters: ReadonlySet<number>;
  private readonly voterList: readonly number[];
  private readonly observers: ReadonlySet<number>;
  private readonly participant: boolean;
  private readonly decideEarly: boolean;

  private _state: ServerState = 'LOOKING';
  private started = false;
  private clock = 0n;
  private proposal: Credentials;
  private init: Credentials;
  private recvset = new Map<number, Recorded>();
  private outofelection = new Map<number, Recorded>();
  private notTimeout: number;
  private finalizing = false;
  private final: Decision | undefined;
  /** LOOKING notifications that arrived while decided (latest per voter), replayed by the next start. */
  private held = new Map<number, Notification>();
  /**
   * Voters that told us, in the current round, a vote no better than our proposal (it only gets
   * better within a round, so they stay so). Cleared with the round.
   */
  private heard = new Set<number>();
  /** Voters the adapter reported unreachable, with nothing from them since. Kept across rounds. */
  private unreachable = new Set<number>();

  constructor(config: ElectionConfig) {
    const voters = new Set(config.voters);
    const observers = new Set(config.observers ?? []);
    if (voters.size === 0) throw new ElectionError('config', 'an ensemble needs at least one voter');
    for (const id of [...voters, ...observers]) {
      if (!Number.isSafeInteger(id) || id < 0) throw new ElectionError('config', `bad server id ${id}`);
      if (voters.has(id) && observers.has(id)) {
        throw new ElectionError('config', `server ${id} cannot be both a voter and an observer`);
      }
    }
    if (!voters.has(config.myId) && !observers.has(config.myId)) {
      throw new ElectionError('config', `my id ${config.myId} is not in the ensemble`);
    }
    this.myId = config.myId;
    this.voters = voters;
    this.voterList = [...voters].sort((a, b) => a - b);
    this.observers = observers;
    this.participant = voters.has(config.myId);
    this.finalizeWaitMs = config.finalizeWaitMs ?? 200;
    this.minIntervalMs = config.minNotificationIntervalMs ?? this.finalizeWaitMs;
    this.maxIntervalMs = config.maxNotificationIntervalMs ?? 60_000;
    this.decideEarly = config.decideEarly ?? true;
    if (!(this.finalizeWaitMs >= 0) || !(this.minIntervalMs > 0) || this.maxIntervalMs < this.minIntervalMs) {
      throw new ElectionError(
        'config',
        'need finalizeWaitMs >= 0 and 0 < minNotificationIntervalMs <= maxNotificationIntervalMs',
      );
    }
    this.notTimeout = this.minIntervalMs;
    this.init = { leader: NO_LEADER, zxid: NO_ZXID, peerEpoch: NO_ZXID };
    this.proposal = this.init;
  }

  /** LOOKING until a decision; then FOLLOWING, LEADING or OBSERVING until the next `start`. */
  get state(): ServerState {
    return this._state;
  }

  /** The logical clock (election round). */
  get logicalClock(): bigint {
    return this.clock;
  }

  /** What this server currently votes for (its final vote once decided). */
  get currentVote(): Vote {
    if (this.final !== undefined && this._state !== 'LOOKING') return this.final.vote;
    return { ...this.proposal, electionEpoch: this.clock };
  }

  /** The decision of the last election, while it stands. */
  get decision(): Decision | undefined {
    return this._state === 'LOOKING' ? undefined : this.final;
  }

  /** The current notification time-out (ms). */
  get notificationTimeoutMs(): number {
    return this.notTimeout;
  }

  /** Whether a quorum was reached and the finalize wait is running. */
  get isFinalizing(): boolean {
    return this.finalizing;
  }

  isVoter(id: number): boolean {
    return this.voters.has(id);
  }

  /** Voters currently reported unreachable (ascending). */
  get unreachablePeers(): readonly number[] {
    return [...this.unreachable].sort((a, b) => a - b);
  }

  /** True when `ids` contains a strict majority of the voters. */
  isQuorum(ids: Iterable<number>): boolean {
    let n = 0;
    for (const id of new Set(ids)) if (this.voters.has(id)) n++;
    return n * 2 > this.voters.size;
  }

  step(input: ElectionInput): ElectionOutput[] {
    const out: ElectionOutput[] = [];
    switch (input.type) {
      case 'start':
        this.start(input.currentEpoch, input.lastZxid, out);
        break;
      case 'notification':
        if (!this.started) throw new ElectionError('input', 'a notification before start');
        this.receive(input.from, input.n, out);
        break;
      case 'timeout':
        if (!this.started) throw new ElectionError('input', 'a time-out before start');
        this.timeout(input.timer, out);
        break;
      case 'peerReachability':
        this.reachability(input.sid, input.reachable, out);
        break;
      default:
        assertNever(input);
    }
    return out;
  }

  // --- the election ---

  private start(currentEpoch: bigint, lastZxid: bigint, out: ElectionOutput[]): void {
    this.started = true;
    this._state = 'LOOKING';
    this.final = undefined;
    this.clock += 1n;
    this.init = this.participant
      ? { leader: this.myId, zxid: lastZxid, peerEpoch: currentEpoch }
      : { leader: NO_LEADER, zxid: NO_ZXID, peerEpoch: NO_ZXID };
    this.proposal = this.init;
    this.recvset = new Map();
    this.outofelection = new Map();
    this.heard = new Set();
    this.notTimeout = this.minIntervalMs;
    this.finalizing = false;
    out.push({ type: 'cancelTimer', timer: 'finalize' });
    this.log(out, 'info', `New election. My id = ${this.myId}, proposed zxid=${hex(this.proposal.zxid)}`);
    this.sendNotifications(out);
    out.push({ type: 'setTimer', timer: 'notification', afterMs: this.notTimeout });
    // Votes of servers that started looking just before we did: take them now, as if they had
    // arrived a little later (any delivery delay is a legal schedule), instead of waiting for
    // their senders' next time-out. They arrived before any later unreachability report, so they
    // do not make their senders reachable again.
    const held = [...this.held];
    this.held = new Map();
    for (const [from, n] of held) this.receive(from, n, out, false);
  }

  private receive(from: number, n: Notification, out: ElectionOutput[], fresh = true): void {
    this.log(
      out,
      'info',
      `Notification: ${n.version} (message format version), ${n.leader} (n.leader), ${hex(n.zxid)} (n.zxid), ` +
        `${hex(n.electionEpoch)} (n.round), ${n.state} (n.state), ${from} (n.sid), ${hex(n.peerEpoch)} (n.peerEpoch) ` +
        `${this._state} (my state)`,
    );
    if (fresh && this.unreachable.delete(from)) {
      this.log(out, 'debug', `Server ${from} is reachable again: a notification arrived`);
    }
    // What ZooKeeper's receiver thread does before the election loop sees the notification.
    if (!this.voters.has(from)) {
      // A non-voter (an observer) gets our current vote straight back; its vote does not count.
      this.reply(from, this.currentVote, out);
      return;
    }
    if (this._state !== 'LOOKING') {
      // Out of the election: tell a looking server who leads.
      if (n.state === 'LOOKING') {
        this.reply(from, this.currentVote, out);
        this.held.set(from, n);
      }
      return;
    }
    if (n.state === 'LOOKING' && n.electionEpoch < this.clock) {
      // A server in an older round: answer with our vote so it catches up.
      this.reply(from, this.currentVote, out);
    }
    // The election loop.
    if (this.finalizing) {
      if (!this.better(n, this.proposal)) {
        // Nothing better: keep waiting the full finalizeWait again, dropping this one — unless it
        // was the last voter we were waiting to hear from.
        this.noteHeard(from, n);
        if (this.tryDecideEarly(out)) return;
        out.push({ type: 'setTimer', timer: 'finalize', afterMs: this.finalizeWaitMs });
        return;
      }
      // A better vote arrived while finalizing: the quorum is challenged, keep looking.
      this.finalizing = false;
      out.push({ type: 'cancelTimer', timer: 'finalize' });
    }
    if (!this.voters.has(n.leader)) {
      this.log(out, 'warn', `Ignoring notification for non-cluster member sid ${n.leader} from sid ${from}`);
      this.armNotificationTimer(out);
      return;
    }
    switch (n.state) {
      case 'LOOKING':
        this.lookingNotification(from, n, out);
        break;
      case 'OBSERVING':
        this.log(out, 'debug', `Notification from observer: ${from}`);
        break;
      case 'FOLLOWING':
      case 'LEADING':
        this.decidedNotification(from, n, out);
        break;
      default:
        assertNever(n.state);
    }
    if (this._state === 'LOOKING' && !this.finalizing) this.armNotificationTimer(out);
  }

  private lookingNotification(from: number, n: Notification, out: ElectionOutput[]): void {
    if (this.init.zxid === -1n) {
      this.log(out, 'debug', 'Ignoring notification as our zxid is -1');
      return;
    }
    if (n.zxid === -1n) {
      this.log(out, 'debug', `Ignoring notification from member with -1 zxid ${from}`);
      return;
    }
    if (n.electionEpoch > this.clock) {
      // We are behind: join the newer round, forget the older round's votes.
      this.clock = n.electionEpoch;
      this.recvset.clear();
      this.heard.clear();
      this.proposal = this.better(n, this.init) ? credentialsOf(n) : this.init;
      this.sendNotifications(out);
    } else if (n.electionEpoch < this.clock) {
      // An older round: answered above, otherwise ignored.
      return;
    } else if (this.better(n, this.proposal)) {
      this.proposal = credentialsOf(n);
      this.sendNotifications(out);
    }
    this.recvset.set(from, { ...voteOf(n), state: 'LOOKING' });
    this.noteHeard(from, n);
    const mine: Recorded = { ...this.proposal, electionEpoch: this.clock, state: 'LOOKING' };
    const supporters = this.agreeing(this.recvset, mine);
    if (this.isQuorum(supporters)) {
      this.finalizing = true;
      out.push({ type: 'cancelTimer', timer: 'notification' });
      if (!this.tryDecideEarly(out)) {
        out.push({ type: 'setTimer', timer: 'finalize', afterMs: this.finalizeWaitMs });
      }
    }
  }

  private decidedNotification(from: number, n: Notification, out: ElectionOutput[]): void {
    const theirs: Recorded = { ...voteOf(n), state: n.state };
    if (n.electionEpoch === this.clock) {
      this.recvset.set(from, theirs);
      const supporters = this.agreeing(this.recvset, theirs);
      if (this.isQuorum(supporters) && this.checkLeader(this.recvset, n.leader, n.electionEpoch)) {
        this.decide(voteOf(n), supporters, 'recvset', out);
        return;
      }
    }
    this.outofelection.set(from, theirs);
    const supporters = this.agreeing(this.outofelection, theirs);
    if (this.isQuorum(supporters) && this.checkLeader(this.outofelection, n.leader, n.electionEpoch)) {
      this.clock = n.electionEpoch;
      this.decide(voteOf(n), supporters, 'outofelection', out);
      return;
    }
    this.noteHeard(from, n);
  }

  private timeout(timer: ElectionTimer, out: ElectionOutput[]): void {
    if (this._state !== 'LOOKING') return;
    switch (timer) {
      case 'notification':
        if (this.finalizing) return;
        this.sendNotifications(out);
        this.notTimeout = Math.min(this.notTimeout * 2, this.maxIntervalMs);
        this.log(out, 'info', `Notification time out: ${this.notTimeout}`);
        out.push({ type: 'setTimer', timer: 'notification', afterMs: this.notTimeout });
        return;
      case 'finalize':
        if (!this.finalizing) return;
        this.decideQuorum('waited', out);
        return;
      default:
        assertNever(timer);
    }
  }

  private reachability(sid: number, reachable: boolean, out: ElectionOutput[]): void {
    if (!this.voters.has(sid) && !this.observers.has(sid)) {
      throw new ElectionError('input', `reachability of server ${sid}, which is not in the ensemble`);
    }
    // Only other voters matter: observers never count, and we always reach ourselves.
    if (sid === this.myId || !this.voters.has(sid)) return;
    if (reachable) {
      if (this.unreachable.delete(sid)) this.log(out, 'debug', `Server ${sid} is reachable again`);
      return;
    }
    // What it told us may be stale by the time it is back (a restart): it must be heard again.
    this.heard.delete(sid);
    if (this.unreachable.has(sid)) return;
    this.unreachable.add(sid);
    this.log(out, 'debug', `Server ${sid} is unreachable`);
    this.tryDecideEarly(out);
  }

  /**
   * Records that `from` told us, in our round, a vote no better than our proposal, so no better
   * vote can come from its credentials: a LOOKING server's vote ranks at least as high as its own
   * credentials, and a FOLLOWING or LEADING server proposes nobody until it starts a new (higher)
   * round, which clears `heard`. OBSERVING votes, -1 zxids and votes for non-voters are not
   * counted (the election ignores them).
   */
  private noteHeard(from: number, n: Notification): void {
    if (n.electionEpoch !== this.clock || n.state === 'OBSERVING') return;
    if (n.state === 'LOOKING' && n.zxid === -1n) return;
    if (!this.voters.has(n.leader) || this.better(n, this.proposal)) return;
    this.heard.add(from);
  }

  /**
   * The early decision: while finalizing (a quorum of LOOKING votes in our round equals our
   * proposal), decide at once when every other voter has been heard in this round (`heard`) or is
   * unreachable, and the server we propose is not one of the unreachable ones.
   *
   * Why it is safe: the finalize wait only looks for a vote better than our proposal; it is not
   * what makes the election safe. Votes are credentials of voters; every heard voter's credentials
   * rank at or below our proposal (see `noteHeard`), so with every voter heard no better vote
   * exists in this round. Otherwise a better one could only stem from an unreachable voter, taken
   * to be down: a report that it is reachable again, or anything from it, ends that exemption.
   * Either way the decision is the one the wait would take if nothing arrived in it: a quorum of
   * LOOKING votes of our round, each equal to our proposal, whose leader ranks (peerEpoch, zxid,
   * sid) at least as high as every server of that quorum — so it holds every txn a quorum
   * acknowledged (two quorums share a server). A wrong guess (a server unreachable to us but
   * alive, better, and reachable to others) can only make servers pick different leaders, which
   * ZooKeeper's wait cannot rule out either: Zab's epoch handshake still admits one leader per
   * epoch, and a leader without a quorum of followers looks again.
   */
  private tryDecideEarly(out: ElectionOutput[]): boolean {
    if (!this.decideEarly || !this.finalizing || this._state !== 'LOOKING') return false;
    // Following a server we cannot reach gains nothing: wait as ZooKeeper does.
    if (this.unreachable.has(this.proposal.leader)) return false;
    const away: number[] = [];
    for (const v of this.voterList) {
      if (v === this.myId || this.heard.has(v)) continue;
      if (!this.unreachable.has(v)) return false;
      away.push(v);
    }
    this.log(
      out,
      'info',
      away.length === 0
        ? `Every voter has been heard in round ${hex(this.clock)}: deciding without the finalize wait`
        : `Every voter has been heard in round ${hex(this.clock)} or is unreachable (${away.join(',')}): ` +
            'deciding without the finalize wait',
    );
    this.decideQuorum(away.length === 0 ? 'all-heard' : 'unreachable', out);
    return true;
  }

  /** Decides for our proposal, backed by the quorum of LOOKING votes in recvset that equal it. */
  private decideQuorum(finalize: FinalizeOutcome, out: ElectionOutput[]): void {
    const mine: Recorded = { ...this.proposal, electionEpoch: this.clock, state: 'LOOKING' };
    this.decide(
      { ...this.proposal, electionEpoch: this.clock },
      this.agreeing(this.recvset, mine),
      'quorum',
      out,
      finalize,
    );
  }

  private decide(
    vote: Vote,
    supporters: number[],
    path: DecisionPath,
    out: ElectionOutput[],
    finalize?: FinalizeOutcome,
  ): void {
    const votes = path === 'outofelection' ? this.outofelection : this.recvset;
    const lookingSupporters = supporters.filter((s) => votes.get(s)?.state === 'LOOKING');
    const state: DecidedState =
      vote.leader === this.myId ? 'LEADING' : this.participant ? 'FOLLOWING' : 'OBSERVING';
    this._state = state;
    this.finalizing = false;
    this.final = {
      state,
      vote,
      supporters: supporters.sort((a, b) => a - b),
      lookingSupporters,
      path,
      ...(finalize === undefined ? {} : { finalize }),
    };
    this.recvset = new Map();
    this.outofelection = new Map();
    this.heard = new Set();
    out.push({ type: 'cancelTimer', timer: 'notification' });
    out.push({ type: 'cancelTimer', timer: 'finalize' });
    this.log(out, 'info', state);
    out.push({ type: 'decided', ...this.final });
  }

  // --- helpers ---

  /** The vote order, refusing leaders that cannot lead (non-voters). */
  private better(a: Credentials, b: Credentials): boolean {
    return this.voters.has(a.leader) && ranksAbove(a, b);
  }

  /**
   * Whether the claimed leader is really out there leading: someone else must have told us they
   * are LEADING; if we are the claimed leader, the round must be ours.
   */
  private checkLeader(votes: ReadonlyMap<number, Recorded>, leader: number, electionEpoch: bigint): boolean {
    if (leader !== this.myId) return votes.get(leader)?.state === 'LEADING';
    return this.clock === electionEpoch;
  }

  /** Voters whose recorded vote equals `v` (ZooKeeper's vote equality). */
  private agreeing(votes: ReadonlyMap<number, Recorded>, v: Recorded): number[] {
    const ids: number[] = [];
    for (const [sid, r] of votes) if (this.voters.has(sid) && sameVote(r, v)) ids.push(sid);
    return ids;
  }

  private sendNotifications(out: ElectionOutput[]): void {
    const n: Notification = {
      version: NOTIFICATION_VERSION,
      ...this.proposal,
      electionEpoch: this.clock,
      state: this._state,
    };
    for (const to of this.voterList) out.push({ type: 'send', to, n });
  }

  private reply(to: number, v: Vote, out: ElectionOutput[]): void {
    out.push({
      type: 'send',
      to,
      n: {
        version: NOTIFICATION_VERSION,
        leader: v.leader,
        zxid: v.zxid,
        electionEpoch: v.electionEpoch,
        peerEpoch: v.peerEpoch,
        state: this._state,
      },
    });
  }

  private armNotificationTimer(out: ElectionOutput[]): void {
    out.push({ type: 'setTimer', timer: 'notification', afterMs: this.notTimeout });
  }

  private log(out: ElectionOutput[], level: LogLevel, message: string): void {
    out.push({ type: 'log', level, message });
  }

  /** Ids this server sends notifications to (the voters). */
  get peers(): readonly number[] {
    return this.voterList;
  }

  /** Whether `id` is an observer of this ensemble. */
  isObserver(id: number): boolean {
    return this.observers.has(id);
  }
}

function credentialsOf(v: Credentials): Credentials {
  return { leader: v.leader, zxid: v.zxid, peerEpoch: v.peerEpoch };
}

function voteOf(v: Vote): Vote {
  return { leader: v.leader, zxid: v.zxid, electionEpoch: v.electionEpoch, peerEpoch: v.peerEpoch };
}

/**
 * ZooKeeper's vote equality: while either side is LOOKING, all of leader, zxid, round and peer
 * epoch must match; between servers out of the election, leader and peer epoch suffice (their zxid
 * and round may have moved on since they decided).
 */
function sameVote(a: Recorded, b: Recorded): boolean {
  if (a.state === 'LOOKING' || b.state === 'LOOKING') {
    return (
      a.leader === b.leader &&
      a.zxid === b.zxid &&
      a.electionEpoch === b.electionEpoch &&
      a.peerEpoch === b.peerEpoch
    );
  }
  return a.leader === b.leader && a.peerEpoch === b.peerEpoch;
}
