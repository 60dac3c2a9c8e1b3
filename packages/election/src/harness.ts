import type { Effect, Invariant, Protocol, SimView } from '@zkts/sim';
import { assertNever } from './errors.js';
import type { Decision, ElectionConfig, FastLeaderElection } from './fle.js';
import {
  type MemberConfig,
  MemberCore,
  type MemberMessage,
  type MemberOutput,
  type MemberTimer,
  type PersistedElectionState,
} from './member-core.js';
import { type Credentials, hex, type Notification } from './vote.js';

export interface MemberOptions {
  /** Time a learner waits to be accepted by its leader, and a leader to gather a quorum (ms). */
  readonly initLimitMs?: number;
  /** A learner re-confirms with its leader this often; each side gives up on silence (ms). */
  readonly syncLimitMs?: number;
  /** Election settings for every member (myId and voters are filled in). */
  readonly election?: Omit<ElectionConfig, 'myId' | 'voters' | 'observers'>;
}

/** One simulated ensemble member: the member state machine plus what the tests observe. */
export class SimMember {
  readonly core: MemberCore;
  /** Every decision this incarnation made, in order. */
  readonly decisions: Decision[] = [];
  /** The last notification sent to each peer: re-sent when a connection opens, as ZooKeeper does. */
  readonly lastSent = new Map<number, Notification>();

  constructor(
    readonly id: number,
    readonly persisted: PersistedElectionState,
    config: MemberConfig,
    readonly keepLogs: boolean,
  ) {
    this.core = new MemberCore(config);
  }

  get fle(): FastLeaderElection {
    return this.core.fle;
  }

  get established(): boolean {
    return this.core.established;
  }

  get confirmed(): boolean {
    return this.core.confirmed;
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

/** A `Protocol` for `@zkts/sim` running `MemberCore`s (FastLeaderElection plus the learner handshake). */
export function electionProtocol(
  spec: EnsembleSpec,
  options: MemberOptions & { keepLogs?: boolean } = {},
): Protocol<SimMember, MemberMessage, PersistedElectionState> {
  const initLimitMs = options.initLimitMs ?? 2000;
  const syncLimitMs = options.syncLimitMs ?? 1000;
  const keepLogs = options.keepLogs ?? false;
  const observers = spec.observers ?? [];

  const run = (m: SimMember, outputs: readonly MemberOutput[]): Out[] => {
    const out: Out[] = [];
    for (const o of outputs) {
      switch (o.type) {
        case 'send':
          if (o.msg.kind === 'fle' && o.to !== m.id) m.lastSent.set(o.to, o.msg.n);
          out.push({ kind: 'send', to: o.to, msg: o.msg });
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
          if (keepLogs) {
            out.push({
              kind: 'trace',
              text: `decided ${d.state} leader=${d.vote.leader} round=${hex(d.vote.electionEpoch)} via ${describePath(d)} [${d.supporters.join(',')}]`,
            });
          }
          break;
        }
        case 'log':
          if (keepLogs && o.level !== 'debug') out.push({ kind: 'trace', text: o.message });
          break;
        default:
          assertNever(o);
      }
    }
    return out;
  };

  return {
    boot(id, persisted) {
      const state = persisted ?? spec.initial?.get(id) ?? { currentEpoch: 0n, lastZxid: 0n };
      const m = new SimMember(
        id,
        state,
        {
          ...options.election,
          myId: id,
          voters: spec.voters,
          observers,
          persisted: state,
          initLimitMs,
          syncLimitMs,
        },
        keepLogs,
      );
      // As a TCP member learns by trying to connect: until the simulator reports a link up (it does
      // so right after this boot for every peer this one can reach), peers are unreachable. So
      // crashed and partitioned peers count as unreachable for the early decision.
      const unreachable: Out[] = [];
      for (const peer of [...spec.voters, ...observers]) {
        if (peer !== id) {
          unreachable.push(...run(m, m.core.step({ type: 'reachability', peer, reachable: false })));
        }
      }
      return {
        node: m,
        effects: [{ kind: 'persist', state }, ...unreachable, ...run(m, m.core.step({ type: 'start' }))],
      };
    },
    receive(m, from, msg) {
      return run(m, m.core.step({ type: 'message', from, msg }));
    },
    timer(m, name) {
      if (!isMemberTimer(name)) return [];
      return run(m, m.core.step({ type: 'timeout', timer: name }));
    },
    link(m, peer, up) {
      const out = run(m, m.core.step({ type: 'link', peer, up }));
      const last = m.lastSent.get(peer);
      if (up && last !== undefined) out.push({ kind: 'send', to: peer, msg: { kind: 'fle', n: last } });
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

/** `quorum`, or `quorum (all-heard)` / `quorum (unreachable)` when the finalize wait was skipped. */
function describePath(d: Decision): string {
  return d.finalize === undefined || d.finalize === 'waited' ? d.path : `${d.path} (${d.finalize})`;
}

function isMemberTimer(name: string): name is MemberTimer {
  return name === 'notification' || name === 'finalize' || name === 'init' || name === 'sync';
}

type View = SimView<SimMember, PersistedElectionState>;

/**
 * The vote order, written independently of `ranksAbove` so that the invariant does not trust the
 * code it checks: lexicographic on (peerEpoch, zxid, sid).
 */
function outranks(a: Credentials, b: Credentials): boolean {
  const ka = [a.peerEpoch, a.zxid, BigInt(a.leader)];
  const kb = [b.peerEpoch, b.zxid, BigInt(b.leader)];
  for (let i = 0; i < ka.length; i++) {
    if ((ka[i] as bigint) !== (kb[i] as bigint)) return (ka[i] as bigint) > (kb[i] as bigint);
  }
  return false;
}

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
  const majority = Math.floor(spec.voters.length / 2) + 1;
  return eachNewDecision((view, id, d) => {
    // Servers that join an existing leader (recvset/outofelection paths) may rank above it;
    // the check is on the election that made it leader: a quorum of LOOKING votes.
    if (d.path !== 'quorum') return undefined;
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
      if (outranks(c, leader)) {
        return `server ${id} decided for ${d.vote.leader} but supporter ${s} ranks above it`;
      }
    }
    return undefined;
  });
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
  const inv = eachNewDecision((_view, id, d) => {
    const before = rounds.get(d.vote.electionEpoch);
    if (before === undefined) rounds.set(d.vote.electionEpoch, d.vote.leader);
    else if (before !== d.vote.leader) {
      return `round ${hex(d.vote.electionEpoch)}: server ${id} decided leader ${d.vote.leader}, another server decided ${before}`;
    }
    return undefined;
  });
  return Object.assign(inv, { rounds });
}

/**
 * An invariant that runs `check` on each decision of each live member once, in order; the first
 * failure it returns is the invariant's (that member's decisions from the failing one on are
 * checked again on the next call).
 */
function eachNewDecision(
  check: (view: View, id: number, d: Decision) => string | undefined,
): (view: View) => string | undefined {
  const seen = new WeakMap<SimMember, number>();
  return (view) => {
    for (const id of view.ids) {
      const m = view.node(id);
      if (m === undefined) continue;
      for (let i = seen.get(m) ?? 0; i < m.decisions.length; i++) {
        const failure = check(view, id, m.decisions[i] as Decision);
        if (failure !== undefined) return failure;
      }
      seen.set(m, m.decisions.length);
    }
    return undefined;
  };
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
