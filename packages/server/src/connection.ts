/**
 * One client connection: framing, the bounded output buffer, and the per-connection reply order.
 *
 * Replies leave in the order the connection sent its requests. A read that arrives while a write of
 * the same connection is still being made durable waits behind it (and runs only then, so it sees
 * the write); reads with nothing ahead of them run at once. Watch notifications bypass the queue.
 */

import type { Socket } from 'node:net';
import type { Id } from '@zkts/codec';
import { FrameReader } from '@zkts/codec';
import { LatencyStats } from './stats.js';

/** A reply slot: a read to run when it reaches the head, or a write whose reply is filled in later. */
type Slot =
  | { kind: 'run'; run: () => Buffer | undefined; started: number; op: string }
  | { kind: 'wait'; reply: Buffer | undefined; done: boolean; started: number; op: string; close: boolean };

export type ConnectionPhase = 'new' | 'handshake' | 'session' | 'closed';

export interface ConnectionLimits {
  maxFrameSize: number;
  /** Bytes queued in the socket towards a client that does not read: over it, the connection closes. */
  maxOutputBytes: number;
  /** Requests in flight per connection before the server stops reading from it. */
  maxInFlight: number;
}

let nextConnectionId = 1;

export class Connection {
  readonly id = nextConnectionId++;
  readonly remote: string;
  readonly ip: string;
  readonly established = Date.now();
  phase: ConnectionPhase = 'new';
  readonly reader: FrameReader;
  sessionId = 0n;
  /** The client asked to close its session here: the reply goes out before the connection closes. */
  closingSession = false;
  sessionTimeoutMs = 0;
  /** Ids the connection authenticated as (ip:<addr> from the start). */
  authIds: Id[];
  /** The client sent the trailing read-only byte (a 3.x client). */
  oldClient = false;
  received = 0;
  sent = 0;
  lastCxid = -1;
  lastZxid = 0n;
  lastOperation = 'NA';
  lastResponseMs = 0;
  lastLatencyMs = 0;
  readonly latency = new LatencyStats();
  private readonly slots: Slot[] = [];
  private paused = false;
  /** Bytes of the first frame's length prefix, held to tell a four-letter word from a handshake. */
  pendingPrefix: Buffer | undefined;
  onClosed: ((c: Connection) => void) | undefined;

  constructor(
    readonly socket: Socket,
    readonly limits: ConnectionLimits,
    private readonly onSent: (n: number) => void,
  ) {
    const addr = socket.remoteAddress ?? 'unknown';
    this.ip = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
    this.remote = `/${this.ip}:${socket.remotePort ?? 0}`;
    this.authIds = [{ scheme: 'ip', id: this.ip }];
    this.reader = new FrameReader({ maxFrameSize: limits.maxFrameSize });
  }

  /** True while the connection's four-letter word is being answered. */
  answeringWord = false;

  /** Reading is paused (too many requests in flight). */
  get readingPaused(): boolean {
    return this.paused;
  }

  get inFlight(): number {
    return this.slots.length;
  }

  get isOpen(): boolean {
    return this.phase !== 'closed';
  }

  /** Writes bytes now (notifications, handshake answers); closes a connection whose client stopped reading. */
  write(bytes: Buffer): boolean {
    if (this.phase === 'closed') return false;
    if (this.socket.writableLength + this.outBytes + bytes.length > this.limits.maxOutputBytes) {
      this.close('client stopped reading: output buffer limit reached');
      return false;
    }
    // Replies made in the same turn of the event loop (every socket event of one poll, one group
    // commit) are gathered and leave in one write at the end of the turn instead of a syscall each.
    if (this.out.length === 0) setImmediate(this.writeOut);
    this.out.push(bytes);
    this.outBytes += bytes.length;
    this.sent++;
    this.onSent(1);
    return true;
  }

  /** Replies of the current turn, not yet handed to the socket. */
  private out: Buffer[] = [];
  private outBytes = 0;
  private readonly writeOut = (): void => {
    const out = this.out;
    if (out.length === 0) return;
    const bytes = out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    if (!this.socket.destroyed) this.socket.write(bytes);
  };

  /** Queues a read to run in order. */
  enqueueRead(op: string, run: () => Buffer | undefined): void {
    this.slots.push({ kind: 'run', run, started: Date.now(), op });
    this.flush();
    this.throttle();
  }

  /** Queues a write's reply slot; fill it with `complete`. */
  enqueueWrite(op: string): { complete(reply: Buffer | undefined, close?: boolean): void } {
    const slot: Slot = { kind: 'wait', reply: undefined, done: false, started: Date.now(), op, close: false };
    this.slots.push(slot);
    this.throttle();
    return {
      complete: (reply, close = false) => {
        slot.reply = reply;
        slot.done = true;
        slot.close = close;
        this.flush();
      },
    };
  }

  private flush(): void {
    while (this.slots.length > 0 && this.phase !== 'closed') {
      const head = this.slots[0] as Slot;
      let reply: Buffer | undefined;
      let close = false;
      if (head.kind === 'run') reply = head.run();
      else if (head.done) {
        reply = head.reply;
        close = head.close;
      } else break;
      this.slots.shift();
      const now = Date.now();
      const lat = now - head.started;
      this.latency.record(lat);
      this.lastLatencyMs = lat;
      this.lastResponseMs = now;
      this.lastOperation = head.op;
      if (reply !== undefined) this.write(reply);
      if (close) {
        this.close('session closed');
        return;
      }
    }
    this.throttle();
  }

  /** Set by the server while the whole server has too many writes waiting for the disk. */
  private held = false;

  /** Stops (or lets resume) reading for server-wide back-pressure. */
  hold(on: boolean): void {
    this.held = on;
    this.throttle();
  }

  /** Stops reading while too many requests are in flight; resumes when they drain. */
  private throttle(): void {
    if (this.phase === 'closed') return;
    const over = this.held || this.slots.length >= this.limits.maxInFlight;
    if (over && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!over && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Ends the connection after what is queued in the socket is written. */
  close(reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.closeReason = reason;
    this.slots.length = 0;
    this.writeOut();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.onClosed?.(this);
  }

  closeReason = '';

  resetStats(): void {
    this.received = 0;
    this.sent = 0;
    this.latency.reset();
    this.lastLatencyMs = 0;
  }
}
