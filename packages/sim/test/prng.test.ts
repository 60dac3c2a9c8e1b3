import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Prng } from '../src/index.js';

describe('Prng', () => {
  it('gives the same stream for the same seed and different streams for different seeds', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 20 }, () => a.nextU32());
    const ys = Array.from({ length: 20 }, () => b.nextU32());
    const zs = Array.from({ length: 20 }, () => c.nextU32());
    expect(xs).toEqual(ys);
    expect(xs).not.toEqual(zs);
  });

  it('keeps int() within bounds and covers them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: -5, max: 5 }),
        fc.integer({ min: 0, max: 6 }),
        (seed, lo, span) => {
          const p = new Prng(seed);
          for (let i = 0; i < 50; i++) {
            const v = p.int(lo, lo + span);
            expect(v).toBeGreaterThanOrEqual(lo);
            expect(v).toBeLessThanOrEqual(lo + span);
            expect(Number.isInteger(v)).toBe(true);
          }
        },
      ),
    );
    const p = new Prng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(p.int(0, 3));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });

  it('is roughly uniform', () => {
    const p = new Prng(1);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) sum += p.next();
    expect(sum / 10_000).toBeGreaterThan(0.48);
    expect(sum / 10_000).toBeLessThan(0.52);
  });

  it('shuffles into a permutation', () => {
    const p = new Prng(9);
    const s = p.shuffle([1, 2, 3, 4, 5, 6]);
    expect([...s].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
