import { SimError } from '@zkts/sim';
import { describe, expect, it } from 'vitest';
import type { UnsafeVariants } from '../src/index.js';
import { runSeed, scenario } from './support/sim.js';

/**
 * Each known-wrong variant must be caught: the simulator, run over consecutive seeds, reports an
 * invariant violation within a bounded number of seeds.
 */
const variants: Array<{
  name: string;
  unsafe: UnsafeVariants;
  budget: number;
  aggressive?: boolean;
  election?: 'fle' | 'standin';
}> = [
  {
    name: 'ACK NEWLEADER before the synced txns and epoch are durable',
    unsafe: { ackNewLeaderBeforePersist: true },
    budget: 6000,
    aggressive: true,
  },
  {
    name: 'persist currentEpoch before the synced txns (ZOOKEEPER-4643 order)',
    unsafe: { epochBeforeTxns: true },
    budget: 6000,
    aggressive: true,
  },
  {
    name: 'follower ACKs proposals before they are durable',
    unsafe: { ackBeforeDurable: true },
    budget: 6000,
    aggressive: true,
  },
  {
    name: 'leader counts its own ACK before its write is durable',
    unsafe: { leaderCountsUndurable: true },
    budget: 6000,
    aggressive: true,
  },
  { name: 'learner ignores TRUNC', unsafe: { ignoreTrunc: true }, budget: 6000, aggressive: true },
  {
    name: 'leader ignores a learner that is ahead of it',
    unsafe: { skipAheadCheck: true },
    budget: 6000,
    aggressive: false,
    election: 'standin',
  },
  {
    name: 'learner applies synced proposals before they are committed',
    unsafe: { applySyncedEarly: true },
    budget: 6000,
    aggressive: false,
  },
];

describe('the checkers catch known-wrong variants', () => {
  for (const v of variants) {
    it(v.name, () => {
      let found: { seed: number; message: string } | undefined;
      const flag = Object.keys(v.unsafe).join(',');
      let tried = 0;
      for (let seed = 1; seed <= v.budget && found === undefined; seed++) {
        tried++;
        try {
          runSeed(
            scenario(seed, {
              unsafe: v.unsafe,
              aggressive: v.aggressive ?? true,
              election: v.election ?? 'fle',
            }),
          );
        } catch (e) {
          if (!(e instanceof SimError)) throw e;
          found = {
            seed,
            message:
              `${e.message}\n  replay: ZKTS_ZAB_UNSAFE=${flag} ZKTS_ZAB_AGGRESSIVE=${v.aggressive === false ? 0 : 1} ` +
              `ZKTS_ZAB_ELECTION=${v.election ?? 'fle'} ZKTS_SEED=${seed} pnpm exec vitest run --project zab test/sim.test.ts`,
          };
        }
      }
      console.log(
        `${v.name}: ${found ? `caught at seed ${found.seed} after ${tried} seeds: ${found.message}` : `not caught in ${tried} seeds`}`,
      );
      expect(found, `no violation in ${v.budget} seeds`).toBeDefined();
    }, 300_000);
  }
});
