/**
 * JSON as ZooKeeper's AdminServer writes it (Jackson's default pretty printer): objects one key a
 * line with `"key" : value`, arrays on one line (`[ 1, 2 ]`), empty ones as `{ }` and `[ ]`.
 * 64-bit ids (bigint) are written as exact JSON numbers, and `JavaDouble` values keep Java's `.0`.
 */

/** A floating-point figure printed as Java prints a double (`0.0`, `1.5`). */
export class JavaDouble {
  constructor(readonly value: number) {}
}

export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JavaDouble
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined };

function scalar(v: number | bigint | JavaDouble): string {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof JavaDouble) {
    if (!Number.isFinite(v.value))
      return Number.isNaN(v.value) ? '"NaN"' : v.value > 0 ? '"Infinity"' : '"-Infinity"';
    return Number.isInteger(v.value) ? `${v.value}.0` : String(v.value);
  }
  return Number.isFinite(v) ? String(v) : 'null';
}

function write(v: JsonValue | undefined, depth: number): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'bigint' || v instanceof JavaDouble) return scalar(v);
  if (Array.isArray(v)) {
    const items = v as readonly JsonValue[];
    if (items.length === 0) return '[ ]';
    return `[ ${items.map((x) => write(x, depth)).join(', ')} ]`;
  }
  const entries = Object.entries(v as Record<string, JsonValue | undefined>).filter(
    ([, x]) => x !== undefined,
  );
  if (entries.length === 0) return '{ }';
  const pad = '  '.repeat(depth + 1);
  const body = entries.map(([k, x]) => `${pad}${JSON.stringify(k)} : ${write(x, depth + 1)}`).join(',\n');
  return `{\n${body}\n${'  '.repeat(depth)}}`;
}

/** Serialises `v` as the AdminServer does. */
export function toZkJson(v: JsonValue): string {
  return write(v, 0);
}
