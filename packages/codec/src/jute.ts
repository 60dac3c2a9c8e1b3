/**
 * Jute binary primitives: big-endian int/long, one-byte boolean, length-prefixed buffers and UTF-8
 * strings (length -1 encodes null) and length-prefixed vectors.
 */
import { CodecError } from './errors.js';

const EMPTY = Buffer.alloc(0);

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const MIN_LONG = -(2n ** 63n);
const MAX_LONG = 2n ** 63n - 1n;

function viewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * A growable output buffer. Encoders append to it; `finish()` returns a copy of what was written
 * (or `view()` a view that stays valid only until the next write or `reset()`).
 */
export class Writer {
  /** The most bytes this writer will hold; beyond it a write throws CodecError `frame-too-large`. */
  readonly maxSize: number;
  private buf: Buffer;
  // DataView's bigint accessors are much faster than Buffer's.
  private dv: DataView;
  private pos = 0;

  /** `maxSize` defaults to 2^31 - 1, the largest length a frame prefix can carry. */
  constructor(initialSize = 256, maxSize = 0x7fffffff) {
    if (!Number.isInteger(maxSize) || maxSize < 0 || maxSize > 0x7fffffff) {
      throw new CodecError('bad-value', `maxSize must be an integer in 0..2^31-1, got ${maxSize}`);
    }
    this.maxSize = maxSize;
    this.buf = Buffer.allocUnsafe(Math.min(Math.max(16, initialSize), maxSize));
    this.dv = viewOf(this.buf);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** Forgets what was written; the storage is kept for reuse. */
  reset(): this {
    this.pos = 0;
    return this;
  }

  private ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    if (need > this.maxSize) {
      throw new CodecError(
        'frame-too-large',
        `encoding needs ${need} bytes, more than the maximum of ${this.maxSize}`,
      );
    }
    let size = Math.max(16, this.buf.length * 2);
    while (size < need) size *= 2;
    size = Math.min(size, this.maxSize);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.dv = viewOf(next);
  }

  /** A signed 32-bit integer. */
  int(v: number): this {
    if ((v | 0) !== v) throw new CodecError('bad-value', `not a 32-bit integer: ${v}`);
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
    return this;
  }

  /** A signed 64-bit integer. */
  long(v: bigint): this {
    if (typeof v !== 'bigint' || v < MIN_LONG || v > MAX_LONG) {
      throw new CodecError('bad-value', `not a 64-bit integer: ${String(v)}`);
    }
    this.ensure(8);
    this.dv.setBigInt64(this.pos, v);
    this.pos += 8;
    return this;
  }

  /** One byte, 1 or 0. */
  bool(v: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
    return this;
  }

  /** A length-prefixed byte buffer; null is written as length -1. */
  buffer(v: Uint8Array | null): this {
    if (v === null) return this.int(-1);
    const n = v.byteLength;
    this.int(n);
    this.ensure(n);
    this.buf.set(v, this.pos);
    this.pos += n;
    return this;
  }

  /** A length-prefixed UTF-8 string; null is written as length -1. */
  ustring(v: string | null): this {
    if (v === null) return this.int(-1);
    const len = v.length;
    // At most 3 bytes per UTF-16 code unit; the exact size only when that bound is too much.
    let room = 4 + len * 3;
    if (this.pos + room > this.maxSize) room = 4 + Buffer.byteLength(v, 'utf8');
    this.ensure(room);
    const b = this.buf;
    const start = this.pos + 4;
    let n = 0;
    // ASCII fast path: short strings (paths) are the common case.
    if (len < 64) {
      for (; n < len; n++) {
        const c = v.charCodeAt(n);
        if (c >= 0x80) break;
        b[start + n] = c;
      }
    }
    if (n < len) n = b.write(v, start, 'utf8');
    const p = this.pos;
    b[p] = n >>> 24;
    b[p + 1] = n >>> 16;
    b[p + 2] = n >>> 8;
    b[p + 3] = n;
    this.pos = start + n;
    return this;
  }

  /** Raw bytes without a length prefix. */
  raw(v: Uint8Array): this {
    this.ensure(v.byteLength);
    this.buf.set(v, this.pos);
    this.pos += v.byteLength;
    return this;
  }

  /** A vector: its element count (-1 for null), then each element. */
  vector<T>(items: readonly T[] | null, write: (w: Writer, item: T) => void): this {
    if (items === null) return this.int(-1);
    this.int(items.length);
    for (let i = 0; i < items.length; i++) write(this, items[i] as T);
    return this;
  }

  /** A vector of strings. */
  stringVector(items: readonly string[] | null): this {
    if (items === null) return this.int(-1);
    this.int(items.length);
    for (let i = 0; i < items.length; i++) this.ustring(items[i] as string);
    return this;
  }

  /** Overwrites a 32-bit integer at an earlier offset (used to patch a frame length). */
  patchInt(offset: number, v: number): this {
    if (offset < 0 || offset + 4 > this.pos)
      throw new CodecError('bad-value', `patch offset ${offset} out of range`);
    this.buf.writeInt32BE(v, offset);
    return this;
  }

  /** A fresh copy of the bytes written so far. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  /** A view of the bytes written so far; valid until the next write or reset. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/**
 * A bounds-checked reader over one frame. Every read that would go past the end, and every length
 * that is negative (other than -1 for null) or longer than what is left, throws a CodecError.
 *
 * Buffers it returns are views into the input (no copy): copy them if the input is reused or if
 * keeping the whole input alive is a concern.
 */
export class Reader {
  readonly buf: Buffer;
  private dv: DataView | undefined;
  private pos: number;
  private readonly end: number;

  constructor(bytes: Uint8Array, offset = 0, end = bytes.byteLength) {
    this.buf = asBuffer(bytes);
    if (offset < 0 || end > bytes.byteLength || offset > end) {
      throw new CodecError('bad-length', `reader range ${offset}..${end} outside ${bytes.byteLength} bytes`);
    }
    this.pos = offset;
    this.end = end;
  }

  /** Read position. */
  get offset(): number {
    return this.pos;
  }

  /** Bytes left. */
  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new CodecError(
        'truncated',
        `${what}: need ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`,
      );
    }
  }

  int(): number {
    this.need(4, 'int');
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (
      ((b[p] as number) << 24) |
      ((b[p + 1] as number) << 16) |
      ((b[p + 2] as number) << 8) |
      (b[p + 3] as number)
    );
  }

  long(): bigint {
    this.need(8, 'long');
    if (this.dv === undefined) this.dv = viewOf(this.buf);
    const v = this.dv.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    this.need(1, 'boolean');
    return this.buf[this.pos++] !== 0;
  }

  private length(what: string): number {
    const n = this.int();
    if (n < -1) throw new CodecError('bad-length', `${what}: negative length ${n}`);
    if (n > this.end - this.pos) {
      throw new CodecError('bad-length', `${what}: length ${n} past the end (${this.end - this.pos} left)`);
    }
    return n;
  }

  /** A length-prefixed buffer (a view into the input); null for length -1. */
  buffer(): Buffer | null {
    const n = this.length('buffer');
    if (n === -1) return null;
    const start = this.pos;
    this.pos = start + n;
    return this.buf.subarray(start, start + n);
  }

  /** A buffer where null is not meaningful: length -1 reads as an empty buffer. */
  bytes(): Buffer {
    return this.buffer() ?? EMPTY;
  }

  /** A length-prefixed UTF-8 string; null for length -1. */
  ustring(): string | null {
    const n = this.length('string');
    if (n === -1) return null;
    const b = this.buf;
    const start = this.pos;
    this.pos = start + n;
    if (n < 32) {
      let s = '';
      for (let i = start; i < start + n; i++) {
        const c = b[i] as number;
        if (c >= 0x80) return b.toString('utf8', start, start + n);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return b.toString('utf8', start, start + n);
  }

  /** A string where null is not meaningful (paths, schemes): length -1 reads as ''. */
  string(): string {
    return this.ustring() ?? '';
  }

  /**
   * A vector's element count: -1 (null) reads as 0. `minElementSize` bounds the count by the bytes
   * left, so a huge count is refused before anything is allocated for it.
   */
  vectorLength(minElementSize: number): number {
    const n = this.int();
    if (n === -1) return 0;
    if (n < 0) throw new CodecError('bad-length', `vector: negative length ${n}`);
    if (n * minElementSize > this.end - this.pos) {
      throw new CodecError('bad-length', `vector: ${n} elements cannot fit in ${this.end - this.pos} bytes`);
    }
    return n;
  }

  /** A vector; null reads as an empty array. */
  vector<T>(minElementSize: number, read: (r: Reader) => T): T[] {
    const n = this.vectorLength(minElementSize);
    const out: T[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = read(this);
    return out;
  }

  /** A vector of strings; null reads as an empty array. */
  stringVector(): string[] {
    const n = this.vectorLength(4);
    const out: string[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.string();
    return out;
  }

  /** Everything left, as a view. */
  rest(): Buffer {
    const start = this.pos;
    this.pos = this.end;
    return this.buf.subarray(start, this.end);
  }
}
