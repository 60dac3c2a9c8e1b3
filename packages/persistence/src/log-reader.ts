import { PersistenceError, toPersistenceError } from './errors.js';
import {
  checksum,
  dataView,
  decodeLogHeader,
  LOG_HEADER_BYTES,
  RECORD_HEADER_BYTES,
  ZXID_BYTES,
} from './format.js';
import type { FileHandle, FileSystem } from './fs.js';

const BLOCK = 1 << 20;

/** Sequential, block-buffered reads of one file. */
export class BlockReader {
  private buf = new Uint8Array(0);
  private bufPos = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly path: string,
  ) {}

  /** `n` bytes at `pos`, or undefined when the file ends first. */
  async bytes(pos: number, n: number): Promise<Uint8Array | undefined> {
    if (pos + n > this.size) return undefined;
    if (pos >= this.bufPos && pos + n <= this.bufPos + this.buf.length) {
      return this.buf.subarray(pos - this.bufPos, pos - this.bufPos + n);
    }
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
    return got >= n ? this.buf.subarray(0, n) : undefined;
  }

  /** Whether every byte from `pos` to the end of the file is zero. */
  async zeroFrom(pos: number): Promise<boolean> {
    for (let p = pos; p < this.size; ) {
      const n = Math.min(BLOCK, this.size - p);
      const b = await this.bytes(p, n);
      if (b === undefined) return true;
      for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
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
  headerValid = false;
  torn: { offset: number; reason: string } | undefined;
  count = 0;
  firstZxid: bigint | undefined;
  lastZxid: bigint | undefined;
  size = 0;

  constructor(
    private readonly fs: FileSystem,
    readonly path: string,
    private readonly opts: LogReaderOptions,
  ) {}

  async *records(): AsyncGenerator<LogRecord, void, void> {
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

  /** Runs through the file without keeping anything. */
  async scanAll(): Promise<void> {
    for await (const _ of this.records()) {
      // validation only
    }
  }

  private async *scan(handle: FileHandle): AsyncGenerator<LogRecord, void, void> {
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
    this.headerValid = true;
    const maxWrite = decoded.maxWriteBytes;
    let pos = LOG_HEADER_BYTES;
    this.validEnd = pos;
    let prev = this.opts.previousZxid;
    while (pos < limit) {
      const rh = await reader.bytes(pos, RECORD_HEADER_BYTES);
      if (rh === undefined) {
        await this.bad(reader, pos, 'partial record header', maxWrite);
        return;
      }
      const v = dataView(rh);
      const len = v.getUint32(0);
      const crc = v.getUint32(4);
      if (len === 0 && crc === 0) {
        // Preallocated space: the log ends here if nothing but zeros follows.
        if (await reader.zeroFrom(pos)) return;
        await this.bad(reader, pos, 'data after the end of the log', maxWrite);
        return;
      }
      if (len < ZXID_BYTES || len > maxWrite) {
        await this.bad(reader, pos, `invalid record length ${len}`, maxWrite);
        return;
      }
      const payload = await reader.bytes(pos + RECORD_HEADER_BYTES, len);
      if (payload === undefined) {
        await this.bad(reader, pos, 'partial record', maxWrite);
        return;
      }
      if (checksum(payload) !== crc) {
        await this.bad(reader, pos, 'crc mismatch', maxWrite);
        return;
      }
      const zxid = dataView(payload).getBigUint64(0);
      if (this.count === 0 && zxid !== this.opts.nameZxid) {
        throw this.corrupt(pos, `first zxid 0x${zxid.toString(16)} does not match the file name`);
      }
      if (prev !== undefined && zxid <= prev) {
        throw this.corrupt(pos, `zxid 0x${zxid.toString(16)} not above 0x${prev.toString(16)}`);
      }
      const end = pos + RECORD_HEADER_BYTES + len;
      this.count++;
      this.firstZxid ??= zxid;
      this.lastZxid = zxid;
      prev = zxid;
      this.validEnd = end;
      yield { zxid, payload: payload.slice(ZXID_BYTES), offset: pos, end };
      pos = end;
    }
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
