/** Length-prefixed framing: every message on a client connection is a 4-byte big-endian length and a body. */
import { DEFAULT_MAX_BUFFER } from './constants.js';
import { CodecError } from './errors.js';

/** Prepends the 4-byte length prefix to a frame body. */
export function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + body.byteLength);
  out.writeInt32BE(body.byteLength, 0);
  out.set(body, 4);
  return out;
}

export interface FrameReaderOptions {
  /**
   * Largest accepted frame body in bytes. ZooKeeper 3.8's server and client both refuse a length
   * above jute.maxbuffer, 0xfffff by default (DEFAULT_MAX_BUFFER).
   */
  maxFrameSize?: number;
}

/**
 * Splits a byte stream into frames, whatever the chunk boundaries. A length prefix that is negative
 * or above `maxFrameSize` throws CodecError (`bad-length` / `frame-too-large`) before any memory is
 * allocated for the frame; after that the reader is broken and rethrows the same error on every
 * push (close the connection).
 *
 * Frames are returned without their length prefix. A frame that lies whole inside one pushed chunk
 * is a view of that chunk (no copy), so do not reuse a chunk's memory after pushing it.
 */
export class FrameReader {
  readonly maxFrameSize: number;
  private readonly header = Buffer.alloc(4);
  private headerFill = 0;
  private partial: Buffer | null = null;
  private partialFill = 0;
  private failure: CodecError | null = null;

  constructor(options: FrameReaderOptions = {}) {
    const max = options.maxFrameSize ?? DEFAULT_MAX_BUFFER;
    if (!Number.isInteger(max) || max < 0 || max > 0x7fffffff) {
      throw new CodecError('bad-value', `maxFrameSize must be an integer in 0..2^31-1, got ${max}`);
    }
    this.maxFrameSize = max;
  }

  /** Bytes held for a frame that is not complete yet (length prefix included). */
  get buffered(): number {
    return this.headerFill + (this.partial === null ? 0 : 4 + this.partialFill);
  }

  private check(len: number): void {
    if (len < 0) this.failure = new CodecError('bad-length', `negative frame length ${len}`);
    else if (len > this.maxFrameSize) {
      this.failure = new CodecError(
        'frame-too-large',
        `frame of ${len} bytes exceeds the maximum of ${this.maxFrameSize}`,
      );
    }
    if (this.failure !== null) throw this.failure;
  }

  /** Feeds the next chunk of the stream; returns the frames it completed, in order. */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failure !== null) throw this.failure;
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const end = buf.length;
    const out: Buffer[] = [];
    let off = 0;
    while (off < end) {
      const partial = this.partial;
      if (partial !== null) {
        const n = Math.min(partial.length - this.partialFill, end - off);
        buf.copy(partial, this.partialFill, off, off + n);
        this.partialFill += n;
        off += n;
        if (this.partialFill === partial.length) {
          out.push(partial);
          this.partial = null;
          this.partialFill = 0;
        }
        continue;
      }
      let len: number;
      if (this.headerFill === 0 && end - off >= 4) {
        len = buf.readInt32BE(off);
        off += 4;
      } else {
        const n = Math.min(4 - this.headerFill, end - off);
        buf.copy(this.header, this.headerFill, off, off + n);
        this.headerFill += n;
        off += n;
        if (this.headerFill < 4) break;
        this.headerFill = 0;
        len = this.header.readInt32BE(0);
      }
      this.check(len);
      if (end - off >= len) {
        out.push(buf.subarray(off, off + len));
        off += len;
      } else {
        this.partial = Buffer.allocUnsafe(len);
        this.partialFill = 0;
      }
    }
    return out;
  }
}
