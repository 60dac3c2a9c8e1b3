/**
 * The standalone zkts server: the client protocol of Apache ZooKeeper 3.8 over TCP, composed from
 * the codec, the data tree and the txn log.
 *
 * The write path: prep against the tree (plus not-yet-applied changes) -> append to the txn log
 * (group commit) -> once durable, apply in zxid order -> watch notifications -> the reply. Reads
 * run against the tree at once unless a write of the same connection is still in flight.
 */

import { readdirSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  type ACL,
  CodecError,
  type ConnectRequest,
  CreateMode,
  decodeConnectRequest,
  decodeRequest,
  ErrorCode,
  encodeConnectResponse,
  encodeResponseFrame,
  KeeperState,
  type MultiReadResult,
  type MultiResult,
  type ReplyHeader,
  type Request,
  type Response,
  Xid,
} from '@zkts/codec';
import {
  type ApplyResult,
  DataTree,
  decodeTxn,
  digestAuthIds,
  encodeTxn,
  SnapshotLoader,
  snapshotTree,
  TreeError,
  type MultiOp as TreeMultiOp,
  type TreeRequest,
  type Txn,
  type TxnResult,
  type WatchNotification,
} from '@zkts/data-tree';
import { type FileSystem, TxnSnapStore } from '@zkts/persistence';
import { negotiateSessionTimeout, type ServerConfig } from './config.js';
import { Connection } from './connection.js';
import { ServerError } from './errors.js';
import {
  answerFourLetterWord,
  type ConnectionInfo,
  type FourLetterSource,
  ZKTS_VERSION,
} from './four-letter.js';
import { checkPassword, SessionTracker, sessionPassword } from './sessions.js';
import { ServerCounters } from './stats.js';

/** A structured logger (pino's shape); one line per event. */
export interface ServerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const silentLogger: ServerLogger = { info() {}, warn() {}, error() {}, debug() {} };

export interface ZkServerOptions {
  config: ServerConfig;
  /** Server id (myid); 0 for a standalone server without one, as ZooKeeper. */
  serverId?: number;
  logger?: ServerLogger;
  /** File-system seam for the txn log and snapshots (tests inject faults). */
  fs?: FileSystem;
}

interface PendingTxn {
  zxid: bigint;
  time: bigint;
  txn: Txn;
  durable: boolean;
  bytes: number;
  onApplied: (result: ApplyResult<Connection>) => void;
}

/** Bytes of the log record: the txn's wall time, then the txn. */
function encodeLogRecord(time: bigint, txn: Txn): Uint8Array {
  const body = encodeTxn(txn);
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setBigInt64(0, time);
  out.set(body, 8);
  return out;
}

function decodeLogRecord(bytes: Uint8Array): { time: bigint; txn: Txn } {
  if (bytes.length < 9) throw new ServerError('storage', `txn record of ${bytes.length} bytes is too short`);
  const time = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigInt64(0);
  return { time, txn: decodeTxn(bytes.subarray(8)) };
}

const FOUR_LETTER = /^[a-z]{4}$/;
const AUTH_OPCODE = 100;

/**
 * Server-wide back-pressure: while this many bytes of txns wait for the disk, or this many txns,
 * the server stops reading from every client, and resumes once half of it is durable.
 */
const MAX_PENDING_WRITE_BYTES = 32 << 20;
const MAX_PENDING_WRITES = 10_000;

/** Last-operation names as ZooKeeper's `cons` prints them. */
const OP_NAMES: Partial<Record<Request['type'], string>> = {
  create: 'CREA',
  create2: 'CREA',
  createContainer: 'CREA',
  createTTL: 'CREA',
  delete: 'DELE',
  deleteContainer: 'DELE',
  exists: 'EXIS',
  getData: 'GETD',
  setData: 'SETD',
  getACL: 'GETA',
  setACL: 'SETA',
  getChildren: 'GETC',
  getChildren2: 'GETC',
  getAllChildrenNumber: 'GETACN',
  getEphemerals: 'GETE',
  sync: 'SYNC',
  check: 'CHEC',
  multi: 'MULT',
  multiRead: 'MLTR',
  setWatches: 'SETW',
  setWatches2: 'STW2',
  addWatch: 'ADDW',
  checkWatches: 'CHKW',
  removeWatches: 'REMW',
  whoAmI: 'HOMI',
  ping: 'PING',
  closeSession: 'CLOS',
};

export class ZkServer {
  readonly config: ServerConfig;
  readonly serverId: number;
  readonly tree: DataTree<Connection>;
  readonly counters = new ServerCounters();
  private readonly log: ServerLogger;
  private readonly sessions: SessionTracker;
  private readonly sessionConns = new Map<bigint, Connection>();
  private readonly connections = new Set<Connection>();
  private readonly perIp = new Map<string, number>();
  private readonly pending: PendingTxn[] = [];
  private pendingBytes = 0;
  private holding = false;
  private lastProposed: bigint;
  private listener: Server | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private containerTimer: NodeJS.Timeout | undefined;
  private snapshotting = false;
  private stopped = false;
  private fatalError: Error | undefined;
  private readonly startedAt = Date.now();
  private readonly fatalListeners = new Set<(e: Error) => void>();

  private constructor(
    options: ZkServerOptions,
    private readonly store: TxnSnapStore,
    tree: DataTree<Connection>,
  ) {
    this.config = options.config;
    this.serverId = options.serverId ?? 0;
    this.log = options.logger ?? silentLogger;
    this.tree = tree;
    this.lastProposed = tree.lastZxid;
    // A standalone ZooKeeper server creates its session tracker with server id 1 (session ids
    // 0x01...), a quorum member with its myid.
    this.sessions = new SessionTracker(
      this.config.tickTime,
      this.serverId === 0 ? 1 : this.serverId,
      Date.now(),
    );
  }

  /** Recovers the data directory, then listens on clientPortAddress:clientPort. */
  static async start(options: ZkServerOptions): Promise<ZkServer> {
    const c = options.config;
    const log = options.logger ?? silentLogger;
    const store = await TxnSnapStore.open({
      dataDir: c.dataDir,
      dataLogDir: c.dataLogDir,
      createDirs: true,
      snapCount: c.snapCount,
      snapRetainCount: c.snapRetainCount,
      // A txn is at most one request frame plus its header: never refuse what a client may send.
      maxTxnBytes: c.juteMaxBuffer + 1024 + 4096,
      maxPendingBytes: MAX_PENDING_WRITE_BYTES * 2,
      purgeIntervalHours: c.purgeIntervalHours,
      ...(options.fs === undefined ? {} : { fs: options.fs }),
      logger: {
        info: (m) => log.info({ component: 'persistence' }, m),
        warn: (m) => log.warn({ component: 'persistence' }, m),
      },
    });
    const treeOptions = {
      enforceQuota: c.enforceQuota,
      maxDataBytes: c.juteMaxBuffer,
      extendedTypesEnabled: c.extendedTypesEnabled,
    };
    let tree = new DataTree<Connection>(treeOptions);
    const t0 = Date.now();
    const recovered = await store.recover({
      onSnapshot: async (zxid, chunks) => {
        const loader = new SnapshotLoader<Connection>(treeOptions);
        for await (const chunk of chunks) loader.push(chunk);
        tree = loader.finish();
        log.info({ zxid: `0x${zxid.toString(16)}` }, 'loaded snapshot');
      },
      onTxn: (zxid, payload) => {
        const { time, txn } = decodeLogRecord(payload);
        tree.apply(txn, zxid, time);
      },
    });
    log.info(
      {
        lastZxid: `0x${recovered.lastZxid.toString(16)}`,
        txns: recovered.txnCount,
        ms: Date.now() - t0,
        tornTail: recovered.tornTail,
      },
      'recovered data directory',
    );
    const server = new ZkServer(options, store, tree);
    server.restoreSessions();
    await server.listen();
    return server;
  }

  /** The address the server listens on. */
  address(): { host: string; port: number } {
    const a = this.listener?.address();
    if (a === null || a === undefined || typeof a === 'string') {
      return { host: this.config.clientPortAddress, port: this.config.clientPort };
    }
    return { host: a.address, port: a.port };
  }

  /** Called when the txn log fails: the server stops serving rather than acknowledge what it cannot keep. */
  onFatal(listener: (e: Error) => void): void {
    this.fatalListeners.add(listener);
  }

  private restoreSessions(): void {
    const now = Date.now();
    for (const [id, timeout] of this.tree.getSessions()) this.sessions.add(id, timeout, now);
  }

  private listen(): Promise<void> {
    const srv = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.listener = srv;
    srv.maxConnections = this.config.maxCnxns > 0 ? this.config.maxCnxns : srv.maxConnections;
    return new Promise((resolve, reject) => {
      srv.once('error', (e) =>
        reject(
          new ServerError(
            'startup',
            `cannot listen on ${this.config.clientPortAddress}:${this.config.clientPort}: ${e.message}`,
          ),
        ),
      );
      srv.listen(this.config.clientPort, this.config.clientPortAddress, () => {
        srv.removeAllListeners('error');
        srv.on('error', (e) => this.log.error({ err: e.message }, 'listener error'));
        this.startTimers();
        this.log.info(this.address(), 'serving clients');
        resolve();
      });
    });
  }

  private startTimers(): void {
    const tick = () => {
      this.expireSessions();
      this.tickTimer = setTimeout(tick, Math.max(1, this.sessions.waitTime(Date.now())));
    };
    this.tickTimer = setTimeout(tick, this.config.tickTime);
    this.containerTimer = setInterval(() => this.expireContainers(), this.config.containerCheckIntervalMs);
    this.containerTimer.unref();
    this.store.onSnapshotDue(() => void this.takeSnapshot());
    // Autopurge (autopurge.purgeInterval) runs inside the txn log store.
  }

  /** Stops listening, closes every connection and the txn log. Sessions survive on disk. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.tickTimer);
    clearInterval(this.containerTimer);
    for (const c of this.connections) c.close('server shutting down');
    await new Promise<void>((resolve) => (this.listener ? this.listener.close(() => resolve()) : resolve()));
    // Let in-flight appends finish so their replies are not lost for nothing.
    await this.store.close().catch(() => {});
  }

  // ------------------------------------------------------------------ connections

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const conn = new Connection(
      socket,
      {
        maxFrameSize: this.config.juteMaxBuffer + 1024,
        maxOutputBytes: this.config.maxResponseBufferBytes,
        maxInFlight: 1000,
      },
      (n) => {
        this.counters.packetsSent += n;
      },
    );
    if (this.stopped || this.fatalError !== undefined) {
      socket.destroy();
      return;
    }
    const perIp = this.perIp.get(conn.ip) ?? 0;
    if (this.config.maxClientCnxns > 0 && perIp >= this.config.maxClientCnxns) {
      this.counters.connectionRejected++;
      this.log.warn(
        { ip: conn.ip, max: this.config.maxClientCnxns },
        `Too many connections from ${conn.remote} - max is ${this.config.maxClientCnxns}`,
      );
      socket.destroy();
      return;
    }
    this.perIp.set(conn.ip, perIp + 1);
    this.connections.add(conn);
    if (this.holding) conn.hold(true);
    conn.onClosed = (c) => this.onConnectionClosed(c);
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', () => conn.close('socket error'));
    socket.on('close', () => conn.close('socket closed'));
    // A client must say something before the session timeout bound; an idle handshake is dropped.
    setTimeout(() => {
      if (conn.phase === 'new' || conn.phase === 'handshake') conn.close('no handshake');
    }, this.config.maxSessionTimeout).unref();
  }

  private onConnectionClosed(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    const n = (this.perIp.get(conn.ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(conn.ip);
    else this.perIp.set(conn.ip, n);
    this.tree.watches.removeWatcher(conn);
    if (conn.sessionId !== 0n && this.sessionConns.get(conn.sessionId) === conn) {
      this.sessionConns.delete(conn.sessionId);
    }
    this.log.debug({ remote: conn.remote, reason: conn.closeReason }, 'connection closed');
  }

  private onData(conn: Connection, chunk: Buffer): void {
    if (!conn.isOpen) return;
    this.counters.bytesReceived += chunk.length;
    if (conn.phase === 'new') {
      const head = conn.pendingPrefix === undefined ? chunk : Buffer.concat([conn.pendingPrefix, chunk]);
      if (head.length < 4) {
        conn.pendingPrefix = head;
        return;
      }
      conn.pendingPrefix = undefined;
      const word = head.subarray(0, 4).toString('latin1');
      if (FOUR_LETTER.test(word)) {
        // As ZooKeeper lists the connection answering a word: one packet received, not reading.
        conn.received = 1;
        conn.answeringWord = true;
        const answer = answerFourLetterWord(word, this.config.fourLetterWords, this.fourLetterSource());
        conn.answeringWord = false;
        if (answer === undefined) conn.received = 0;
        else {
          conn.write(Buffer.from(answer, 'utf8'));
          conn.close('four-letter word');
          return;
        }
      }
      conn.phase = 'handshake';
      chunk = head;
    }
    let frames: Buffer[];
    try {
      frames = conn.reader.push(chunk);
    } catch (e) {
      if (e instanceof CodecError && e.kind === 'frame-too-large') this.counters.largeRequestsRejected++;
      this.log.warn({ remote: conn.remote, err: (e as Error).message }, 'closing connection: bad frame');
      conn.close((e as Error).message);
      return;
    }
    for (const frame of frames) {
      if (!conn.isOpen) return;
      conn.received++;
      this.counters.packetsReceived++;
      try {
        if (conn.phase === 'handshake') this.onConnectRequest(conn, frame);
        else this.onRequest(conn, frame);
      } catch (e) {
        if (e instanceof CodecError) {
          this.log.warn({ remote: conn.remote, err: e.message }, 'closing connection: undecodable request');
          conn.close(e.message);
          return;
        }
        throw e;
      }
    }
  }

  // ------------------------------------------------------------------ sessions

  private onConnectRequest(conn: Connection, frame: Buffer): void {
    const req: ConnectRequest = decodeConnectRequest(frame);
    conn.oldClient = req.readOnly === undefined;
    conn.phase = 'session';
    if (req.lastZxidSeen > this.tree.lastZxid) {
      this.log.info(
        {
          remote: conn.remote,
          clientZxid: `0x${req.lastZxidSeen.toString(16)}`,
          lastZxid: `0x${this.tree.lastZxid.toString(16)}`,
        },
        'Refusing session request: client has seen a newer zxid; client must try another server',
      );
      conn.close('client zxid ahead of server');
      return;
    }
    const timeout = negotiateSessionTimeout(this.config, req.timeOut);
    if (req.sessionId !== 0n) {
      const known = this.sessions.get(req.sessionId);
      const valid = known !== undefined && !known.closing && checkPassword(req.sessionId, req.passwd);
      if (!valid) {
        this.log.info(
          { remote: conn.remote, session: `0x${BigInt.asUintN(64, req.sessionId).toString(16)}` },
          'Invalid session, probably expired',
        );
        this.sendConnectResponse(conn, 0, 0n);
        conn.close('invalid session');
        return;
      }
      const previous = this.sessionConns.get(req.sessionId);
      if (previous !== undefined && previous !== conn) previous.close('session moved to a new connection');
      known.timeoutMs = timeout;
      this.sessions.touch(req.sessionId, Date.now());
      this.bindSession(conn, req.sessionId, timeout);
      this.sendConnectResponse(conn, timeout, req.sessionId);
      return;
    }
    const id = this.sessions.allocateId();
    conn.sessionId = id;
    conn.sessionTimeoutMs = timeout;
    this.submitWrite(conn, id, 0, { type: 'createSession', timeout }, (result) => {
      if (!conn.isOpen) return;
      if (result.err !== 0) {
        this.sendConnectResponse(conn, 0, 0n);
        conn.close('session could not be created');
        return;
      }
      this.sessions.add(id, timeout, Date.now());
      this.bindSession(conn, id, timeout);
      this.sendConnectResponse(conn, timeout, id);
      this.log.info(
        { remote: conn.remote, session: `0x${BigInt.asUintN(64, id).toString(16)}`, timeout },
        'session established',
      );
    });
  }

  private bindSession(conn: Connection, id: bigint, timeout: number): void {
    conn.sessionId = id;
    conn.sessionTimeoutMs = timeout;
    this.sessionConns.set(id, conn);
  }

  private sendConnectResponse(conn: Connection, timeout: number, id: bigint): void {
    const body = encodeConnectResponse({
      protocolVersion: 0,
      timeOut: timeout,
      sessionId: id,
      passwd: id === 0n ? new Uint8Array(16) : sessionPassword(id),
      readOnly: conn.oldClient ? undefined : false,
    });
    const framed = Buffer.allocUnsafe(4 + body.length);
    framed.writeInt32BE(body.length, 0);
    body.copy(framed, 4);
    conn.write(framed);
  }

  private expireSessions(): void {
    if (this.stopped) return;
    for (const s of this.sessions.expire(Date.now())) {
      this.log.info(
        { session: `0x${BigInt.asUintN(64, s.id).toString(16)}`, timeout: s.timeoutMs },
        'Expiring session, timeout exceeded',
      );
      this.closeSession(s.id, undefined);
    }
  }

  /** closeSession as a txn: deletes the session's ephemerals, then forgets the session. */
  private closeSession(
    id: bigint,
    conn: Connection | undefined,
    cxid = 0,
    onDone?: (r: ApplyResult<Connection>) => void,
  ): void {
    this.sessions.setClosing(id);
    this.submitWrite(conn, id, cxid, { type: 'closeSession' }, (result) => {
      this.sessions.remove(id);
      const c = this.sessionConns.get(id);
      if (onDone !== undefined) onDone(result);
      if (c !== undefined && c !== conn) c.close('session expired');
      this.sessionConns.delete(id);
    });
  }

  // ------------------------------------------------------------------ write path

  private submitWrite(
    conn: Connection | undefined,
    sessionId: bigint,
    cxid: number,
    request: TreeRequest,
    onApplied: (result: ApplyResult<Connection>) => void,
  ): void {
    const zxid = this.lastProposed + 1n;
    const time = BigInt(Date.now());
    const { txn } = this.tree.prep(request, {
      sessionId,
      authIds: conn?.authIds ?? [],
      zxid,
      time,
      cxid,
    });
    this.lastProposed = zxid;
    const record = encodeLogRecord(time, txn);
    const entry: PendingTxn = { zxid, time, txn, durable: false, onApplied, bytes: record.length };
    this.pending.push(entry);
    this.pendingBytes += record.length;
    if (
      !this.holding &&
      (this.pendingBytes > MAX_PENDING_WRITE_BYTES || this.pending.length > MAX_PENDING_WRITES)
    ) {
      this.setHold(true);
    }
    const t0 = Date.now();
    this.store.append(zxid, record).then(
      () => {
        this.counters.fsyncTime.record(Date.now() - t0);
        entry.durable = true;
        this.scheduleApply();
      },
      (e: Error) => this.fail(e),
    );
  }

  /**
   * Applies durable txns on the next turn rather than in the log's completion: the log issues
   * its next write and fsync first, so applying one batch overlaps with the disk work of the next.
   */
  private scheduleApply(): void {
    if (this.applyScheduled) return;
    this.applyScheduled = true;
    setImmediate(() => {
      this.applyScheduled = false;
      this.applyDurable();
    });
  }

  private applyScheduled = false;

  private applyDurable(): void {
    while (this.pending.length > 0 && (this.pending[0] as PendingTxn).durable) {
      const e = this.pending.shift() as PendingTxn;
      this.pendingBytes -= e.bytes;
      const result = this.tree.apply(e.txn, e.zxid, e.time);
      this.counters.commitCount++;
      this.deliver(result.notifications);
      e.onApplied(result);
    }
    if (
      this.holding &&
      this.pendingBytes <= MAX_PENDING_WRITE_BYTES / 2 &&
      this.pending.length <= MAX_PENDING_WRITES / 2
    ) {
      this.setHold(false);
    }
  }

  private setHold(on: boolean): void {
    this.holding = on;
    for (const c of this.connections) c.hold(on);
    this.log.warn(
      { pendingWrites: this.pending.length, pendingBytes: this.pendingBytes },
      on ? 'too many writes waiting for the disk: not reading from clients' : 'resuming reading from clients',
    );
  }

  private fail(e: Error): void {
    if (this.fatalError !== undefined) return;
    this.fatalError = e;
    this.log.error({ err: e.message }, 'txn log failed: no further writes can be made durable; stopping');
    this.pending.length = 0;
    for (const c of this.connections) c.close('server stopped after a storage failure');
    for (const l of this.fatalListeners) l(e);
  }

  private deliver(notes: readonly WatchNotification<Connection>[]): void {
    for (const n of notes) {
      const conn = n.watcher;
      if (!conn.isOpen) continue;
      conn.write(
        encodeResponseFrame(
          { xid: Xid.notification, zxid: -1n, err: 0 },
          { type: 'notification', event: { type: n.type, state: KeeperState.SyncConnected, path: n.path } },
        ),
      );
    }
  }

  private async takeSnapshot(): Promise<void> {
    if (this.snapshotting || this.stopped) return;
    this.snapshotting = true;
    try {
      const stream = snapshotTree(this.tree);
      const info = await this.store.writeSnapshot(stream.zxid, stream);
      this.log.info({ zxid: `0x${info.zxid.toString(16)}`, ms: info.durationMs }, 'snapshot written');
    } catch (e) {
      this.log.warn({ err: String(e) }, 'snapshot failed');
    } finally {
      this.snapshotting = false;
    }
  }

  private expireContainers(): void {
    if (this.stopped || this.fatalError !== undefined) return;
    const due = this.tree.expiredNodes(BigInt(Date.now()));
    for (const path of due.slice(0, this.config.containerMaxPerMinute)) {
      this.submitWrite(undefined, 0n, 0, { type: 'deleteContainer', path }, (r) => {
        if (r.err === 0) this.log.info({ path }, 'deleted expired container or TTL node');
      });
    }
  }

  // ------------------------------------------------------------------ requests

  private reply(header: ReplyHeader, response: Response | null): Buffer {
    return encodeResponseFrame(header, response);
  }

  private errorReply(xid: number, err: number): Buffer {
    return this.reply({ xid, zxid: this.tree.lastZxid, err }, null);
  }

  private onRequest(conn: Connection, frame: Buffer): void {
    let decoded: ReturnType<typeof decodeRequest>;
    try {
      decoded = decodeRequest(frame);
    } catch (e) {
      if (e instanceof CodecError && e.kind === 'unknown-opcode' && frame.length >= 8) {
        // As ZooKeeper: Unimplemented, then the connection is closed.
        const xid = frame.readInt32BE(0);
        conn.write(this.errorReply(xid, ErrorCode.Unimplemented));
        conn.close('unknown opcode');
        return;
      }
      if (
        e instanceof CodecError &&
        frame.length >= 8 &&
        conn.sessionId !== 0n &&
        frame.readInt32BE(4) !== AUTH_OPCODE
      ) {
        // A readable header with a body that does not decode: as ZooKeeper, a MarshallingError
        // reply in order, and the connection stays open (only an undecodable header closes it).
        const xid = frame.readInt32BE(0);
        this.log.warn({ remote: conn.remote, err: e.message }, 'undecodable request body');
        conn.enqueueRead('NA', () => this.errorReply(xid, ErrorCode.MarshallingError));
        return;
      }
      throw e;
    }
    const { header, request } = decoded;
    if (conn.sessionId === 0n) {
      // The handshake has not finished (createSession not yet durable): requests wait behind it.
      conn.close('request before the session was established');
      return;
    }
    this.sessions.touch(conn.sessionId, Date.now());
    if (header.xid >= 0) conn.lastCxid = header.xid;
    const xid = header.xid;
    const op = OP_NAMES[request.type] ?? request.type.toUpperCase().slice(0, 4);
    switch (request.type) {
      case 'auth':
        this.onAuth(conn, xid, request.scheme, request.auth);
        return;
      case 'ping':
        conn.enqueueRead(op, () => this.reply({ xid: Xid.ping, zxid: this.tree.lastZxid, err: 0 }, null));
        return;
      case 'closeSession': {
        const slot = conn.enqueueWrite(op);
        this.closeSession(conn.sessionId, conn, xid, () =>
          slot.complete(this.reply({ xid, zxid: this.tree.lastZxid, err: 0 }, null), true),
        );
        return;
      }
      case 'create':
      case 'create2':
      case 'createContainer':
      case 'createTTL':
      case 'delete':
      case 'deleteContainer':
      case 'setData':
      case 'setACL':
      case 'check':
      case 'multi':
        this.onWrite(conn, xid, op, request);
        return;
      case 'reconfig':
        conn.enqueueRead(op, () => this.errorReply(xid, ErrorCode.ReconfigDisabled));
        return;
      case 'sasl':
        conn.enqueueRead(op, () => this.errorReply(xid, ErrorCode.Unimplemented));
        return;
      case 'exists':
      case 'getData':
      case 'getACL':
      case 'getChildren':
      case 'getChildren2':
      case 'getAllChildrenNumber':
      case 'getEphemerals':
      case 'sync':
      case 'multiRead':
      case 'setWatches':
      case 'setWatches2':
      case 'addWatch':
      case 'checkWatches':
      case 'removeWatches':
      case 'whoAmI':
        conn.enqueueRead(op, () => this.read(conn, xid, request));
        return;
      default: {
        const never: never = request;
        throw new ServerError('protocol', `unhandled request ${(never as Request).type}`);
      }
    }
  }

  private onAuth(conn: Connection, xid: number, scheme: string, auth: Uint8Array): void {
    if (scheme === 'digest') {
      const text = Buffer.from(auth).toString('utf8');
      for (const id of digestAuthIds(text, this.config.superDigest)) {
        if (!conn.authIds.some((a) => a.scheme === id.scheme && a.id === id.id)) conn.authIds.push(id);
      }
      // The reply echoes the request's xid (clients send -4), as ZooKeeper's.
      conn.write(this.reply({ xid, zxid: 0n, err: 0 }, null));
      return;
    }
    // Unknown scheme (or one zkts does not provide): AuthFailed, and the connection is closed.
    this.counters.authFailedCount++;
    this.log.warn({ remote: conn.remote, scheme }, 'authentication failed: no provider for scheme');
    conn.write(this.reply({ xid, zxid: 0n, err: ErrorCode.AuthFailed }, null));
    conn.close('auth failed');
  }

  private onWrite(conn: Connection, xid: number, op: string, request: Request): void {
    const slot = conn.enqueueWrite(op);
    // ZooKeeper reads a client's deleteContainer body as raw bytes, which never make a valid path:
    // the request becomes an error txn (BadArguments). Only the server deletes containers.
    const treeRequest: TreeRequest | undefined =
      request.type === 'deleteContainer' ? { type: 'deleteContainer', path: '' } : toTreeRequest(request);
    if (treeRequest === undefined) {
      slot.complete(this.errorReply(xid, ErrorCode.BadArguments));
      return;
    }
    const t0 = Date.now();
    this.submitWrite(conn, conn.sessionId, xid, treeRequest, (result) => {
      this.counters.updateLatency.record(Date.now() - t0);
      this.counters.latency.record(Date.now() - t0);
      conn.lastZxid = result.zxid;
      if (request.type === 'check' && result.err === 0) {
        // A check outside multi has no reply ZooKeeper can write (a SetDataResponse without a
        // stat): it closes the connection once the txn is applied.
        slot.complete(undefined, true);
        return;
      }
      let reply: Buffer;
      try {
        reply = this.writeReply(xid, request, result);
      } catch (e) {
        // A reply that cannot be built ends this connection, never the server.
        this.log.error({ remote: conn.remote, op, err: (e as Error).message }, 'cannot build reply');
        slot.complete(undefined, true);
        return;
      }
      slot.complete(reply);
    });
  }

  private writeReply(xid: number, request: Request, result: TxnResult): Buffer {
    const zxid = this.tree.lastZxid;
    if (request.type === 'multi') {
      const results: MultiResult[] = (result.results ?? []).map((r, i) => multiResult(request.ops[i], r));
      if (result.err !== 0 && results.length === 0) return this.errorReply(xid, result.err);
      return this.reply({ xid, zxid, err: 0 }, { type: 'multi', results });
    }
    if (result.err !== 0) return this.errorReply(xid, result.err);
    switch (request.type) {
      case 'create':
        return this.reply({ xid, zxid, err: 0 }, { type: 'create', path: result.path ?? request.path });
      case 'create2':
      case 'createContainer':
      case 'createTTL':
        return this.reply(
          { xid, zxid, err: 0 },
          { type: request.type, path: result.path ?? request.path, stat: result.stat ?? missingStat() },
        );
      case 'delete':
      case 'deleteContainer':
        return this.reply({ xid, zxid, err: 0 }, null);
      case 'setData':
      case 'setACL':
      case 'check':
        return this.reply({ xid, zxid, err: 0 }, { type: request.type, stat: result.stat ?? missingStat() });
      default:
        return this.errorReply(xid, ErrorCode.SystemError);
    }
  }

  /** Runs a read (or watch bookkeeping) against the tree and builds its reply. */
  private read(conn: Connection, xid: number, request: Request): Buffer {
    const t0 = Date.now();
    const ctx = { authIds: conn.authIds };
    const watchCtx = (watch: boolean) => (watch ? { authIds: conn.authIds, watcher: conn } : ctx);
    const ok = (response: Response | null): Buffer => {
      this.counters.readLatency.record(Date.now() - t0);
      this.counters.latency.record(Date.now() - t0);
      return this.reply({ xid, zxid: this.tree.lastZxid, err: 0 }, response);
    };
    try {
      switch (request.type) {
        case 'exists': {
          const stat = this.tree.exists(request.path, watchCtx(request.watch));
          if (stat === null) return this.errorReply(xid, ErrorCode.NoNode);
          return ok({ type: 'exists', stat });
        }
        case 'getData': {
          const { data, stat } = this.tree.getData(request.path, watchCtx(request.watch));
          return ok({ type: 'getData', data, stat });
        }
        case 'getACL': {
          const { acl, stat } = this.tree.getACL(request.path, ctx);
          return ok({ type: 'getACL', acl, stat });
        }
        case 'getChildren': {
          const { children } = this.tree.getChildren(request.path, watchCtx(request.watch));
          return ok({ type: 'getChildren', children });
        }
        case 'getChildren2': {
          const { children, stat } = this.tree.getChildren(request.path, watchCtx(request.watch));
          return ok({ type: 'getChildren2', children, stat });
        }
        case 'getAllChildrenNumber':
          return ok({
            type: 'getAllChildrenNumber',
            totalNumber: this.tree.getAllChildrenNumber(request.path, ctx),
          });
        case 'getEphemerals':
          return ok({
            type: 'getEphemerals',
            ephemerals: this.tree.getEphemerals(conn.sessionId, request.prefixPath),
          });
        case 'sync':
          return ok({ type: 'sync', path: request.path });
        case 'multiRead': {
          const results: MultiReadResult[] = request.ops.map((o): MultiReadResult => {
            try {
              if (o.type === 'getData') {
                const { data, stat } = this.tree.getData(o.path, watchCtx(o.watch));
                return { type: 'getData', data, stat };
              }
              return {
                type: 'getChildren',
                children: this.tree.getChildren(o.path, watchCtx(o.watch)).children,
              };
            } catch (e) {
              if (e instanceof TreeError) return { type: 'error', err: e.code };
              throw e;
            }
          });
          return ok({ type: 'multiRead', results });
        }
        case 'setWatches':
        case 'setWatches2': {
          const notes = this.tree.setWatches(
            request.relativeZxid,
            {
              dataWatches: request.dataWatches,
              existWatches: request.existWatches,
              childWatches: request.childWatches,
              ...(request.type === 'setWatches2'
                ? {
                    persistentWatches: request.persistentWatches,
                    persistentRecursiveWatches: request.persistentRecursiveWatches,
                  }
                : {}),
            },
            conn,
          );
          this.deliver(notes);
          // The reply carries the request's xid: clients since 3.5 send setWatches with an
          // ordinary xid (not -8) and drop the connection on an out-of-order reply.
          return this.reply({ xid, zxid: this.tree.lastZxid, err: 0 }, null);
        }
        case 'addWatch':
          this.tree.addWatch(request.path, request.mode, conn);
          // ZooKeeper answers addWatch with an ErrorResponse body (err 0); the Java client reads it.
          return ok({ type: 'addWatch', err: 0 });
        case 'checkWatches':
          if (!this.tree.checkWatches(request.path, request.watcherType, conn)) {
            return this.errorReply(xid, ErrorCode.NoWatcher);
          }
          return ok(null);
        case 'removeWatches':
          if (!this.tree.removeWatches(request.path, request.watcherType, conn)) {
            return this.errorReply(xid, ErrorCode.NoWatcher);
          }
          return ok(null);
        case 'whoAmI':
          return ok({
            type: 'whoAmI',
            // As ZooKeeper's providers name users: a digest id is `user:hash`, the user is its first part.
            clientInfo: conn.authIds.map((id) => ({
              authScheme: id.scheme,
              user: id.scheme === 'digest' ? (id.id.split(':')[0] ?? '') : id.id,
            })),
          });
        default:
          return this.errorReply(xid, ErrorCode.Unimplemented);
      }
    } catch (e) {
      if (e instanceof TreeError) return this.errorReply(xid, e.code);
      throw e;
    }
  }

  // ------------------------------------------------------------------ four-letter words

  private connectionInfos(): ConnectionInfo[] {
    return [...this.connections].map((c) => ({
      remote: c.remote,
      interest: c.answeringWord || c.readingPaused ? 0 : 1,
      queued: c.inFlight,
      received: c.received,
      sent: c.sent,
      sessionId: c.sessionId,
      lastOperation: c.lastOperation,
      establishedMs: c.established,
      sessionTimeoutMs: c.sessionTimeoutMs,
      lastCxid: c.lastCxid,
      lastZxid: c.lastZxid,
      lastResponseMs: c.lastResponseMs,
      lastLatencyMs: c.lastLatencyMs,
      minLatencyMs: c.latency.minOrZero,
      avgLatencyMs: c.latency.avg,
      maxLatencyMs: c.latency.max,
    }));
  }

  private watchesBySession(): Map<bigint, string[]> {
    const out = new Map<bigint, string[]>();
    for (const c of this.connections) {
      const w = this.tree.watches.watchedPaths(c);
      const paths = [...new Set([...w.data, ...w.child])];
      if (paths.length > 0) out.set(c.sessionId, paths);
    }
    return out;
  }

  /** Monitor values (`mntr`), ZooKeeper's names without the zk_ prefix. */
  monitorValues(): Array<[string, string | number | bigint]> {
    const c = this.counters;
    const ephemerals = this.tree.ephemeralCount;
    // As ZooKeeper's watch_count: data and child watches counted apart.
    let watches = 0;
    for (const c of this.connections) {
      const w = this.tree.watches.watchedPaths(c);
      watches += w.data.length + w.child.length;
    }
    return [
      ['version', ZKTS_VERSION],
      ['server_state', 'standalone'],
      ['ephemerals_count', ephemerals],
      ['num_alive_connections', this.connections.size],
      ['avg_latency', c.latency.avg],
      ['outstanding_requests', this.pending.length],
      ['znode_count', this.tree.nodeCount + 1],
      ['global_sessions', this.sessions.size],
      ['packets_sent', c.packetsSent],
      ['packets_received', c.packetsReceived],
      ['watch_count', watches],
      ['auth_failed_count', c.authFailedCount],
      ['min_latency', c.latency.minOrZero],
      ['max_latency', c.latency.max],
      ['approximate_data_size', this.tree.approximateDataSize()],
      ['uptime', Date.now() - this.startedAt],
      ['local_sessions', 0],
      ['connection_rejected', c.connectionRejected],
      ['large_requests_rejected', c.largeRequestsRejected],
      ['bytes_received_count', c.bytesReceived],
      ['commit_count', c.commitCount],
      ['looking_count', 0],
      ['diff_count', 0],
      ['snap_count', 0],
      ['avg_fsynctime', c.fsyncTime.avg],
      ['min_fsynctime', c.fsyncTime.minOrZero],
      ['max_fsynctime', c.fsyncTime.max],
      ['cnt_fsynctime', c.fsyncTime.count],
      ['avg_readlatency', c.readLatency.avg],
      ['cnt_readlatency', c.readLatency.count],
      ['avg_updatelatency', c.updateLatency.avg],
      ['cnt_updatelatency', c.updateLatency.count],
    ];
  }

  /** Live figures for four-letter words and operations tooling (AdminServer, metrics). */
  fourLetterSource(): FourLetterSource {
    const c = this.counters;
    const cfg = this.config;
    return {
      serving: !this.stopped && this.fatalError === undefined,
      mode: 'standalone',
      readOnly: false,
      latency: { min: c.latency.minOrZero, avg: c.latency.avg, max: c.latency.max },
      packetsReceived: c.packetsReceived,
      packetsSent: c.packetsSent,
      outstandingRequests: this.pending.length,
      lastZxid: this.tree.lastZxid,
      // ZooKeeper's DataTree indexes the root under both "" and "/", so its node count (srvr, mntr)
      // is one more than the znodes; operators' dashboards compare against that figure.
      nodeCount: this.tree.nodeCount + 1,
      connections: () => this.connectionInfos(),
      monitor: () => this.monitorValues(),
      configuration: () => [
        ['clientPort', cfg.clientPort],
        ['secureClientPort', -1],
        ['dataDir', cfg.dataDir],
        ['dataDirSize', directorySize(cfg.dataDir)],
        ['dataLogDir', cfg.dataLogDir],
        ['dataLogSize', directorySize(cfg.dataLogDir)],
        ['tickTime', cfg.tickTime],
        ['maxClientCnxns', cfg.maxClientCnxns],
        ['minSessionTimeout', cfg.minSessionTimeout],
        ['maxSessionTimeout', cfg.maxSessionTimeout],
        ['clientPortListenBacklog', -1],
        ['serverId', this.serverId],
      ],
      environment: () => [
        ['zookeeper.version', ZKTS_VERSION],
        ['host.name', hostname()],
        ['node.version', process.version],
        ['os.name', process.platform],
        ['os.arch', process.arch],
        ['user.dir', process.cwd()],
        [
          'os.memory.free',
          `${Math.round((process.memoryUsage().heapTotal - process.memoryUsage().heapUsed) / 1048576)}MB`,
        ],
        ['os.memory.total', `${Math.round(process.memoryUsage().rss / 1048576)}MB`],
      ],
      watchesBySession: () => this.watchesBySession(),
      ephemeralsBySession: () => {
        const out = new Map<bigint, string[]>();
        for (const id of this.tree.getSessions().keys()) {
          const e = this.tree.getEphemerals(id);
          if (e.length > 0) out.set(id, e);
        }
        return out;
      },
      sessionBuckets: () => {
        const byBucket = new Map<number, Array<{ id: bigint; timeoutMs: number }>>();
        for (const s of this.sessions.all()) {
          const list = byBucket.get(s.expiresAt) ?? [];
          list.push({ id: s.id, timeoutMs: s.timeoutMs });
          byBucket.set(s.expiresAt, list);
        }
        return [...byBucket.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([expiresAtMs, sessions]) => ({ expiresAtMs, sessions }));
      },
      // Walked only when a word (dirs) reads them.
      get dataDirSize() {
        return directorySize(cfg.dataDir);
      },
      get dataLogDirSize() {
        return directorySize(cfg.dataLogDir);
      },
      resetConnectionStats: () => {
        for (const conn of this.connections) conn.resetStats();
      },
      resetServerStats: () => c.reset(),
    };
  }
}

/** Bytes of the files in a directory and its subdirectories (`dirs`, `conf`), 0 if unreadable. */
function directorySize(dir: string): number {
  let total = 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) total += directorySize(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  } catch {
    return total;
  }
  return total;
}

function missingStat(): never {
  throw new ServerError('protocol', 'the tree returned no stat for a successful write');
}

/** Maps a codec write request to the tree's request. */
function toTreeRequest(r: Request): TreeRequest | undefined {
  switch (r.type) {
    case 'create':
    case 'create2':
      return { type: 'create', path: r.path, data: r.data ?? new Uint8Array(0), acl: r.acl, flags: r.flags };
    case 'createContainer':
      return {
        type: 'create',
        path: r.path,
        data: r.data ?? new Uint8Array(0),
        acl: r.acl,
        flags: CreateMode.CONTAINER,
      };
    case 'createTTL':
      return {
        type: 'create',
        path: r.path,
        data: r.data ?? new Uint8Array(0),
        acl: r.acl,
        flags: r.flags,
        ttl: r.ttl,
      };
    case 'delete':
      return { type: 'delete', path: r.path, version: r.version };
    case 'deleteContainer':
      return { type: 'deleteContainer', path: r.path };
    case 'setData':
      return { type: 'setData', path: r.path, data: r.data ?? new Uint8Array(0), version: r.version };
    case 'setACL':
      return { type: 'setACL', path: r.path, acl: r.acl as ACL[], version: r.version };
    case 'check':
      return { type: 'check', path: r.path, version: r.version };
    case 'multi': {
      const ops: TreeMultiOp[] = [];
      for (const op of r.ops) {
        const t = toTreeRequest(op);
        if (t === undefined || t.type === 'multi' || t.type === 'deleteContainer' || t.type === 'setACL')
          return undefined;
        if (t.type === 'createSession' || t.type === 'closeSession') return undefined;
        ops.push(t);
      }
      return { type: 'multi', ops };
    }
    default:
      return undefined;
  }
}

function multiResult(op: Request | undefined, r: TxnResult): MultiResult {
  if (r.err !== 0 || r.type === 'error') return { type: 'error', err: r.err };
  switch (r.type) {
    case 'create':
    case 'createContainer':
    case 'createTTL':
      if (op?.type === 'create') return { type: 'create', path: r.path ?? '' };
      return { type: 'create2', path: r.path ?? '', stat: r.stat ?? missingStat() };
    case 'delete':
    case 'deleteContainer':
      return { type: 'delete' };
    case 'setData':
      return { type: 'setData', stat: r.stat ?? missingStat() };
    case 'check':
      return { type: 'check' };
    default:
      return { type: 'error', err: ErrorCode.SystemError };
  }
}
