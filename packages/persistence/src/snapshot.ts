import { join } from 'node:path';
import { PersistenceError, toPersistenceError } from './errors.js';
import {
  checksum,
  dataView,
  encodeSnapHeader,
  encodeSnapTrailer,
  fileName,
  SNAP_END_MAGIC,
  SNAP_FRAME_BYTES,
  SNAP_HEADER_BYTES,
  SNAP_MAGIC,
  SNAP_PREFIX,
  SNAP_TRAILER_BYTES,
  SNAP_VERSION,
  TMP_SUFFIX,
} from './format.js';
import { type FileHandle, type FileSystem, NodeFileHandle } from './fs.js';
import { BlockReader } from './log-reader.js';
import { ThreadedSnapshotWrites } from './snapshot-thread.js';

/**
 * Byte chunks of a point-in-time view, as the data tree's serializer produces them. Each chunk is
 * copied or written before the next is asked for, so a producer may reuse one buffer for all.
 */
export type SnapshotChunks = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface SnapshotInfo {
  zxid: bigint;
  path: string;
  /** File size in bytes. */
  bytes: number;
  chunks: number;
}

function isAsyncIterable(x: SnapshotChunks): x is AsyncIterable<Uint8Array> {
  return typeof (x as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function';
}

/**
 * Streams `chunks` into `snapshot.<zxid>.tmp` through a bounded buffer (each full buffer is one
 * awaited write, so the event loop keeps running), appends the trailer, fsyncs, renames the file
 * into place and fsyncs the directory. With `offThread` (real file system only), full buffers are
 * checksummed and written by a worker thread, a few buffers in flight.
 */
export async function writeSnapshotFile(
  fs: FileSystem,
  dir: string,
  zxid: bigint,
  chunks: SnapshotChunks,
  bufferBytes: number,
  offThread = false,
): Promise<SnapshotInfo> {
  const finalPath = join(dir, fileName(SNAP_PREFIX, zxid));
  const tmpPath = finalPath + TMP_SUFFIX;
  let handle: FileHandle;
  try {
    handle = await fs.open(tmpPath, 'replace');
  } catch (err) {
    throw toPersistenceError(err, 'create snapshot', tmpPath);
  }
  let closed = false;
  let threaded: ThreadedSnapshotWrites | undefined;
  try {
    if (offThread && handle instanceof NodeFileHandle) {
      threaded = new ThreadedSnapshotWrites(handle.fd, bufferBytes);
    }
    let buf = threaded?.buffer ?? new Uint8Array(bufferBytes);
    let used = 0;
    let filePos = 0;
    let crc = 0;
    let count = 0;
    const flush = async (): Promise<void> => {
      if (used === 0) return;
      if (threaded !== undefined) {
        await threaded.flush(used, filePos);
        buf = threaded.buffer;
        // The worker usually hands a buffer back at once, and awaiting that lets no I/O in: yield
        // a turn of the event loop per buffer, so a large snapshot never holds it for longer
        // than one buffer's worth of chunks (as an awaited write of its own did).
        await new Promise<void>((resolve) => setImmediate(resolve));
      } else {
        const out = buf.subarray(0, used);
        crc = checksum(out, crc);
        await handle.write(out, filePos);
      }
      filePos += used;
      used = 0;
    };
    const put = async (b: Uint8Array): Promise<void> => {
      if (used + b.length > buf.length) await flush();
      if (b.length > buf.length) {
        if (threaded !== undefined) threaded.writeCopy(b, filePos);
        else {
          crc = checksum(b, crc);
          await handle.write(b, filePos);
        }
        filePos += b.length;
        return;
      }
      buf.set(b, used);
      used += b.length;
    };
    const frame = new Uint8Array(SNAP_FRAME_BYTES);
    const frameView = dataView(frame);
    const putChunk = async (chunk: Uint8Array): Promise<void> => {
      if (!(chunk instanceof Uint8Array)) {
        throw new PersistenceError('invalid-argument', 'snapshot chunks must be Uint8Array');
      }
      if (chunk.length > 0xffffffff) {
        throw new PersistenceError('invalid-argument', 'snapshot chunk larger than 4 GiB');
      }
      count++;
      if (used + SNAP_FRAME_BYTES + chunk.length <= buf.length) {
        frameView.setUint32(0, chunk.length);
        buf.set(frame, used);
        buf.set(chunk, used + SNAP_FRAME_BYTES);
        used += SNAP_FRAME_BYTES + chunk.length;
        return;
      }
      frameView.setUint32(0, chunk.length);
      await put(frame);
      await put(chunk);
    };
    await put(encodeSnapHeader(zxid));
    if (isAsyncIterable(chunks)) {
      for await (const chunk of chunks) await putChunk(chunk);
    } else {
      for (const chunk of chunks) {
        if (used + SNAP_FRAME_BYTES + chunk.length <= buf.length && chunk instanceof Uint8Array) {
          // Fast path without an await per chunk; full buffers still go out through awaited writes.
          count++;
          frameView.setUint32(0, chunk.length);
          buf.set(frame, used);
          buf.set(chunk, used + SNAP_FRAME_BYTES);
          used += SNAP_FRAME_BYTES + chunk.length;
        } else {
          await putChunk(chunk);
        }
      }
    }
    await flush();
    if (threaded !== undefined) crc = await threaded.end();
    const bodyLength = filePos - SNAP_HEADER_BYTES;
    const trailer = encodeSnapTrailer(bodyLength, crc);
    await handle.write(trailer, filePos);
    filePos += trailer.length;
    await handle.sync();
    closed = true;
    await handle.close();
    await fs.rename(tmpPath, finalPath);
    await fs.syncDir(dir);
    return { zxid, path: finalPath, bytes: filePos, chunks: count };
  } catch (err) {
    // The worker may still be writing to the descriptor: it must not be closed (and its number
    // reused) before the worker is done with it.
    if (threaded !== undefined) await threaded.end().catch(() => undefined);
    if (!closed) await handle.close().catch(() => undefined);
    await fs.unlink(tmpPath).catch(() => undefined);
    throw toPersistenceError(err, 'write snapshot', tmpPath);
  }
}

/**
 * Reads one snapshot file chunk by chunk. `open` checks the header and trailer; every chunk is
 * checked against the file's bounds; the checksum over the whole file is checked after the last
 * chunk. Any failure is a `corrupt-snapshot` error naming the file and offset.
 */
class SnapshotReader {
  private pos = SNAP_HEADER_BYTES;
  private crc = 0;
  private crcPos = 0;
  private crcBroken = false;
  private finished = false;

  private constructor(
    private readonly handle: FileHandle,
    private readonly reader: BlockReader,
    readonly path: string,
    private readonly trailerAt: number,
    private readonly expectedCrc: number,
  ) {}

  static async open(fs: FileSystem, path: string, zxid: bigint): Promise<SnapshotReader> {
    let handle: FileHandle;
    try {
      handle = await fs.open(path, 'read');
    } catch (err) {
      throw toPersistenceError(err, 'open snapshot', path);
    }
    try {
      let size: number;
      try {
        size = await handle.size();
      } catch (err) {
        throw toPersistenceError(err, 'stat', path);
      }
      const corrupt = (reason: string, offset: number) => corruptSnapshot(path, reason, offset);
      if (size < SNAP_HEADER_BYTES + SNAP_TRAILER_BYTES) throw corrupt('file too short', 0);
      const reader = new BlockReader(handle, size, path);
      const trailerAt = size - SNAP_TRAILER_BYTES;
      const trailer = await reader.bytes(trailerAt, SNAP_TRAILER_BYTES);
      if (trailer === undefined) throw corrupt('file too short', 0);
      const tv = dataView(trailer);
      if (tv.getUint32(12) !== SNAP_END_MAGIC) throw corrupt('incomplete (no end marker)', trailerAt);
      if (tv.getBigUint64(0) !== BigInt(trailerAt - SNAP_HEADER_BYTES)) {
        throw corrupt('body length mismatch', trailerAt);
      }
      const r = new SnapshotReader(handle, reader, path, trailerAt, tv.getUint32(8));
      reader.onBlock = (pos, block) => r.checksumBlock(pos, block);
      const header = await reader.bytes(0, SNAP_HEADER_BYTES);
      if (header === undefined) throw corrupt('file too short', 0);
      const hv = dataView(header);
      if (hv.getUint32(0) !== SNAP_MAGIC) throw corrupt('bad magic', 0);
      if (hv.getUint32(4) !== SNAP_VERSION) throw corrupt(`unsupported version ${hv.getUint32(4)}`, 4);
      if (hv.getBigUint64(8) !== zxid) throw corrupt('zxid does not match the file name', 8);
      return r;
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  private checksumBlock(pos: number, block: Uint8Array): void {
    const end = Math.min(pos + block.length, this.trailerAt);
    if (pos > this.crcPos) this.crcBroken = true;
    if (end <= this.crcPos) return;
    this.crc = checksum(block.subarray(this.crcPos - pos, end - pos), this.crc);
    this.crcPos = end;
  }

  /** The next chunk if it is buffered, `undefined` at the end, `null` when I/O is needed. */
  tryNext(): Uint8Array | undefined | null {
    if (this.pos >= this.trailerAt) {
      this.finish();
      return undefined;
    }
    const len = this.reader.u32(this.pos);
    if (len === undefined) return null;
    if (this.pos + SNAP_FRAME_BYTES + len > this.trailerAt) {
      throw corruptSnapshot(this.path, 'chunk runs past the end', this.pos);
    }
    const chunk = this.reader.peek(this.pos + SNAP_FRAME_BYTES, len);
    if (chunk === undefined) return null;
    this.pos += SNAP_FRAME_BYTES + len;
    return chunk;
  }

  /** The next chunk, or undefined after the last one (once the checksum has been verified). */
  async next(): Promise<Uint8Array | undefined> {
    const ready = this.tryNext();
    if (ready !== null) return ready;
    if (this.pos + SNAP_FRAME_BYTES > this.trailerAt) {
      throw corruptSnapshot(this.path, 'partial chunk header', this.pos);
    }
    const fh = await this.reader.bytes(this.pos, SNAP_FRAME_BYTES);
    if (fh === undefined) throw corruptSnapshot(this.path, 'partial chunk header', this.pos);
    const len = dataView(fh).getUint32(0);
    if (this.pos + SNAP_FRAME_BYTES + len > this.trailerAt) {
      throw corruptSnapshot(this.path, 'chunk runs past the end', this.pos);
    }
    const chunk = await this.reader.bytes(this.pos + SNAP_FRAME_BYTES, len);
    if (chunk === undefined) throw corruptSnapshot(this.path, 'chunk runs past the end', this.pos);
    this.pos += SNAP_FRAME_BYTES + len;
    return chunk;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.crcBroken || this.crcPos !== this.trailerAt || this.crc !== this.expectedCrc) {
      throw corruptSnapshot(this.path, 'checksum mismatch', this.trailerAt);
    }
  }

  close(): Promise<void> {
    return this.handle.close().catch(() => undefined);
  }
}

function corruptSnapshot(path: string, reason: string, offset: number): PersistenceError {
  return new PersistenceError('corrupt-snapshot', `invalid snapshot ${path}: ${reason} at offset ${offset}`, {
    path,
    offset,
  });
}

/**
 * The chunks of a snapshot file, in order, exactly as they were written (each a view into a fresh
 * buffer that is never reused). Iteration throws `corrupt-snapshot` on any damage, at the latest
 * after the last chunk (checksum).
 */
export function readSnapshotChunks(fs: FileSystem, path: string, zxid: bigint): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      let reader: SnapshotReader | undefined;
      let done = false;
      const end = async (): Promise<IteratorResult<Uint8Array>> => {
        done = true;
        await reader?.close();
        return { done: true, value: undefined };
      };
      return {
        async next(): Promise<IteratorResult<Uint8Array>> {
          if (done) return { done: true, value: undefined };
          try {
            reader ??= await SnapshotReader.open(fs, path, zxid);
            const ready = reader.tryNext();
            const chunk = ready === null ? await reader.next() : ready;
            if (chunk === undefined) return await end();
            return { done: false, value: chunk };
          } catch (err) {
            await end();
            throw err;
          }
        },
        return: end,
      };
    },
  };
}

/** Checks a snapshot file end to end; resolves to undefined if valid, else the problem. */
export async function validateSnapshot(
  fs: FileSystem,
  path: string,
  zxid: bigint,
): Promise<PersistenceError | undefined> {
  let reader: SnapshotReader | undefined;
  try {
    reader = await SnapshotReader.open(fs, path, zxid);
    for (;;) {
      let chunk = reader.tryNext();
      if (chunk === null) chunk = await reader.next();
      if (chunk === undefined) return undefined;
    }
  } catch (err) {
    if (err instanceof PersistenceError) return err;
    return toPersistenceError(err, 'read snapshot', path);
  } finally {
    await reader?.close();
  }
}
