import { PersistenceError, toPersistenceError } from './errors.js';
import {
  checksum,
  decodeLogHeader,
  LOG_HEADER_BYTES,
  RECORD_HEADER_BYTES,
  readU32,
  readU64,
  ZXID_BYTES,
} from './format.js';
import type { FileHandle, FileSystem } from './fs.js';

const BLOCK = 1 << 20;

/** A block of zeros to compare with (made on first use). */
let zeros: Buffer | undefined;

/** Whether every byte of `b` is zero: compared natively with a zero block, not byte by byte in JS. */
function isZero(b: Uint8Array): boolean {
  zeros ??= Buffer.alloc(BLOCK);
  for (let at = 0; at < b.length; at += BLOCK) {
    const n = Math.min(BLOCK, b.length - at);
    if (Buffer.compare(b.subarray(at, at + n), zeros.subarray(0, n)) !== 0) return false;
  }
  return true;
}

/** Sequential, block-buffered reads of one file. */
export class BlockReader {
  private buf = new Uint8Array(0);
  private bufPos = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly path: string,
  ) {}

  /** Called with each block read (position, bytes), e.g. to checksum a file in one pass. */
  onBlock: ((pos: number, block: Uint8Array) => void) | undefined;

  /** `n` bytes at `pos` if they are already buffered (no I/O), else undefined. */
  peek(pos: number, n: number): Uint8Array | undefined {
    if (pos >= this.bufPos && pos + n <= this.bufPos + this.buf.length) {
      return this.buf.subarray(pos - this.bufPos, pos - this.bufPos + n);
    }
    return undefined;
  }

  /** The big-endian u32 at `pos` if it is buffered, else undefined. */
  u32(pos: number): number | undefined {
    const at = pos - this.bufPos;
    if (at < 0 || at + 4 > this.buf.length) return undefined;
    return readU32(this.buf, at);
  }

  /** `n` bytes at `pos`, or undefined when the file ends first. */
  async bytes(pos: number, n: number): Promise<Uint8Array | undefined> {
    if (pos + n > this.size) return undefined;
    const buffered = this.peek(pos, n);
    if (buffered !== undefined) return buffered;
    const want = Math.min(Math.max(n, BLOCK), this.size - pos);
    const block = new Uint8Array(want);
    let got = 0;
    while (got < want) {
      let r: number;
      try {
        r = await this.handle.read(block.subarray(got), pos + got);
      } catch (err) {
        throw toPersistenceError(err, 'read', this.path);
      }
      if (r === 0) break;
      got += r;
    }
    this.buf = block.subarray(0, got);
    this.bufPos = pos;
    this.onBlock?.(pos, this.buf);
    return got >= n ? this.buf.subarray(0, n) : undefined;
  }

  /** Whether every byte from `pos` to the end of the file is zero. */
  async zeroFrom(pos: number): Promise<boolean> {
    for (let p = pos; p < this.size; ) {
      const n = Math.min(BLOCK, this.size - p);
      const b = await this.bytes(p, n);
      if (b === undefined) return true;
      if (!isZero(b)) return false;
      p += n;
    }
    return true;
  }
}

export interface LogRecord {
  zxid: bigint;
  payload: Uint8Array;
  /** Offset of the record in its file. */
  offset: number;
  /** Offset just past the record. */
  end: number;
}

export interface LogReaderOptions {
  /**
   * The newest log file: damage at its end that a crash during the last write can explain is a
   * torn tail rather than corruption.
   */
  isLast: boolean;
  /** The zxid in the file's name, which its first record must carry. */
  nameZxid: bigint;
  /** Records must be above this zxid (the last zxid of the previous file). */
  previousZxid: bigint | undefined;
  /** The torn-write window used when the header itself is unreadable. */
  fallbackMaxWrite: number;
  /** Stop after this offset (for reading only what is known to be durable). */
  limit?: number;
}

/**
 * Reads the records of one log file in order, validating each. After the iteration, `torn` says
 * whether a torn tail was found (and where); corruption anywhere else throws a `PersistenceError`
 * of kind `corrupt-log` naming the file and offset.
 */
export class LogFileReader {
  /** Offset just past the last valid record (0 if the header itself is torn). */
  validEnd = 0;
  torn: { offset: number; reason: string } | undefined;
  count = 0;
  lastZxid: bigint | undefined;
  size = 0;

  constructor(
    private readonly fs: FileSystem,
    readonly path: string,
    private readonly opts: LogReaderOptions,
  ) {}

  /** The records one by one. */
  async *records(): AsyncGenerator<LogRecord, void, void> {
    for await (const batch of this.batches()) yield* batch;
  }

  /** The records in batches (all that one read brought in), which is cheaper for long replays. */
  async *batches(): AsyncGenerator<LogRecord[], void, void> {
    let handle: FileHandle;
    try {
      handle = await this.fs.open(this.path, 'read');
    } catch (err) {
      throw toPersistenceError(err, 'open', this.path);
    }
    try {
      yield* this.scan(handle);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  private async *scan(handle: FileHandle): AsyncGenerator<LogRecord[], void, void> {
    let size: number;
    try {
      size = await handle.size();
    } catch (err) {
      throw toPersistenceError(err, 'stat', this.path);
    }
    this.size = size;
    const reader = new BlockReader(handle, size, this.path);
    const limit = Math.min(this.opts.limit ?? size, size);
    const head = await reader.bytes(0, LOG_HEADER_BYTES);
    const decoded = head === undefined ? { error: 'truncated header' } : decodeLogHeader(head);
    if ('error' in decoded) {
      await this.bad(reader, 0, decoded.error, this.opts.fallbackMaxWrite);
      return;
    }
    const maxWrite = decoded.maxWriteBytes;
    let pos = LOG_HEADER_BYTES;
    this.validEnd = pos;
    let prev = this.opts.previousZxid;
    let batch: LogRecord[] = [];
    /** Damage that a torn write may explain (checked against the window after the loop). */
    let damage: string | undefined;
    /** Damage that no crash explains. */
    let fatal: string | undefined;
    let zeroTail = false;
    while (pos < limit) {
      let rh = reader.peek(pos, RECORD_HEADER_BYTES);
      if (rh === undefined) {
        if (batch.length > 0) {
          yield batch;
          batch = [];
        }
        rh = await reader.bytes(pos, RECORD_HEADER_BYTES);
        if (rh === undefined) {
          damage = 'partial record header';
          break;
        }
      }
      const len = readU32(rh, 0);
      const crc = readU32(rh, 4);
      if (len === 0 && crc === 0) {
        zeroTail = true;
        break;
      }
      if (len < ZXID_BYTES || len > maxWrite) {
        damage = `invalid record length ${len}`;
        break;
      }
      let payload = reader.peek(pos + RECORD_HEADER_BYTES, len);
      if (payload === undefined) {
        if (batch.length > 0) {
          yield batch;
          batch = [];
        }
        payload = await reader.bytes(pos + RECORD_HEADER_BYTES, len);
        if (payload === undefined) {
          damage = 'partial record';
          break;
        }
      }
      if (checksum(payload) !== crc) {
        damage = 'crc mismatch';
        break;
      }
      const zxid = readU64(payload, 0);
      if (this.count === 0 && zxid !== this.opts.nameZxid) {
        fatal = `first zxid 0x${zxid.toString(16)} does not match the file name`;
        break;
      }
      if (prev !== undefined && zxid <= prev) {
        fatal = `zxid 0x${zxid.toString(16)} not above 0x${prev.toString(16)}`;
        break;
      }
      const end = pos + RECORD_HEADER_BYTES + len;
      this.count++;
      this.lastZxid = zxid;
      prev = zxid;
      this.validEnd = end;
      batch.push({ zxid, payload: payload.slice(ZXID_BYTES), offset: pos, end });
      pos = end;
    }
    if (batch.length > 0) yield batch;
    if (fatal !== undefined) throw this.corrupt(pos, fatal);
    if (zeroTail && !(await reader.zeroFrom(pos))) damage = 'data after the end of the log';
    if (damage !== undefined) await this.bad(reader, pos, damage, maxWrite);
  }

  /**
   * Damage at `offset`. One write is at most `maxWrite` bytes and only the last one can be torn by
   * a crash, so in the newest file damage with nothing but zeros from `offset + maxWrite` on is a
   * torn tail; anything else is corruption.
   */
  private async bad(reader: BlockReader, offset: number, reason: string, maxWrite: number): Promise<void> {
    if (this.opts.isLast && (await reader.zeroFrom(offset + maxWrite))) {
      this.torn = { offset, reason };
      this.validEnd = offset;
      return;
    }
    throw this.corrupt(offset, reason);
  }

  private corrupt(offset: number, reason: string): PersistenceError {
    return new PersistenceError(
      'corrupt-log',
      `corrupt txn log ${this.path}: ${reason} at offset ${offset}`,
      {
        path: this.path,
        offset,
      },
    );
  }
}
