/**
 * The ZooKeeper client: one TCP connection at a time to one of the servers of the connect string,
 * a session that survives reconnects within its timeout, pipelined requests matched to replies in
 * order, watches re-registered after a reconnect.
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import {
  type ACL,
  AddWatchMode,
  type ClientInfo,
  CreateMode,
  type CreateModeName,
  DEFAULT_MAX_BUFFER,
  decodeConnectResponse,
  decodeResponse,
  ErrorCode,
  type ErrorCodeName,
  EventType,
  encodeConnectRequest,
  FrameReader,
  frame,
  KeeperState,
  type MultiOp,
  type MultiReadOp,
  Reader,
  type Request,
  type RequestType,
  type Response,
  type ResponseOf,
  readReplyHeader,
  readResponseBody,
  type Stat,
  WatcherType,
  Writer,
  writeRequestFrame,
  Xid,
} from '@zkts/codec';
import {
  type HostPort,
  parseConnectString,
  prependChroot,
  shuffle,
  stripChroot,
  validatePath,
} from './connect-string.js';
import { KeeperError } from './errors.js';
import { Transaction } from './transaction.js';
import type {
  ACLResult,
  AddWatchModeName,
  ChildrenOptions,
  ChildrenResult,
  ClientOptions,
  ConnectionState,
  CreateOptions,
  CreateResult,
  DataResult,
  Op,
  OpResult,
  ReadOp,
  ReadOpResult,
  RemoveWatchesOptions,
  WatcherTypeName,
  WatchOptions,
  WatchStream,
  WatchStreamOptions,
} from './types.js';
import { type WatchedEvent, type Watcher, type WatchKind, WatchRegistry } from './watches.js';

/** world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE). */
export const OPEN_ACL_UNSAFE: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
/** Every permission for the authenticated creator (ZooDefs.Ids.CREATOR_ALL_ACL). */
export const CREATOR_ALL_ACL: ACL[] = [{ perms: 31, id: { scheme: 'auth', id: '' } }];
/** world:anyone may read (ZooDefs.Ids.READ_ACL_UNSAFE). */
export const READ_ACL_UNSAFE: ACL[] = [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }];

/** The largest TTL ZooKeeper accepts (EphemeralType.MAX_TTL: 40 bits of ms). */
const MAX_TTL = 0xffffffffff;
/** setWatches2 requests are cut in batches of about this many path characters, as ZooKeeper does. */
const SET_WATCHES_MAX_LENGTH = 128 * 1024;
const EMPTY = Buffer.alloc(0);
/** ZooDefs.CONFIG_NODE. */
const CONFIG_NODE = '/zookeeper/config';
/** Probing for a read-write server starts this often and backs off to the maximum (as ZooKeeper). */
const MIN_RW_PROBE_DELAY = 100;
const MAX_RW_PROBE_DELAY = 60_000;

export interface ClientEvents {
  /** Every state change: the new state and the previous one. */
  state: [state: ConnectionState, previous: ConnectionState];
  connected: [];
  connectedReadOnly: [];
  disconnected: [];
  expired: [];
  authFailed: [];
  closed: [];
}

/**
 * A request queued or in flight. Its reply body is decoded for `request.type` (when err is 0) and
 * handed to `onReply`, whose result resolves it and whose throw rejects it; `reject` also fails it.
 * No per-request closure beyond the caller's `onReply` and the promise's own functions.
 */
interface Pending {
  request: Request;
  xid: number;
  /** Counted against maxPendingRequests (internal setWatches/closeSession are not). */
  counted: boolean;
  /** Bytes of payload held for it (counted against maxPendingBytes). */
  bytes: number;
  queuedAt: number;
  onReply: (response: Response | null, err: number) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const NOOP = (): void => {};
const PING: Request = { type: 'ping' };
/** Frames written in one turn share one Writer; it is replaced after holding more than this. */
const MAX_KEPT_WRITER = 1 << 20;
/** Size of a connection's read buffer (one socket read at most). */
const READ_BUFFER_SIZE = 64 * 1024;

interface AuthEntry {
  scheme: string;
  auth: Buffer;
  waiters: Array<{ resolve(): void; reject(e: KeeperError): void }>;
}

/** One TCP connection (one attempt, then the established connection). */
class Connection {
  readonly reader: FrameReader;
  established = false;
  readOnly = false;
  closed = false;
  /** Requests sent and not answered, in send order (replies come back in this order). */
  readonly inflight: Pending[] = [];
  inflightHead = 0;
  /** Auth packets sent and not answered (their replies carry xid -4). */
  readonly authInflight: AuthEntry[] = [];
  /** Frames written this turn, sent in one socket write on the next tick. */
  out = new Writer(4096);
  outScheduled = false;
  lastSend = Date.now();
  lastRecv = Date.now();
  timer: NodeJS.Timeout | undefined;
  readTimeout = 0;
  pingEvery = 0;
  connectTimer: NodeJS.Timeout | undefined;
  /** Read-only connections look for a read-write server: when, and how long until the next probe. */
  lastRwProbe = Date.now();
  rwProbeDelay = MIN_RW_PROBE_DELAY;
  rwProbing = false;
  constructor(
    readonly socket: Socket,
    readonly host: HostPort,
    maxFrameSize: number,
  ) {
    this.reader = new FrameReader({ maxFrameSize });
  }

  get inflightCount(): number {
    return this.inflight.length - this.inflightHead;
  }

  shiftInflight(): Pending | undefined {
    if (this.inflightHead >= this.inflight.length) return undefined;
    const p = this.inflight[this.inflightHead];
    this.inflight[this.inflightHead] = undefined as unknown as Pending;
    this.inflightHead++;
    if (this.inflightHead > 1024 && this.inflightHead * 2 > this.inflight.length) {
      this.inflight.splice(0, this.inflightHead);
      this.inflightHead = 0;
    }
    return p;
  }

  /** Puts back the request just taken (so that it fails with the others). */
  unshiftInflight(p: Pending): void {
    this.inflightHead--;
    this.inflight[this.inflightHead] = p;
  }

  drainInflight(): Pending[] {
    const rest = this.inflight.slice(this.inflightHead);
    this.inflight.length = 0;
    this.inflightHead = 0;
    return rest;
  }
}

function toBuffer(data: Uint8Array | string | null | undefined): Buffer | null {
  if (data === undefined || data === null) return null;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** About how many bytes a request holds while pending (its payloads and paths). */
function payloadBytes(r: Request): number {
  switch (r.type) {
    case 'create':
    case 'create2':
    case 'createContainer':
    case 'createTTL':
    case 'setData':
      return 64 + r.path.length + (r.data?.byteLength ?? 0);
    case 'multi':
      return r.ops.reduce((n, op) => n + payloadBytes(op), 64);
    case 'multiRead':
      return r.ops.reduce((n, op) => n + 64 + op.path.length, 64);
    case 'auth':
      return 64 + r.auth.byteLength;
    default:
      return 'path' in r ? 64 + r.path.length : 64;
  }
}

/** Data off the wire, copied (a frame is a view of the connection's read buffer); null stays null. */
function copyData(data: Uint8Array | null): Buffer | null {
  if (data === null) return null;
  return data.byteLength === 0 ? EMPTY : Buffer.from(data);
}

function keeperError(code: number, path?: string): KeeperError {
  return new KeeperError(code, undefined, path);
}

function named(name: ErrorCodeName, message: string, path?: string): KeeperError {
  return KeeperError.fromName(name, message, path);
}

/** A one-shot watcher and a promise of the event it receives. */
export function oneShotWatch(): { watcher: Watcher; event: Promise<WatchedEvent> } {
  let resolve!: (e: WatchedEvent) => void;
  const event = new Promise<WatchedEvent>((r) => {
    resolve = r;
  });
  return { watcher: (e) => resolve(e), event };
}

/** Creates a client; it connects on `connect()` or on its first request. */
export function createClient(connectString: string, options: ClientOptions = {}): ZooKeeperClient {
  return new ZooKeeperClient(connectString, options);
}

export class ZooKeeperClient extends EventEmitter<ClientEvents> {
  readonly chroot: string | undefined;
  private readonly hosts: HostPort[];
  private readonly opts: Required<
    Omit<ClientOptions, 'authInfo' | 'connectTimeout' | 'sessionId' | 'sessionPassword'>
  > & {
    connectTimeout: number | undefined;
  };
  private _state: ConnectionState = 'connecting';
  private started = false;
  private closing: Promise<void> | undefined;
  private conn: Connection | undefined;
  private hostIndex = 0;
  private failedAttempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Requests issued while not connected, in order. */
  private waiting: Pending[] = [];
  private pendingCount = 0;
  private pendingBytes = 0;
  /** getConfig left a watch on the real /zookeeper/config (re-registered without the chroot). */
  private configWatchOutsideChroot = false;
  private xid = 1;
  private lastZxid = 0n;
  private _sessionId = 0n;
  private _sessionPassword: Buffer = Buffer.alloc(16);
  private negotiatedTimeout = 0;
  private seenRwServerBefore = false;
  private readonly auth: AuthEntry[] = [];
  private readonly watches = new WatchRegistry();
  private connectWaiters: Array<{ resolve(): void; reject(e: KeeperError): void }> = [];

  constructor(connectString: string, options: ClientOptions = {}) {
    super();
    const parsed = parseConnectString(connectString);
    const random = options.random ?? Math.random;
    this.chroot = parsed.chroot;
    this.hosts = shuffle(parsed.hosts, random);
    const sessionTimeout = options.sessionTimeout ?? 30_000;
    const retryDelay = options.retryDelay ?? 1000;
    const positive: Array<[string, number | undefined]> = [
      ['sessionTimeout', sessionTimeout],
      ['maxPendingRequests', options.maxPendingRequests],
      ['maxPendingBytes', options.maxPendingBytes],
      ['maxFrameSize', options.maxFrameSize],
      ['connectTimeout', options.connectTimeout],
    ];
    const nonNegative: Array<[string, number | undefined]> = [
      ['retryDelay', retryDelay],
      ['maxRetryDelay', options.maxRetryDelay],
      ['connectionWaitTimeout', options.connectionWaitTimeout],
    ];
    for (const [name, v] of positive) {
      if (v !== undefined && !(Number.isFinite(v) && v > 0))
        throw named('BadArguments', `${name} must be > 0, got ${v}`);
    }
    for (const [name, v] of nonNegative) {
      if (v !== undefined && !(Number.isFinite(v) && v >= 0))
        throw named('BadArguments', `${name} must be >= 0, got ${v}`);
    }
    this.opts = {
      sessionTimeout,
      readOnly: options.readOnly ?? false,
      maxPendingRequests: options.maxPendingRequests ?? 10_000,
      maxPendingBytes: options.maxPendingBytes ?? 64 * 1024 * 1024,
      maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_BUFFER,
      connectTimeout: options.connectTimeout,
      retryDelay,
      maxRetryDelay: options.maxRetryDelay ?? retryDelay * 8,
      connectionWaitTimeout: options.connectionWaitTimeout ?? sessionTimeout,
      random,
    };
    if (options.sessionId !== undefined) {
      if (options.sessionPassword === undefined || options.sessionPassword.byteLength !== 16) {
        throw named('BadArguments', 'sessionId needs the 16-byte sessionPassword of that session');
      }
      this._sessionId = options.sessionId;
      this._sessionPassword = Buffer.from(options.sessionPassword);
      this.seenRwServerBefore = true;
    }
    for (const a of options.authInfo ?? []) {
      this.auth.push({ scheme: a.scheme, auth: toBuffer(a.auth) ?? EMPTY, waiters: [] });
    }
  }

  // ------------------------------------------------------------------ state

  get state(): ConnectionState {
    return this._state;
  }

  /** True when a session is established (read-write or read-only). */
  get connected(): boolean {
    return this._state === 'connected' || this._state === 'connectedReadOnly';
  }

  /** The session id (0n before the first session). */
  get sessionId(): bigint {
    return this._sessionId;
  }

  get sessionPassword(): Buffer {
    return Buffer.from(this._sessionPassword);
  }

  /** The session timeout the server granted (0 before the first session). */
  get sessionTimeout(): number {
    return this.negotiatedTimeout;
  }

  /** The server of the current connection, as `host:port`, or undefined. */
  get currentServer(): string | undefined {
    const c = this.conn;
    return c?.established ? `${c.host.host}:${c.host.port}` : undefined;
  }

  private get terminal(): boolean {
    return this._state === 'expired' || this._state === 'authFailed' || this._state === 'closed';
  }

  private setState(state: ConnectionState): void {
    const previous = this._state;
    if (previous === state) return;
    this._state = state;
    try {
      this.emit('state', state, previous);
      if (state !== 'connecting') this.emit(state);
    } catch (e) {
      // A throwing listener must not break the connection: rethrow it outside, on its own.
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  /**
   * Connects (if not yet) and resolves once a session is established. It rejects when the session
   * ends first (expired, auth failed, closed) or, with `timeout`, with ConnectionLoss when no session
   * came within that many ms (the client keeps trying; close it to stop).
   */
  connect(options: { timeout?: number } = {}): Promise<void> {
    if (this.connected) return Promise.resolve();
    const err = this.terminalError();
    if (err !== undefined) return Promise.reject(err);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: KeeperError) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      if (options.timeout !== undefined) {
        const ms = options.timeout;
        timer = setTimeout(() => {
          this.connectWaiters = this.connectWaiters.filter((w) => w !== waiter);
          reject(named('ConnectionLoss', `no session established within ${ms} ms`));
        }, ms);
      }
      this.connectWaiters.push(waiter);
      this.start();
    });
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.openConnection();
  }

  private terminalError(): KeeperError | undefined {
    switch (this._state) {
      case 'expired':
        return named('SessionExpired', 'the session has expired');
      case 'authFailed':
        return named('AuthFailed', 'authentication failed; the client is unusable');
      case 'closed':
        return named('SessionExpired', 'the client is closed');
      default:
        return this.closing === undefined ? undefined : named('SessionExpired', 'the client is closing');
    }
  }

  // ------------------------------------------------------------------ connections

  private connectTimeout(): number {
    const t = this.negotiatedTimeout || this.opts.sessionTimeout;
    return this.opts.connectTimeout ?? Math.max(1000, Math.floor(t / this.hosts.length));
  }

  private openConnection(): void {
    if (this.terminal || this.closing !== undefined) return;
    const host = this.hosts[this.hostIndex % this.hosts.length] as HostPort;
    this.hostIndex = (this.hostIndex + 1) % this.hosts.length;
    // Reads land in one buffer per connection, handed over without the stream machinery; the
    // frames cut from it are decoded at once and every byte kept from them is copied (copyData),
    // so the next read may overwrite it.
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
    const socket = netConnect({
      host: host.host,
      port: host.port,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (n: number) => {
          this.onData(conn, readBuffer.subarray(0, n));
          return true;
        },
      },
    });
    const conn = new Connection(socket, host, this.opts.maxFrameSize);
    this.conn = conn;
    conn.connectTimer = setTimeout(() => this.lose(conn, 'connect timeout'), this.connectTimeout());
    socket.on('connect', () => {
      const req = encodeConnectRequest({
        protocolVersion: 0,
        lastZxidSeen: this.lastZxid,
        timeOut: this.opts.sessionTimeout,
        sessionId: this.seenRwServerBefore ? this._sessionId : 0n,
        passwd: this._sessionPassword,
        readOnly: this.opts.readOnly,
      });
      socket.write(frame(req));
    });
    socket.on('error', (e) => this.lose(conn, e.message));
    socket.on('close', () => this.lose(conn, 'connection closed by the server'));
  }

  private onData(conn: Connection, chunk: Buffer): void {
    if (conn.closed) return;
    conn.lastRecv = Date.now();
    let frames: Buffer[];
    try {
      frames = conn.reader.push(chunk);
    } catch (e) {
      this.lose(conn, (e as Error).message);
      return;
    }
    for (const f of frames) {
      if (conn.closed) return;
      try {
        if (conn.established) this.onReply(conn, f);
        else this.onConnectResponse(conn, f);
      } catch (e) {
        this.lose(conn, `bad reply: ${(e as Error).message}`);
        return;
      }
    }
  }

  private onConnectResponse(conn: Connection, f: Buffer): void {
    const res = decodeConnectResponse(f);
    clearTimeout(conn.connectTimer);
    if (res.timeOut <= 0) {
      this.expire(conn);
      return;
    }
    conn.established = true;
    conn.readOnly = res.readOnly === true;
    this.negotiatedTimeout = res.timeOut;
    this._sessionId = res.sessionId;
    this._sessionPassword = Buffer.from(res.passwd);
    if (!conn.readOnly) this.seenRwServerBefore = true;
    this.failedAttempts = 0;
    // Auth first, then the watches, then whatever waited: ZooKeeper's client sends them in this order.
    for (const a of this.auth) this.sendAuth(conn, a);
    this.sendSetWatches(conn);
    const waiting = this.waiting;
    this.waiting = [];
    for (const p of waiting) this.send(conn, p);
    this.stopSweep();
    // As ZooKeeper's client: give up after two thirds of the session timeout without a byte from
    // the server; ping after half of that without sending (a second earlier for long timeouts).
    conn.readTimeout = Math.floor((res.timeOut * 2) / 3);
    const half = Math.max(1, Math.floor(conn.readTimeout / 2));
    conn.pingEvery = half > 2000 ? half - 1000 : half;
    conn.lastRecv = Date.now();
    this.arm(conn);
    this.setState(conn.readOnly ? 'connectedReadOnly' : 'connected');
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /** Sets the connection's timer for its next deadline: a ping, the read timeout, a probe. */
  private arm(conn: Connection): void {
    const now = Date.now();
    let at = Math.min(conn.lastSend + conn.pingEvery, conn.lastRecv + conn.readTimeout + 1);
    if (conn.readOnly && this.hosts.length > 1) at = Math.min(at, conn.lastRwProbe + conn.rwProbeDelay);
    conn.timer = setTimeout(() => this.tick(conn), Math.max(1, at - now));
  }

  private tick(conn: Connection): void {
    if (conn.closed) return;
    const now = Date.now();
    if (now - conn.lastRecv > conn.readTimeout) {
      this.lose(conn, `no reply from the server for ${now - conn.lastRecv} ms`);
      return;
    }
    if (now - conn.lastSend >= conn.pingEvery) {
      this.writeFrame(conn, Xid.ping, PING);
      // Counted as sent now, so that the timer waits for the next ping's turn.
      conn.lastSend = now;
    }
    if (
      conn.readOnly &&
      this.hosts.length > 1 &&
      !conn.rwProbing &&
      now - conn.lastRwProbe >= conn.rwProbeDelay
    ) {
      conn.lastRwProbe = now;
      conn.rwProbeDelay = Math.min(conn.rwProbeDelay * 2, MAX_RW_PROBE_DELAY);
      this.probeReadWrite(conn);
    }
    this.arm(conn);
  }

  /**
   * Asks the next host whether it serves read-write (the `isro` four-letter word); if so, leaves the
   * read-only server for it, as ZooKeeper's client does.
   */
  private probeReadWrite(conn: Connection): void {
    const index = this.hostIndex % this.hosts.length;
    const host = this.hosts[index] as HostPort;
    this.hostIndex = (this.hostIndex + 1) % this.hosts.length;
    if (host === conn.host) return;
    conn.rwProbing = true;
    const socket = netConnect({ host: host.host, port: host.port, noDelay: true });
    let answer = '';
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      conn.rwProbing = false;
      if (answer.startsWith('rw') && !conn.closed && conn.readOnly) {
        this.hostIndex = index;
        this.lose(conn, `read-write server found at ${host.host}:${host.port}`);
      }
    };
    const timer = setTimeout(done, 1000);
    socket.on('connect', () => socket.end('isro'));
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
    });
    socket.on('error', done);
    socket.on('close', done);
  }

  /** The connection is gone: fail what was in flight, tell listeners, reconnect. */
  private lose(conn: Connection, _reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    clearTimeout(conn.connectTimer);
    clearTimeout(conn.timer);
    conn.socket.destroy();
    if (this.conn === conn) this.conn = undefined;
    const wasEstablished = conn.established;
    const inflight = conn.drainInflight();
    const err = this.terminalError() ?? named('ConnectionLoss', 'the connection to the server was lost');
    for (const p of inflight) this.settle(p, err);
    if (this.terminal || this.closing !== undefined) return;
    if (wasEstablished) this.setState('disconnected');
    else this.failedAttempts++;
    if (this.waiting.length > 0) this.startSweep();
    this.scheduleReconnect(wasEstablished);
  }

  private scheduleReconnect(afterEstablished: boolean): void {
    const cycles = Math.floor(this.failedAttempts / this.hosts.length);
    const base = Math.min(this.opts.retryDelay * 2 ** Math.min(cycles, 20), this.opts.maxRetryDelay);
    // Straight to the next server after losing a working connection; jittered waits afterwards.
    const delay = afterEstablished ? 0 : Math.floor(this.opts.random() * base);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.openConnection();
    }, delay);
  }

  private expire(conn: Connection): void {
    this.finish('expired', named('SessionExpired', 'the session has expired'), KeeperState.Expired);
    this.lose(conn, 'session expired');
  }

  /** Enters a terminal state: fails everything, tells watchers, stops reconnecting. */
  private finish(state: 'expired' | 'authFailed' | 'closed', err: KeeperError, keeperState: number): void {
    if (this.terminal) return;
    clearTimeout(this.retryTimer);
    this.stopSweep();
    const waiting = this.waiting;
    this.waiting = [];
    for (const p of waiting) this.settle(p, err);
    const conn = this.conn;
    if (conn !== undefined) for (const p of conn.drainInflight()) this.settle(p, err);
    for (const a of this.auth) {
      for (const w of a.waiters) w.reject(err);
      a.waiters = [];
    }
    const watchers = this.watches.all();
    this.watches.clear();
    this.setState(state);
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.reject(err);
    const event: WatchedEvent = { type: EventType.None, state: keeperState, path: undefined };
    for (const w of watchers) this.fire(w, event);
  }

  private authFailed(): void {
    const conn = this.conn;
    this.finish('authFailed', named('AuthFailed', 'authentication failed'), KeeperState.AuthFailed);
    if (conn !== undefined) this.lose(conn, 'auth failed');
  }

  // ------------------------------------------------------------------ sending

  /**
   * Appends a request frame to the connection's output of this turn; returns the frame's body size.
   * A frame that fails to encode leaves nothing behind (the error is rethrown).
   */
  private writeFrame(conn: Connection, xid: number, request: Request): number {
    const w = conn.out;
    const start = w.length;
    try {
      writeRequestFrame(w, xid, request);
    } catch (e) {
      this.truncateOut(conn, start);
      throw e;
    }
    if (!conn.outScheduled) {
      conn.outScheduled = true;
      process.nextTick(() => this.flush(conn));
    }
    return w.length - start - 4;
  }

  /** Drops what was written to the connection's output after `length` bytes (a rejected frame). */
  private truncateOut(conn: Connection, length: number): void {
    const kept = Buffer.from(conn.out.view().subarray(0, length));
    conn.out = new Writer(Math.max(4096, length));
    conn.out.raw(kept);
  }

  /** Sends every frame written this turn in one socket write. */
  private flush(conn: Connection): void {
    conn.outScheduled = false;
    const w = conn.out;
    if (conn.closed || w.length === 0) return;
    conn.lastSend = Date.now();
    conn.socket.write(w.finish());
    if (w.length > MAX_KEPT_WRITER) conn.out = new Writer(4096);
    else w.reset();
  }

  private nextXid(): number {
    const x = this.xid;
    this.xid = x >= 0x7fffffff ? 1 : x + 1;
    return x;
  }

  private send(conn: Connection, p: Pending): void {
    if (p.xid === 0) p.xid = this.nextXid();
    const start = conn.out.length;
    let size: number;
    try {
      size = this.writeFrame(conn, p.xid, p.request);
    } catch (e) {
      this.settle(p, named('MarshallingError', (e as Error).message));
      return;
    }
    if (size > this.opts.maxFrameSize) {
      this.truncateOut(conn, start);
      this.settle(
        p,
        named('BadArguments', `request of ${size} bytes exceeds maxFrameSize ${this.opts.maxFrameSize}`),
      );
      return;
    }
    conn.inflight.push(p);
  }

  private sendAuth(conn: Connection, a: AuthEntry): void {
    conn.authInflight.push(a);
    this.writeFrame(conn, Xid.auth, { type: 'auth', authType: 0, scheme: a.scheme, auth: a.auth });
  }

  private sendSetWatches(conn: Connection): void {
    const snap = this.watches.snapshot();
    const lists: Array<[keyof typeof snap, string[]]> = [
      ['data', snap.data],
      ['exist', snap.exist],
      ['child', snap.child],
      ['persistent', snap.persistent],
      ['persistentRecursive', snap.persistentRecursive],
    ];
    let k = 0;
    let i = 0;
    while (k < lists.length) {
      const batch = {
        data: [] as string[],
        exist: [] as string[],
        child: [] as string[],
        persistent: [] as string[],
        persistentRecursive: [] as string[],
      };
      let length = 0;
      let any = false;
      while (k < lists.length && length < SET_WATCHES_MAX_LENGTH) {
        const [kind, paths] = lists[k] as [keyof typeof snap, string[]];
        if (i >= paths.length) {
          k++;
          i = 0;
          continue;
        }
        const clientPath = paths[i] as string;
        // getConfig's watch is on the real /zookeeper/config, whatever the chroot.
        const path =
          kind === 'data' && clientPath === CONFIG_NODE && this.configWatchOutsideChroot
            ? CONFIG_NODE
            : prependChroot(this.chroot, clientPath);
        i++;
        batch[kind].push(path);
        length += path.length;
        any = true;
      }
      if (!any) break;
      const p: Pending = {
        // As ZooKeeper's client: the original setWatches when no persistent watch is in the batch
        // (servers before 3.6 know only that one), setWatches2 otherwise.
        request:
          batch.persistent.length === 0 && batch.persistentRecursive.length === 0
            ? {
                type: 'setWatches',
                relativeZxid: this.lastZxid,
                dataWatches: batch.data,
                existWatches: batch.exist,
                childWatches: batch.child,
              }
            : {
                type: 'setWatches2',
                relativeZxid: this.lastZxid,
                dataWatches: batch.data,
                existWatches: batch.exist,
                childWatches: batch.child,
                persistentWatches: batch.persistent,
                persistentRecursiveWatches: batch.persistentRecursive,
              },
        xid: Xid.setWatches,
        counted: false,
        bytes: 0,
        queuedAt: Date.now(),
        onReply: NOOP,
        resolve: NOOP,
        reject: NOOP,
      };
      this.send(conn, p);
    }
  }

  private settle(p: Pending, err: KeeperError): void {
    this.release(p);
    p.reject(err);
  }

  /** The reply to `p` arrived: `r` is past its header. */
  private complete(p: Pending, r: Reader, err: number): void {
    this.release(p);
    let response: Response | null = null;
    if (err === 0) {
      try {
        response = readResponseBody(r, p.request.type);
      } catch (e) {
        p.reject(
          named('MarshallingError', `cannot decode the ${p.request.type} reply: ${(e as Error).message}`),
        );
        return;
      }
    }
    let value: unknown;
    try {
      value = p.onReply(response, err);
    } catch (e) {
      p.reject(e);
      return;
    }
    p.resolve(value);
  }

  private release(p: Pending): void {
    if (p.counted) {
      this.pendingCount--;
      this.pendingBytes -= p.bytes;
    }
  }

  /**
   * Queues a request. `onReply(response, err)` runs with the decoded body when err is 0, and with
   * null otherwise; what it returns resolves the promise, what it throws rejects it.
   */
  private submit<T extends RequestType, R>(
    request: Request & { type: T },
    onReply: (response: ResponseOf<T> | null, err: number) => R,
    counted = true,
  ): Promise<R> {
    const err = this.terminalError();
    if (err !== undefined) return Promise.reject(err);
    const bytes = counted ? payloadBytes(request) : 0;
    if (counted && this.pendingCount >= this.opts.maxPendingRequests) {
      return Promise.reject(
        named(
          'APIError',
          `too many pending requests (maxPendingRequests is ${this.opts.maxPendingRequests})`,
        ),
      );
    }
    if (counted && this.pendingCount > 0 && this.pendingBytes + bytes > this.opts.maxPendingBytes) {
      return Promise.reject(
        named('APIError', `too many pending request bytes (maxPendingBytes is ${this.opts.maxPendingBytes})`),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const p: Pending = {
        request,
        xid: 0,
        counted,
        bytes,
        queuedAt: 0,
        // The body decoded for request.type is a ResponseOf<T>.
        onReply: onReply as (response: Response | null, err: number) => unknown,
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      if (counted) {
        this.pendingCount++;
        this.pendingBytes += bytes;
      }
      const conn = this.conn;
      if (conn?.established && !conn.closed) {
        this.send(conn, p);
      } else {
        if (this.opts.connectionWaitTimeout <= 0 && this.started) {
          this.settle(p, named('ConnectionLoss', 'not connected to a server'));
          return;
        }
        p.queuedAt = Date.now();
        this.waiting.push(p);
        this.startSweep();
        this.start();
      }
    });
  }

  private startSweep(): void {
    if (this.sweepTimer !== undefined) return;
    const every = Math.max(10, Math.min(250, Math.floor(this.opts.connectionWaitTimeout / 4)));
    this.sweepTimer = setInterval(() => this.sweep(), every);
  }

  private stopSweep(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Fails requests that waited for a connection longer than connectionWaitTimeout. */
  private sweep(): void {
    const limit = Date.now() - this.opts.connectionWaitTimeout;
    if (this.waiting.length === 0) {
      this.stopSweep();
      return;
    }
    const keep: Pending[] = [];
    for (const p of this.waiting) {
      if (p.queuedAt <= limit) {
        this.settle(
          p,
          named('ConnectionLoss', `no connection to a server within ${this.opts.connectionWaitTimeout} ms`),
        );
      } else keep.push(p);
    }
    this.waiting = keep;
    if (keep.length === 0) this.stopSweep();
  }

  // ------------------------------------------------------------------ replies

  private onReply(conn: Connection, f: Buffer): void {
    // One reader for the header and the body.
    const r = new Reader(f);
    const header = readReplyHeader(r);
    switch (header.xid) {
      case Xid.ping:
        return;
      case Xid.auth: {
        const a = conn.authInflight.shift();
        if (header.err === ErrorCode.AuthFailed) {
          this.authFailed();
          return;
        }
        if (a !== undefined) {
          const waiters = a.waiters;
          a.waiters = [];
          for (const w of waiters) {
            if (header.err === 0) w.resolve();
            else w.reject(keeperError(header.err));
          }
        }
        return;
      }
      case Xid.notification: {
        const { response } = decodeResponse(f, 'notification');
        if (response !== null) this.onNotification(response.event);
        return;
      }
      default:
        break;
    }
    const p = conn.shiftInflight();
    if (p === undefined || p.xid !== header.xid) {
      if (p !== undefined) conn.unshiftInflight(p);
      throw new Error(`reply xid ${header.xid} does not match the request in flight (${p?.xid ?? 'none'})`);
    }
    if (header.zxid > 0n) this.lastZxid = header.zxid;
    this.complete(p, r, header.err);
  }

  private onNotification(e: { type: number; state: number; path: string }): void {
    const path = stripChroot(this.chroot, e.path);
    const watchers = this.watches.materialize(e.type as (typeof EventType)[keyof typeof EventType], path);
    const event: WatchedEvent = { type: e.type as WatchedEvent['type'], state: e.state, path };
    for (const w of watchers) this.fire(w, event);
  }

  private fire(w: Watcher, event: WatchedEvent): void {
    try {
      w(event);
    } catch (e) {
      // A throwing watcher must not break the connection: rethrow outside, as an emitter would.
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  // ------------------------------------------------------------------ helpers

  private serverPath(path: string, sequential = false): string {
    validatePath(path, sequential);
    return prependChroot(this.chroot, path);
  }

  private check(err: number, path: string): void {
    if (err !== 0) throw keeperError(err, path);
  }

  /**
   * Sends the request `build` makes for `path` inside the chroot (an invalid path rejects, nothing
   * sent); a server error rejects with `path`, an OK reply settles with what `settle` makes of it.
   */
  private onPath<T extends RequestType, R>(
    path: string,
    build: (serverPath: string) => Request & { type: T },
    settle: (response: ResponseOf<T>) => R,
  ): Promise<R> {
    let request: Request & { type: T };
    try {
      request = build(this.serverPath(path));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.submit<T, R>(request, (res, err) => {
      this.check(err, path);
      return settle(res as ResponseOf<T>);
    });
  }

  private watchOn(kind: WatchKind, path: string, watcher: Watcher | undefined): void {
    if (watcher !== undefined) this.watches.add(kind, path, watcher);
  }

  // ------------------------------------------------------------------ operations

  /** Creates a node; returns its path (with the sequence suffix for sequential modes). */
  create(path: string, data?: Uint8Array | string | null, options: CreateOptions = {}): Promise<string> {
    return this.createInternal(path, data, options, false).then((r) => r.path);
  }

  /** Creates a node; returns its path and Stat (create2). */
  createWithStat(
    path: string,
    data?: Uint8Array | string | null,
    options: CreateOptions = {},
  ): Promise<CreateResult> {
    return this.createInternal(path, data, options, true) as Promise<CreateResult>;
  }

  private createInternal(
    path: string,
    data: Uint8Array | string | null | undefined,
    options: CreateOptions,
    withStat: boolean,
  ): Promise<{ path: string; stat?: Stat }> {
    let request: Request;
    try {
      request = this.createRequest(path, data, options, withStat);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.submit(request, (res, err) => {
      this.check(err, path);
      const r = res as { path: string; stat?: Stat };
      return r.stat === undefined
        ? { path: stripChroot(this.chroot, r.path) }
        : { path: stripChroot(this.chroot, r.path), stat: r.stat };
    });
  }

  /** Builds a create request (also used by multi ops). */
  private createRequest(
    path: string,
    data: Uint8Array | string | null | undefined,
    options: CreateOptions,
    withStat: boolean,
  ): MultiOp {
    const mode: CreateModeName = options.mode ?? 'PERSISTENT';
    const flags = CreateMode[mode];
    if (flags === undefined) throw named('BadArguments', `unknown create mode ${String(mode)}`);
    const sequential = mode.includes('SEQUENTIAL');
    const serverPath = this.serverPath(path, sequential);
    const acl = options.acl ?? OPEN_ACL_UNSAFE;
    if (acl.length === 0) throw named('InvalidACL', 'an ACL must not be empty', path);
    const body = toBuffer(data);
    const ttlMode = mode === 'PERSISTENT_WITH_TTL' || mode === 'PERSISTENT_SEQUENTIAL_WITH_TTL';
    if (ttlMode) {
      const ttl = options.ttl;
      if (ttl === undefined || !Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_TTL) {
        throw named('BadArguments', `a TTL in 1..${MAX_TTL} ms is required for mode ${mode}`, path);
      }
      return { type: 'createTTL', path: serverPath, data: body, acl, flags, ttl: BigInt(ttl) };
    }
    if (options.ttl !== undefined) throw named('BadArguments', `ttl is not valid for mode ${mode}`, path);
    const type = mode === 'CONTAINER' ? 'createContainer' : withStat ? 'create2' : 'create';
    return { type, path: serverPath, data: body, acl, flags };
  }

  /** Deletes a node (version -1 matches any version). */
  delete(path: string, version = -1): Promise<void> {
    return this.onPath(
      path,
      (serverPath) => ({ type: 'delete', path: serverPath, version }),
      () => undefined,
    );
  }

  /** The node's Stat, or null when it does not exist; a watch fires on create, change or delete. */
  exists(path: string, options: WatchOptions = {}): Promise<Stat | null> {
    let serverPath: string;
    try {
      serverPath = this.serverPath(path);
    } catch (e) {
      return Promise.reject(e);
    }
    const watch = options.watch;
    return this.submit({ type: 'exists', path: serverPath, watch: watch !== undefined }, (res, err) => {
      if (err === ErrorCode.NoNode) {
        this.watchOn('exist', path, watch);
        return null;
      }
      this.check(err, path);
      this.watchOn('data', path, watch);
      return (res as ResponseOf<'exists'>).stat;
    });
  }

  /** The node's data and Stat; a watch fires on change or delete. */
  getData(path: string, options?: WatchOptions): Promise<DataResult> {
    // The hot paths build their request inline: one closure per call (the reply's).
    let serverPath: string;
    try {
      serverPath = this.serverPath(path);
    } catch (e) {
      return Promise.reject(e);
    }
    const watch = options?.watch;
    return this.submit({ type: 'getData', path: serverPath, watch: watch !== undefined }, (res, err) => {
      if (err !== 0) throw keeperError(err, path);
      if (watch !== undefined) this.watches.add('data', path, watch);
      const r = res as ResponseOf<'getData'>;
      return { data: copyData(r.data), stat: r.stat };
    });
  }

  /** Sets the node's data if its version matches (-1: any); returns the new Stat. */
  setData(path: string, data: Uint8Array | string | null, version = -1): Promise<Stat> {
    let request: Request;
    try {
      request = { type: 'setData', path: this.serverPath(path), data: toBuffer(data), version };
    } catch (e) {
      return Promise.reject(e);
    }
    return this.submit(request, (res, err) => {
      if (err !== 0) throw keeperError(err, path);
      return (res as ResponseOf<'setData'>).stat;
    });
  }

  getACL(path: string): Promise<ACLResult> {
    return this.onPath(
      path,
      (serverPath) => ({ type: 'getACL', path: serverPath }),
      (r) => ({ acl: r.acl, stat: r.stat }),
    );
  }

  /** Sets the node's ACL if its ACL version matches (-1: any); returns the new Stat. */
  setACL(path: string, acl: ACL[], version = -1): Promise<Stat> {
    return this.onPath(
      path,
      (serverPath) => {
        if (acl.length === 0) throw named('InvalidACL', 'an ACL must not be empty', path);
        return { type: 'setACL', path: serverPath, acl, version };
      },
      (r) => r.stat,
    );
  }

  /** The node's children (names, unsorted as the server sends them); with `withStat`, its Stat too. */
  getChildren(path: string, options: ChildrenOptions & { withStat: true }): Promise<ChildrenResult>;
  getChildren(path: string, options?: ChildrenOptions & { withStat?: false }): Promise<string[]>;
  getChildren(path: string, options: ChildrenOptions): Promise<string[] | ChildrenResult>;
  getChildren(path: string, options: ChildrenOptions = {}): Promise<string[] | ChildrenResult> {
    const watch = options.watch;
    if (options.withStat === true) {
      return this.onPath(
        path,
        (serverPath) => ({ type: 'getChildren2', path: serverPath, watch: watch !== undefined }),
        (r) => {
          this.watchOn('child', path, watch);
          return { children: r.children, stat: r.stat };
        },
      );
    }
    return this.onPath(
      path,
      (serverPath) => ({ type: 'getChildren', path: serverPath, watch: watch !== undefined }),
      (r) => {
        this.watchOn('child', path, watch);
        return r.children;
      },
    );
  }

  /** The number of descendants of a node (not counting itself). */
  getAllChildrenNumber(path: string): Promise<number> {
    return this.onPath(
      path,
      (serverPath) => ({ type: 'getAllChildrenNumber', path: serverPath }),
      (r) => r.totalNumber,
    );
  }

  /**
   * The session's ephemeral nodes whose path starts with `prefix` (default: all). Unlike ZooKeeper's
   * Java client, the chroot applies: the prefix is inside it and the paths come back without it.
   */
  getEphemerals(prefix = '/'): Promise<string[]> {
    return this.onPath(
      prefix,
      (serverPath) => ({ type: 'getEphemerals', prefixPath: serverPath }),
      (r) =>
        r.ephemerals
          .filter((p) => this.chroot === undefined || p === this.chroot || p.startsWith(`${this.chroot}/`))
          .map((p) => stripChroot(this.chroot, p)),
    );
  }

  /** Waits until the server this client is connected to has applied every write the leader had. */
  sync(path = '/'): Promise<void> {
    return this.onPath(
      path,
      (serverPath) => ({ type: 'sync', path: serverPath }),
      () => undefined,
    );
  }

  /**
   * Runs operations atomically. When one fails, nothing is applied and the promise rejects with a
   * KeeperError carrying the first failing op's code and every op's result in `results`.
   */
  multi(ops: readonly Op[]): Promise<OpResult[]> {
    if (ops.length === 0) return Promise.resolve([]);
    let request: Request;
    try {
      request = { type: 'multi', ops: ops.map((op) => this.multiOp(op)) };
    } catch (e) {
      return Promise.reject(e);
    }
    return this.submit(request, (res, err) => {
      if (err !== 0) throw keeperError(err);
      const results: OpResult[] = (res as ResponseOf<'multi'>).results.map((r) => {
        switch (r.type) {
          case 'create':
            return { type: 'create', path: stripChroot(this.chroot, r.path) };
          case 'create2':
            return { type: 'create', path: stripChroot(this.chroot, r.path), stat: r.stat };
          case 'delete':
            return { type: 'delete' };
          case 'check':
            return { type: 'check' };
          case 'setData':
            return { type: 'setData', stat: r.stat };
          case 'error':
            return { type: 'error', code: r.err };
          default:
            return assertNever(r);
        }
      });
      const failed = results.findIndex((r) => r.type === 'error' && r.code !== 0);
      if (failed >= 0) {
        const code = (results[failed] as { code: number }).code;
        const op = ops[failed] as Op;
        const e = new KeeperError(code, undefined, op.path);
        e.message = `${e.message} (multi op ${failed}: ${op.type})`;
        e.results = results;
        throw e;
      }
      return results;
    });
  }

  private multiOp(op: Op): MultiOp {
    switch (op.type) {
      case 'create': {
        const r = this.createRequest(op.path, op.data, op, false);
        return r;
      }
      case 'delete':
        return { type: 'delete', path: this.serverPath(op.path), version: op.version ?? -1 };
      case 'setData':
        return {
          type: 'setData',
          path: this.serverPath(op.path),
          data: toBuffer(op.data),
          version: op.version ?? -1,
        };
      case 'check':
        return { type: 'check', path: this.serverPath(op.path), version: op.version };
      default:
        return assertNever(op);
    }
  }

  /** Starts a transaction builder: `client.transaction().create(...).check(...).commit()`. */
  transaction(): Transaction {
    return new Transaction((ops) => this.multi(ops));
  }

  /** Runs reads in one round trip; each result succeeds or fails on its own. */
  multiRead(ops: readonly ReadOp[]): Promise<ReadOpResult[]> {
    if (ops.length === 0) return Promise.resolve([]);
    let reqOps: MultiReadOp[];
    try {
      reqOps = ops.map((op) => ({ type: op.type, path: this.serverPath(op.path), watch: false }));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.submit({ type: 'multiRead', ops: reqOps }, (res, err) => {
      if (err !== 0) throw keeperError(err);
      return (res as ResponseOf<'multiRead'>).results.map((r, i): ReadOpResult => {
        switch (r.type) {
          case 'getData':
            return { type: 'getData', data: copyData(r.data), stat: r.stat };
          case 'getChildren':
            return { type: 'getChildren', children: r.children };
          case 'error':
            return { type: 'error', error: keeperError(r.err, ops[i]?.path) };
          default:
            return assertNever(r);
        }
      });
    });
  }

  /**
   * Adds a persistent (or persistent recursive) watch: `listener` receives every event on the node
   * (and, recursive, on its descendants; no child events then) until removeWatches(path, 'any').
   */
  addWatch(path: string, mode: AddWatchModeName, listener: Watcher): Promise<void> {
    let serverPath: string;
    try {
      serverPath = this.serverPath(path);
    } catch (e) {
      return Promise.reject(e);
    }
    const kind: WatchKind = mode === 'PERSISTENT' ? 'persistent' : 'persistentRecursive';
    return this.submit({ type: 'addWatch', path: serverPath, mode: AddWatchMode[mode] }, (_res, err) => {
      this.check(err, path);
      this.watches.add(kind, path, listener);
    });
  }

  /**
   * A persistent watch as an async iterator. At most `maxBuffered` events wait for the consumer; one
   * more ends the iteration with an APIError. The session's end (expiry, auth failure) ends it with
   * that error; `close()` on the stream or the client ends it normally.
   */
  async watchStream(
    path: string,
    mode: AddWatchModeName,
    options: WatchStreamOptions = {},
  ): Promise<WatchStream> {
    const max = options.maxBuffered ?? 1000;
    const buffered: WatchedEvent[] = [];
    let failure: KeeperError | undefined;
    let done = false;
    let wake: (() => void) | undefined;
    const listener: Watcher = (e) => {
      if (done) return;
      if (e.type === EventType.None) {
        if (e.state === KeeperState.Closed) done = true;
        else
          failure = keeperError(
            e.state === KeeperState.AuthFailed ? ErrorCode.AuthFailed : ErrorCode.SessionExpired,
            path,
          );
      } else if (buffered.length >= max) {
        failure = named('APIError', `watch stream on ${path} overflowed (maxBuffered is ${max})`, path);
        void this.unwatch(path, listener);
      } else buffered.push(e);
      wake?.();
    };
    await this.addWatch(path, mode, listener);
    const close = async (): Promise<void> => {
      if (done) return;
      done = true;
      wake?.();
      if (this.terminal) return;
      await this.unwatch(path, listener);
    };
    return {
      close,
      [Symbol.asyncIterator]: (): AsyncIterator<WatchedEvent> => ({
        next: async () => {
          for (;;) {
            const e = buffered.shift();
            if (e !== undefined) return { value: e, done: false };
            if (failure !== undefined) throw failure;
            if (done) return { value: undefined, done: true };
            await new Promise<void>((r) => {
              wake = r;
            });
            wake = undefined;
          }
        },
        return: async () => {
          await close();
          return { value: undefined, done: true };
        },
      }),
    };
  }

  /**
   * Drops one watcher locally; when no watcher of any kind is left on the path, drops the server's
   * watches on it too (best effort: a failure only leaves events nobody listens to).
   */
  private async unwatch(path: string, watcher: Watcher): Promise<void> {
    this.watches.take(['data', 'exist', 'child', 'persistent', 'persistentRecursive'], path, watcher);
    // A new connection only gets the watches setWatches2 sends: nothing to drop while disconnected.
    if (!this.connected || this.watches.hasAny(path)) return;
    const serverPath = prependChroot(this.chroot, path);
    await this.submit(
      { type: 'removeWatches', path: serverPath, watcherType: WatcherType.Any },
      () => {},
    ).catch(() => {});
  }

  /**
   * Removes watches of a kind on a path: every one, or only `options.watcher`. Fails with NoWatcher
   * when the client has none. With `local`, the watchers are removed locally whatever the server
   * answers (or at once, without asking it, while disconnected). Removed watchers receive a DataWatchRemoved / ChildWatchRemoved /
   * PersistentWatchRemoved event.
   */
  removeWatches(path: string, type: WatcherTypeName, options: RemoveWatchesOptions = {}): Promise<void> {
    let serverPath: string;
    try {
      serverPath = this.serverPath(path);
    } catch (e) {
      return Promise.reject(e);
    }
    const groups: Array<[WatchKind[], number]> =
      type === 'data'
        ? [[['data', 'exist'], EventType.DataWatchRemoved]]
        : type === 'children'
          ? [[['child'], EventType.ChildWatchRemoved]]
          : [
              [['data', 'exist'], EventType.DataWatchRemoved],
              [['child'], EventType.ChildWatchRemoved],
              [['persistent', 'persistentRecursive'], EventType.PersistentWatchRemoved],
            ];
    const present = groups.some(([kinds]) =>
      kinds.some((k) =>
        options.watcher === undefined
          ? this.watches.has(k, path)
          : this.watches.hasWatcher(k, path, options.watcher),
      ),
    );
    if (!present) return Promise.reject(named('NoWatcher', `no watcher of type ${type} on ${path}`, path));
    const removeLocally = (): void => {
      for (const [kinds, eventType] of groups) {
        const removed = this.watches.take(kinds, path, options.watcher);
        const event: WatchedEvent = {
          type: eventType as WatchedEvent['type'],
          state: KeeperState.SyncConnected,
          path,
        };
        for (const w of removed) this.fire(w, event);
      }
    };
    const local = options.local === true;
    // Disconnected, a local removal does not wait: the next connection will not get these watches.
    if (local && !this.connected) {
      removeLocally();
      return Promise.resolve();
    }
    const watcherType =
      type === 'data' ? WatcherType.Data : type === 'children' ? WatcherType.Children : WatcherType.Any;
    const request: Request =
      options.watcher === undefined
        ? { type: 'removeWatches', path: serverPath, watcherType }
        : { type: 'checkWatches', path: serverPath, watcherType };
    const sent = this.submit(request, (_res, err) => {
      if (!local) this.check(err, path);
      removeLocally();
    });
    if (!local) return sent;
    // As ZooKeeper's `local` flag: whatever the server answers, the watchers go locally.
    return sent.catch((e: unknown) => {
      if (this.terminal) throw e;
      removeLocally();
    });
  }

  /**
   * Adds credentials to the session (e.g. `addAuth('digest', 'user:password')`); resolves when the
   * server accepted them. They are sent again after every reconnect. A rejection by the server
   * puts the client in the terminal `authFailed` state.
   */
  addAuth(scheme: string, auth: string | Uint8Array): Promise<void> {
    const err = this.terminalError();
    if (err !== undefined) return Promise.reject(err);
    return new Promise((resolve, reject) => {
      const bytes = toBuffer(auth) ?? EMPTY;
      // The same credentials twice are kept (and re-sent on reconnects) once.
      let entry = this.auth.find((a) => a.scheme === scheme && a.auth.equals(bytes));
      if (entry === undefined) {
        entry = { scheme, auth: Buffer.from(bytes), waiters: [] };
        this.auth.push(entry);
      }
      entry.waiters.push({ resolve, reject });
      const conn = this.conn;
      if (conn?.established && !conn.closed) this.sendAuth(conn, entry);
      else this.start();
    });
  }

  /**
   * The ensemble's dynamic configuration (the data of /zookeeper/config, which the chroot does not
   * apply to, as in ZooKeeper) and its Stat; a watch fires when it changes.
   */
  getConfig(options: WatchOptions = {}): Promise<DataResult> {
    const watch = options.watch;
    return this.submit({ type: 'getData', path: CONFIG_NODE, watch: watch !== undefined }, (res, err) => {
      this.check(err, CONFIG_NODE);
      if (watch !== undefined) this.configWatchOutsideChroot = true;
      this.watchOn('data', CONFIG_NODE, watch);
      const r = res as ResponseOf<'getData'>;
      return { data: copyData(r.data), stat: r.stat };
    });
  }

  /**
   * Changes the ensemble's membership (ZooKeeperAdmin.reconfig): servers joining and leaving
   * (comma-separated `server.N=...` specs / ids), or a whole new member list; `fromConfig` is the
   * config version it must apply to (-1: any). Returns the new configuration. Needs a server with
   * reconfigEnabled=true and a super user or an ACL that allows it.
   */
  reconfig(options: {
    joining?: string;
    leaving?: string;
    newMembers?: string;
    fromConfig?: bigint;
  }): Promise<DataResult> {
    const request: Request = {
      type: 'reconfig',
      joiningServers: options.joining ?? null,
      leavingServers: options.leaving ?? null,
      newMembers: options.newMembers ?? null,
      curConfigId: options.fromConfig ?? -1n,
    };
    return this.submit(request, (res, err) => {
      this.check(err, CONFIG_NODE);
      const r = res as ResponseOf<'reconfig'>;
      return { data: copyData(r.data), stat: r.stat };
    });
  }

  /** The identities the server associates with this session (whoAmI). */
  whoAmI(): Promise<ClientInfo[]> {
    return this.submit({ type: 'whoAmI' }, (res, err) => {
      this.check(err, '/');
      return (res as ResponseOf<'whoAmI'>).clientInfo;
    });
  }

  /**
   * Closes the session (the server deletes its ephemerals) and the connection. Requests already
   * sent get their replies first; later ones fail with SessionExpired. Resolves when done.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    if (this.terminal) {
      this.closing = Promise.resolve();
      if (this._state !== 'closed') this.setState('closed');
      return this.closing;
    }
    this.closing = (async () => {
      const conn = this.conn;
      if (conn?.established && !conn.closed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1000, Math.min(this.negotiatedTimeout / 3, 5000)));
          const p: Pending = {
            request: { type: 'closeSession' },
            xid: 0,
            counted: false,
            bytes: 0,
            queuedAt: Date.now(),
            onReply: NOOP,
            resolve: () => {
              clearTimeout(timer);
              resolve();
            },
            reject: () => {
              clearTimeout(timer);
              resolve();
            },
          };
          this.send(conn, p);
        });
      }
      this.finish('closed', named('SessionExpired', 'the client is closed'), KeeperState.Closed);
      const c = this.conn;
      if (c !== undefined) this.lose(c, 'closed');
    })();
    return this.closing;
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
