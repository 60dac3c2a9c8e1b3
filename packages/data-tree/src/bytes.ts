import { pooledBytes } from '@zkts/codec';

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: false });
const TWO32 = 4294967296;

/** Thrown by Reader when a record runs past the bytes available. */
export class Incomplete extends Error {
  override readonly name = 'Incomplete';
  /** The buffer length the read needed (0 when unknown). */
  constructor(
    message: string,
    readonly needed = 0,
  ) {
    super(message);
  }
}

/** Whether this host stores typed-array elements least significant byte first. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the bytes of each `width`-byte element in place (little- to big-endian and back). */
export function swapBytes(b: Uint8Array, width: number): void {
  for (let i = 0; i + width <= b.length; i += width) b.subarray(i, i + width).reverse();
}

/** A growable big-endian byte writer. */
export class Writer {
  buf: Uint8Array;
  view: DataView;
  /** `buf` as a Buffer, for Node's native string encoders. */
  private nodeBuf: Buffer;
  pos = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
    this.nodeBuf = Buffer.from(this.buf.buffer);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.nodeBuf = Buffer.from(next.buffer);
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  i32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }
  i64(v: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.pos, v);
    this.pos += 8;
  }
  /** A 64-bit integer held in a double (exact below 2^53). */
  num64(v: number): void {
    this.ensure(8);
    if (v >= 0) {
      const hi = Math.floor(v / TWO32);
      this.view.setUint32(this.pos, hi);
      this.view.setUint32(this.pos + 4, v - hi * TWO32);
    } else {
      this.view.setBigInt64(this.pos, BigInt(v));
    }
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** Bytes or null; null is the length -1, as jute writes a null buffer. */
  nullableBytes(b: Uint8Array | null): void {
    if (b === null) this.i32(-1);
    else this.bytes(b);
  }
  /** A string of byte values (each char code < 256). */
  latin1(s: string): void {
    this.u32(s.length);
    this.ensure(s.length);
    // Natively: several times faster than a loop in JS for znode-sized data.
    this.pos += this.nodeBuf.write(s, this.pos, s.length, 'latin1');
  }
  /** A latin1 string or null (the length -1). */
  nullableLatin1(s: string | null): void {
    if (s === null) this.i32(-1);
    else this.latin1(s);
  }
  str(s: string): void {
    // ASCII (paths nearly always are) is copied char by char; anything else goes through UTF-8.
    const n = s.length;
    this.ensure(4 + n);
    const buf = this.buf;
    const at = this.pos + 4;
    let i = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at + i] = c;
      i++;
    }
    if (i === n) {
      this.view.setUint32(this.pos, n);
      this.pos = at + n;
      return;
    }
    this.bytes(utf8.encode(s));
  }
  /** Bytes as they are, without a length. */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** The UTF-8 bytes of `s`, without a length; `byteLength` is Buffer.byteLength(s). */
  utf8Raw(s: string, byteLength: number): void {
    this.ensure(byteLength);
    this.pos += this.nodeBuf.write(s, this.pos, byteLength, 'utf8');
  }
  /** The bytes of a latin1 string (one per char), without a length. */
  latin1Raw(s: string): void {
    this.ensure(s.length);
    this.pos += this.nodeBuf.write(s, this.pos, s.length, 'latin1');
  }
  /** The bytes written so far as a view of this writer's buffer, valid until the next write. */
  lend(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.pos = 0;
    return out;
  }
  take(): Uint8Array {
    const out = pooledBytes(this.pos);
    out.set(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }
}

/** A bounds-checked big-endian reader; reading past the end throws Incomplete. */
export class Reader {
  readonly view: DataView;
  pos = 0;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Incomplete('truncated', this.pos + n);
  }
  /** The next `n` bytes as a view of the buffer. */
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }
  num64(): number {
    this.need(8);
    const hi = this.view.getInt32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    this.pos += 8;
    return hi * TWO32 + lo;
  }
  bytes(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** What nullableBytes wrote: the length -1 reads as null. */
  nullableBytes(): Uint8Array | null {
    if (this.peekNull()) return null;
    return this.bytes();
  }
  /** What nullableLatin1 wrote: the length -1 reads as null. */
  nullableLatin1(): string | null {
    if (this.peekNull()) return null;
    return this.latin1();
  }
  /** Consumes a length of -1 and returns true, or leaves the position as it is. */
  private peekNull(): boolean {
    this.need(4);
    if (this.view.getInt32(this.pos) !== -1) return false;
    this.pos += 4;
    return true;
  }
  latin1(): string {
    const n = this.u32();
    this.need(n);
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, n).toString('latin1');
    this.pos += n;
    return s;
  }
  str(): string {
    const n = this.u32();
    this.need(n);
    const s = utf8d.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
}

/** Bytes as a latin1 string: one char per byte, the compact in-memory form of znode data. */
export function bytesToLatin1(b: Uint8Array): string;
export function bytesToLatin1(b: Uint8Array | null): string | null;
export function bytesToLatin1(b: Uint8Array | null): string | null {
  if (b === null) return null;
  if (b.length === 0) return '';
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

export function latin1ToBytes(s: string): Uint8Array;
export function latin1ToBytes(s: string | null): Uint8Array | null;
export function latin1ToBytes(s: string | null): Uint8Array | null {
  if (s === null) return null;
  if (s.length === 0) return new Uint8Array(0);
  const b = Buffer.from(s, 'latin1');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
