import { SimError, seedsFromEnv } from '@zkts/sim';
import { describe, expect, it } from 'vitest';
import type { UnsafeVariants } from '../src/index.js';
import { type RunOptions, runSeed, scenario } from './support/sim.js';

const SEEDS = Number(process.env.ZKTS_ZAB_SEEDS ?? 10_000);

/**
 * Overrides for replaying a variant's failure: ZKTS_ZAB_UNSAFE=flag[,flag], ZKTS_ZAB_AGGRESSIVE=1,
 * ZKTS_ZAB_ELECTION=fle|standin.
 */
function overrides(env: Record<string, string | undefined> = process.env): Partial<RunOptions> {
  const o: Partial<RunOptions> = {};
  if (env.ZKTS_ZAB_UNSAFE) {
    const unsafe: Record<string, boolean> = {};
    for (const f of env.ZKTS_ZAB_UNSAFE.split(',')) unsafe[f.trim()] = true;
    o.unsafe = unsafe as UnsafeVariants;
  }
  if (env.ZKTS_ZAB_AGGRESSIVE !== undefined) o.aggressive = env.ZKTS_ZAB_AGGRESSIVE === '1';
  if (env.ZKTS_ZAB_ELECTION === 'fle' || env.ZKTS_ZAB_ELECTION === 'standin')
    o.election = env.ZKTS_ZAB_ELECTION;
  return o;
}

function replay(seed: number): string {
  const extra = ['ZKTS_ZAB_UNSAFE', 'ZKTS_ZAB_AGGRESSIVE', 'ZKTS_ZAB_ELECTION']
    .filter((k) => process.env[k] !== undefined && process.env[k] !== '')
    .map((k) => `${k}=${process.env[k]} `)
    .join('');
  return `replay: ${extra}ZKTS_SEED=${seed} pnpm exec vitest run --project zab test/sim.test.ts`;
}

describe('seeded simulation: election + Zab + replicated state under faults', () => {
  it(`holds every invariant and recovers liveness (${SEEDS} seeds unless ZKTS_SEED is set)`, () => {
    const seeds = seedsFromEnv(SEEDS);
    const t0 = Date.now();
    let commits = 0;
    let established = 0;
    let crashes = 0;
    let partitions = 0;
    let lost = 0;
    const syncs = { DIFF: 0, TRUNC: 0, SNAP: 0 };
    for (const seed of seeds) {
      try {
        const r = runSeed({ ...scenario(seed, overrides()), ...(seeds.length === 1 ? { trace: 400 } : {}) });
        commits += r.commits;
        established += r.established;
        crashes += r.crashes;
        partitions += r.partitions;
        lost += r.lost;
        syncs.DIFF += r.syncs.DIFF;
        syncs.TRUNC += r.syncs.TRUNC;
        syncs.SNAP += r.syncs.SNAP;
      } catch (e) {
        if (e instanceof SimError) {
          const tail = e.trace.length > 0 ? `\n${e.trace.join('\n')}` : '';
          throw new Error(`${e.message}\n${replay(seed)}${tail}`);
        }
        throw new Error(`seed ${seed}: ${(e as Error).stack}\n${replay(seed)}`);
      }
    }
    const ms = Date.now() - t0;
    console.log(
      `zab sim: ${seeds.length} seeds in ${ms} ms; ${commits} commits, ${established} leaders established, ` +
        `${crashes} crashes, ${partitions} partitions, ${lost} messages lost; ` +
        `syncs: ${syncs.DIFF} DIFF, ${syncs.TRUNC} TRUNC, ${syncs.SNAP} SNAP`,
    );
    expect(commits).toBeGreaterThan(0);
    if (seeds.length >= 1000) {
      // The runs must exercise every kind of synchronisation.
      expect(Math.min(syncs.DIFF, syncs.TRUNC, syncs.SNAP)).toBeGreaterThan(0);
    }
  }, 600_000);
});
