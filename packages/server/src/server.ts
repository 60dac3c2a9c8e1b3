/**
 * The standalone zkts server: the client protocol of Apache ZooKeeper 3.8 over TCP, composed from
 * the codec, the data tree and the txn log.
 *
 * The write path: prep against the tree (plus not-yet-applied changes) -> append to the txn log
 * (group commit) -> once durable, apply in zxid order -> watch notifications -> the reply. Reads
 * run against the tree at once unless a write of the same connection is still in flight.
 *
 * As an ensemble member (`server.N` lines), the write path goes through @zkts/quorum instead: the
 * leader preps (its own clients' requests and those its learners forward) and proposes through
 * Zab; every member applies committed txns in zxid order and answers its own clients.
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
import { type ForwardedAction, QuorumError, QuorumPeer, type RoleChange } from '@zkts/quorum';
import { negotiateSessionTimeout, readMyId, type ServerConfig } from './config.js';
import { Connection } from './connection.js';
import {
  type AuthId,
  decodeLearnerMessage,
  decodeQuorumRecord,
  encodeLearnerMessage,
  encodeQuorumRecord,
  isEnsembleConfig,
  type LearnerMessage,
  MAX_TOUCHES_PER_MESSAGE,
  memberClientAddress,
  type QuorumRecord,
  toEnsembleConfig,
} from './ensemble.js';
import { ServerError } from './errors.js';
import {
  answerFourLetterWord,
  type ConnectionInfo,
  type FourLetterSource,
  type ServerMode,
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
  /**
   * Server id (myid); 0 for a standalone server without one, as ZooKeeper. An ensemble member
   * reads it from `myid` in dataDir when not given.
   */
  serverId?: number;
  logger?: ServerLogger;
  /** File-system seam for the txn log and snapshots (tests inject faults). */
  fs?: FileSystem;
}

interface PendingTxn {
  zxid: bigint;
  time: bigint;
  txn: Txn;
  bytes: number;
  onApplied: (result: ApplyResult<Connection>) => void;
}

/** Bytes of the log record: the txn's wall time, then the txn. */
function encodeLogRecord(time: bigint, txn: Txn): Uint8Array {
  const out = encodeTxn(txn, 8);
  const t = Number(time);
  if (t >= 0 && t <= Number.MAX_SAFE_INTEGER) {
    // Written byte by byte: a DataView per record showed in profiles of the write path.
    const hi = Math.floor(t / 4294967296);
    const lo = t - hi * 4294967296;
    out[0] = hi >>> 24;
    out[1] = hi >>> 16;
    out[2] = hi >>> 8;
    out[3] = hi;
    out[4] = lo >>> 24;
    out[5] = lo >>> 16;
    out[6] = lo >>> 8;
    out[7] = lo;
  } else new DataView(out.buffer, out.byteOffset, 8).setBigInt64(0, time);
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

/** Results of this member's replicated txns kept until their writer collects them. */
const MAX_UNCLAIMED_RESULTS = 100_000;

type TreeOptions = ConstructorParameters<typeof DataTree<Connection>>[0];

export class ZkServer {
  readonly config: ServerConfig;
  readonly serverId: number;
  private _tree: DataTree<Connection>;
  readonly counters = new ServerCounters();
  private readonly log: ServerLogger;
  private readonly sessions: SessionTracker;
  private readonly sessionConns = new Map<bigint, Connection>();
  private readonly connections = new Set<Connection>();
  private readonly perIp = new Map<string, number>();
  /** Standalone writes waiting for the log, oldest first from `pendingHead` on. */
  private readonly pending: (PendingTxn | undefined)[] = [];
  private pendingHead = 0;
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
  // Ensemble member only:
  private peer: QuorumPeer | undefined;
  /** Apply results of txns this member's clients asked for, by zxid, until collected. */
  private readonly results = new Map<bigint, ApplyResult<Connection>>();
  /** Leader: the records it proposed, by zxid, so that applying them needs no decoding. */
  private readonly prepped = new Map<bigint, { payload: Uint8Array; record: QuorumRecord }>();
  /** Sessions this learner's clients touched since the last report to the leader. */
  private readonly touched = new Set<bigint>();
  private touchTimer: NodeJS.Timeout | undefined;
  private memberServing = false;
  private replicating = 0;
  private leaderSince = 0;
  /** Sizes of the proposals this member made as leader (bytes; -1 until the first). */
  private readonly proposalSizes = { last: -1, min: -1, max: -1 };

  private constructor(
    options: ZkServerOptions,
    private readonly store: TxnSnapStore,
    tree: DataTree<Connection>,
    private readonly treeOptions: TreeOptions,
  ) {
    this.config = options.config;
    this.serverId = options.serverId ?? 0;
    this.log = options.logger ?? silentLogger;
    this._tree = tree;
    this.lastProposed = tree.lastZxid;
    // A standalone ZooKeeper server creates its session tracker with server id 1 (session ids
    // 0x01...), a quorum member with its myid.
    this.sessions = new SessionTracker(
      this.config.tickTime,
      this.serverId === 0 ? 1 : this.serverId,
      Date.now(),
    );
  }

  /** The data tree (replaced as a whole when an ensemble member receives a snapshot). */
  get tree(): DataTree<Connection> {
    return this._tree;
  }

  /** `standalone`, or the member's role in its ensemble. */
  get mode(): ServerMode {
    const state = this.peer?.state;
    switch (state) {
      case undefined:
        return 'standalone';
      case 'LEADING':
        return 'leader';
      case 'FOLLOWING':
        return 'follower';
      case 'OBSERVING':
        return 'observer';
      case 'LOOKING':
        return 'looking';
      default: {
        const never: never = state;
        throw new ServerError('protocol', `unknown peer state ${String(never)}`);
      }
    }
  }

  /**
   * Recovers the data directory, then listens on clientPortAddress:clientPort. With `server.N`
   * lines (more than one, or one with standaloneEnabled=false) it starts an ensemble member: the
   * quorum recovers the data directory and elects, and clients are served once it has a leader.
   */
  static async start(options: ZkServerOptions): Promise<ZkServer> {
    const ensemble = isEnsembleConfig(options.config);
    const serverId = options.serverId ?? (ensemble ? readMyId(options.config.dataDir) : 0);
    let c = options.config;
    if (ensemble) {
      const client = memberClientAddress(c, serverId);
      c = { ...c, clientPort: client.port, clientPortAddress: client.address };
    }
    options = { ...options, config: c, serverId };
    const log = options.logger ?? silentLogger;
    const store = await TxnSnapStore.open({
      dataDir: c.dataDir,
      dataLogDir: c.dataLogDir,
      createDirs: true,
      snapCount: c.snapCount,
      forceSync: c.forceSync,
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
    if (ensemble) {
      const server = new ZkServer(options, store, new DataTree<Connection>(treeOptions), treeOptions);
      try {
        await server.startMember();
        await server.listen();
      } catch (e) {
        await server.close();
        throw e;
      }
      return server;
    }
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
    const server = new ZkServer(options, store, tree, treeOptions);
    server.followLog();
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

  // ------------------------------------------------------------------ ensemble member

  private get maxLearnerMessage(): number {
    return this.config.juteMaxBuffer + 8192;
  }

  /** Starts the quorum peer: it recovers the data directory into the tree and elects. */
  private async startMember(): Promise<void> {
    const peer = new QuorumPeer({
      config: toEnsembleConfig(this.config),
      myId: this.serverId,
      store: this.store,
      stateMachine: {
        apply: (zxid, payload) => this.applyReplicated(zxid, payload),
        snapshot: () => [...snapshotTree(this._tree)],
        // The member's own snapshots: read by the store while txns keep being applied, one
        // reused buffer for all chunks (the store is done with each before it asks for the next).
        snapshotStream: () => snapshotTree(this._tree, { lendChunks: true }),
        restore: (zxid, chunks) => this.restoreTree(zxid, chunks),
      },
      maxOutstanding: MAX_PENDING_WRITES,
      maxPendingForwards: MAX_PENDING_WRITES,
      maxPayloadBytes: this.maxLearnerMessage,
      onForwarded: (data, from) => this.onForwarded(data, from),
      log: (level, message) => this.log[level]({ component: 'quorum' }, message),
    });
    this.peer = peer;
    peer.onRoleChange((c) => this.onRoleChange(c));
    peer.onStopped((e) => this.fail(e));
    peer.onLearnerMessage((from, data) => this.onLearnerNotice(from, data));
    await peer.start();
  }

  /** A committed txn, in zxid order: applied, its watches fired, its session bookkeeping done. */
  private applyReplicated(zxid: bigint, payload: Uint8Array): void {
    const mine = this.prepped.get(zxid);
    this.prepped.delete(zxid);
    const record = mine !== undefined && mine.payload === payload ? mine.record : decodeQuorumRecord(payload);
    const result = this._tree.apply(record.txn, zxid, record.time);
    this.counters.commitCount++;
    this.deliver(result.notifications);
    this.afterApply(record.txn, result);
    // Results are claimed by this role's clients only; a member that is not serving yet (catching
    // up on its log after a restart) has none, and its results would be cleared when it starts.
    if (record.origin === this.serverId && this.memberServing) {
      if (this.results.size >= MAX_UNCLAIMED_RESULTS) {
        this.log.warn({ results: this.results.size }, 'too many uncollected write results: dropping them');
        this.results.clear();
      }
      this.results.set(zxid, result);
    }
  }

  /** The state replaced by a snapshot (recovery, or the leader's SNAP). */
  private restoreTree(zxid: bigint, chunks: readonly Uint8Array[]): void {
    const loader = new SnapshotLoader<Connection>(this.treeOptions);
    for (const chunk of chunks) loader.push(chunk);
    const tree = loader.finish();
    if (tree.lastZxid !== zxid) {
      throw new ServerError(
        'storage',
        `snapshot for 0x${zxid.toString(16)} holds the tree at 0x${tree.lastZxid.toString(16)}`,
      );
    }
    // Watches and pending results belong to the old tree: its clients must reconnect.
    for (const c of this.connections) c.close('the member loaded a new snapshot');
    this._tree = tree;
    this.results.clear();
    this.sessions.rebuild(tree.getSessions(), Date.now());
    this.log.info({ zxid: `0x${zxid.toString(16)}` }, 'loaded snapshot');
  }

  private onRoleChange(change: RoleChange): void {
    const serving = change.serving && change.role !== 'LOOKING';
    this.log.info(
      { role: change.role, leader: change.leaderId, epoch: Number(change.epoch), serving },
      'Peer state changed',
    );
    if (serving === this.memberServing) return;
    this.memberServing = serving;
    // Prepped-but-unproposed changes and uncollected results belong to the role that ended.
    this._tree.clearOutstanding();
    this.results.clear();
    this.prepped.clear();
    this.touched.clear();
    clearInterval(this.touchTimer);
    this.touchTimer = undefined;
    if (!serving) {
      // As ZooKeeper: a member without a leader serves nobody; its clients move to another member.
      for (const c of this.connections) c.close('the member is not serving: no leader');
      return;
    }
    // Every session gets a full timeout from now: nobody knows when another member last heard it.
    this.sessions.rebuild(this._tree.getSessions(), Date.now());
    if (change.role === 'LEADING') this.leaderSince = Date.now();
    else {
      this.touchTimer = setInterval(() => this.reportTouches(), Math.max(1, this.config.tickTime / 2));
      this.touchTimer.unref();
    }
  }

  /** A learner tells its leader which sessions its clients kept alive. */
  private reportTouches(): void {
    const peer = this.peer;
    if (peer === undefined || this.touched.size === 0) return;
    const ids = [...this.touched];
    this.touched.clear();
    for (let i = 0; i < ids.length; i += MAX_TOUCHES_PER_MESSAGE) {
      const sessions = ids.slice(i, i + MAX_TOUCHES_PER_MESSAGE);
      peer.tellLeader(encodeLearnerMessage({ k: 'touch', sessions }, this.maxLearnerMessage));
    }
  }

  private onLearnerNotice(from: number, data: Uint8Array): void {
    let m: LearnerMessage;
    try {
      m = decodeLearnerMessage(data, this.maxLearnerMessage);
    } catch (e) {
      this.log.warn({ from, err: (e as Error).message }, 'ignoring a malformed notice from a learner');
      return;
    }
    if (m.k !== 'touch') {
      this.log.warn({ from, kind: m.k }, 'ignoring an unexpected notice from a learner');
      return;
    }
    const now = Date.now();
    for (const id of m.sessions) this.sessions.touch(id, now);
  }

  /** Leader: a learner's forwarded request, prepped here like a local one. */
  private onForwarded(data: Uint8Array, from: number): ForwardedAction {
    const m = decodeLearnerMessage(data, this.maxLearnerMessage);
    const peer = this.peer as QuorumPeer;
    switch (m.k) {
      case 'sync':
        return { waitFor: peer.lastZxid };
      case 'touch':
        throw new QuorumError('not-ready', 'session touches are notices, not requests');
      case 'createSession':
        return this.prepReplicated(from, m.sessionId, 0, [], { type: 'createSession', timeout: m.timeout });
      case 'request': {
        const { header, request } = decodeRequest(m.frame);
        const treeRequest = treeRequestOf(request);
        if (treeRequest === undefined) throw new QuorumError('not-ready', `${request.type} is not a write`);
        this.sessions.touch(m.sessionId, Date.now());
        return this.prepReplicated(from, m.sessionId, header.xid, m.authIds, treeRequest);
      }
      default: {
        const never: never = m;
        throw new QuorumError('not-ready', `unknown learner message ${(never as LearnerMessage).k}`);
      }
    }
  }

  /**
   * Leader: preps a request into the txn of the next zxid, as a record to propose. A request of a
   * session the leader does not know (expired, closing) becomes a SessionExpired error txn.
   */
  private prepReplicated(
    origin: number,
    sessionId: bigint,
    cxid: number,
    authIds: readonly AuthId[],
    request: TreeRequest,
  ): { propose: Uint8Array; zxid: bigint; onRefused: () => void } {
    const peer = this.peer as QuorumPeer;
    const zxid = peer.nextZxid;
    if (zxid === undefined) throw new QuorumError('not-leader', 'not the established leader');
    const time = BigInt(Date.now());
    let txn: Txn;
    const known = this.sessions.get(sessionId);
    const needsSession = request.type !== 'createSession' && request.type !== 'closeSession';
    if (needsSession && sessionId !== 0n && (known === undefined || known.closing)) {
      txn = { sessionId, cxid, body: { type: 'error', err: ErrorCode.SessionExpired } };
    } else {
      try {
        txn = this._tree.prep(request, { sessionId, authIds: [...authIds], zxid, time, cxid }).txn;
      } catch (e) {
        if (e instanceof TreeError) throw new QuorumError('overloaded', e.message);
        throw e;
      }
    }
    const record: QuorumRecord = { origin, time, txn };
    const propose = encodeQuorumRecord(record);
    this.prepped.set(zxid, { payload: propose, record });
    const sizes = this.proposalSizes;
    sizes.last = propose.length;
    if (sizes.min < 0 || propose.length < sizes.min) sizes.min = propose.length;
    if (propose.length > sizes.max) sizes.max = propose.length;
    return {
      propose,
      zxid,
      // Not proposed after all: the changes prepped for it must not be seen by later preps.
      onRefused: () => {
        this.prepped.delete(zxid);
        this._tree.clearOutstanding();
      },
    };
  }

  /**
   * A write through the ensemble: prepped and proposed here when leading, forwarded otherwise.
   * `onApplied` runs once the txn is applied on this member; if the outcome cannot be known here
   * (the role ended, the leader refused) the connection is closed, as ZooKeeper closes its clients'
   * connections when it loses its leader, and the client retries elsewhere.
   */
  private submitReplicated(
    conn: Connection | undefined,
    sessionId: bigint,
    cxid: number,
    request: TreeRequest,
    forward: LearnerMessage | undefined,
    onApplied: (result: ApplyResult<Connection>) => void,
  ): void {
    const peer = this.peer as QuorumPeer;
    const done = (zxid: bigint): void => {
      this.replicating--;
      const result = this.results.get(zxid);
      this.results.delete(zxid);
      if (result === undefined) {
        conn?.close('the result of a write was lost with the role');
        return;
      }
      onApplied(result);
    };
    const failed = (e: unknown): void => {
      this.replicating--;
      const message = (e as Error)?.message ?? String(e);
      this.log.info({ remote: conn?.remote, op: request.type, err: message }, 'write not completed here');
      conn?.close(`write not completed: ${message}`);
    };
    this.replicating++;
    try {
      if (peer.state === 'LEADING') {
        if (!peer.canPropose) throw new QuorumError('overloaded', 'the leader cannot propose now');
        const prepped = this.prepReplicated(this.serverId, sessionId, cxid, conn?.authIds ?? [], request);
        // One continuation per proposal: the hot path of every write the leader takes.
        peer.propose(prepped.propose).then(
          (zxid) => {
            if (zxid !== prepped.zxid) {
              this.log.error(
                { expected: `0x${prepped.zxid.toString(16)}`, got: `0x${zxid.toString(16)}` },
                'txn prepped for another zxid',
              );
            }
            done(zxid);
          },
          (e: unknown) => {
            if (!(e instanceof QuorumError && e.kind === 'outcome-unknown')) prepped.onRefused();
            failed(e);
          },
        );
      } else if (forward !== undefined) {
        peer.forward(encodeLearnerMessage(forward, this.maxLearnerMessage)).then(done, failed);
      } else {
        throw new QuorumError('not-leader', `${request.type} can only be prepared by the leader`);
      }
    } catch (e) {
      // Failed as a rejected promise would: after the request being handled, not inside it.
      queueMicrotask(() => failed(e));
    }
  }

  /** Session bookkeeping of an applied txn, on every member. */
  private afterApply(txn: Txn, result: ApplyResult<Connection>): void {
    const body = txn.body;
    if (body.type === 'createSession') {
      if (result.err === 0 && this.sessions.get(txn.sessionId) === undefined) {
        this.sessions.add(txn.sessionId, body.timeout, Date.now());
      }
    } else if (body.type === 'closeSession') {
      this.sessions.remove(txn.sessionId);
      const c = this.sessionConns.get(txn.sessionId);
      // The connection that asked to close gets its reply first (see closeSession).
      if (c !== undefined && !c.closingSession) {
        this.sessionConns.delete(txn.sessionId);
        c.close('session expired');
      }
    }
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
    // An ensemble member's snapshots are the quorum peer's (taken at its applied position).
    if (this.peer === undefined) this.store.onSnapshotDue(() => void this.takeSnapshot());
    // Autopurge (autopurge.purgeInterval) runs inside the txn log store.
  }

  /** Stops listening, closes every connection and the txn log. Sessions survive on disk. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.tickTimer);
    clearInterval(this.containerTimer);
    clearInterval(this.touchTimer);
    for (const c of this.connections) c.close('server shutting down');
    await new Promise<void>((resolve) => (this.listener ? this.listener.close(() => resolve()) : resolve()));
    await this.peer?.close().catch(() => {});
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
    if (this.peer !== undefined && !this.memberServing) {
      conn.close('the member is not serving: no leader');
      return;
    }
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
    const forward: LearnerMessage = { k: 'createSession', sessionId: id, timeout };
    this.submitWrite(conn, id, 0, { type: 'createSession', timeout }, forward, (result) => {
      if (!conn.isOpen) return;
      if (result.err !== 0) {
        this.sendConnectResponse(conn, 0, 0n);
        conn.close('session could not be created');
        return;
      }
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
    if (this.stopped || !this.expiresSessions) return;
    for (const s of this.sessions.expire(Date.now())) {
      this.log.info(
        { session: `0x${BigInt.asUintN(64, s.id).toString(16)}`, timeout: s.timeoutMs },
        'Expiring session, timeout exceeded',
      );
      this.closeSession(s.id, undefined);
    }
  }

  /** Standalone, or the serving leader of an ensemble: the one that expires sessions and containers. */
  private get expiresSessions(): boolean {
    return this.peer === undefined || (this.peer.state === 'LEADING' && this.memberServing);
  }

  /**
   * closeSession as a txn: deletes the session's ephemerals, then forgets the session (see
   * afterApply). `conn` and `frame`: the client's own request to close, answered by `onDone`.
   */
  private closeSession(
    id: bigint,
    conn: Connection | undefined,
    cxid = 0,
    onDone?: (r: ApplyResult<Connection>) => void,
    frame?: Buffer,
  ): void {
    this.sessions.setClosing(id);
    if (conn !== undefined) conn.closingSession = true;
    const forward: LearnerMessage | undefined =
      frame === undefined || conn === undefined
        ? undefined
        : { k: 'request', sessionId: id, cxid, authIds: conn.authIds, frame };
    this.submitWrite(conn, id, cxid, { type: 'closeSession' }, forward, (result) => {
      if (this.sessionConns.get(id) === conn) this.sessionConns.delete(id);
      if (onDone !== undefined) onDone(result);
    });
  }

  // ------------------------------------------------------------------ write path

  /**
   * A write: standalone, prepped here, logged and applied once durable; in an ensemble, through
   * the quorum (`forward` is what a learner sends its leader for it).
   */
  private submitWrite(
    conn: Connection | undefined,
    sessionId: bigint,
    cxid: number,
    request: TreeRequest,
    forward: LearnerMessage | undefined,
    onApplied: (result: ApplyResult<Connection>) => void,
  ): void {
    if (this.peer !== undefined) {
      this.submitReplicated(conn, sessionId, cxid, request, forward, onApplied);
      return;
    }
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
    try {
      this.store.write(zxid, record);
    } catch (e) {
      // Refused by the log (it stopped, or is overloaded past its bounds): as ZooKeeper, stop.
      this.fail(e as Error);
      return;
    }
    const entry: PendingTxn = { zxid, time, txn, onApplied, bytes: record.length };
    this.pending.push(entry);
    this.pendingBytes += record.length;
    if (
      !this.holding &&
      (this.pendingBytes > MAX_PENDING_WRITE_BYTES || this.pendingWrites > MAX_PENDING_WRITES)
    ) {
      this.setHold(true);
    }
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
  /** The highest zxid the txn log made durable (standalone). */
  private durableZxid = 0n;

  /**
   * Standalone writes are logged without a promise each (the hot path): one listener learns what
   * became durable and schedules applying it, another stops the server if the log fails.
   */
  private followLog(): void {
    this.store.onSync((info) => {
      this.counters.fsyncTime.record(info.durationMs);
      this.durableZxid = info.durableZxid;
      this.scheduleApply();
    });
    this.store.onFailure((e) => this.fail(e));
  }

  private applyDurable(): void {
    const pending = this.pending;
    while (this.pendingHead < pending.length && pending[this.pendingHead]!.zxid <= this.durableZxid) {
      const e = pending[this.pendingHead]!;
      pending[this.pendingHead++] = undefined;
      this.pendingBytes -= e.bytes;
      const result = this._tree.apply(e.txn, e.zxid, e.time);
      this.counters.commitCount++;
      this.deliver(result.notifications);
      this.afterApply(e.txn, result);
      e.onApplied(result);
    }
    if (this.pendingHead === pending.length) {
      pending.length = 0;
      this.pendingHead = 0;
    } else if (this.pendingHead > 1024 && this.pendingHead * 2 > pending.length) {
      pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    if (
      this.holding &&
      this.pendingBytes <= MAX_PENDING_WRITE_BYTES / 2 &&
      this.pendingWrites <= MAX_PENDING_WRITES / 2
    ) {
      this.setHold(false);
    }
  }

  private setHold(on: boolean): void {
    this.holding = on;
    for (const c of this.connections) c.hold(on);
    this.log.warn(
      { pendingWrites: this.pendingWrites, pendingBytes: this.pendingBytes },
      on ? 'too many writes waiting for the disk: not reading from clients' : 'resuming reading from clients',
    );
  }

  private fail(e: Error): void {
    if (this.fatalError !== undefined) return;
    this.fatalError = e;
    this.log.error({ err: e.message }, 'txn log failed: no further writes can be made durable; stopping');
    this.pending.length = 0;
    this.pendingHead = 0;
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
    // The store copies or writes each chunk before it asks for the next.
    const stream = snapshotTree(this.tree, { lendChunks: true });
    try {
      const info = await this.store.writeSnapshot(stream.zxid, stream);
      this.log.info({ zxid: `0x${info.zxid.toString(16)}`, ms: info.durationMs }, 'snapshot written');
    } catch (e) {
      this.log.warn({ err: String(e) }, 'snapshot failed');
    } finally {
      // A write that failed before reading the stream to its end (the file could not even be
      // created) must not leave its copy-on-write hook on the tree.
      stream.return();
      this.snapshotting = false;
    }
  }

  private expireContainers(): void {
    if (this.stopped || this.fatalError !== undefined || !this.expiresSessions) return;
    const due = this._tree.expiredNodes(BigInt(Date.now()));
    for (const path of due.slice(0, this.config.containerMaxPerMinute)) {
      this.submitWrite(undefined, 0n, 0, { type: 'deleteContainer', path }, undefined, (r) => {
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
    if (this.touchTimer !== undefined && this.touched.size < MAX_PENDING_WRITES)
      this.touched.add(conn.sessionId);
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
        this.closeSession(
          conn.sessionId,
          conn,
          xid,
          () => slot.complete(this.reply({ xid, zxid: this._tree.lastZxid, err: 0 }, null), true),
          frame,
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
        this.onWrite(conn, xid, op, request, frame);
        return;
      case 'sync':
        if (this.peer !== undefined) {
          this.onSync(conn, xid, op, request.path);
          return;
        }
        conn.enqueueRead(op, () => this.read(conn, xid, request));
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

  /**
   * An ensemble member's sync: answered once this member applied everything the leader had
   * proposed when the sync reached it, so the client's next read sees every write committed before.
   */
  private onSync(conn: Connection, xid: number, op: string, path: string): void {
    const slot = conn.enqueueWrite(op);
    const peer = this.peer as QuorumPeer;
    let done: Promise<bigint>;
    try {
      done =
        peer.state === 'LEADING'
          ? peer.whenApplied(peer.lastZxid)
          : peer.forward(encodeLearnerMessage({ k: 'sync' }, this.maxLearnerMessage));
    } catch (e) {
      done = Promise.reject(e);
    }
    done.then(
      () => slot.complete(this.reply({ xid, zxid: this._tree.lastZxid, err: 0 }, { type: 'sync', path })),
      (e: unknown) => conn.close(`sync not completed: ${(e as Error)?.message ?? String(e)}`),
    );
  }

  private onWrite(conn: Connection, xid: number, op: string, request: Request, frame: Buffer): void {
    const slot = conn.enqueueWrite(op);
    const treeRequest = treeRequestOf(request);
    if (treeRequest === undefined) {
      slot.complete(this.errorReply(xid, ErrorCode.BadArguments));
      return;
    }
    const t0 = Date.now();
    const forward: LearnerMessage | undefined =
      this.peer === undefined
        ? undefined
        : { k: 'request', sessionId: conn.sessionId, cxid: xid, authIds: conn.authIds, frame };
    this.submitWrite(conn, conn.sessionId, xid, treeRequest, forward, (result) => {
      const ms = Date.now() - t0;
      this.counters.updateLatency.record(ms);
      this.counters.latency.record(ms);
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
      // As ZooKeeper's wchs/wchc/wchp: data watches (getData, exists) only.
      const paths = [...new Set(w.data)];
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
      ['server_state', this.mode],
      ...this.quorumMonitorValues(),
      ['ephemerals_count', ephemerals],
      ['num_alive_connections', this.connections.size],
      ['avg_latency', c.latency.avg],
      ['outstanding_requests', this.outstandingRequests],
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

  private get outstandingRequests(): number {
    return this.pendingWrites + this.replicating;
  }

  /** Standalone writes waiting for the log. */
  private get pendingWrites(): number {
    return this.pending.length - this.pendingHead;
  }

  /** What an ensemble member adds to `conf`, as ZooKeeper names it. */
  private quorumConfiguration(): Array<[string, string | number]> {
    const me = this.config.servers.find((s) => s.id === this.serverId);
    if (this.peer === undefined || me === undefined) return [];
    return [
      ['initLimit', this.config.initLimit],
      ['syncLimit', this.config.syncLimit],
      ['electionAlg', 3],
      ['electionPort', me.electionPort],
      ['quorumPort', me.quorumPort],
      // LearnerType's ordinal: 0 participant, 1 observer.
      ['peerType', me.role === 'observer' ? 1 : 0],
    ];
  }

  /** What an ensemble member adds to `mntr`, as ZooKeeper names it. */
  private quorumMonitorValues(): Array<[string, string | number | bigint]> {
    const peer = this.peer;
    if (peer === undefined) return [];
    const state = peer.state.toLowerCase();
    const out: Array<[string, string | number | bigint]> = [
      ['peer_state', `${state} - ${this.memberServing ? 'broadcast' : 'election'}`],
      ['quorum_size', this.config.servers.filter((s) => s.role === 'participant').length],
    ];
    const learners = peer.learnerSummary();
    if (learners !== undefined) {
      out.push(
        ['learners', learners.learners],
        ['synced_followers', learners.syncedFollowers],
        ['synced_non_voting_followers', 0],
        ['synced_observers', learners.syncedObservers],
        ['pending_syncs', learners.pendingSyncs],
        ['leader_uptime', this.memberServing ? Date.now() - this.leaderSince : 0],
        ['last_proposal_size', this.proposalSizes.last],
        ['max_proposal_size', this.proposalSizes.max],
        ['min_proposal_size', this.proposalSizes.min],
      );
    }
    return out;
  }

  /** Live figures for four-letter words and operations tooling (AdminServer, metrics). */
  fourLetterSource(): FourLetterSource {
    const c = this.counters;
    const cfg = this.config;
    return {
      serving:
        !this.stopped && this.fatalError === undefined && (this.peer === undefined || this.memberServing),
      mode: this.mode,
      readOnly: false,
      latency: { min: c.latency.minOrZero, avg: c.latency.avg, max: c.latency.max },
      packetsReceived: c.packetsReceived,
      packetsSent: c.packetsSent,
      outstandingRequests: this.outstandingRequests,
      lastZxid: this.tree.lastZxid,
      // ZooKeeper's DataTree indexes the root under both "" and "/", so its node count (srvr, mntr)
      // is one more than the znodes; operators' dashboards compare against that figure.
      nodeCount: this.tree.nodeCount + 1,
      proposalSizes: { ...this.proposalSizes },
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
        ...this.quorumConfiguration(),
      ],
      ...(this.peer === undefined
        ? {}
        : {
            membership: () =>
              cfg.servers.map(
                (s) =>
                  `server.${s.id}=${s.host}:${s.quorumPort}:${s.electionPort}:${s.role}` +
                  (s.clientPort === undefined
                    ? ''
                    : `;${s.clientAddress ?? cfg.clientPortAddress}:${s.clientPort}`),
              ),
          }),
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

/** The tree's request for a client's write request (undefined: not a valid write). */
function treeRequestOf(request: Request): TreeRequest | undefined {
  // ZooKeeper reads a client's deleteContainer body as raw bytes, which never make a valid path:
  // the request becomes an error txn (BadArguments). Only the server deletes containers.
  if (request.type === 'deleteContainer') return { type: 'deleteContainer', path: '' };
  if (request.type === 'closeSession') return { type: 'closeSession' };
  return toTreeRequest(request);
}

/** Maps a codec write request to the tree's request. */
function toTreeRequest(r: Request): TreeRequest | undefined {
  switch (r.type) {
    case 'create':
    case 'create2':
      return { type: 'create', path: r.path, data: r.data ?? null, acl: r.acl, flags: r.flags };
    case 'createContainer':
      return {
        type: 'create',
        path: r.path,
        data: r.data ?? null,
        acl: r.acl,
        flags: CreateMode.CONTAINER,
      };
    case 'createTTL':
      return {
        type: 'create',
        path: r.path,
        data: r.data ?? null,
        acl: r.acl,
        flags: r.flags,
        ttl: r.ttl,
      };
    case 'delete':
      return { type: 'delete', path: r.path, version: r.version };
    case 'deleteContainer':
      return { type: 'deleteContainer', path: r.path };
    case 'setData':
      return { type: 'setData', path: r.path, data: r.data ?? null, version: r.version };
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
