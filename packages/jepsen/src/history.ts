import { JepsenError } from './errors.js';

/**
 * `ok`: the operation took effect (and its result is known). `fail`: it definitely did not take
 * effect (BadVersion, NoNode, NodeExists). `info`: unknown (connection loss, timeout): it may or may
 * not have taken effect, at any time after its invocation.
 */
export type Outcome = 'ok' | 'fail' | 'info';

/** A znode's data and version as a read saw them. */
export interface Observed {
  value: string;
  version: number;
}

/** Fields every operation has. Times are monotonic nanoseconds from the start of the history. */
export interface OpBase {
  /** Unique within the history. */
  id: number;
  /** The logical process (a sequential client); a process never has two operations in flight. */
  process: number;
  key: string;
  invoke: number;
  /** Completion time; absent for `info` operations, whose completion is open-ended. */
  complete?: number;
  outcome: Outcome;
  /** Why a `fail` or `info` operation ended so (the error's name or message). */
  error?: string;
  /** The member the client was bound to, for the record. */
  member?: string;
  /** A read made after the run, with every fault healed, to look for lost writes. */
  final?: boolean;
}

/** getData: `result` is the observed znode, or null when it does not exist (only for `ok`). */
export interface ReadOp extends OpBase {
  kind: 'read';
  result?: Observed | null;
}

/** setData with version -1; `version` is the znode version the server returned (only for `ok`). */
export interface WriteOp extends OpBase {
  kind: 'write';
  value: string;
  version?: number;
}

/** setData with an expected version; `version` is the returned version (only for `ok`). */
export interface CasOp extends OpBase {
  kind: 'cas';
  expected: number;
  value: string;
  version?: number;
}

/** create: the znode starts at version 0. */
export interface CreateOp extends OpBase {
  kind: 'create';
  value: string;
}

export type Op = ReadOp | WriteOp | CasOp | CreateOp;
export type OpKind = Op['kind'];

/** What an operation asks, before its outcome is known. */
export type OpSpec =
  | { kind: 'read'; key: string }
  | { kind: 'write'; key: string; value: string }
  | { kind: 'cas'; key: string; expected: number; value: string }
  | { kind: 'create'; key: string; value: string };

export interface History {
  ops: Op[];
  /** Free-form facts about the run (seed, cluster, duration). */
  meta?: Record<string, string | number | boolean>;
}

/** Monotonic nanoseconds. */
export type Clock = () => number;

export function monotonicClock(): Clock {
  const start = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - start);
}

/** The outcome of an invoked operation, given once. */
export interface PendingOp {
  readonly id: number;
  /** Took effect; a read passes what it saw, a write or cas the returned version. */
  ok(result?: Observed | null | number): void;
  fail(error: string): void;
  info(error: string): void;
}

/**
 * Records operations as clients invoke and complete them. Operations still pending when
 * `history()` is called are recorded as `info`.
 */
export class HistoryRecorder {
  private readonly ops: Op[] = [];
  private readonly pending = new Set<Op>();
  private nextId = 0;
  readonly meta: Record<string, string | number | boolean> = {};

  constructor(
    readonly clock: Clock = monotonicClock(),
    /** Most operations recorded; one more throws `JepsenError` of kind `history`. */
    readonly maxOps = 1_000_000,
  ) {}

  invoke(process: number, spec: OpSpec, member?: string, final = false): PendingOp {
    if (this.ops.length >= this.maxOps) {
      throw new JepsenError('history', `the history is full (${this.maxOps} operations)`);
    }
    const base = {
      id: this.nextId++,
      process,
      key: spec.key,
      invoke: this.clock(),
      outcome: 'info' as Outcome,
    };
    const extra = { ...(member === undefined ? {} : { member }), ...(final ? { final } : {}) };
    let op: Op;
    switch (spec.kind) {
      case 'read':
        op = { ...base, ...extra, kind: 'read' };
        break;
      case 'write':
        op = { ...base, ...extra, kind: 'write', value: spec.value };
        break;
      case 'cas':
        op = { ...base, ...extra, kind: 'cas', expected: spec.expected, value: spec.value };
        break;
      case 'create':
        op = { ...base, ...extra, kind: 'create', value: spec.value };
        break;
    }
    this.ops.push(op);
    this.pending.add(op);
    const settle = (): boolean => this.pending.delete(op);
    return {
      id: op.id,
      ok: (result) => {
        if (!settle()) return;
        op.outcome = 'ok';
        op.complete = this.clock();
        if (op.kind === 'read')
          op.result = result === undefined || typeof result === 'number' ? null : result;
        else if ((op.kind === 'write' || op.kind === 'cas') && typeof result === 'number')
          op.version = result;
      },
      fail: (error) => {
        if (!settle()) return;
        op.outcome = 'fail';
        op.complete = this.clock();
        op.error = error;
      },
      info: (error) => {
        if (!settle()) return;
        op.outcome = 'info';
        op.error = error;
      },
    };
  }

  /** A copy of the history so far; pending operations are `info`. */
  history(): History {
    const ops = this.ops.map((op) => {
      const copy = { ...op } as Op;
      if (this.pending.has(op)) copy.error = 'pending when the history was taken';
      return copy;
    });
    return { ops, meta: { ...this.meta } };
  }

  get size(): number {
    return this.ops.length;
  }
}

/** Counts of a history's operations by kind and outcome. */
export function summarize(history: History): Record<`${OpKind}:${Outcome}`, number> {
  const counts = {} as Record<`${OpKind}:${Outcome}`, number>;
  for (const kind of ['read', 'write', 'cas', 'create'] as const) {
    for (const outcome of ['ok', 'fail', 'info'] as const) counts[`${kind}:${outcome}`] = 0;
  }
  for (const op of history.ops) counts[`${op.kind}:${op.outcome}`]++;
  return counts;
}

export const HISTORY_FORMAT = 'zkts-jepsen-history/1';

/** JSON text of a history, one operation a line, for saving a failing run and re-checking it. */
export function serializeHistory(history: History): string {
  const lines = history.ops.map((op) => `    ${JSON.stringify(op)}`);
  return `{\n  "format": ${JSON.stringify(HISTORY_FORMAT)},\n  "meta": ${JSON.stringify(history.meta ?? {})},\n  "ops": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

/** Parses and validates what `serializeHistory` wrote; throws `JepsenError` of kind `history`. */
export function parseHistory(text: string): History {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new JepsenError('history', `history is not JSON: ${(e as Error).message}`);
  }
  if (!isRecord(raw) || raw.format !== HISTORY_FORMAT || !Array.isArray(raw.ops)) {
    throw new JepsenError('history', `not a ${HISTORY_FORMAT} document`);
  }
  const meta: Record<string, string | number | boolean> = {};
  if (isRecord(raw.meta)) {
    for (const [k, v] of Object.entries(raw.meta)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') meta[k] = v;
    }
  }
  const ops = raw.ops.map((o, i) => parseOp(o, i));
  validateHistory({ ops });
  return { ops, meta };
}

function parseOp(o: unknown, i: number): Op {
  const bad = (why: string) => new JepsenError('history', `operation #${i}: ${why}`);
  if (!isRecord(o)) throw bad('not an object');
  const num = (k: string, optional = false): number | undefined => {
    const v = o[k];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${k} must be a number`);
    return v;
  };
  const str = (k: string, optional = false): string | undefined => {
    const v = o[k];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string') throw bad(`${k} must be a string`);
    return v;
  };
  const outcome = o.outcome;
  if (outcome !== 'ok' && outcome !== 'fail' && outcome !== 'info')
    throw bad('outcome must be ok, fail or info');
  const base: OpBase = {
    id: num('id')!,
    process: num('process')!,
    key: str('key')!,
    invoke: num('invoke')!,
    outcome,
  };
  const complete = num('complete', true);
  if (complete !== undefined) base.complete = complete;
  const error = str('error', true);
  if (error !== undefined) base.error = error;
  const member = str('member', true);
  if (member !== undefined) base.member = member;
  if (o.final === true) base.final = true;
  switch (o.kind) {
    case 'read': {
      const op: ReadOp = { ...base, kind: 'read' };
      if (o.result === null) op.result = null;
      else if (o.result !== undefined) {
        const r = o.result;
        if (!isRecord(r) || typeof r.value !== 'string' || typeof r.version !== 'number') {
          throw bad('result must be null or { value, version }');
        }
        op.result = { value: r.value, version: r.version };
      }
      return op;
    }
    case 'write': {
      const op: WriteOp = { ...base, kind: 'write', value: str('value')! };
      const version = num('version', true);
      if (version !== undefined) op.version = version;
      return op;
    }
    case 'cas': {
      const op: CasOp = { ...base, kind: 'cas', expected: num('expected')!, value: str('value')! };
      const version = num('version', true);
      if (version !== undefined) op.version = version;
      return op;
    }
    case 'create':
      return { ...base, kind: 'create', value: str('value')! };
    default:
      throw bad('kind must be read, write, cas or create');
  }
}

/**
 * Checks the rules a history obeys: unique ids, `ok`/`fail` operations completed after their
 * invocation, `ok` reads with a result, and no process with two operations in flight.
 */
export function validateHistory(history: History): void {
  const ids = new Set<number>();
  const byProcess = new Map<number, Op[]>();
  for (const op of history.ops) {
    if (ids.has(op.id)) throw new JepsenError('history', `duplicate operation id ${op.id}`);
    ids.add(op.id);
    if (op.outcome !== 'info') {
      if (op.complete === undefined || op.complete < op.invoke) {
        throw new JepsenError(
          'history',
          `operation ${op.id} (${op.outcome}) needs a completion after its invocation`,
        );
      }
    }
    if (op.kind === 'read' && op.outcome === 'ok' && op.result === undefined) {
      throw new JepsenError('history', `read ${op.id} is ok but has no result`);
    }
    const list = byProcess.get(op.process) ?? [];
    list.push(op);
    byProcess.set(op.process, list);
  }
  for (const [process, ops] of byProcess) {
    ops.sort((a, b) => a.invoke - b.invoke);
    for (let i = 0; i + 1 < ops.length; i++) {
      const a = ops[i]!;
      const b = ops[i + 1]!;
      if (a.complete === undefined || a.complete > b.invoke) {
        throw new JepsenError(
          'history',
          `process ${process} has operations ${a.id} and ${b.id} in flight at once (a process is sequential; give a new process id after an info operation)`,
        );
      }
    }
  }
}

/** A short human-readable line for an operation. */
export function describeOp(op: Op): string {
  const t = (ns: number | undefined) => (ns === undefined ? '…' : `${(ns / 1e6).toFixed(3)}ms`);
  let what: string;
  switch (op.kind) {
    case 'read':
      what =
        op.result === undefined
          ? 'read ?'
          : op.result === null
            ? 'read -> absent'
            : `read -> ${JSON.stringify(op.result.value)}@v${op.result.version}`;
      break;
    case 'write':
      what = `write ${JSON.stringify(op.value)}${op.version === undefined ? '' : ` -> v${op.version}`}`;
      break;
    case 'cas':
      what = `cas v${op.expected} -> ${JSON.stringify(op.value)}${op.version === undefined ? '' : ` -> v${op.version}`}`;
      break;
    case 'create':
      what = `create ${JSON.stringify(op.value)}`;
      break;
  }
  return `#${op.id} p${op.process} ${op.key} ${what} ${op.outcome}${op.error === undefined ? '' : ` (${op.error})`} [${t(op.invoke)}, ${t(op.complete)}]${op.final ? ' final' : ''}`;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
