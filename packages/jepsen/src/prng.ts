/** The seeded PRNG of the simulator (xoshiro128**), so that a seed means the same everywhere. */
export { Prng } from '@zkts/sim';

/** A fresh seed when none is given (printed, so that the run can be replayed). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
}
