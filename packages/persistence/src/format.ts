import { crc32 } from 'node:zlib';

/** `ZKTL`: the first four bytes of every txn log file. */
export const LOG_MAGIC = 0x5a4b544c;
export const LOG_VERSION = 1;
/** magic u32, version u32, max write u32, header crc32 u32. */
export const LOG_HEADER_BYTES = 16;
/** length u32, crc32 u32 (then the payload: zxid u64 and the txn body). */
export const RECORD_HEADER_BYTES = 8;
export const ZXID_BYTES = 8;

/** `ZKTS`: the first four bytes of every snapshot file. */
export const SNAP_MAGIC = 0x5a4b5453;
/** `ZKTE`: the last four bytes of every complete snapshot file. */
export const SNAP_END_MAGIC = 0x5a4b5445;
export const SNAP_VERSION = 1;
/** magic u32, version u32, zxid u64. */
export const SNAP_HEADER_BYTES = 16;
/** body length u64, crc32 u32, end magic u32. */
export const SNAP_TRAILER_BYTES = 16;
/** Every snapshot body chunk is framed as length u32 + bytes. */
export const SNAP_FRAME_BYTES = 4;

export const LOG_PREFIX = 'log.';
export const SNAP_PREFIX = 'snapshot.';
export const TMP_SUFFIX = '.tmp';

const MAX_ZXID = (1n << 64n) - 1n;

export function isZxid(z: bigint): boolean {
  return z >= 0n && z <= MAX_ZXID;
}

/** `log.<hex>` / `snapshot.<hex>`, lower-case hex without padding, as ZooKeeper names them. */
export function fileName(prefix: string, zxid: bigint): string {
  return `${prefix}${zxid.toString(16)}`;
}

/** The zxid in a `log.<hex>` or `snapshot.<hex>` name, or undefined if the name is something else. */
export function parseFileName(prefix: string, name: string): bigint | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const hex = name.slice(prefix.length);
  if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) return undefined;
  return BigInt(`0x${hex}`);
}

export function checksum(data: Uint8Array, previous = 0): number {
  return crc32(data, previous) >>> 0;
}

/** Big-endian u32 at `at` (no allocation, for hot paths). */
export function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Big-endian u64 at `at`. */
export function readU64(b: Uint8Array, at: number): bigint {
  return (BigInt(readU32(b, at)) << 32n) | BigInt(readU32(b, at + 4));
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** The 16-byte header starting each log file; `maxWriteBytes` bounds how much one write may tear. */
export function encodeLogHeader(maxWriteBytes: number): Uint8Array {
  const b = new Uint8Array(LOG_HEADER_BYTES);
  const v = view(b);
  v.setUint32(0, LOG_MAGIC);
  v.setUint32(4, LOG_VERSION);
  v.setUint32(8, maxWriteBytes);
  v.setUint32(12, checksum(b.subarray(0, 12)));
  return b;
}

/** The max write size from a log header, or a reason why the header is invalid. */
export function decodeLogHeader(b: Uint8Array): { maxWriteBytes: number } | { error: string } {
  if (b.length < LOG_HEADER_BYTES) return { error: 'truncated header' };
  const v = view(b);
  if (v.getUint32(0) !== LOG_MAGIC) return { error: 'bad magic' };
  if (v.getUint32(12) !== checksum(b.subarray(0, 12))) return { error: 'header checksum mismatch' };
  if (v.getUint32(4) !== LOG_VERSION) return { error: `unsupported version ${v.getUint32(4)}` };
  return { maxWriteBytes: v.getUint32(8) };
}

/** Encodes one record, `[length u32][crc32 u32][zxid u64][body]`, into `out` at `at`; returns the end. */
export function encodeRecordInto(out: Uint8Array, at: number, zxid: bigint, body: Uint8Array): number {
  const v = view(out);
  const payloadLen = ZXID_BYTES + body.length;
  v.setBigUint64(at + RECORD_HEADER_BYTES, zxid);
  out.set(body, at + RECORD_HEADER_BYTES + ZXID_BYTES);
  const payload = out.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + payloadLen);
  v.setUint32(at, payloadLen);
  v.setUint32(at + 4, checksum(payload));
  return at + RECORD_HEADER_BYTES + payloadLen;
}

export function recordSize(bodyLength: number): number {
  return RECORD_HEADER_BYTES + ZXID_BYTES + bodyLength;
}

export function encodeSnapHeader(zxid: bigint): Uint8Array {
  const b = new Uint8Array(SNAP_HEADER_BYTES);
  const v = view(b);
  v.setUint32(0, SNAP_MAGIC);
  v.setUint32(4, SNAP_VERSION);
  v.setBigUint64(8, zxid);
  return b;
}

export function encodeSnapTrailer(bodyLength: number, crc: number): Uint8Array {
  const b = new Uint8Array(SNAP_TRAILER_BYTES);
  const v = view(b);
  v.setBigUint64(0, BigInt(bodyLength));
  v.setUint32(8, crc);
  v.setUint32(12, SNAP_END_MAGIC);
  return b;
}

export { view as dataView };
