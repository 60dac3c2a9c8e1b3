/**
 * Framing for server-to-server (quorum) messages: leader election now, Zab later.
 *
 * A frame is a 4-byte big-endian length N followed by N bytes: one byte of protocol version, then
 * one MessagePack value (msgpackr, records on, 64-bit integers as BigInt). Frames are bounded by a
 * maximum size; the streaming decoder never buffers more than one frame. Every bad input becomes a
 * `CodecError`.
 */
import { Packr, Unpackr } from 'msgpackr';
import { CodecError } from './errors.js';

/** The quorum framing version this codec writes and accepts. */
export const QUORUM_PROTOCOL_VERSION = 1;
/** Default bound on a frame's length (the bytes after the length prefix). */
export const DEFAULT_MAX_QUORUM_FRAME = 1024 * 1024;
/** Bytes of the length prefix. */
export const QUORUM_FRAME_HEADER = 4;

export interface QuorumFrameOptions {
  /** Largest frame length accepted or produced (default 1 MiB). */
  readonly maxFrameSize?: number;
  /**
   * Decodes a frame whose first byte is not QUORUM_PROTOCOL_VERSION: the host's own compact
   * encodings (`body` starts with that byte). It throws CodecError on a body it cannot read.
   * Without it such a frame is refused (`unsupported-version`).
   */
  readonly decodeOther?: (body: Uint8Array) => unknown;
}

/**
 * Frames the body a host encoded itself (its first byte must not be QUORUM_PROTOCOL_VERSION; the
 * receiver's `decodeOther` reads it).
 */
export function frameQuorumBody(body: Uint8Array, options: QuorumFrameOptions = {}): Uint8Array {
  const max = maxOf(options);
  if (body.length === 0 || body[0] === QUORUM_PROTOCOL_VERSION) {
    throw new CodecError('bad-value', 'a host-encoded quorum frame must start with its own first byte');
  }
  if (body.length > max) {
    throw new CodecError(
      'frame-too-large',
      `quorum frame of ${body.length} bytes exceeds the maximum of ${max}`,
    );
  }
  const out = new Uint8Array(QUORUM_FRAME_HEADER + body.length);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(0, body.length);
  out.set(body, QUORUM_FRAME_HEADER);
  return out;
}

const packr = new Packr({ useRecords: true, moreTypes: false });
const unpackr = new Unpackr({ useRecords: true, int64AsType: 'bigint', moreTypes: false });

/** Encodes one value as a complete frame (length prefix included). */
export function encodeQuorumFrame(value: unknown, options: QuorumFrameOptions = {}): Uint8Array {
  const max = maxOf(options);
  let body: Uint8Array;
  try {
    body = packr.pack(value);
  } catch (e) {
    throw new CodecError('bad-value', `cannot encode a quorum message: ${(e as Error).message}`);
  }
  const length = body.length + 1;
  if (length > max) {
    throw new CodecError('frame-too-large', `quorum frame of ${length} bytes exceeds the maximum of ${max}`);
  }
  const out = new Uint8Array(QUORUM_FRAME_HEADER + length);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(0, length);
  out[QUORUM_FRAME_HEADER] = QUORUM_PROTOCOL_VERSION;
  out.set(body, QUORUM_FRAME_HEADER + 1);
  return out;
}

/** Decodes exactly one complete frame (length prefix included). */
export function decodeQuorumFrame(frame: Uint8Array, options: QuorumFrameOptions = {}): unknown {
  if (frame.length < QUORUM_FRAME_HEADER) {
    throw new CodecError(
      'truncated',
      `a quorum frame needs ${QUORUM_FRAME_HEADER} length bytes, got ${frame.length}`,
    );
  }
  const length = readLength(frame, 0, maxOf(options));
  if (frame.length < QUORUM_FRAME_HEADER + length) {
    throw new CodecError(
      'truncated',
      `quorum frame declares ${length} bytes, has ${frame.length - QUORUM_FRAME_HEADER}`,
    );
  }
  if (frame.length > QUORUM_FRAME_HEADER + length) {
    throw new CodecError(
      'bad-length',
      `${frame.length - QUORUM_FRAME_HEADER - length} bytes after the quorum frame`,
    );
  }
  return decodeBody(frame.subarray(QUORUM_FRAME_HEADER, QUORUM_FRAME_HEADER + length), options.decodeOther);
}

/**
 * A streaming decoder: feed it bytes as they arrive (any chunking) and get whole messages back.
 * After it throws, the stream is unusable (the connection should be closed).
 */
export class QuorumFrameDecoder {
  private readonly max: number;
  private readonly other: ((body: Uint8Array) => unknown) | undefined;
  private buf: Uint8Array = new Uint8Array(0);
  private failed: CodecError | undefined;

  constructor(options: QuorumFrameOptions = {}) {
    this.max = maxOf(options);
    this.other = options.decodeOther;
  }

  /** Bytes held that do not make a whole frame yet. */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): unknown[] {
    if (this.failed !== undefined) throw this.failed;
    try {
      return this.drain(chunk);
    } catch (e) {
      this.failed = e as CodecError;
      this.buf = new Uint8Array(0);
      throw e;
    }
  }

  private drain(chunk: Uint8Array): unknown[] {
    let data: Uint8Array;
    if (this.buf.length === 0) data = chunk;
    else {
      data = new Uint8Array(this.buf.length + chunk.length);
      data.set(this.buf);
      data.set(chunk, this.buf.length);
    }
    const out: unknown[] = [];
    let off = 0;
    while (data.length - off >= QUORUM_FRAME_HEADER) {
      const length = readLength(data, off, this.max);
      if (data.length - off < QUORUM_FRAME_HEADER + length) break;
      const start = off + QUORUM_FRAME_HEADER;
      out.push(decodeBody(data.subarray(start, start + length), this.other));
      off = start + length;
    }
    // Copy the tail so a big chunk is not kept alive by a small remainder.
    this.buf = off === data.length ? new Uint8Array(0) : data.slice(off);
    return out;
  }
}

function readLength(bytes: Uint8Array, offset: number, max: number): number {
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset);
  if (length === 0) throw new CodecError('bad-length', 'empty quorum frame (no version byte)');
  if (length > max) {
    throw new CodecError('frame-too-large', `quorum frame of ${length} bytes exceeds the maximum of ${max}`);
  }
  return length;
}

function decodeBody(body: Uint8Array, other: ((body: Uint8Array) => unknown) | undefined): unknown {
  const version = body[0];
  if (version !== QUORUM_PROTOCOL_VERSION && other !== undefined) {
    try {
      return other(body);
    } catch (e) {
      if (e instanceof CodecError) throw e;
      throw new CodecError('bad-value', `malformed quorum message: ${(e as Error).message}`);
    }
  }
  if (version !== QUORUM_PROTOCOL_VERSION) {
    throw new CodecError(
      'unsupported-version',
      `quorum protocol version ${version} is not supported (expected ${QUORUM_PROTOCOL_VERSION})`,
    );
  }
  if (body.length < 2) throw new CodecError('truncated', 'quorum frame carries no message');
  let values: unknown[];
  try {
    values = unpackr.unpackMultiple(body.subarray(1)) as unknown[];
  } catch (e) {
    throw new CodecError('bad-value', `malformed quorum message: ${(e as Error).message}`);
  }
  if (values.length !== 1) {
    throw new CodecError('bad-value', `a quorum frame carries one message, found ${values.length}`);
  }
  const value = values[0];
  if (containsReserved(value, 0))
    throw new CodecError('bad-value', 'quorum message contains a reserved type');
  return value;
}

/** msgpackr maps the never-used byte 0xc1 to a marker object instead of failing: refuse it. */
function containsReserved(v: unknown, depth: number): boolean {
  if (v === null || typeof v !== 'object' || depth > 64) return false;
  if ((v as { name?: unknown }).name === 'MessagePack 0xC1' && v.constructor?.name === 'C1Type') return true;
  if (Array.isArray(v)) return v.some((x) => containsReserved(x, depth + 1));
  if (v instanceof Uint8Array) return false;
  return Object.values(v as Record<string, unknown>).some((x) => containsReserved(x, depth + 1));
}

function maxOf(options: QuorumFrameOptions): number {
  const max = options.maxFrameSize ?? DEFAULT_MAX_QUORUM_FRAME;
  if (!Number.isInteger(max) || max < 2 || max > 0xffffffff) {
    throw new CodecError('bad-value', `maxFrameSize must be an integer in [2, 2^32-1], got ${max}`);
  }
  return max;
}
