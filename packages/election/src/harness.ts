import type { Effect, Invariant, Protocol, SimView } from '@zkts/sim';
import { assertNever } from './errors.js';
import { type Decision, type ElectionConfig, type ElectionOutput, FastLeaderElection } from './fle.js';
import { type Credentials, hex, type Notification, ranksAbove } from './vote.js';

/** What a server keeps across crashes: its accepted epoch and its last logged zxid. */
export interface PersistedElectionState {
  readonly currentEpoch: bigint;
  readonly lastZxid: bigint;
}

/**
 * Messages between simulated members: election notifications, plus the two-message handshake a
 * learner does with the leader it chose — the first step of Zab, which is what turns an election
 * decision into leadership. ZooKeeper's election alone can decide differently on different
 * servers (a slow message, a late starter); the learner's connection to a server that is not
 * leading fails and it looks again, and a leader that does not gather a quorum of learners in
 * `initLimit` steps down. This stand-in is replaced by Zab later.
 */
export type MemberMessage =
  | { readonly kind: 'fle'; readonly n: Notification }
  | { readonly kind: 'follow'; readonly round: bigint; readonly peerEpoch: bigint }
  | { readonly kind: 'followed'; readonly ok: boolean; readonly round: bigint }
  /** A learner stopped following, or a leader stopped leading (a closed learner connection). */
  | { readonly kind: 'leave' };

export interface MemberOptions {
  /** Time a learner waits to be accepted by its leader, and a leader to gather a quorum (ms). */
  readonly initLimitMs?: number;
  /** A learner re-confirms with its leader this often; each side gives up on silence (ms). */
  readonly syncLimitMs?: number;
  /** Election settings for every member (myId and voters are filled in). */
  readonly election?: Omit<ElectionConfig, 'myId' | 'voters' | 'observers'>;
}

/** One simulated ensemble member: the election state machine plus what the tests observe. */
export class SimMember {
  readonly fle: FastLeaderElection;
  /** Every decision this incarnation made, in order. */
  readonly decisions: Decision[] = [];
  /** Log lines the state machine produced (kept only when `keepLogs`). */
  readonly logs: string[] = [];
  /** Learners that confirmed this member as their leader in its current term. */
  readonly learners = new Set<number>();
  /** Set once a leader has a quorum of confirmed learners (itself included) in the current term. */
  established = false;
  /** A learner accepted by its leader. */
  confirmed = false;
  /** Heard from the leader (a learner) or these learners (a leader) since the last sync tick. */
  heard = false;
  readonly heardFrom = new Set<number>();
  /** Learners asking to follow while this member is still looking: answered once it decides. */
  readonly pending = new Map<number, bigint>();
  /** The last notification sent to each peer: re-sent when a connection opens, as ZooKeeper does. */
  readonly lastSent = new Map<number, Notification>();
  /** Peers currently reachable. */
  readonly links = new Set<number>();

  constructor(
    readonly id: number,
    readonly persisted: PersistedElectionState,
    config: ElectionConfig,
    readonly keepLogs: boolean,
  ) {
    this.fle = new FastLeaderElection(config);
  }

  get credentials(): Credentials {
    return { leader: this.id, zxid: this.persisted.lastZxid, peerEpoch: this.persisted.currentEpoch };
  }
}

export interface EnsembleSpec {
  readonly voters: readonly number[];
  readonly observers?: readonly number[];
  /** Persisted state of each server on first start (default: epoch 0, zxid 0). */
  readonly initial?: ReadonlyMap<number, PersistedElectionState>;
}

type Out = Effect<MemberMessage, PersistedElectionState>;

/** A `Protocol` for `@zkts/sim` running FastLeaderElection members (see `MemberMessage`). */
export function electionProtocol(
  spec: EnsembleSpec,
  options: MemberOptions & { keepLogs?: boolean } = {},
): Protocol<SimMember, MemberMessage, PersistedElectionState> {
  const initLimit = options.initLimitMs ?? 2000;
  const syncLimit = options.syncLimitMs ?? 1000;
  const keepLogs = options.keepLogs ?? false;
  const observers = spec.observers ?? [];

  const restart = (m: SimMember, out: Out[]): void => {
    const d = m.fle.decision;
    if (d?.state === 'LEADING') {
      for (const l of m.learners) out.push({ kind: 'send', to: l, msg: { kind: 'leave' } });
    } else if (d !== undefined) {
      out.push({ kind: 'send', to: d.vote.leader, msg: { kind: 'leave' } });
    }
    m.learners.clear();
    m.heardFrom.clear();
    m.established = false;
    m.confirmed = false;
    m.heard = false;
    out.push({ kind: 'cancelTimer', name: 'init' });
    out.push({ kind: 'cancelTimer', name: 'sync' });
    run(m, m.fle.step({ type: 'start', ...m.persisted }), out);
  };

  const answerFollow = (m: SimMember, from: number, out: Out[]): void => {
    const d = m.fle.decision;
    const ok = d !== undefined && d.state === 'LEADING';
    out.push({ kind: 'send', to: from, msg: { kind: 'followed', ok, round: m.fle.logicalClock } });
    if (ok) {
      m.learners.add(from);
      m.heardFrom.add(from);
      if (!m.established && m.fle.isQuorum([m.id, ...m.learners])) {
        m.established = true;
        out.push({ kind: 'cancelTimer', name: 'init' });
        out.push({ kind: 'trace', text: `established as leader of round ${hex(m.fle.logicalClock)}` });
      }
    }
  };

  const run = (m: SimMember, outputs: readonly ElectionOutput[], out: Out[]): void => {
    for (const o of outputs) {
      switch (o.type) {
        case 'send':
          if (o.to !== m.id) m.lastSent.set(o.to, o.n);
          out.push({ kind: 'send', to: o.to, msg: { kind: 'fle', n: o.n } });
          break;
        case 'setTimer':
          out.push({ kind: 'setTimer', name: o.timer, afterMs: o.afterMs });
          break;
        case 'cancelTimer':
          out.push({ kind: 'cancelTimer', name: o.timer });
          break;
        case 'decided': {
          const { type: _, ...d } = o;
          m.decisions.push(d);
          out.push({
            kind: 'trace',
            text: `decided ${d.state} leader=${d.vote.leader} round=${hex(d.vote.electionEpoch)} via ${d.path} [${d.supporters.join(',')}]`,
          });
          out.push({ kind: 'setTimer', name: 'init', afterMs: initLimit });
          out.push({ kind: 'setTimer', name: 'sync', afterMs: syncLimit });
          m.heard = true;
          if (d.state === 'LEADING') {
            m.learners.clear();
            if (m.fle.isQuorum([m.id])) m.established = true;
          } else {
            out.push({
              kind: 'send',
              to: d.vote.leader,
              msg: { kind: 'follow', round: d.vote.electionEpoch, peerEpoch: d.vote.peerEpoch },
            });
          }
          for (const [from] of m.pending) answerFollow(m, from, out);
          m.pending.clear();
          break;
        }
        case 'log':
          if (m.keepLogs && o.level !== 'debug') m.logs.push(o.message);
          if (m.keepLogs) out.push({ kind: 'trace', text: o.message });
          break;
        default:
          assertNever(o);
      }
    }
  };

  return {
    boot(id, persisted) {
      const state = persisted ?? spec.initial?.get(id) ?? { currentEpoch: 0n, lastZxid: 0n };
      const m = new SimMember(
        id,
        state,
        { ...options.election, myId: id, voters: spec.voters, observers },
        keepLogs,
      );
      const out: Out[] = [{ kind: 'persist', state }];
      restart(m, out);
      return { node: m, effects: out };
    },
    receive(m, from, msg) {
      const out: Out[] = [];
      switch (msg.kind) {
        case 'fle':
          run(m, m.fle.step({ type: 'notification', from, n: msg.n }), out);
          break;
        case 'follow':
          if (m.fle.state === 'LOOKING') m.pending.set(from, msg.round);
          else answerFollow(m, from, out);
          break;
        case 'followed': {
          const d = m.fle.decision;
          if (d === undefined || d.state === 'LEADING' || d.vote.leader !== from) break;
          if (msg.ok) {
            m.confirmed = true;
            m.heard = true;
            out.push({ kind: 'cancelTimer', name: 'init' });
          } else {
            out.push({ kind: 'trace', text: `server ${from} is not leading: looking again` });
            restart(m, out);
          }
          break;
        }
        case 'leave': {
          const d = m.fle.decision;
          if (d === undefined) break;
          if (d.state === 'LEADING') {
            m.learners.delete(from);
            if (m.established && !m.fle.isQuorum([m.id, ...m.learners])) {
              out.push({ kind: 'trace', text: 'lost the quorum of learners: looking again' });
              restart(m, out);
            }
          } else if (d.vote.leader === from) {
            out.push({ kind: 'trace', text: `leader ${from} stopped leading: looking again` });
            restart(m, out);
          }
          break;
        }
        default:
          assertNever(msg);
      }
      return out;
    },
    timer(m, name) {
      const out: Out[] = [];
      if (name === 'notification' || name === 'finalize') {
        run(m, m.fle.step({ type: 'timeout', timer: name }), out);
      } else if (name === 'sync') {
        const d = m.fle.decision;
        if (d === undefined) return out;
        if (d.state === 'LEADING') {
          if (m.established && !m.fle.isQuorum([m.id, ...m.heardFrom])) {
            out.push({ kind: 'trace', text: 'no quorum of learners within syncLimit: looking again' });
            restart(m, out);
            return out;
          }
          if (m.established) {
            m.learners.clear();
            for (const l of m.heardFrom) m.learners.add(l);
          }
          m.heardFrom.clear();
        } else {
          if (!m.heard) {
            out.push({
              kind: 'trace',
              text: `no word from leader ${d.vote.leader} within syncLimit: looking again`,
            });
            restart(m, out);
            return out;
          }
          m.heard = false;
          out.push({
            kind: 'send',
            to: d.vote.leader,
            msg: { kind: 'follow', round: d.vote.electionEpoch, peerEpoch: d.vote.peerEpoch },
          });
        }
        out.push({ kind: 'setTimer', name: 'sync', afterMs: syncLimit });
      } else if (name === 'init') {
        const d = m.fle.decision;
        if (
          d !== undefined &&
          ((d.state === 'LEADING' && !m.established) || (d.state !== 'LEADING' && !m.confirmed))
        ) {
          out.push({
            kind: 'trace',
            text: `no ${d.state === 'LEADING' ? 'quorum of learners' : 'leader'} within initLimit: looking again`,
          });
          restart(m, out);
        }
      }
      return out;
    },
    link(m, peer, up) {
      const out: Out[] = [];
      if (up) {
        m.links.add(peer);
        const last = m.lastSent.get(peer);
        if (last !== undefined) out.push({ kind: 'send', to: peer, msg: { kind: 'fle', n: last } });
        return out;
      }
      m.links.delete(peer);
      m.pending.delete(peer);
      const d = m.fle.decision;
      if (d === undefined) return out;
      if (d.state === 'LEADING') {
        m.learners.delete(peer);
        const reachable = [m.id, ...m.links].filter((x) => m.fle.isVoter(x));
        if (!m.fle.isQuorum(reachable)) {
          out.push({ kind: 'trace', text: 'lost the quorum: looking again' });
          restart(m, out);
        }
      } else if (peer === d.vote.leader) {
        out.push({ kind: 'trace', text: `lost leader ${peer}: looking again` });
        restart(m, out);
      }
      return out;
    },
    format(msg) {
      switch (msg.kind) {
        case 'fle':
          return `${msg.n.state} vote(${msg.n.leader}, ${hex(msg.n.zxid)}, round ${hex(msg.n.electionEpoch)}, epoch ${hex(msg.n.peerEpoch)})`;
        case 'follow':
          return `follow round ${hex(msg.round)}`;
        case 'followed':
          return `followed ${msg.ok ? 'ok' : 'refused'}`;
        case 'leave':
          return 'leave';
        default:
          return assertNever(msg);
      }
    },
  };
}

type View = SimView<SimMember, PersistedElectionState>;

function credentialsOf(
  view: View,
  id: number,
  fallback: ReadonlyMap<number, PersistedElectionState> | undefined,
) {
  const p = view.persisted(id) ?? fallback?.get(id) ?? { currentEpoch: 0n, lastZxid: 0n };
  return { leader: id, zxid: p.lastZxid, peerEpoch: p.currentEpoch };
}

/**
 * Invariant: every decision made by a quorum of LOOKING votes names a leader backed by a quorum of
 * voters, and the leader's credentials (peerEpoch, zxid, sid) are the highest among those voters —
 * nobody in the quorum that chose it knows more. Also, the vote carries the leader's true
 * credentials.
 */
export function leaderIsMaximal(spec: EnsembleSpec): Invariant<SimMember, PersistedElectionState> {
  const seen = new WeakMap<SimMember, number>();
  const majority = Math.floor(spec.voters.length / 2) + 1;
  return (view) => {
    for (const id of view.ids) {
      const m = view.node(id);
      if (m === undefined) continue;
      const from = seen.get(m) ?? 0;
      for (let i = from; i < m.decisions.length; i++) {
        const d = m.decisions[i] as Decision;
        // Servers that join an existing leader (recvset/outofelection paths) may rank above it;
        // the check is on the election that made it leader: a quorum of LOOKING votes.
        if (d.path !== 'quorum') continue;
        const voters = d.supporters.filter((s) => spec.voters.includes(s));
        const looking = d.lookingSupporters.filter((s) => spec.voters.includes(s));
        if (voters.length < majority) {
          return `server ${id} decided ${d.state} for ${d.vote.leader} with supporters [${d.supporters.join(',')}], not a quorum`;
        }
        const leader = credentialsOf(view, d.vote.leader, spec.initial);
        if (leader.zxid !== d.vote.zxid || leader.peerEpoch !== d.vote.peerEpoch) {
          return `server ${id} decided for ${d.vote.leader} with credentials (${hex(d.vote.peerEpoch)}, ${hex(d.vote.zxid)}) it does not have`;
        }
        for (const s of looking) {
          const c = credentialsOf(view, s, spec.initial);
          if (ranksAbove(c, leader)) {
            return `server ${id} decided for ${d.vote.leader} but supporter ${s} ranks above it`;
          }
        }
      }
      seen.set(m, m.decisions.length);
    }
    return undefined;
  };
}

/**
 * Invariant: servers that leave LOOKING in the same round agree on the leader. This is what the
 * election alone aims for; it does not hold under every schedule (see the package README), so the
 * simulations check `establishedLeadersAgree` and use this one to measure and to show examples.
 */
export function decisionsAgreePerRound(): Invariant<SimMember, PersistedElectionState> & {
  readonly rounds: Map<bigint, number>;
} {
  const rounds = new Map<bigint, number>();
  const seen = new WeakMap<SimMember, number>();
  const inv = (view: View): string | undefined => {
    for (const id of view.ids) {
      const m = view.node(id);
      if (m === undefined) continue;
      const from = seen.get(m) ?? 0;
      for (let i = from; i < m.decisions.length; i++) {
        const d = m.decisions[i] as Decision;
        const before = rounds.get(d.vote.electionEpoch);
        if (before === undefined) rounds.set(d.vote.electionEpoch, d.vote.leader);
        else if (before !== d.vote.leader) {
          return `round ${hex(d.vote.electionEpoch)}: server ${id} decided leader ${d.vote.leader}, another server decided ${before}`;
        }
      }
      seen.set(m, m.decisions.length);
    }
    return undefined;
  };
  return Object.assign(inv, { rounds });
}

/**
 * Invariant: at any moment at most one live server is an established leader (it gathered a quorum
 * of learners and still hears from a quorum).
 */
export function oneEstablishedLeader(): Invariant<SimMember, PersistedElectionState> {
  return (view) => {
    let leader: number | undefined;
    for (const id of view.ids) {
      const m = view.node(id);
      if (m === undefined || !m.established || m.fle.decision?.state !== 'LEADING') continue;
      if (leader !== undefined) return `servers ${leader} and ${id} are both established leaders`;
      leader = id;
    }
    return undefined;
  };
}

/** Whether every live member is out of the election and all agree on one established leader. */
export function settled(view: View): boolean {
  let leader: number | undefined;
  for (const id of view.ids) {
    const m = view.node(id);
    if (m === undefined) continue;
    const d = m.fle.decision;
    if (d === undefined) return false;
    if (leader === undefined) leader = d.vote.leader;
    else if (leader !== d.vote.leader) return false;
    if (d.state === 'LEADING' ? !m.established : !m.confirmed) return false;
  }
  return leader !== undefined;
}
