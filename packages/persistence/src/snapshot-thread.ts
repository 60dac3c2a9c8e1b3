import { Worker } from 'node:worker_threads';

/**
 * A worker thread that checksums and writes snapshot buffers, so that a server's event loop only
 * serializes its tree: the CRC-32 of a snapshot of a large tree (tens of MB, every snapCount txns)
 * and the write calls run beside it. Real file system only (the worker writes to a file
 * descriptor); one worker per process, started with the first snapshot, keeping the process alive
 * only while a snapshot is being written through it.
 *
 * Protocol: `write` messages carry a buffer (transferred, and transferred back once written), the
 * descriptor and the file position; `end` answers with the CRC-32 of everything written for that
 * stream, or the first error. The worker handles messages in order, one at a time.
 */
const WORKER_SOURCE = `
import { parentPort } from 'node:worker_threads';
import { writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
const streams = new Map();
parentPort.on('message', (m) => {
  let s = streams.get(m.stream);
  if (s === undefined) {
    s = { crc: 0, error: undefined };
    streams.set(m.stream, s);
  }
  if (m.op === 'write') {
    if (s.error === undefined) {
      try {
        const b = new Uint8Array(m.buf, 0, m.length);
        s.crc = crc32(b, s.crc) >>> 0;
        let done = 0;
        while (done < m.length) done += writeSync(m.fd, b, done, m.length - done, m.position + done);
      } catch (e) {
        s.error = { message: String(e && e.message), code: e && e.code };
      }
    }
    if (m.pooled) parentPort.postMessage({ stream: m.stream, op: 'written', buf: m.buf }, [m.buf]);
  } else if (m.op === 'end') {
    streams.delete(m.stream);
    parentPort.postMessage({ stream: m.stream, op: 'end', crc: s.crc, error: s.error });
  }
});
`;

interface Reply {
  stream: number;
  op: 'written' | 'end';
  buf?: ArrayBuffer;
  crc?: number;
  error?: { message: string; code?: string };
}

interface StreamState {
  free: ArrayBuffer[];
  bufferWaiter: ((b: ArrayBuffer) => void) | undefined;
  endWaiter: ((r: Reply) => void) | undefined;
}

let worker: Worker | undefined;
let nextStream = 1;
const states = new Map<number, StreamState>();

function theWorker(): Worker {
  if (worker !== undefined) return worker;
  // A data: URL is always loaded as a module, whatever the process's own module flags are.
  const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`));
  w.unref();
  w.on('message', (r: Reply) => {
    const s = states.get(r.stream);
    if (s === undefined) return;
    if (r.op === 'written') {
      const b = r.buf as ArrayBuffer;
      const waiter = s.bufferWaiter;
      s.bufferWaiter = undefined;
      if (waiter !== undefined) waiter(b);
      else s.free.push(b);
    } else {
      s.endWaiter?.(r);
    }
  });
  w.on('error', (e) => fail(e));
  w.on('exit', (code) => fail(new Error(`snapshot writer thread exited with code ${code}`)));
  worker = w;
  return w;
}

/** The worker is gone: every stream in progress learns it from its next call. */
function fail(e: Error): void {
  worker = undefined;
  for (const [stream, s] of states) {
    s.bufferWaiter?.(new ArrayBuffer(0));
    s.endWaiter?.({ stream, op: 'end', error: { message: e.message } });
  }
  states.clear();
}

/**
 * One snapshot file's writes through the worker: fill `buffer`, then `flush(used, position)`
 * hands it over and makes the next buffer current (at most `depth` buffers are in flight);
 * `end()` waits for every write and gives the CRC-32 of all bytes written.
 */
export class ThreadedSnapshotWrites {
  private readonly stream = nextStream++;
  private readonly state: StreamState = { free: [], bufferWaiter: undefined, endWaiter: undefined };
  private readonly worker = theWorker();
  private allocated = 1;
  private lost = false;
  buffer: Uint8Array;

  constructor(
    private readonly fd: number,
    private readonly bufferBytes: number,
    private readonly depth = 4,
  ) {
    states.set(this.stream, this.state);
    // Referenced while streams are open: a process whose only work left is this snapshot waits.
    if (states.size === 1) this.worker.ref();
    this.buffer = new Uint8Array(bufferBytes);
  }

  /** Writes the first `used` bytes of `buffer` at `position`; `buffer` is then a fresh one. */
  async flush(used: number, position: number): Promise<void> {
    this.checkAlive();
    const buf = this.buffer.buffer as ArrayBuffer;
    this.post({ op: 'write', buf, length: used, position, pooled: true }, [buf]);
    let next = this.state.free.pop();
    if (next === undefined && this.allocated < this.depth) {
      this.allocated++;
      next = new ArrayBuffer(this.bufferBytes);
    }
    if (next === undefined) {
      next = await new Promise<ArrayBuffer>((resolve) => {
        this.state.bufferWaiter = resolve;
      });
    }
    if (next.byteLength !== this.bufferBytes) {
      // The worker stopped (fail() answered with an empty buffer): the next call reports it.
      this.lost = true;
      next = new ArrayBuffer(this.bufferBytes);
    }
    this.buffer = new Uint8Array(next);
  }

  /** Writes `bytes` (copied: the caller keeps them) at `position`. */
  writeCopy(bytes: Uint8Array, position: number): void {
    this.checkAlive();
    // A copy in a buffer of its own (a Buffer's slice would be a view, and transferring its
    // buffer would take Node's shared pool away).
    const copy = new Uint8Array(bytes);
    this.post({ op: 'write', buf: copy.buffer, length: copy.length, position, pooled: false }, [copy.buffer]);
  }

  /** Waits for every write; the CRC-32 of all bytes written, or throws the first write's error. */
  async end(): Promise<number> {
    this.checkAlive();
    const reply = await new Promise<Reply>((resolve) => {
      this.state.endWaiter = resolve;
      this.post({ op: 'end' });
    });
    this.release();
    if (reply.error !== undefined) {
      throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
    }
    return reply.crc as number;
  }

  private checkAlive(): void {
    if (this.lost || worker !== this.worker) {
      this.release();
      throw new Error('snapshot writer thread stopped');
    }
  }

  private release(): void {
    if (states.delete(this.stream) && states.size === 0) this.worker.unref();
  }

  private post(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage({ ...message, stream: this.stream, fd: this.fd }, transfer);
  }
}
