import { assertNever } from './errors.js';
import { describeOp, type History, type Observed, type Op } from './history.js';

/** A znode as a register: absent (null) or its data and version. */
export type RegisterState = Observed | null;

export interface CheckOptions {
  /**
   * `linearizable`: reads are operations of the register like writes (for stores that promise
   * linearizable reads). `sequential` (ZooKeeper's guarantee): writes, compare-and-sets and creates
   * are checked for linearizability; each read must observe a state some write produced (value and
   * version), never from the future, and per process never older than what that process already
   * saw or wrote. Default `linearizable`.
   */
  reads?: 'linearizable' | 'sequential';
  /** Most search states (state + set of linearized operations) kept per key before giving up. */
  maxStates?: number;
  /** Each key's state before the history; absent by default. */
  initial?: (key: string) => RegisterState;
}

/** Why one key's history is not linearizable, with the neighbourhood of the contradiction. */
export interface KeyFailure {
  key: string;
  message: string;
  /** The state after the longest linearizable prefix the search found. */
  lastConsistentState: RegisterState;
  /** The last operations of that prefix, oldest first. */
  linearized: Op[];
  /** The operation that could not be placed: it completed before anything consistent could precede it. */
  stuck?: Op;
  /** Operations concurrent with the stuck one that were tried at that point. */
  candidates: Op[];
  /**
   * Operations that still needed the last consistent state's version, so that nothing could move
   * past it (the stuck operation included, when that is what it would do): a stale read, say.
   */
  blocking: Op[];
}

export interface KeyResult {
  key: string;
  valid: boolean | 'unknown';
  /** Operations the search considered. */
  ops: number;
  /** Search states explored. */
  states: number;
  failure?: KeyFailure;
  message?: string;
}

export interface LinearizabilityVerdict {
  valid: boolean | 'unknown';
  keys: KeyResult[];
  failures: KeyFailure[];
  /** One paragraph for a log or an error message. */
  message: string;
  states: number;
  elapsedMs: number;
}

const DEFAULT_MAX_STATES = 500_000;

/** The register's transition for `op`, or undefined when `op` cannot take effect in `s`. */
export function step(s: RegisterState, op: Op): RegisterState | undefined {
  switch (op.kind) {
    case 'read':
      if (op.result === undefined) return s;
      if (op.result === null) return s === null ? s : undefined;
      return s !== null && s.value === op.result.value && s.version === op.result.version ? s : undefined;
    case 'write':
      if (s === null) return undefined;
      if (op.version !== undefined && op.version !== s.version + 1) return undefined;
      return { value: op.value, version: s.version + 1 };
    case 'cas':
      if (s === null || s.version !== op.expected) return undefined;
      if (op.version !== undefined && op.version !== s.version + 1) return undefined;
      return { value: op.value, version: s.version + 1 };
    case 'create':
      return s === null ? { value: op.value, version: 0 } : undefined;
    default:
      return assertNever(op);
  }
}

export function describeState(s: RegisterState): string {
  return s === null ? 'absent' : `${JSON.stringify(s.value)}@v${s.version}`;
}

/** Groups a history's operations by key, in invocation order. */
export function byKey(history: History): Map<string, Op[]> {
  const keys = new Map<string, Op[]>();
  for (const op of history.ops) {
    const list = keys.get(op.key) ?? [];
    list.push(op);
    keys.set(op.key, list);
  }
  for (const list of keys.values()) list.sort((a, b) => a.invoke - b.invoke || a.id - b.id);
  return keys;
}

/**
 * Checks a history of per-key registers for linearizability: a Wing & Gong search with Lowe's
 * memoisation (as Knossos' `linear` and Porcupine), per key. `fail` operations took no effect and are
 * left out; `info` operations may take effect at any point after their invocation, or never; `info`
 * reads observed nothing and are left out. The search is bounded by `maxStates` per key: past it
 * the key's verdict is `unknown`.
 */
export function checkLinearizability(history: History, options: CheckOptions = {}): LinearizabilityVerdict {
  const started = performance.now();
  const reads = options.reads ?? 'linearizable';
  const maxStates = options.maxStates ?? DEFAULT_MAX_STATES;
  const keys: KeyResult[] = [];
  for (const [key, ops] of byKey(history)) {
    const initial = options.initial?.(key) ?? null;
    const searched = ops.filter(
      (op) =>
        op.outcome !== 'fail' && !(op.kind === 'read' && (op.outcome === 'info' || reads === 'sequential')),
    );
    const result = searchKey(key, searched, initial, maxStates);
    if (result.valid === true && reads === 'sequential') {
      const failure = checkReadsSequential(key, ops, initial);
      if (failure !== undefined) {
        keys.push({ ...result, valid: false, failure, message: failure.message });
        continue;
      }
    }
    keys.push(result);
  }
  const failures = keys.flatMap((k) => (k.failure === undefined ? [] : [k.failure]));
  const unknown = keys.filter((k) => k.valid === 'unknown');
  const valid = failures.length > 0 ? false : unknown.length > 0 ? 'unknown' : true;
  const states = keys.reduce((n, k) => n + k.states, 0);
  let message: string;
  if (valid === true) {
    message = `linearizable: ${keys.length} keys, ${keys.reduce((n, k) => n + k.ops, 0)} operations searched, ${states} states`;
  } else if (valid === false) {
    message = failures.map(explainFailure).join('\n\n');
  } else {
    message = unknown.map((k) => `${k.key}: ${k.message}`).join('\n');
  }
  return { valid, keys, failures, message, states, elapsedMs: performance.now() - started };
}

/** A multi-line explanation of a failure. */
export function explainFailure(f: KeyFailure): string {
  const lines = [`key ${f.key} is not linearizable: ${f.message}`];
  lines.push(`  last consistent state: ${describeState(f.lastConsistentState)}`);
  if (f.linearized.length > 0) {
    lines.push('  after (last linearized operations):');
    for (const op of f.linearized) lines.push(`    ${describeOp(op)}`);
  }
  if (f.stuck !== undefined) lines.push(`  cannot place: ${describeOp(f.stuck)}`);
  if (f.blocking.length > 0) {
    lines.push(`  still needing version ${versionOf(f.lastConsistentState)}, so nothing could move past it:`);
    for (const op of f.blocking.slice(0, 12)) lines.push(`    ${describeOp(op)}`);
    if (f.blocking.length > 12) lines.push(`    … ${f.blocking.length - 12} more`);
  }
  if (f.candidates.length > 0) {
    lines.push('  concurrent operations tried:');
    for (const op of f.candidates.slice(0, 12)) lines.push(`    ${describeOp(op)}`);
    if (f.candidates.length > 12) lines.push(`    … ${f.candidates.length - 12} more`);
  }
  return lines.join('\n');
}

/** Search of one key's operations (Porcupine's algorithm, with open-ended `info` operations). */
function searchKey(key: string, ops: Op[], initial: RegisterState, maxStates: number): KeyResult {
  const n = ops.length;
  // Entries 1..2n in time order; 0 is the head sentinel, 2n+1 the tail.
  const events: { op: number; call: boolean; time: number }[] = [];
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    events.push({ op: i, call: true, time: op.invoke });
    events.push({
      op: i,
      call: false,
      time: op.outcome === 'ok' && op.complete !== undefined ? op.complete : Number.POSITIVE_INFINITY,
    });
  }
  // Calls before returns at the same time: equal times count as concurrent.
  events.sort((a, b) => a.time - b.time || (a.call === b.call ? a.op - b.op : a.call ? -1 : 1));
  const head = 0;
  const tail = 2 * n + 1;
  const next = new Int32Array(2 * n + 2);
  const prev = new Int32Array(2 * n + 2);
  const entryOp = new Int32Array(2 * n + 2);
  const entryCall = new Uint8Array(2 * n + 2);
  const callEntry = new Int32Array(n);
  const returnEntry = new Int32Array(n);
  for (let e = 0; e <= tail; e++) {
    next[e] = e + 1;
    prev[e] = e - 1;
  }
  events.forEach((ev, i) => {
    const e = i + 1;
    entryOp[e] = ev.op;
    entryCall[e] = ev.call ? 1 : 0;
    if (ev.call) callEntry[ev.op] = e;
    else returnEntry[ev.op] = e;
  });
  const unlink = (e: number) => {
    next[prev[e]!] = next[e]!;
    prev[next[e]!] = prev[e]!;
  };
  const relink = (e: number) => {
    next[prev[e]!] = e;
    prev[next[e]!] = e;
  };
  const lift = (i: number) => {
    unlink(callEntry[i]!);
    unlink(returnEntry[i]!);
  };
  const unlift = (i: number) => {
    relink(returnEntry[i]!);
    relink(callEntry[i]!);
  };

  // Zobrist hashes of the set of linearized operations, two 32-bit halves.
  const zobrist = new Uint32Array(2 * n);
  let seed = 0x9e3779b9;
  for (let i = 0; i < zobrist.length; i++) {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    zobrist[i] = (t ^ (t >>> 14)) >>> 0;
  }
  const words = (n + 31) >>> 5;
  const bits = new Uint32Array(words);
  let h1 = 0;
  let h2 = 0;
  const flip = (i: number) => {
    bits[i >>> 5]! ^= 1 << (i & 31);
    h1 ^= zobrist[2 * i]!;
    h2 ^= zobrist[2 * i + 1]!;
  };
  const cache = new Map<string, Uint32Array[]>();
  let states = 0;
  const remember = (s: RegisterState): boolean => {
    const k = `${s === null ? '-' : `${s.version}:${s.value}`}#${h1}:${h2}`;
    const seen = cache.get(k);
    if (seen !== undefined) {
      for (const b of seen) if (equalBits(b, bits)) return false;
      seen.push(bits.slice());
    } else cache.set(k, [bits.slice()]);
    states++;
    return true;
  };

  // Versions never decrease along a linearization (absent counts as -1), and each ok operation
  // needs one version before it: a step that moves past a version some ok operation still needs
  // strands it, and is not taken. This prunes most of what info operations would cost.
  const needs = new Map<number, number>();
  const need = (i: number, delta: number) => {
    const r = required(ops[i]!);
    if (r !== undefined) needs.set(r, (needs.get(r) ?? 0) + delta);
  };
  for (let i = 0; i < n; i++) need(i, 1);
  let remainingOk = ops.filter((op) => op.outcome === 'ok').length;
  const stack: { op: number; state: RegisterState }[] = [];
  let state = initial;
  let deepest = -1;
  let failure: KeyFailure | undefined;
  let failureBits: Uint32Array | undefined;
  let e = next[head]!;
  for (;;) {
    if (remainingOk === 0) return { key, valid: true, ops: n, states };
    if (e === tail) break; // unreachable while an ok operation remains: its return entry is in the list
    const i = entryOp[e]!;
    const op = ops[i]!;
    if (entryCall[e] === 1) {
      const after = step(state, op);
      const v = versionOf(state);
      if (
        after !== undefined &&
        (versionOf(after) === v || (needs.get(v) ?? 0) - (required(op) === v ? 1 : 0) === 0)
      ) {
        flip(i);
        if (remember(after)) {
          if (states > maxStates) {
            return {
              key,
              valid: 'unknown',
              ops: n,
              states,
              message: `gave up after ${states} search states (maxStates ${maxStates}); ${ops.length} operations, ${stack.length} linearized at most so far`,
            };
          }
          stack.push({ op: i, state });
          state = after;
          lift(i);
          need(i, -1);
          if (op.outcome === 'ok') remainingOk--;
          e = next[head]!;
          continue;
        }
        flip(i);
      }
      e = next[e]!;
      continue;
    }
    // The return of an ok operation not yet linearized: what precedes it cannot be ordered.
    if (stack.length > deepest) {
      deepest = stack.length;
      const candidates: Op[] = [];
      for (let c = next[head]!; c !== e; c = next[c]!)
        if (entryCall[c] === 1) candidates.push(ops[entryOp[c]!]!);
      failure = {
        key,
        message: `no order of the operations up to ${describeOp(op)} is consistent with a register`,
        lastConsistentState: state,
        linearized: stack.slice(-8).map((f) => ops[f.op]!),
        stuck: op,
        candidates: candidates.filter((c) => c !== op),
        blocking: [],
      };
      failureBits = bits.slice();
    }
    const top = stack.pop();
    if (top === undefined) break;
    const undone = ops[top.op]!;
    if (undone.outcome === 'ok') remainingOk++;
    unlift(top.op);
    need(top.op, 1);
    flip(top.op);
    state = top.state;
    e = next[callEntry[top.op]!]!;
  }
  if (failure !== undefined && failureBits !== undefined) {
    const v = versionOf(failure.lastConsistentState);
    for (let i = 0; i < n; i++) {
      if ((failureBits[i >>> 5]! & (1 << (i & 31))) === 0 && required(ops[i]!) === v)
        failure.blocking.push(ops[i]!);
    }
  }
  return {
    key,
    valid: false,
    ops: n,
    states,
    failure: failure ?? {
      key,
      message: 'no linearization exists',
      lastConsistentState: initial,
      linearized: [],
      candidates: [],
      blocking: [],
    },
    message: failure?.message ?? 'no linearization exists',
  };
}

/** A state's version; absent is -1. */
function versionOf(s: RegisterState): number {
  return s === null ? -1 : s.version;
}

/** The version an ok operation must see when it takes effect, when known (absent: -1). */
function required(op: Op): number | undefined {
  if (op.outcome !== 'ok') return undefined;
  switch (op.kind) {
    case 'read':
      return op.result === undefined ? undefined : op.result === null ? -1 : op.result.version;
    case 'write':
      return op.version === undefined ? undefined : op.version - 1;
    case 'cas':
      return op.expected;
    case 'create':
      return -1;
    default:
      return assertNever(op);
  }
}

function equalBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The version a write left when it took effect: returned to `ok` operations, and known by
 * construction for creates and compare-and-sets; undefined when unknown.
 */
function writtenVersion(op: Op): number | undefined {
  switch (op.kind) {
    case 'read':
      return undefined;
    case 'create':
      return 0;
    case 'cas':
      return op.version ?? op.expected + 1;
    case 'write':
      return op.version;
    default:
      return assertNever(op);
  }
}

/**
 * ZooKeeper's guarantees for reads (sequential consistency): each observed state was produced by a
 * write that may have taken effect, at that version, invoked before the read completed; one version
 * never has two values; a process never observes an older state than it already saw or wrote, nor
 * absence after presence (the workload never deletes).
 */
function checkReadsSequential(key: string, ops: Op[], initial: RegisterState): KeyFailure | undefined {
  const fail = (message: string, stuck: Op, candidates: Op[] = []): KeyFailure => ({
    key,
    message,
    lastConsistentState: null,
    linearized: [],
    stuck,
    candidates,
    blocking: [],
  });
  const writers = new Map<string, Op[]>();
  const byVersion = new Map<number, { value: string; op?: Op }>();
  if (initial !== null) byVersion.set(initial.version, { value: initial.value });
  for (const op of ops) {
    if (op.kind === 'read') continue;
    const list = writers.get(op.value) ?? [];
    list.push(op);
    writers.set(op.value, list);
    if (op.outcome === 'ok') {
      const v = writtenVersion(op);
      if (v === undefined) continue;
      const other = byVersion.get(v);
      if (other !== undefined && other.value !== op.value) {
        return fail(
          `two values at version ${v}: ${JSON.stringify(other.value)} and ${JSON.stringify(op.value)}`,
          op,
          other.op === undefined ? [] : [other.op],
        );
      }
      byVersion.set(v, { value: op.value, op });
    }
  }
  for (const r of ops) {
    if (r.kind !== 'read' || r.outcome !== 'ok' || r.result == null) continue;
    const seen = r.result;
    if (initial !== null && seen.value === initial.value && seen.version === initial.version) continue;
    const candidates = writers.get(seen.value) ?? [];
    const possible = candidates.some((w) => {
      if (w.outcome === 'fail' || w.invoke > r.complete!) return false;
      const v = writtenVersion(w);
      return v === undefined || v === seen.version;
    });
    if (!possible) {
      return fail(
        candidates.length === 0
          ? `a read observed ${describeState(seen)}, a value never written`
          : `a read observed ${describeState(seen)}, which no write could have produced at that version before the read completed`,
        r,
        candidates,
      );
    }
    const other = byVersion.get(seen.version);
    if (other !== undefined && other.value !== seen.value) {
      return fail(
        `two values at version ${seen.version}: ${JSON.stringify(other.value)} and ${JSON.stringify(seen.value)}`,
        r,
        other.op === undefined ? [] : [other.op],
      );
    }
    byVersion.set(seen.version, { value: seen.value, op: r });
  }
  const processes = new Map<number, Op[]>();
  for (const op of ops) {
    const list = processes.get(op.process) ?? [];
    list.push(op);
    processes.set(op.process, list);
  }
  for (const list of processes.values()) {
    let floor = -1;
    let floorOp: Op | undefined;
    let exists = false;
    for (const op of list) {
      if (op.outcome !== 'ok') continue;
      let v: number | undefined;
      if (op.kind === 'read') {
        if (op.result === null) {
          if (exists)
            return fail('a process read absence after it saw the znode', op, floorOp ? [floorOp] : []);
          continue;
        }
        v = op.result?.version;
        if (v !== undefined && v < floor) {
          return fail(
            `a process observed version ${v} after it had seen version ${floor}: its reads went back in time`,
            op,
            floorOp ? [floorOp] : [],
          );
        }
      } else v = op.kind === 'create' ? 0 : op.version;
      if (v !== undefined) {
        exists = true;
        if (v > floor) {
          floor = v;
          floorOp = op;
        }
      }
    }
  }
  return undefined;
}

export interface LostWritesResult {
  valid: boolean;
  /** Acknowledged writes the final state does not account for. */
  lost: Op[];
  /** The state every member reported at the end, per key. */
  final: Map<string, RegisterState>;
  message: string;
}

/**
 * Zero lost acknowledged writes: per key, the final reads (every member, after healing) agree;
 * every `ok` write, compare-and-set and create has a version no greater than the final one (and
 * the same value when equal); and the final value is one a write could have left last.
 */
export function checkLostWrites(
  history: History,
  options: Pick<CheckOptions, 'initial'> = {},
): LostWritesResult {
  const lost: Op[] = [];
  const problems: string[] = [];
  const final = new Map<string, RegisterState>();
  for (const [key, ops] of byKey(history)) {
    const initial = options.initial?.(key) ?? null;
    const finals = ops.filter((op) => op.kind === 'read' && op.final === true && op.outcome === 'ok');
    const acked = ops.filter((op) => op.kind !== 'read' && op.outcome === 'ok');
    if (finals.length === 0) {
      if (acked.length > 0)
        problems.push(`${key}: no final read succeeded, ${acked.length} acknowledged writes unchecked`);
      continue;
    }
    const results = finals.map((op) => (op.kind === 'read' ? (op.result ?? null) : null));
    const f = results[0]!;
    if (!results.every((r) => describeState(r) === describeState(f))) {
      problems.push(
        `${key}: members disagree after healing: ${finals.map((op) => `${op.member ?? `p${op.process}`}=${describeState(op.kind === 'read' ? (op.result ?? null) : null)}`).join(', ')}`,
      );
    }
    final.set(key, f);
    for (const op of acked) {
      const v = writtenVersion(op);
      const value = op.kind === 'read' ? undefined : op.value;
      if (f === null || (v !== undefined && (v > f.version || (v === f.version && value !== f.value)))) {
        lost.push(op);
      }
    }
    if (f !== null && !(initial !== null && initial.value === f.value && initial.version === f.version)) {
      const possible = ops.some((w) => {
        if (w.kind === 'read' || w.outcome === 'fail' || w.value !== f.value) return false;
        const v = writtenVersion(w);
        return v === undefined || v === f.version;
      });
      if (!possible)
        problems.push(`${key}: the final state ${describeState(f)} is not one a write could have left`);
    }
  }
  for (const op of lost)
    problems.push(`lost: ${describeOp(op)} (final ${describeState(final.get(op.key) ?? null)})`);
  const valid = problems.length === 0;
  return {
    valid,
    lost,
    final,
    message: valid
      ? `no lost writes: ${final.size} keys, final states agree on every member`
      : problems.slice(0, 20).join('\n') + (problems.length > 20 ? `\n… ${problems.length - 20} more` : ''),
  };
}

export interface HistoryVerdict {
  valid: boolean | 'unknown';
  linearizability: LinearizabilityVerdict;
  lostWrites: LostWritesResult;
  message: string;
}

/** Both checks: linearizability (as `options.reads` says) and zero lost acknowledged writes. */
export function checkHistory(history: History, options: CheckOptions = {}): HistoryVerdict {
  const linearizability = checkLinearizability(history, options);
  const lostWrites = checkLostWrites(history, options);
  const valid = !lostWrites.valid || linearizability.valid === false ? false : linearizability.valid;
  const message = `${linearizability.valid === true ? 'linearizable' : linearizability.valid === false ? 'NOT linearizable' : 'linearizability unknown'} (${linearizability.elapsedMs.toFixed(0)} ms, ${linearizability.states} states); ${lostWrites.valid ? 'no lost writes' : 'LOST WRITES'}${valid === true ? '' : `\n${linearizability.valid === true ? '' : `${linearizability.message}\n`}${lostWrites.valid ? '' : lostWrites.message}`}`;
  return { valid, linearizability, lostWrites, message };
}
