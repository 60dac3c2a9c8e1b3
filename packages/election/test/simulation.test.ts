import {
  type FaultOptions,
  type Invariant,
  type NetworkOptions,
  SimError,
  Simulation,
  seedsFromEnv,
} from '@zkts/sim';
import { describe, expect, it } from 'vitest';
import {
  decisionsAgreePerRound,
  type EnsembleSpec,
  electionProtocol,
  type FinalizeOutcome,
  leaderIsMaximal,
  makeZxid,
  type PersistedElectionState,
  type SimMember,
  settled,
} from '../src/index.js';

/**
 * Whole-cluster simulations. Each seed decides start times, persisted state, message delays,
 * loss, duplication, partitions, crashes and restarts. A failure prints the seed; replay it with
 * `ZKTS_SEED=<seed> pnpm exec vitest run --project election`.
 */

interface Profile {
  readonly servers: number;
  readonly observers?: number;
  readonly network: NetworkOptions;
  readonly faults?: FaultOptions;
  /** Start times spread over [0, stagger) ms. */
  readonly stagger: number;
  readonly finalizeWaitMs: number;
  /** Check that servers deciding in the same round agree (holds only without late starters). */
  readonly perRoundAgreement: boolean;
  /** Decide without the finalize wait when nothing can change the outcome (default true). */
  readonly decideEarly?: boolean;
}

const SETTLE_BOUND_MS = 30_000;

function runSeed(
  seed: number,
  p: Profile,
  trace = 0,
  extra: ReadonlyArray<Invariant<SimMember, PersistedElectionState>> = [],
) {
  const voters = Array.from({ length: p.servers }, (_, i) => i + 1);
  const observers = Array.from({ length: p.observers ?? 0 }, (_, i) => p.servers + i + 1);
  const ids = [...voters, ...observers];
  // Persisted state from the seed too: a few epochs and zxids, so the order is exercised.
  const pick = new Simulation(electionProtocol({ voters: [1] }), { seed: seed ^ 0x5eed, ids: [1] }).prng;
  const initial = new Map<number, PersistedElectionState>();
  for (const id of ids) {
    const epoch = BigInt(pick.int(0, 2));
    initial.set(id, {
      currentEpoch: epoch,
      lastZxid: makeZxid(BigInt(pick.int(0, Number(epoch))), BigInt(pick.int(0, 3))),
    });
  }
  const spec: EnsembleSpec = { voters, observers, initial };
  const startAtMs: Record<number, number> = {};
  for (const id of ids) startAtMs[id] = p.stagger > 0 ? pick.int(0, p.stagger - 1) : 0;
  const invariants = [leaderIsMaximal(spec)];
  if (p.perRoundAgreement) invariants.push(decisionsAgreePerRound());
  invariants.push(...extra);
  const sim = new Simulation(
    electionProtocol(spec, {
      election: {
        finalizeWaitMs: p.finalizeWaitMs,
        maxNotificationIntervalMs: 4000,
        decideEarly: p.decideEarly ?? true,
      },
      keepLogs: trace > 0,
    }),
    { seed, ids, network: p.network, faults: p.faults, startAtMs, invariants, trace, maxEvents: 200_000 },
  );
  const quietAt = Math.max(p.faults?.untilMs ?? 0, p.stagger);
  sim.run(quietAt);
  const ok = sim.runUntil(settled, quietAt + SETTLE_BOUND_MS);
  return { sim, ok, ids, observers, quietAt };
}

function check(seeds: number[], p: Profile): { events: number; settleMs: number[] } {
  let events = 0;
  const settleMs: number[] = [];
  for (const seed of seeds) {
    let r: ReturnType<typeof runSeed>;
    try {
      r = runSeed(seed, p);
    } catch (e) {
      if (e instanceof SimError) {
        // Replay with a trace for the report.
        let tail = '';
        try {
          runSeed(seed, p, 200);
        } catch (e2) {
          tail = (e2 as SimError).trace.join('\n');
        }
        throw new Error(
          `${e.message}\nreplay: ZKTS_SEED=${seed} pnpm exec vitest run --project election\n${tail}`,
        );
      }
      throw e;
    }
    const { sim, ok, observers, quietAt } = r;
    if (!ok) {
      throw new Error(
        `seed ${seed}: not settled ${SETTLE_BOUND_MS} ms after the faults ended; ` +
          `replay: ZKTS_SEED=${seed} pnpm exec vitest run --project election`,
      );
    }
    for (const o of observers) {
      const m = sim.node(o);
      if (m !== undefined) expect(m.fle.state, `seed ${seed}: observer ${o}`).toBe('OBSERVING');
    }
    events += sim.stats.events;
    settleMs.push(sim.nowMs - quietAt);
  }
  return { events, settleMs };
}

const lossy: NetworkOptions = { minDelayMs: 1, maxDelayMs: 30, lossRate: 0.05, duplicateRate: 0.03 };
const crashy: FaultOptions = { untilMs: 3000, crashEveryMs: 700, partitionEveryMs: 1500 };

const profiles: Record<string, { profile: Profile; seeds: number; base?: number }> = {
  '5 servers, crashes, partitions, loss, duplicates, staggered starts': {
    profile: {
      servers: 5,
      network: lossy,
      faults: crashy,
      stagger: 500,
      finalizeWaitMs: 200,
      perRoundAgreement: false,
    },
    seeds: 2500,
  },
  '5 servers, faults, early decisions off (ZooKeeper: always the finalize wait)': {
    profile: {
      servers: 5,
      network: lossy,
      faults: crashy,
      stagger: 500,
      finalizeWaitMs: 200,
      perRoundAgreement: false,
      decideEarly: false,
    },
    seeds: 1000,
    base: 200_001,
  },
  '5 servers, faults, finalizeWait 50 ms': {
    profile: {
      servers: 5,
      network: lossy,
      faults: crashy,
      stagger: 500,
      finalizeWaitMs: 50,
      perRoundAgreement: false,
    },
    seeds: 1500,
  },
  '3 servers, faults, reordering (no FIFO)': {
    profile: {
      servers: 3,
      network: { ...lossy, fifo: false },
      faults: crashy,
      stagger: 300,
      finalizeWaitMs: 200,
      perRoundAgreement: false,
    },
    seeds: 1500,
  },
  '3 voters + 2 observers, faults': {
    profile: {
      servers: 3,
      observers: 2,
      network: lossy,
      faults: crashy,
      stagger: 300,
      finalizeWaitMs: 200,
      perRoundAgreement: false,
    },
    seeds: 1000,
  },
  '7 servers, faults': {
    profile: {
      servers: 7,
      network: lossy,
      faults: { ...crashy, maxDown: 3 },
      stagger: 500,
      finalizeWaitMs: 200,
      perRoundAgreement: false,
    },
    seeds: 500,
  },
  '5 servers start together, delays up to 150 ms, finalizeWait 200: one leader per round': {
    profile: {
      servers: 5,
      network: { minDelayMs: 1, maxDelayMs: 150 },
      stagger: 0,
      finalizeWaitMs: 200,
      perRoundAgreement: true,
    },
    seeds: 1500,
  },
  '5 servers start together, delays up to 10 ms, finalizeWait 50: one leader per round': {
    profile: {
      servers: 5,
      network: { minDelayMs: 0, maxDelayMs: 10 },
      stagger: 0,
      finalizeWaitMs: 50,
      perRoundAgreement: true,
    },
    seeds: 1500,
    base: 100_001,
  },
};

describe('FastLeaderElection under the simulator', () => {
  for (const [name, { profile, seeds, base }] of Object.entries(profiles)) {
    it(name, () => {
      const list = seedsFromEnv(seeds, base ?? 1);
      const t0 = performance.now();
      const { events, settleMs } = check(list, profile);
      const worst = Math.max(...settleMs);
      console.log(
        `${name}: ${list.length} seeds, ${events} events, worst settle ${worst} ms after faults, ${Math.round(performance.now() - t0)} ms`,
      );
    });
  }

  it('covers deciding without the finalize wait: every voter heard, and crashed or cut-off voters', () => {
    const counts: Record<FinalizeOutcome, number> = { waited: 0, 'all-heard': 0, unreachable: 0 };
    const seen = new WeakMap<SimMember, number>();
    const count: Invariant<SimMember, PersistedElectionState> = (view) => {
      for (const id of view.ids) {
        const m = view.node(id);
        if (m === undefined) continue;
        for (const d of m.decisions.slice(seen.get(m) ?? 0)) if (d.finalize) counts[d.finalize]++;
        seen.set(m, m.decisions.length);
      }
      return undefined;
    };
    const p = profiles['5 servers, crashes, partitions, loss, duplicates, staggered starts']!.profile;
    for (let seed = 1; seed <= 200; seed++) expect(runSeed(seed, p, 0, [count]).ok).toBe(true);
    console.log(`quorum decisions over 200 faulty seeds: ${JSON.stringify(counts)}`);
    expect(counts['all-heard']).toBeGreaterThan(0);
    expect(counts.unreachable).toBeGreaterThan(0);
    expect(counts.waited).toBeGreaterThan(0);
  });

  it('is deterministic: a seed replays to the same trace', () => {
    const p = profiles['5 servers, crashes, partitions, loss, duplicates, staggered starts']!.profile;
    const a = runSeed(4242, p, 100_000).sim;
    const b = runSeed(4242, p, 100_000).sim;
    expect(a.trace()).toEqual(b.trace());
    expect(a.trace().length).toBeGreaterThan(100);
  });

  it('finds the known split: with late starters, servers can decide different leaders in one round', () => {
    // FastLeaderElection alone does not guarantee one leader per round when a server joins
    // during another's finalizeWait; ZooKeeper relies on the learner handshake (Zab) to undo it.
    // The check must be able to fail: it does here, on a seed found by this search.
    const p: Profile = {
      servers: 5,
      network: { minDelayMs: 1, maxDelayMs: 10 },
      stagger: 1000,
      finalizeWaitMs: 200,
      perRoundAgreement: true,
    };
    let found: number | undefined;
    for (let seed = 1; seed <= 500 && found === undefined; seed++) {
      try {
        runSeed(seed, p);
      } catch (e) {
        if (e instanceof SimError && e.message.includes('decided leader')) found = seed;
        else throw e;
      }
    }
    expect(found).toBeDefined();
    // ...and the harness still settles that seed on one leader.
    const again = runSeed(found!, { ...p, perRoundAgreement: false });
    expect(again.ok).toBe(true);
  });
});
