import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkHistory,
  checkLinearizability,
  checkLostWrites,
  type History,
  HistoryRecorder,
  JepsenError,
  type Op,
  Prng,
  parseHistory,
  serializeHistory,
  summarize,
  validateHistory,
} from '../src/index.js';

/** A tiny builder: times are plain numbers, ids in order. */
function h(...ops: Omit<Op, 'id' | 'key'>[]): History {
  return { ops: ops.map((op, id) => ({ ...op, id, key: (op as { key?: string }).key ?? 'k' }) as Op) };
}
const create = (
  process: number,
  invoke: number,
  complete: number | undefined,
  value: string,
  outcome: Op['outcome'] = 'ok',
) => ({ process, kind: 'create', value, invoke, complete, outcome }) as Omit<Op, 'id' | 'key'>;
const write = (
  process: number,
  invoke: number,
  complete: number | undefined,
  value: string,
  version?: number,
  outcome: Op['outcome'] = 'ok',
) => ({ process, kind: 'write', value, version, invoke, complete, outcome }) as Omit<Op, 'id' | 'key'>;
const cas = (
  process: number,
  invoke: number,
  complete: number | undefined,
  expected: number,
  value: string,
  version?: number,
  outcome: Op['outcome'] = 'ok',
) =>
  ({ process, kind: 'cas', expected, value, version, invoke, complete, outcome }) as Omit<Op, 'id' | 'key'>;
const read = (
  process: number,
  invoke: number,
  complete: number,
  value: string | null,
  version = 0,
  final = false,
) =>
  ({
    process,
    kind: 'read',
    result: value === null ? null : { value, version },
    invoke,
    complete,
    outcome: 'ok',
    ...(final ? { final } : {}),
  }) as Omit<Op, 'id' | 'key'>;

describe('linearizability of a znode register', () => {
  it('accepts a sequential history', () => {
    const v = checkLinearizability(
      h(create(0, 0, 1, 'a'), write(0, 2, 3, 'b', 1), cas(0, 4, 5, 1, 'c', 2), read(0, 6, 7, 'c', 2)),
    );
    expect(v.valid).toBe(true);
  });

  it('accepts concurrent operations in either order', () => {
    const v = checkLinearizability(
      h(
        create(0, 0, 1, 'a'),
        write(1, 2, 10, 'b', 2),
        write(2, 3, 9, 'c', 1),
        read(3, 4, 8, 'c', 1),
        read(0, 11, 12, 'b', 2),
      ),
    );
    expect(v.valid).toBe(true);
  });

  it('rejects a stale read after an acknowledged write', () => {
    const v = checkLinearizability(h(create(0, 0, 1, 'a'), write(0, 2, 3, 'b', 1), read(1, 4, 5, 'a', 0)));
    expect(v.valid).toBe(false);
    const f = v.failures[0]!;
    expect(f.key).toBe('k');
    // The write cannot move past version 0 while the read still needs it.
    expect(f.stuck?.kind).toBe('write');
    expect(f.lastConsistentState).toEqual({ value: 'a', version: 0 });
    expect(f.blocking.map((op) => op.id)).toContain(2);
    expect(v.message).toContain('not linearizable');
    expect(v.message).toContain('read -> "a"@v0');
  });

  it('rejects two compare-and-sets that succeed on the same version', () => {
    const v = checkLinearizability(h(create(0, 0, 1, 'a'), cas(1, 2, 5, 0, 'b'), cas(2, 3, 6, 0, 'c')));
    expect(v.valid).toBe(false);
  });

  it('rejects a write whose returned version contradicts real-time order', () => {
    const v = checkLinearizability(h(create(0, 0, 1, 'a'), write(0, 2, 3, 'b', 2), write(1, 4, 5, 'c', 1)));
    expect(v.valid).toBe(false);
  });

  it('lets an info write take effect late, or never', () => {
    // The info write explains the read of "b"...
    const late = h(
      create(0, 0, 1, 'a'),
      write(1, 2, undefined, 'b', undefined, 'info'),
      read(0, 50, 51, 'b', 1),
    );
    expect(checkLinearizability(late).valid).toBe(true);
    // ...and without it the same read is impossible.
    const without = h(create(0, 0, 1, 'a'), write(1, 2, 3, 'b', undefined, 'fail'), read(0, 50, 51, 'b', 1));
    expect(checkLinearizability(without).valid).toBe(false);
    // An info write nobody saw need not happen.
    const never = h(
      create(0, 0, 1, 'a'),
      write(1, 2, undefined, 'b', undefined, 'info'),
      read(0, 50, 51, 'a', 0),
    );
    expect(checkLinearizability(never).valid).toBe(true);
  });

  it('places an info cas only after its invocation', () => {
    const v = checkLinearizability(
      h(create(0, 0, 1, 'a'), read(0, 2, 3, 'x', 1), cas(1, 4, undefined, 0, 'x', undefined, 'info')),
    );
    expect(v.valid).toBe(false);
  });

  it('says unknown, not hangs, past the state bound', () => {
    const ops = [create(0, 0, 1, 'a')];
    for (let p = 1; p <= 12; p++) ops.push(write(p, 2, undefined, `w${p}`, undefined, 'info'));
    ops.push(read(0, 100, 101, 'zz', 99));
    const v = checkLinearizability(h(...ops), { maxStates: 1000 });
    expect(v.valid).toBe('unknown');
    expect(v.message).toContain('maxStates');
  });

  it('keeps keys apart', () => {
    const history = h(
      { ...create(0, 0, 1, 'a'), key: 'x' } as Omit<Op, 'id' | 'key'>,
      { ...create(1, 0, 1, 'a'), key: 'y' } as Omit<Op, 'id' | 'key'>,
      { ...write(0, 2, 3, 'b', 1), key: 'x' } as Omit<Op, 'id' | 'key'>,
      { ...read(1, 4, 5, 'a', 0), key: 'y' } as Omit<Op, 'id' | 'key'>,
    );
    expect(checkLinearizability(history).valid).toBe(true);
  });
});

describe('sequential reads (ZooKeeper)', () => {
  it('allows a stale read from a lagging member', () => {
    const history = h(create(0, 0, 1, 'a'), write(0, 2, 3, 'b', 1), read(1, 4, 5, 'a', 0));
    expect(checkLinearizability(history, { reads: 'sequential' }).valid).toBe(true);
  });

  it('rejects a process whose reads go back in time', () => {
    const history = h(
      create(0, 0, 1, 'a'),
      write(0, 2, 3, 'b', 1),
      read(1, 4, 5, 'b', 1),
      read(1, 6, 7, 'a', 0),
    );
    const v = checkLinearizability(history, { reads: 'sequential' });
    expect(v.valid).toBe(false);
    expect(v.message).toContain('back in time');
  });

  it('rejects a read of a value never written, or at the wrong version', () => {
    expect(
      checkLinearizability(h(create(0, 0, 1, 'a'), read(1, 4, 5, 'q', 0)), { reads: 'sequential' }).valid,
    ).toBe(false);
    expect(
      checkLinearizability(h(create(0, 0, 1, 'a'), write(0, 2, 3, 'b', 1), read(1, 4, 5, 'b', 2)), {
        reads: 'sequential',
      }).valid,
    ).toBe(false);
  });

  it('rejects a read from the future', () => {
    const history = h(create(0, 0, 1, 'a'), read(1, 4, 5, 'b', 1), write(0, 6, 7, 'b', 1));
    expect(checkLinearizability(history, { reads: 'sequential' }).valid).toBe(false);
  });
});

describe('lost writes', () => {
  it('passes when the final state accounts for every acknowledged write', () => {
    const history = h(
      create(0, 0, 1, 'a'),
      write(0, 2, 3, 'b', 1),
      read(5, 10, 11, 'b', 1, true),
      read(6, 10, 11, 'b', 1, true),
    );
    expect(checkLostWrites(history).valid).toBe(true);
  });

  it('finds an acknowledged write the final state lost', () => {
    const history = h(
      create(0, 0, 1, 'a'),
      write(0, 2, 3, 'b', 1),
      write(0, 4, 5, 'c', 2),
      read(5, 10, 11, 'b', 1, true),
    );
    const r = checkLostWrites(history);
    expect(r.valid).toBe(false);
    expect(r.lost.map((op) => op.id)).toEqual([2]);
    expect(checkHistory(history).valid).toBe(false);
  });

  it('finds members that disagree after healing', () => {
    const history = h(
      create(0, 0, 1, 'a'),
      write(0, 2, 3, 'b', 1),
      read(5, 10, 11, 'b', 1, true),
      read(6, 10, 11, 'a', 0, true),
    );
    expect(checkLostWrites(history).message).toContain('disagree');
  });

  it('accepts a final value left by an info write', () => {
    const history = h(
      create(0, 0, 1, 'a'),
      write(1, 2, undefined, 'z', undefined, 'info'),
      read(5, 10, 11, 'z', 1, true),
    );
    expect(checkLostWrites(history).valid).toBe(true);
  });
});

describe('HistoryRecorder', () => {
  it('records outcomes once, with times from its clock, and is bounded', () => {
    let now = 0;
    const r = new HistoryRecorder(() => now++, 3);
    const a = r.invoke(0, { kind: 'write', key: 'k', value: 'x' }, 'm1');
    const b = r.invoke(1, { kind: 'read', key: 'k' });
    const c = r.invoke(2, { kind: 'cas', key: 'k', expected: 1, value: 'y' });
    a.ok(4);
    a.fail('late'); // ignored: already settled
    b.ok({ value: 'x', version: 4 });
    c.info('ConnectionLoss');
    expect(() => r.invoke(3, { kind: 'read', key: 'k' })).toThrow(JepsenError);
    const ops = r.history().ops;
    expect(ops[0]).toMatchObject({
      kind: 'write',
      outcome: 'ok',
      version: 4,
      invoke: 0,
      complete: 3,
      member: 'm1',
    });
    expect(ops[1]).toMatchObject({ kind: 'read', outcome: 'ok', result: { value: 'x', version: 4 } });
    expect(ops[2]).toMatchObject({ kind: 'cas', outcome: 'info', error: 'ConnectionLoss' });
    expect(ops[2]!.complete).toBeUndefined();
    expect(summarize(r.history())['write:ok']).toBe(1);
  });
});

describe('history files', () => {
  it('round-trips through JSON and rejects malformed ones', () => {
    const history = h(
      create(0, 0, 1, 'a'),
      write(1, 2, undefined, 'z', undefined, 'info'),
      read(5, 10, 11, 'z', 1, true),
    );
    history.meta = { seed: 42 };
    const back = parseHistory(serializeHistory(history));
    expect(back.meta).toEqual({ seed: 42 });
    expect(back.ops).toEqual(JSON.parse(JSON.stringify(history.ops)));
    expect(() => parseHistory('{}')).toThrow(/zkts-jepsen-history/);
    expect(() => parseHistory(serializeHistory(h(write(0, 5, 3, 'b', 1))))).toThrow(/completion/);
  });
});

/**
 * Histories of a correct register: processes run operations against one sequential register; each
 * operation takes effect at one instant inside a random interval around it, so operations overlap.
 */
const correctHistory = fc
  .record({
    steps: fc.array(
      fc.record({
        process: fc.nat(4),
        kind: fc.constantFrom('read', 'write', 'cas', 'create', 'cas-stale'),
        before: fc.nat(30),
        after: fc.nat(30),
        gap: fc.nat(20),
        outcome: fc.constantFrom('ok', 'ok', 'ok', 'info'),
      }),
      { minLength: 1, maxLength: 40 },
    ),
  })
  .map(({ steps }) => {
    let state: { value: string; version: number } | null = null;
    const ops: Op[] = [];
    const busyUntil = new Map<number, number>();
    const processOf = new Map<number, number>();
    let now = 0;
    let n = 0;
    for (const s of steps) {
      now += s.gap + 1;
      // The instant the operation takes effect is `now`; its process must be idle before it.
      let process = processOf.get(s.process) ?? s.process;
      const invoke = Math.max(now - s.before, (busyUntil.get(process) ?? -1) + 1);
      if (invoke > now) continue;
      const complete = now + s.after;
      const base = { id: n++, process, key: 'k', invoke };
      const value = `v${n}`;
      const finish = (op: Op) => {
        if (s.outcome === 'info' && op.kind !== 'read') {
          op.outcome = 'info';
          delete op.complete;
          if (op.kind === 'write' || op.kind === 'cas') delete op.version;
          // A process with an info operation is retired.
          process += 10;
          processOf.set(s.process, process);
        } else busyUntil.set(process, complete);
        ops.push(op);
      };
      switch (s.kind) {
        case 'read':
          finish({
            ...base,
            kind: 'read',
            complete,
            outcome: 'ok',
            result: state === null ? null : { ...state },
          });
          break;
        case 'create':
          if (state === null) {
            state = { value, version: 0 };
            finish({ ...base, kind: 'create', value, complete, outcome: 'ok' });
          } else ops.push({ ...base, kind: 'create', value, complete, outcome: 'fail' });
          if (state !== null) busyUntil.set(process, complete);
          break;
        case 'write':
          if (state === null) {
            ops.push({ ...base, kind: 'write', value, complete, outcome: 'fail' });
            busyUntil.set(process, complete);
          } else {
            state = { value, version: state.version + 1 };
            finish({ ...base, kind: 'write', value, complete, outcome: 'ok', version: state.version });
          }
          break;
        case 'cas':
        case 'cas-stale': {
          const expected = state === null ? 0 : s.kind === 'cas' ? state.version : state.version + 1;
          if (state !== null && state.version === expected) {
            state = { value, version: state.version + 1 };
            finish({
              ...base,
              kind: 'cas',
              expected,
              value,
              complete,
              outcome: 'ok',
              version: state.version,
            });
          } else {
            ops.push({ ...base, kind: 'cas', expected, value, complete, outcome: 'fail' });
            busyUntil.set(process, complete);
          }
          break;
        }
      }
    }
    return { ops } as History;
  });

describe('properties', () => {
  it('histories of a correct register are linearizable, with reads either way', () => {
    fc.assert(
      fc.property(correctHistory, (history) => {
        validateHistory(history);
        expect(checkLinearizability(history).valid).toBe(true);
        expect(checkLinearizability(history, { reads: 'sequential' }).valid).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a read of a value never written is caught', () => {
    fc.assert(
      fc.property(
        correctHistory.filter((hh) => hh.ops.some((op) => op.kind === 'read' && op.result != null)),
        fc.nat(),
        (history, pick) => {
          const reads = history.ops.filter((op) => op.kind === 'read' && op.result != null);
          const r = reads[pick % reads.length]!;
          if (r.kind === 'read' && r.result != null) r.result = { ...r.result, value: 'never-written' };
          expect(checkLinearizability(history).valid).toBe(false);
          expect(checkLinearizability(history, { reads: 'sequential' }).valid).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a read of a version nobody wrote is caught', () => {
    fc.assert(
      fc.property(
        correctHistory.filter((hh) => hh.ops.some((op) => op.kind === 'read' && op.result != null)),
        fc.nat(),
        (history, pick) => {
          const reads = history.ops.filter((op) => op.kind === 'read' && op.result != null);
          const r = reads[pick % reads.length]!;
          if (r.kind === 'read' && r.result != null)
            r.result = { ...r.result, version: r.result.version + 1000 };
          expect(checkLinearizability(history).valid).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('a long history', () => {
  /**
   * A register shared by `processes` clients for `n` operations: each takes effect at one instant
   * inside its interval; one in 20 writes ends `info` (applied or not).
   */
  function simulate(seed: number, n: number, processes: number): History {
    const rng = new Prng(seed);
    let state: { value: string; version: number } | null = null;
    const ops: Op[] = [];
    const idle = new Array<number>(processes).fill(0);
    const pid = Array.from({ length: processes }, (_, i) => i);
    let now = 0;
    for (let id = 0; id < n; id++) {
      now += rng.int(1, 5);
      const p = rng.int(0, processes - 1);
      const invoke = Math.max(idle[p]!, now - rng.int(0, 40));
      if (invoke > now) continue;
      const complete = now + rng.int(0, 40);
      idle[p] = complete + 1;
      const base = { id, process: pid[p]!, key: 'k', invoke, complete };
      const value = `v${id}`;
      const dice = rng.next();
      if (state === null) {
        state = { value, version: 0 };
        ops.push({ ...base, kind: 'create', value, outcome: 'ok' });
      } else if (dice < 0.5) {
        ops.push({ ...base, kind: 'read', outcome: 'ok', result: { ...state } });
      } else if (dice < 0.55) {
        // Unknown outcome: applied half the time.
        if (rng.next() < 0.5) state = { value, version: state.version + 1 };
        ops.push({ ...base, kind: 'write', value, outcome: 'info', complete: undefined } as Op);
        pid[p]! += processes;
      } else {
        state = { value, version: state.version + 1 };
        ops.push({ ...base, kind: 'write', value, outcome: 'ok', version: state.version });
      }
    }
    return { ops };
  }

  it('of 20,000 operations with unknown writes checks in well under a second per key', () => {
    const history = simulate(7, 20_000, 8);
    validateHistory(history);
    const v = checkLinearizability(history);
    expect(v.valid).toBe(true);
    expect(v.elapsedMs).toBeLessThan(10_000);
    expect(checkLinearizability(history, { reads: 'sequential' }).valid).toBe(true);
  });
});
