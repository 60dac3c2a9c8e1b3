import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { affectedAt, describeSchedule, generateSchedule, linksOf, retarget } from '../src/index.js';

describe('nemesis schedules', () => {
  const members = ['1', '2', '3'];

  it('are the same for the same seed', () => {
    const a = generateSchedule({ seed: 42, members, durationMs: 20_000 });
    const b = generateSchedule({ seed: 42, members, durationMs: 20_000 });
    expect(a).toEqual(b);
    expect(describeSchedule(a)).toBe(describeSchedule(b));
    expect(generateSchedule({ seed: 43, members, durationMs: 20_000 })).not.toEqual(a);
    expect(a.faults.length).toBeGreaterThan(3);
    expect(new Set(a.faults.map((f) => f.kind))).toEqual(new Set(['kill', 'pause', 'partition']));
  });

  it('cut both directions of a partitioned pair', () => {
    const s = generateSchedule({ seed: 3, members, durationMs: 300_000, kinds: ['partition'] });
    const f = s.faults[0]!;
    if (f.kind !== 'partition') throw new Error('expected a partition');
    expect(linksOf(f)).toHaveLength(2 * f.peers.length);
    expect(f.peers).not.toContain(f.member);
    expect(new Set(s.faults.map((g) => (g.kind === 'partition' ? g.mode : undefined)))).toEqual(
      new Set(['blackhole', 'refuse']),
    );
  });

  it('never affect more than maxFaulty members, and end within the run', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1_000, max: 60_000 }),
        fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
        (seed, n, durationMs, maxFaultyOpt) => {
          const ids = Array.from({ length: n }, (_, i) => `m${i}`);
          const maxFaulty = maxFaultyOpt === undefined ? undefined : Math.min(maxFaultyOpt, n);
          const s = generateSchedule({ seed, members: ids, durationMs, maxFaulty, gapMs: [100, 1500] });
          const bound = maxFaulty ?? Math.floor((n - 1) / 2);
          const instants = s.faults.flatMap((f) => [f.at, f.at + f.duration - 1]);
          for (const t of instants) expect(affectedAt(s, t).size).toBeLessThanOrEqual(bound);
          for (const f of s.faults) {
            expect(f.at + f.duration).toBeLessThanOrEqual(durationMs);
            expect(ids).toContain(f.member);
          }
          // Progress: a majority is never affected by default.
          if (maxFaulty === undefined)
            for (const t of instants) expect(affectedAt(s, t).size * 2).toBeLessThan(n);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('retarget', () => {
  it('swaps the member and the target, in a partition too', () => {
    const f = {
      kind: 'partition' as const,
      member: '1',
      peers: ['2', '3'],
      mode: 'refuse' as const,
      at: 0,
      duration: 1,
      leader: true,
    };
    expect(retarget(f, '2')).toEqual({ ...f, member: '2', peers: ['1', '3'] });
    expect(retarget(f, '1')).toBe(f);
    const k = { kind: 'kill' as const, member: '3', at: 5, duration: 2 };
    expect(retarget(k, '1')).toEqual({ ...k, member: '1' });
  });
});
