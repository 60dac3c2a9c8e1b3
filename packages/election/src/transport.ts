import { createServer, type Server, Socket } from 'node:net';
import { CodecError, encodeQuorumFrame, QuorumFrameDecoder } from '@zkts/codec';
import type { ServerAddress } from './config.js';
import { assertNever, ElectionError } from './errors.js';
import type { LogLevel } from './fle.js';
import type { MemberMessage } from './member-core.js';
import { type Notification, SERVER_STATES, type ServerState } from './vote.js';

/** Version of the election connection protocol (the handshake and the notification record). */
export const ELECTION_PROTOCOL_VERSION = 1;

/** What travels on an election connection, each in one quorum frame. */
export type ElectionWireMessage =
  /** First frame of every connection, from the side that opened it. */
  | { readonly t: 'hello'; readonly protocol: number; readonly sid: number }
  | {
      readonly t: 'n';
      readonly version: number;
      readonly leader: number;
      readonly zxid: bigint;
      readonly round: bigint;
      readonly peerEpoch: bigint;
      readonly state: ServerState;
    }
  | { readonly t: 'follow'; readonly round: bigint; readonly peerEpoch: bigint }
  | { readonly t: 'followed'; readonly ok: boolean; readonly round: bigint }
  | { readonly t: 'leave' };

/** Bound on accepted connections that have not completed their handshake yet. */
const MAX_PENDING_HANDSHAKES = 64;

/** Bound on queued handshake messages per peer (the oldest is dropped, and counted, beyond it). */
const CONTROL_QUEUE_CAPACITY = 64;

export interface TransportOptions {
  readonly myId: number;
  readonly servers: ReadonlyMap<number, ServerAddress>;
  /** Notifications queued per peer while it is unreachable; the oldest is dropped when full. ZooKeeper: 1. */
  readonly sendQueueCapacity?: number;
  /** Largest frame accepted (default 64 KiB: notifications are tiny). */
  readonly maxFrameSize?: number;
  /** Give up a connection attempt or a handshake after this long (default 5000 ms). */
  readonly connectTimeoutMs?: number;
  /** Reconnect back-off, doubling from min to max (default 20..2000 ms). */
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  /** Address to listen on (default: this server's host from its server.N line). */
  readonly listenHost?: string;
  onMessage(from: number, msg: MemberMessage): void;
  onPeerUp?(sid: number): void;
  onPeerDown?(sid: number): void;
  /**
   * Whether `sid` can be reached, on each change: false when connecting to it was refused, timed
   * out or failed, or its connection closed; true when a connection to or from it opened. Feed it
   * to FastLeaderElection's `peerReachability` input. Peers start unknown (no call).
   */
  onPeerReachability?(sid: number, reachable: boolean): void;
  log?(level: LogLevel, message: string): void;
}

export interface TransportStats {
  /** Notifications dropped because a peer's send queue was full. */
  dropped: number;
  sent: number;
  received: number;
  /** Connections closed for breaking the protocol (bad frame, handshake, version, sid). */
  protocolErrors: number;
  connects: number;
}

interface Peer {
  readonly sid: number;
  readonly address: ServerAddress;
  queue: MemberMessage[];
  last: Notification | undefined;
  socket: Socket | undefined;
  connecting: boolean;
  backoffMs: number;
  retry: NodeJS.Timeout | undefined;
  /** Last reachability reported (undefined: never). */
  reachable: boolean | undefined;
}

/**
 * Election connections as ZooKeeper's QuorumCnxManager keeps them: one TCP connection per pair
 * of servers, kept by the larger sid (a smaller sid that connects says who it is and hangs up,
 * and the larger one connects back); a handshake with the protocol version and sid; bounded send
 * queues that drop the oldest notification; the last notification re-sent on a new connection;
 * reconnects with back-off.
 */
export class ElectionTransport {
  readonly stats: TransportStats = { dropped: 0, sent: 0, received: 0, protocolErrors: 0, connects: 0 };
  private readonly peers = new Map<number, Peer>();
  private readonly capacity: number;
  private readonly maxFrame: number;
  private readonly timeoutMs: number;
  private readonly backoffMin: number;
  private readonly backoffMax: number;
  private server: Server | undefined;
  private closed = false;
  private readonly pending = new Set<Socket>();

  constructor(private readonly opts: TransportOptions) {
    if (!opts.servers.has(opts.myId)) throw new ElectionError('config', `no server.${opts.myId} line`);
    this.capacity = opts.sendQueueCapacity ?? 1;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) {
      throw new ElectionError('config', 'sendQueueCapacity must be a positive integer');
    }
    this.maxFrame = opts.maxFrameSize ?? 64 * 1024;
    this.timeoutMs = opts.connectTimeoutMs ?? 5000;
    this.backoffMin = opts.backoffMinMs ?? 20;
    this.backoffMax = opts.backoffMaxMs ?? 2000;
    for (const [sid, address] of opts.servers) {
      if (sid === opts.myId) continue;
      this.peers.set(sid, {
        sid,
        address,
        queue: [],
        last: undefined,
        socket: undefined,
        connecting: false,
        backoffMs: this.backoffMin,
        retry: undefined,
        reachable: undefined,
      });
    }
  }

  /** Starts listening on this server's election port. */
  listen(): Promise<void> {
    const me = this.opts.servers.get(this.opts.myId) as ServerAddress;
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.accept(socket));
      server.once('error', (e) =>
        reject(new ElectionError('config', `cannot listen on ${me.electionPort}: ${e.message}`)),
      );
      server.listen(me.electionPort, this.opts.listenHost ?? me.host, () => {
        this.server = server;
        resolve();
      });
    });
  }

  /** Whether a connection to `sid` is open now. */
  isConnected(sid: number): boolean {
    return this.peers.get(sid)?.socket !== undefined;
  }

  /** Sends a message (to oneself: delivered locally, asynchronously). */
  send(to: number, msg: MemberMessage): void {
    if (this.closed) return;
    if (to === this.opts.myId) {
      setImmediate(() => {
        if (!this.closed) this.opts.onMessage(to, msg);
      });
      return;
    }
    const peer = this.peers.get(to);
    if (peer === undefined) throw new ElectionError('input', `no server.${to} to send to`);
    // Notifications and handshake messages have separate bounds; each drops its oldest.
    const isNote = msg.kind === 'fle';
    const bound = isNote ? this.capacity : CONTROL_QUEUE_CAPACITY;
    if (peer.queue.filter((m) => (m.kind === 'fle') === isNote).length >= bound) {
      const i = peer.queue.findIndex((m) => (m.kind === 'fle') === isNote);
      peer.queue.splice(i, 1);
      this.stats.dropped++;
    }
    peer.queue.push(msg);
    if (peer.socket !== undefined) this.flush(peer);
    else this.connect(peer);
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.peers.values()) {
      if (p.retry) clearTimeout(p.retry);
      p.socket?.destroy();
    }
    for (const s of this.pending) s.destroy();
    const server = this.server;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  // --- connections ---

  private connect(peer: Peer): void {
    if (this.closed || peer.socket !== undefined || peer.connecting || peer.retry !== undefined) return;
    peer.connecting = true;
    const socket = new Socket();
    const fail = (why: string) => {
      socket.destroy();
      if (!peer.connecting) return;
      peer.connecting = false;
      this.log(
        'debug',
        `Cannot open channel to ${peer.sid} at election address ${peer.address.host}:${peer.address.electionPort}: ${why}`,
      );
      // A connection from it may have come up meanwhile: that one tells.
      if (peer.socket === undefined) this.reach(peer, false);
      this.retryLater(peer);
    };
    socket.setNoDelay(true);
    socket.setTimeout(this.timeoutMs, () => fail('timed out'));
    socket.once('error', (e) => fail(e.message));
    socket.connect(peer.address.electionPort, peer.address.host, () => {
      socket.setTimeout(0);
      peer.connecting = false;
      this.reach(peer, true);
      const hello: ElectionWireMessage = {
        t: 'hello',
        protocol: ELECTION_PROTOCOL_VERSION,
        sid: this.opts.myId,
      };
      if (peer.sid > this.opts.myId) {
        // The larger sid keeps the connection: say who we are and hang up; it connects back.
        socket.end(encodeQuorumFrame(hello));
        this.log(
          'debug',
          `Have smaller server identifier, so dropping the connection: (myId:${this.opts.myId} --> sid:${peer.sid})`,
        );
        this.retryLater(peer);
        return;
      }
      socket.removeAllListeners('error');
      socket.write(encodeQuorumFrame(hello));
      this.adopt(peer, socket);
    });
  }

  private retryLater(peer: Peer): void {
    if (this.closed || peer.retry !== undefined) return;
    const delay = peer.backoffMs;
    peer.backoffMs = Math.min(peer.backoffMs * 2, this.backoffMax);
    peer.retry = setTimeout(() => {
      peer.retry = undefined;
      if (peer.socket === undefined && peer.queue.length > 0) this.connect(peer);
    }, delay);
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.pending.size >= MAX_PENDING_HANDSHAKES) {
      this.stats.protocolErrors++;
      this.log(
        'warn',
        `Refusing election connection from ${socket.remoteAddress}: ${MAX_PENDING_HANDSHAKES} handshakes pending`,
      );
      socket.destroy();
      return;
    }
    this.pending.add(socket);
    socket.setNoDelay(true);
    const decoder = new QuorumFrameDecoder({ maxFrameSize: this.maxFrame });
    const bad = (why: string) => {
      this.stats.protocolErrors++;
      this.log(
        'warn',
        `Closing election connection from ${socket.remoteAddress}:${socket.remotePort}: ${why}`,
      );
      this.pending.delete(socket);
      socket.destroy();
    };
    socket.setTimeout(this.timeoutMs, () => bad('no handshake in time'));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.pending.delete(socket));
    const onData = (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        bad(e instanceof CodecError ? e.message : String(e));
        return;
      }
      if (frames.length === 0) return;
      socket.off('data', onData);
      socket.setTimeout(0);
      this.pending.delete(socket);
      const hello = frames[0] as Partial<Extract<ElectionWireMessage, { t: 'hello' }>> | null;
      if (
        hello === null ||
        typeof hello !== 'object' ||
        hello.t !== 'hello' ||
        typeof hello.sid !== 'number'
      ) {
        bad('the first frame is not a handshake');
        return;
      }
      if (hello.protocol !== ELECTION_PROTOCOL_VERSION) {
        bad(`election protocol version ${String(hello.protocol)} is not ${ELECTION_PROTOCOL_VERSION}`);
        return;
      }
      const peer = this.peers.get(hello.sid);
      if (peer === undefined) {
        bad(`server ${hello.sid} is not in the ensemble`);
        return;
      }
      this.log(
        'info',
        `Received connection request from ${hello.sid} at ${socket.remoteAddress}:${socket.remotePort}`,
      );
      this.reach(peer, true);
      if (hello.sid < this.opts.myId) {
        // We keep connections to smaller sids, opened by us.
        socket.destroy();
        if (peer.retry) {
          clearTimeout(peer.retry);
          peer.retry = undefined;
        }
        peer.backoffMs = this.backoffMin;
        // Already connected: ignore (if that connection is stale, its close comes soon and the
        // smaller sid pokes again after its back-off).
        if (peer.socket !== undefined) return;
        if (peer.queue.length === 0 && peer.last !== undefined)
          peer.queue.push({ kind: 'fle', n: peer.last });
        this.connect(peer);
        return;
      }
      this.drop(peer);
      this.adopt(peer, socket, decoder, frames.slice(1));
    };
    socket.on('data', onData);
  }

  /** A connection to `peer` is up: read from it, flush the queue, re-send the last notification. */
  private adopt(peer: Peer, socket: Socket, decoder?: QuorumFrameDecoder, early: unknown[] = []): void {
    peer.socket = socket;
    peer.backoffMs = this.backoffMin;
    if (peer.retry) {
      clearTimeout(peer.retry);
      peer.retry = undefined;
    }
    this.stats.connects++;
    const dec = decoder ?? new QuorumFrameDecoder({ maxFrameSize: this.maxFrame });
    socket.on('data', (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = dec.push(chunk);
      } catch (e) {
        this.stats.protocolErrors++;
        this.log('warn', `Closing election connection to ${peer.sid}: ${(e as Error).message}`);
        socket.destroy();
        return;
      }
      for (const f of frames) this.incoming(peer, socket, f);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      if (peer.socket !== socket) return;
      peer.socket = undefined;
      this.opts.onPeerDown?.(peer.sid);
      this.reach(peer, false);
      if (peer.queue.length > 0) this.retryLater(peer);
    });
    this.opts.onPeerUp?.(peer.sid);
    this.reach(peer, true);
    if (!peer.queue.some((m) => m.kind === 'fle') && peer.last !== undefined) {
      peer.queue.unshift({ kind: 'fle', n: peer.last });
    }
    this.flush(peer);
    for (const f of early) this.incoming(peer, socket, f);
  }

  /** Closes the connection to `peer`, if any, and reports it down at once. */
  private drop(peer: Peer): void {
    const socket = peer.socket;
    if (socket === undefined) return;
    peer.socket = undefined;
    socket.destroy();
    this.opts.onPeerDown?.(peer.sid);
  }

  /** Reports a change of `peer`'s reachability. */
  private reach(peer: Peer, reachable: boolean): void {
    if (this.closed || peer.reachable === reachable) return;
    peer.reachable = reachable;
    this.log('debug', `Server ${peer.sid} is ${reachable ? 'reachable' : 'unreachable'}`);
    this.opts.onPeerReachability?.(peer.sid, reachable);
  }

  private incoming(peer: Peer, socket: Socket, frame: unknown): void {
    const msg = toMemberMessage(frame);
    if (msg === undefined) {
      this.stats.protocolErrors++;
      this.log('warn', `Closing election connection to ${peer.sid}: malformed message`);
      socket.destroy();
      return;
    }
    this.stats.received++;
    this.opts.onMessage(peer.sid, msg);
  }

  private flush(peer: Peer): void {
    const socket = peer.socket;
    if (socket === undefined) return;
    while (peer.queue.length > 0) {
      const m = peer.queue.shift() as MemberMessage;
      socket.write(encodeQuorumFrame(toWire(m), { maxFrameSize: this.maxFrame }));
      if (m.kind === 'fle') peer.last = m.n;
      this.stats.sent++;
    }
  }

  private log(level: LogLevel, message: string): void {
    this.opts.log?.(level, message);
  }
}

/** Validates a decoded frame as a notification. */
export function toNotification(frame: unknown): Notification | undefined {
  if (frame === null || typeof frame !== 'object') return undefined;
  const f = frame as Record<string, unknown>;
  if (f.t !== 'n') return undefined;
  const big = (v: unknown): bigint | undefined =>
    typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
  const zxid = big(f.zxid);
  const round = big(f.round);
  const peerEpoch = big(f.peerEpoch);
  if (
    typeof f.version !== 'number' ||
    typeof f.leader !== 'number' ||
    !Number.isSafeInteger(f.leader) ||
    zxid === undefined ||
    round === undefined ||
    peerEpoch === undefined ||
    !SERVER_STATES.includes(f.state as ServerState)
  ) {
    return undefined;
  }
  return {
    version: f.version,
    leader: f.leader,
    zxid,
    electionEpoch: round,
    peerEpoch,
    state: f.state as ServerState,
  };
}

function toWire(m: MemberMessage): ElectionWireMessage {
  switch (m.kind) {
    case 'fle':
      return {
        t: 'n',
        version: m.n.version,
        leader: m.n.leader,
        zxid: m.n.zxid,
        round: m.n.electionEpoch,
        peerEpoch: m.n.peerEpoch,
        state: m.n.state,
      };
    case 'follow':
      return { t: 'follow', round: m.round, peerEpoch: m.peerEpoch };
    case 'followed':
      return { t: 'followed', ok: m.ok, round: m.round };
    case 'leave':
      return { t: 'leave' };
    default:
      return assertNever(m);
  }
}

/** Validates a decoded frame as a member message. */
export function toMemberMessage(frame: unknown): MemberMessage | undefined {
  if (frame === null || typeof frame !== 'object') return undefined;
  const f = frame as Record<string, unknown>;
  const big = (v: unknown): bigint | undefined =>
    typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
  switch (f.t) {
    case 'n': {
      const n = toNotification(frame);
      return n === undefined ? undefined : { kind: 'fle', n };
    }
    case 'follow': {
      const round = big(f.round);
      const peerEpoch = big(f.peerEpoch);
      return round === undefined || peerEpoch === undefined
        ? undefined
        : { kind: 'follow', round, peerEpoch };
    }
    case 'followed': {
      const round = big(f.round);
      return round === undefined || typeof f.ok !== 'boolean'
        ? undefined
        : { kind: 'followed', ok: f.ok, round };
    }
    case 'leave':
      return { kind: 'leave' };
    default:
      return undefined;
  }
}
