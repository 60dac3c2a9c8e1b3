import type { Txn } from '@zkts/zab';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoggedTxns } from '../src/logged.js';

const txn = (zxid: bigint): Txn<Uint8Array> => ({ zxid, data: new Uint8Array([Number(zxid % 256n)]) });

type Op = { op: 'push'; n: number } | { op: 'drop'; by: number } | { op: 'keep'; by: number };

describe('LoggedTxns', () => {
  it('behaves as the filtered array it replaces', () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant('push' as const), n: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ op: fc.constant('drop' as const), by: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ op: fc.constant('keep' as const), by: fc.integer({ min: 0, max: 200 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops: Op[]) => {
        const q = new LoggedTxns();
        let model: Txn<Uint8Array>[] = [];
        let next = 1n;
        for (const o of ops) {
          const first = model[0]?.zxid ?? next;
          if (o.op === 'push') {
            for (let i = 0; i < o.n; i++) {
              const t = txn(next++);
              q.push(t);
              model.push(t);
            }
          } else if (o.op === 'drop') {
            const z = first + BigInt(o.by) - 1n;
            q.dropThrough(z);
            model = model.filter((t) => t.zxid > z);
          } else {
            const z = next - 1n - BigInt(o.by);
            q.keepThrough(z);
            model = model.filter((t) => t.zxid <= z);
          }
          expect(q.size).toBe(model.length);
          expect(q.last).toBe(model.at(-1));
          expect(q.toArray()).toEqual(model);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('takes one txn at a time off a long log in linear time', () => {
    const n = 200_000;
    const q = new LoggedTxns(Array.from({ length: n }, (_, i) => txn(BigInt(i + 1))));
    const t0 = performance.now();
    for (let z = 1n; z <= BigInt(n); z++) q.dropThrough(z);
    expect(q.size).toBe(0);
    expect(q.last).toBeUndefined();
    // A shift per txn copies the rest each time (minutes for this many); this is milliseconds.
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
