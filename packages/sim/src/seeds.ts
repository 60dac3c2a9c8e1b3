/**
 * The seeds a simulation test runs: `ZKTS_SEED=1234` replays exactly one seed; otherwise
 * `count` seeds starting at `ZKTS_SEED_BASE` (default `base`). Reads the environment only when
 * called, so a test prints the failing seed and the developer replays it with one variable.
 */
export function seedsFromEnv(
  count: number,
  base = 1,
  env: Record<string, string | undefined> = process.env,
): number[] {
  const one = env.ZKTS_SEED;
  if (one !== undefined && one !== '') {
    const seed = Number(one);
    if (!Number.isInteger(seed) || seed < 0)
      throw new RangeError(`ZKTS_SEED must be a non-negative integer, got ${one}`);
    return [seed];
  }
  const fromEnv = env.ZKTS_SEED_BASE;
  const start = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : base;
  const n = env.ZKTS_SEEDS !== undefined && env.ZKTS_SEEDS !== '' ? Number(env.ZKTS_SEEDS) : count;
  return Array.from({ length: n }, (_, i) => start + i);
}
