import { JepsenError } from './errors.js';
import type { CutMode } from './link-proxy.js';
import { Prng } from './prng.js';

/** A directed peer link: traffic `from` a member `to` another. */
export type Link = readonly [from: string, to: string];

/**
 * One fault, from `at` for `duration` ms (both relative to the start of the run):
 * - `kill`: SIGKILL the member, restart it at the end;
 * - `pause`: SIGSTOP the member, SIGCONT at the end;
 * - `partition`: cut the links between `member` and each of `peers`, both ways, so that connections
 *   are refused or silently blackholed (`mode`); heal at the end.
 */
export type Fault = (
  | { kind: 'kill'; member: string; at: number; duration: number }
  | { kind: 'pause'; member: string; at: number; duration: number }
  | { kind: 'partition'; member: string; peers: string[]; mode: CutMode; at: number; duration: number }
) & {
  /**
   * Aim at the leader of the moment instead of `member` when the runner can tell which member
   * leads and it is under no other fault (see `retarget`).
   */
  leader?: boolean;
};

export type FaultKind = Fault['kind'];

export interface NemesisOptions {
  seed: number;
  /** Voting members' ids. */
  members: readonly string[];
  /** Length of the run in ms; every fault ends by then. */
  durationMs: number;
  /** Most members under a fault at once; default a minority, floor((n - 1) / 2). */
  maxFaulty?: number;
  /** Faults to draw from; default all three. */
  kinds?: readonly FaultKind[];
  /** Gap between the starts of consecutive faults, ms; default [500, 2500]. */
  gapMs?: readonly [min: number, max: number];
  /** Fault durations, ms; default [500, 4000]. */
  faultMs?: readonly [min: number, max: number];
  /** Time without faults at the start, ms; default 1000. */
  quietStartMs?: number;
  /** Share of faults aimed at the leader of the moment; default 0.5. */
  leaderBias?: number;
}

export interface NemesisSchedule {
  seed: number;
  members: string[];
  maxFaulty: number;
  durationMs: number;
  /** Faults by start time. */
  faults: Fault[];
}

/** Links a partition fault cuts: member→peer and peer→member for every peer. */
export function linksOf(fault: Extract<Fault, { kind: 'partition' }>): Link[] {
  return fault.peers.flatMap((p): Link[] => [
    [fault.member, p],
    [p, fault.member],
  ]);
}

/**
 * A schedule of faults for a run, the same for the same options. Each fault affects one member
 * (killed, paused, or cut off from some or all of its peers); no member has two faults at once, and
 * no more than `maxFaulty` members are affected at any instant. With `maxFaulty` a minority, the
 * other members are up, running and fully connected all the time, so the ensemble can make
 * progress.
 */
export function generateSchedule(options: NemesisOptions): NemesisSchedule {
  const members = [...options.members];
  const n = members.length;
  if (n === 0) throw new JepsenError('options', 'a nemesis needs members');
  if (new Set(members).size !== n) throw new JepsenError('options', 'member ids must be unique');
  const maxFaulty = options.maxFaulty ?? Math.floor((n - 1) / 2);
  if (!Number.isInteger(maxFaulty) || maxFaulty < 0 || maxFaulty > n) {
    throw new JepsenError('options', `maxFaulty must be an integer in [0, ${n}], got ${maxFaulty}`);
  }
  const kinds = options.kinds ?? ['kill', 'pause', 'partition'];
  if (kinds.length === 0) throw new JepsenError('options', 'no fault kinds');
  const [gapMin, gapMax] = options.gapMs ?? [500, 2500];
  const [faultMin, faultMax] = options.faultMs ?? [500, 4000];
  if (!(gapMin >= 1 && gapMax >= gapMin && faultMin >= 1 && faultMax >= faultMin)) {
    throw new JepsenError('options', 'gapMs and faultMs must be [min, max] with 1 <= min <= max');
  }
  const rng = new Prng(options.seed);
  const faults: Fault[] = [];
  let t = options.quietStartMs ?? 1000;
  for (;;) {
    t += rng.int(gapMin, gapMax);
    if (t + faultMin > options.durationMs) break;
    // Draw in a fixed order whatever is eligible, so the schedule depends on the seed only.
    const kind = rng.pick(kinds);
    const member = rng.pick(members);
    const duration = Math.min(rng.int(faultMin, faultMax), options.durationMs - t);
    const others = members.filter((m) => m !== member);
    const peers = rng.next() < 0.5 || others.length <= 1 ? others : others.filter(() => rng.next() < 0.5);
    const leader = rng.next() < (options.leaderBias ?? 0.5) ? { leader: true } : {};
    const mode: CutMode = rng.next() < 0.75 ? 'blackhole' : 'refuse';
    // The new fault must keep the bound for its whole span.
    const end = t + duration;
    const overlapping = faults.filter((f) => f.at < end && t < f.at + f.duration);
    if (overlapping.some((f) => f.member === member)) continue;
    if (new Set(overlapping.map((f) => f.member)).size + 1 > maxFaulty) continue;
    switch (kind) {
      case 'kill':
      case 'pause':
        faults.push({ kind, member, at: t, duration, ...leader });
        break;
      case 'partition':
        if (peers.length === 0) continue;
        faults.push({ kind, member, peers, mode, at: t, duration, ...leader });
        break;
    }
  }
  return { seed: options.seed, members, maxFaulty, durationMs: options.durationMs, faults };
}

/**
 * The fault aimed at `target` instead of its member: members `member` and `target` swap roles (a
 * partition's peers included), so the fault has the same shape. The runner aims a `leader` fault at
 * the leader only when the leader is under no other fault, so the minority bound still holds:
 * each fault affects exactly one member, and no member has two faults.
 */
export function retarget(fault: Fault, target: string): Fault {
  if (target === fault.member) return fault;
  const swap = (m: string) => (m === target ? fault.member : m === fault.member ? target : m);
  if (fault.kind === 'partition') return { ...fault, member: target, peers: fault.peers.map(swap) };
  return { ...fault, member: target };
}

/** Members affected by some fault at instant `t` (ms). */
export function affectedAt(schedule: NemesisSchedule, t: number): Set<string> {
  return new Set(schedule.faults.filter((f) => f.at <= t && t < f.at + f.duration).map((f) => f.member));
}

export function describeFault(f: Fault): string {
  const span = `at ${(f.at / 1000).toFixed(2)}s for ${(f.duration / 1000).toFixed(2)}s${f.leader ? ', aimed at the leader' : ''}`;
  switch (f.kind) {
    case 'kill':
      return `kill -9 ${f.member}, restart ${span}`;
    case 'pause':
      return `SIGSTOP ${f.member}, SIGCONT ${span}`;
    case 'partition':
      return `cut (${f.mode}) ${f.member} <-> {${f.peers.join(',')}} ${span}`;
  }
}

/** The schedule as lines for a log. */
export function describeSchedule(schedule: NemesisSchedule): string {
  const head = `nemesis seed ${schedule.seed}: ${schedule.faults.length} faults over ${(schedule.durationMs / 1000).toFixed(1)}s, members ${schedule.members.join(',')}, at most ${schedule.maxFaulty} faulty at once`;
  return [head, ...schedule.faults.map((f) => `  ${describeFault(f)}`)].join('\n');
}
