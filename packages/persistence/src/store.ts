import { join } from 'node:path';
import { PersistenceError, toPersistenceError } from './errors.js';
import {
  encodeLogHeader,
  encodeRecordInto,
  fileName,
  isZxid,
  LOG_HEADER_BYTES,
  LOG_PREFIX,
  parseFileName,
  recordSize,
  SNAP_PREFIX,
  TMP_SUFFIX,
} from './format.js';
import { type FileHandle, type FileSystem, nodeFileSystem } from './fs.js';
import { LogFileReader } from './log-reader.js';
import {
  readSnapshotChunks,
  type SnapshotChunks,
  type SnapshotInfo,
  validateSnapshot,
  writeSnapshotFile,
} from './snapshot.js';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export interface StoreOptions {
  /** Where snapshots and the epoch files live. */
  dataDir: string;
  /** Where txn log files live; defaults to `dataDir`. */
  dataLogDir?: string;
  /** The file-system seam; defaults to the real file system. */
  fs?: FileSystem;
  /** Create missing directories (ZooKeeper's `zookeeper.datadir.autocreate`); default true. */
  createDirs?: boolean;
  /**
   * ZooKeeper's `forceSync`: false skips the fdatasync after each group-commit write (and the
   * fsync after growing a file), so a txn counts as durable once the OS has it: faster, and lost
   * with the machine (not with the process). Snapshots are always synced. Default true.
   */
  forceSync?: boolean;
  /** Upper bound of one group-commit write (one write, one fdatasync); default 1 MiB. */
  maxBatchBytes?: number;
  /** Largest txn payload accepted; default 1 MiB + 1 KiB (above jute.maxbuffer). */
  maxTxnBytes?: number;
  /** Bound of the bytes waiting for a sync; an append beyond it fails with `overloaded`. Default 64 MiB. */
  maxPendingBytes?: number;
  /** Start a new log file once the current one holds this many bytes; default 64 MiB. */
  rollBytes?: number;
  /** Start a new log file once the current one holds this many txns; default unlimited. */
  rollTxns?: number;
  /**
   * Grow log files in steps of this many bytes ahead of the writes (0 = off), as ZooKeeper's
   * `preAllocSize`: appends then land inside the file's length, which made a single appender's
   * fdatasync measurably faster here (see the README). Default 64 MiB on the real file system,
   * 0 with any other `fs` (an in-memory file system would hold the zeros in memory).
   */
  preallocateBytes?: number;
  /** ZooKeeper's `snapCount`: a snapshot is due after snapCount/2 + random(snapCount/2) txns. Default 100000, min 2. */
  snapCount?: number;
  /** ZooKeeper's `snapSizeLimitInKb` in bytes (0 = off): same randomisation over logged bytes. Default 4 GiB. */
  snapSizeBytes?: number;
  /** Write buffer of snapshot streaming (the most the event loop is held at a time); default 256 KiB. */
  snapshotBufferBytes?: number;
  /**
   * Checksum and write snapshot buffers on a worker thread (the event loop only produces the
   * chunks). Takes effect on the real file system only; default true.
   */
  snapshotThread?: boolean;
  /** `autopurge.snapRetainCount`: snapshots kept by `purge()`; default 3, min 3. */
  snapRetainCount?: number;
  /** `autopurge.purgeInterval` in hours; 0 (the default) turns automatic purging off. */
  purgeIntervalHours?: number;
  /** Source of randomness in [0, 1) for the snapshot schedule; default Math.random. */
  random?: () => number;
  logger?: Logger;
}

export interface RecoveryHandlers {
  /** Called once, before any txn, with the newest valid snapshot's chunks (consume them all). */
  onSnapshot?(zxid: bigint, chunks: AsyncIterable<Uint8Array>): void | Promise<void>;
  /** Called for each logged txn after the snapshot, in zxid order. */
  onTxn?(zxid: bigint, payload: Uint8Array): void | Promise<void>;
}

export interface RecoveryResult {
  /** The zxid of the loaded snapshot, undefined when none existed. */
  snapshotZxid: bigint | undefined;
  /** The highest zxid recovered (snapshot or log); 0n for an empty store. */
  lastZxid: bigint;
  /** Txns replayed from the log after the snapshot. */
  txnCount: number;
  /** Newer snapshots that did not validate and were passed over. */
  skippedSnapshots: { path: string; reason: string }[];
  /** A torn tail found (and removed) at the end of the newest log file. */
  tornTail: { path: string; offset: number; reason: string; droppedBytes: number } | undefined;
}

export interface SyncInfo {
  /** Appends made durable by this write + fdatasync. */
  count: number;
  /** Bytes written. */
  bytes: number;
  /** The highest durable zxid after this sync. */
  durableZxid: bigint;
  /** Time from the write to the end of the sync, in milliseconds. */
  durationMs: number;
}

export interface StoreStats {
  appends: number;
  syncs: number;
  bytesWritten: number;
  /** Appends carried by the largest sync so far. */
  maxBatch: number;
  logFilesCreated: number;
  snapshotsWritten: number;
  lastZxid: bigint;
  durableZxid: bigint;
}

export interface PurgeResult {
  removed: string[];
}

export type EpochName = 'acceptedEpoch' | 'currentEpoch';

type State = 'opened' | 'ready' | 'maintenance' | 'failed' | 'closing' | 'closed';

interface Pending {
  zxid: bigint;
  payload: Uint8Array;
  size: number;
  /** Absent for `write` (no promise: onSync and onFailure tell). */
  resolve: (() => void) | undefined;
  reject: ((err: PersistenceError) => void) | undefined;
}

interface ActiveLog {
  handle: FileHandle;
  path: string;
  nameZxid: bigint;
  /** Bytes written and synced. */
  pos: number;
  allocated: number;
  txns: number;
}

const compare = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

const silentLogger: Logger = {
  info() {},
  warn(message) {
    process.emitWarning(message, 'PersistenceWarning');
  },
};

function positiveInt(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new PersistenceError('invalid-argument', `${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

/**
 * The txn log and snapshots of one server. Open with `TxnSnapStore.open()`, then `recover()` once,
 * then `append()`, `writeSnapshot()`, `readFrom()`, `truncate()`, `purge()`.
 */
export class TxnSnapStore {
  readonly dataDir: string;
  readonly dataLogDir: string;
  private readonly fs: FileSystem;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly maxBatchBytes: number;
  private readonly maxTxnBytes: number;
  private readonly maxPendingBytes: number;
  private readonly maxWriteBytes: number;
  private readonly rollBytes: number;
  private readonly rollTxns: number;
  private readonly preallocateBytes: number;
  private readonly snapCount: number;
  private readonly snapSizeBytes: number;
  private readonly snapshotBufferBytes: number;
  private readonly snapshotThread: boolean;
  private readonly forceSync: boolean;
  private readonly snapRetainCount: number;
  private readonly purgeIntervalHours: number;

  private state: State = 'opened';
  private failure: PersistenceError | undefined;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private flushing = false;
  private scheduled = false;
  private active: ActiveLog | undefined;
  private rollRequested = false;
  private logFiles: bigint[] = [];
  private lastZxidValue = 0n;
  private durableZxidValue = 0n;
  private drainWaiters: (() => void)[] = [];
  private durableWaiters: { zxid: bigint; resolve: () => void; reject: (e: PersistenceError) => void }[] = [];
  private syncListeners = new Set<(info: SyncInfo) => void>();
  private failureListeners = new Set<(err: PersistenceError) => void>();
  private snapshotDueListeners = new Set<(zxid: bigint) => void>();
  private txnsSinceSnapshot = 0;
  private bytesSinceSnapshot = 0;
  private randRoll = 0;
  private randSize = 0;
  private snapshotRun: Promise<unknown> | undefined;
  private closing: Promise<void> | undefined;
  private knownValidSnapshots = new Set<bigint>();
  private activeReaders = 0;
  private exclusiveTail: Promise<unknown> = Promise.resolve();
  private purgeTimer: NodeJS.Timeout | undefined;
  private readonly counters = {
    appends: 0,
    syncs: 0,
    bytesWritten: 0,
    maxBatch: 0,
    logFilesCreated: 0,
    snapshotsWritten: 0,
  };

  private constructor(options: StoreOptions) {
    this.dataDir = options.dataDir;
    this.dataLogDir = options.dataLogDir ?? options.dataDir;
    this.fs = options.fs ?? nodeFileSystem;
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
    this.maxBatchBytes = positiveInt('maxBatchBytes', options.maxBatchBytes ?? 1 << 20, 1024);
    this.maxTxnBytes = positiveInt('maxTxnBytes', options.maxTxnBytes ?? (1 << 20) + 1024, 0);
    this.maxPendingBytes = positiveInt('maxPendingBytes', options.maxPendingBytes ?? 64 << 20, 1024);
    this.maxWriteBytes = LOG_HEADER_BYTES + this.maxBatchBytes + recordSize(this.maxTxnBytes);
    if (this.maxWriteBytes > 0xffffffff) {
      throw new PersistenceError('invalid-argument', 'maxBatchBytes + maxTxnBytes must stay below 4 GiB');
    }
    this.rollBytes = positiveInt('rollBytes', options.rollBytes ?? 64 << 20, 1);
    this.rollTxns = options.rollTxns === undefined ? Infinity : positiveInt('rollTxns', options.rollTxns, 1);
    this.preallocateBytes = positiveInt(
      'preallocateBytes',
      options.preallocateBytes ?? (this.fs === nodeFileSystem ? 64 << 20 : 0),
      0,
    );
    this.snapCount = positiveInt('snapCount', options.snapCount ?? 100_000, 2);
    this.snapSizeBytes = positiveInt('snapSizeBytes', options.snapSizeBytes ?? 4 * 1024 ** 3, 0);
    this.snapshotBufferBytes = positiveInt(
      'snapshotBufferBytes',
      options.snapshotBufferBytes ?? 256 << 10,
      64,
    );
    this.snapshotThread = options.snapshotThread ?? true;
    this.forceSync = options.forceSync ?? true;
    this.snapRetainCount = positiveInt('snapRetainCount', options.snapRetainCount ?? 3, 3);
    const hours = options.purgeIntervalHours ?? 0;
    if (!Number.isFinite(hours) || hours < 0) {
      throw new PersistenceError('invalid-argument', `purgeIntervalHours must be >= 0, got ${hours}`);
    }
    this.purgeIntervalHours = hours;
    this.resetSnapshotSchedule();
  }

  /** Checks (or creates) the directories and removes leftovers of interrupted snapshot writes. */
  static async open(options: StoreOptions): Promise<TxnSnapStore> {
    const store = new TxnSnapStore(options);
    const createDirs = options.createDirs ?? true;
    for (const dir of new Set([store.dataDir, store.dataLogDir])) {
      let exists: boolean;
      try {
        exists = await store.fs.isDirectory(dir);
      } catch (err) {
        throw toPersistenceError(err, 'stat', dir);
      }
      if (!exists) {
        if (!createDirs) {
          throw new PersistenceError('missing-directory', `directory ${dir} does not exist`, { path: dir });
        }
        try {
          await store.fs.mkdir(dir);
        } catch (err) {
          throw toPersistenceError(err, 'create directory', dir);
        }
      }
    }
    for (const name of await store.list(store.dataDir)) {
      if (name.endsWith(TMP_SUFFIX)) {
        const path = join(store.dataDir, name);
        store.logger.info(`removing leftover ${path}`);
        await store.fs.unlink(path).catch((err: unknown) => {
          throw toPersistenceError(err, 'remove', path);
        });
      }
    }
    return store;
  }

  /** The highest zxid appended (durable or not), or recovered. */
  get lastZxid(): bigint {
    return this.lastZxidValue;
  }

  /** Every txn up to this zxid is durable (synced to disk). */
  get durableZxid(): bigint {
    return this.durableZxidValue;
  }

  /** The oldest zxid still in the txn log, or undefined when the log is empty. */
  get firstLogZxid(): bigint | undefined {
    return this.logFiles[0];
  }

  /** The error that stopped the log, if one did. */
  get failed(): PersistenceError | undefined {
    return this.failure;
  }

  stats(): StoreStats {
    return { ...this.counters, lastZxid: this.lastZxidValue, durableZxid: this.durableZxidValue };
  }

  /** Listens to every group-commit sync; returns the unsubscribe function. */
  onSync(listener: (info: SyncInfo) => void): () => void {
    this.syncListeners.add(listener);
    return () => this.syncListeners.delete(listener);
  }

  /**
   * Listens for "a snapshot is due" (every snapCount txns, randomised as ZooKeeper does); the
   * listener gets the durable zxid at that moment and should call `writeSnapshot` with a frozen
   * view. The log rolls to a new file at the same time.
   */
  onSnapshotDue(listener: (durableZxid: bigint) => void): () => void {
    this.snapshotDueListeners.add(listener);
    return () => this.snapshotDueListeners.delete(listener);
  }

  /**
   * Loads the newest snapshot that validates and replays the log after it. A torn tail of the
   * newest log file is removed (and logged); damage anywhere else throws `corrupt-log`.
   */
  async recover(handlers: RecoveryHandlers = {}): Promise<RecoveryResult> {
    if (this.state !== 'opened') {
      throw new PersistenceError('invalid-argument', 'recover() runs once, right after open()');
    }
    const skippedSnapshots: RecoveryResult['skippedSnapshots'] = [];
    const snaps = (await this.listZxids(this.dataDir, SNAP_PREFIX)).reverse();
    let snapshotZxid: bigint | undefined;
    for (const zxid of snaps) {
      const path = this.snapPath(zxid);
      const problem = await validateSnapshot(this.fs, path, zxid);
      if (problem === undefined) {
        snapshotZxid = zxid;
        this.knownValidSnapshots.add(zxid);
        break;
      }
      this.logger.warn(`skipping snapshot ${path}: ${problem.message}`);
      skippedSnapshots.push({ path, reason: problem.message });
    }
    if (snaps.length > 0 && snapshotZxid === undefined) {
      throw new PersistenceError(
        'corrupt-snapshot',
        `no valid snapshot in ${this.dataDir}: ${skippedSnapshots.map((s) => s.reason).join('; ')}`,
        { path: this.dataDir },
      );
    }
    if (snapshotZxid !== undefined) {
      await handlers.onSnapshot?.(
        snapshotZxid,
        readSnapshotChunks(this.fs, this.snapPath(snapshotZxid), snapshotZxid),
      );
    }

    this.logFiles = await this.listZxids(this.dataLogDir, LOG_PREFIX);
    let start = 0;
    if (snapshotZxid !== undefined) {
      for (let i = 0; i < this.logFiles.length; i++) if (this.logFiles[i]! <= snapshotZxid) start = i;
      const first = this.logFiles[start];
      if (first !== undefined && first > snapshotZxid + 1n && first >> 32n === snapshotZxid >> 32n) {
        throw new PersistenceError(
          'missing-log',
          `txn log after snapshot 0x${snapshotZxid.toString(16)} is missing: the oldest log is ${this.logPath(first)}`,
          { path: this.logPath(first) },
        );
      }
    }
    let txnCount = 0;
    const onTxn = handlers.onTxn?.bind(handlers);
    let lastLogged: bigint | undefined;
    let tornTail: RecoveryResult['tornTail'];
    const fallbackMaxWrite = this.maxWriteBytes;
    for (let i = start; i < this.logFiles.length; i++) {
      const nameZxid = this.logFiles[i]!;
      const path = this.logPath(nameZxid);
      const isLast = i === this.logFiles.length - 1;
      const reader = new LogFileReader(this.fs, path, {
        isLast,
        nameZxid,
        previousZxid: lastLogged,
        fallbackMaxWrite,
      });
      for await (const batch of reader.batches()) {
        for (const rec of batch) {
          if (snapshotZxid === undefined || rec.zxid > snapshotZxid) {
            const applied = onTxn?.(rec.zxid, rec.payload);
            if (applied instanceof Promise) await applied;
            txnCount++;
          }
        }
      }
      if (reader.lastZxid !== undefined) lastLogged = reader.lastZxid;
      if (isLast && (reader.torn !== undefined || reader.count === 0)) {
        const droppedBytes = reader.size - reader.validEnd;
        if (reader.torn !== undefined) {
          tornTail = { path, ...reader.torn, droppedBytes };
          this.logger.warn(
            `txn log ${path}: torn tail at offset ${reader.torn.offset} (${reader.torn.reason}); dropping ${droppedBytes} bytes never acknowledged as durable`,
          );
        }
        await this.repairTail(path, reader.count === 0 ? 0 : reader.validEnd);
        if (reader.count === 0) this.logFiles.pop();
      }
    }
    const last = lastLogged ?? 0n;
    this.lastZxidValue = snapshotZxid !== undefined && snapshotZxid > last ? snapshotZxid : last;
    this.durableZxidValue = this.lastZxidValue;
    this.txnsSinceSnapshot = txnCount;
    this.state = 'ready';
    if (this.purgeIntervalHours > 0) {
      this.purgeTimer = setInterval(() => {
        this.purge().catch((err: unknown) => this.logger.warn(`autopurge failed: ${String(err)}`));
      }, this.purgeIntervalHours * 3_600_000);
      this.purgeTimer.unref();
    }
    return { snapshotZxid, lastZxid: this.lastZxidValue, txnCount, skippedSnapshots, tornTail };
  }

  /** Cuts the newest log file at `end` (removes it when nothing valid is left). */
  private async repairTail(path: string, end: number): Promise<void> {
    try {
      if (end === 0) {
        await this.fs.unlink(path);
        await this.fs.syncDir(this.dataLogDir);
        return;
      }
      const h = await this.fs.open(path, 'read-write');
      try {
        await h.truncate(end);
        await h.sync();
      } finally {
        await h.close();
      }
    } catch (err) {
      throw toPersistenceError(err, 'repair txn log', path);
    }
  }

  /**
   * Appends one txn. Resolves once it is durable; appends made in the same event-loop turn share
   * one write and one fdatasync. Zxids must increase strictly.
   */
  append(zxid: bigint, payload: Uint8Array): Promise<void> {
    const refused = this.refuseAppend(zxid, payload);
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise<void>((resolve, reject) => this.enqueue(zxid, payload, resolve, reject));
  }

  /**
   * Appends one txn as `append` does, without a promise per txn (a hot write path's choice):
   * throws the PersistenceError `append` would reject with; that it is durable is told by the
   * `onSync` listeners (`durableZxid`), that the log failed by the `onFailure` listeners.
   */
  write(zxid: bigint, payload: Uint8Array): void {
    const refused = this.refuseAppend(zxid, payload);
    if (refused !== undefined) throw refused;
    this.enqueue(zxid, payload, undefined, undefined);
  }

  private enqueue(
    zxid: bigint,
    payload: Uint8Array,
    resolve: Pending['resolve'],
    reject: Pending['reject'],
  ): void {
    const size = recordSize(payload.length);
    this.pending.push({ zxid, payload, size, resolve, reject });
    this.pendingBytes += size;
    this.lastZxidValue = zxid;
    this.counters.appends++;
    this.schedule();
  }

  /** Listens for the log stopping after a failed write or sync (every later write is refused). */
  onFailure(listener: (err: PersistenceError) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  private refuseAppend(zxid: bigint, payload: Uint8Array): PersistenceError | undefined {
    if (this.state !== 'ready') return this.stateError('append');
    if (typeof zxid !== 'bigint' || !isZxid(zxid)) {
      return new PersistenceError(
        'invalid-argument',
        `zxid must be a 64-bit unsigned bigint, got ${String(zxid)}`,
      );
    }
    if (zxid <= this.lastZxidValue) {
      return new PersistenceError(
        'out-of-order',
        `zxid 0x${zxid.toString(16)} is not above the last zxid 0x${this.lastZxidValue.toString(16)}`,
      );
    }
    if (!(payload instanceof Uint8Array)) {
      return new PersistenceError('invalid-argument', 'payload must be a Uint8Array');
    }
    if (payload.length > this.maxTxnBytes) {
      return new PersistenceError(
        'too-large',
        `txn of ${payload.length} bytes exceeds maxTxnBytes ${this.maxTxnBytes}`,
      );
    }
    if (this.pendingBytes + recordSize(payload.length) > this.maxPendingBytes) {
      return new PersistenceError(
        'overloaded',
        `more than maxPendingBytes ${this.maxPendingBytes} waiting for sync`,
      );
    }
    return undefined;
  }

  /** The error for an operation the current state does not allow. */
  private stateError(operation: string): PersistenceError {
    switch (this.state) {
      case 'opened':
        return new PersistenceError('not-recovered', `${operation} before recover()`);
      case 'ready':
        return new PersistenceError('invalid-argument', `${operation} is not allowed now`);
      case 'maintenance':
        return new PersistenceError('busy', `${operation} during truncate()`);
      case 'failed':
        return new PersistenceError(
          'failed',
          `${operation}: txn log stopped after an earlier failure: ${this.failure?.message}`,
          { cause: this.failure },
        );
      case 'closing':
      case 'closed':
        return new PersistenceError('closed', `${operation}: store is closed`);
      default:
        return assertNever(this.state);
    }
  }

  /** Resolves once every txn up to `zxid` is durable. */
  whenDurable(zxid: bigint): Promise<void> {
    if (zxid <= this.durableZxidValue) return Promise.resolve();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.durableWaiters.push({ zxid, resolve, reject }));
  }

  private schedule(): void {
    if (this.flushing || this.scheduled || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.pending.length === 0 || this.failure !== undefined) return;
    this.flushing = true;
    let take = 0;
    let bytes = 0;
    while (take < this.pending.length) {
      const size = this.pending[take]!.size;
      if (take > 0 && bytes + size > this.maxBatchBytes) break;
      bytes += size;
      take++;
    }
    const batch = this.pending.splice(0, take);
    this.pendingBytes -= bytes;
    const started = performance.now();
    let path = this.active?.path ?? this.logPath(batch[0]!.zxid);
    let written = 0;
    try {
      if (
        this.active !== undefined &&
        (this.rollRequested || this.active.pos >= this.rollBytes || this.active.txns >= this.rollTxns)
      ) {
        await this.closeActive();
      }
      this.rollRequested = false;
      let created = false;
      if (this.active === undefined) {
        const nameZxid = batch[0]!.zxid;
        path = this.logPath(nameZxid);
        const handle = await this.fs.open(path, 'create');
        this.active = { handle, path, nameZxid, pos: 0, allocated: 0, txns: 0 };
        this.logFiles.push(nameZxid);
        this.counters.logFilesCreated++;
        created = true;
      }
      const a = this.active;
      const headerBytes = created ? LOG_HEADER_BYTES : 0;
      const buf = new Uint8Array(headerBytes + bytes);
      if (created) buf.set(encodeLogHeader(this.maxWriteBytes), 0);
      let at = headerBytes;
      for (const p of batch) at = encodeRecordInto(buf, at, p.zxid, p.payload);
      const end = a.pos + buf.length;
      let metadataChanged = created;
      if (this.preallocateBytes > 0 && end > a.allocated) {
        a.allocated = Math.ceil(end / this.preallocateBytes) * this.preallocateBytes;
        await a.handle.truncate(a.allocated);
        metadataChanged = true;
      }
      await a.handle.write(buf, a.pos);
      // forceSync=no: written is as durable as it gets.
      if (this.forceSync) {
        if (metadataChanged) await a.handle.sync();
        else await a.handle.datasync();
      }
      if (created) await this.fs.syncDir(this.dataLogDir);
      a.pos = end;
      a.txns += batch.length;
      written = buf.length;
    } catch (err) {
      this.fail(toPersistenceError(err, 'write txn log', path), batch);
      return;
    }
    this.afterSync(batch, written, performance.now() - started);
    this.flushing = false;
    if (this.pending.length > 0) this.schedule();
    else this.notifyDrained();
  }

  private afterSync(batch: Pending[], bytes: number, durationMs: number): void {
    const durable = batch[batch.length - 1]!.zxid;
    this.durableZxidValue = durable;
    this.counters.syncs++;
    this.counters.bytesWritten += bytes;
    if (batch.length > this.counters.maxBatch) this.counters.maxBatch = batch.length;
    for (const p of batch) p.resolve?.();
    if (this.durableWaiters.length > 0) {
      this.durableWaiters = this.durableWaiters.filter((w) => {
        if (w.zxid > durable) return true;
        w.resolve();
        return false;
      });
    }
    const info: SyncInfo = { count: batch.length, bytes, durableZxid: durable, durationMs };
    for (const l of this.syncListeners) this.notify('onSync', () => l(info));
    this.txnsSinceSnapshot += batch.length;
    this.bytesSinceSnapshot += bytes;
    if (this.snapshotDue()) {
      this.resetSnapshotSchedule();
      this.rollRequested = true;
      for (const l of this.snapshotDueListeners) this.notify('onSnapshotDue', () => l(durable));
    }
  }

  /** Runs a listener; a listener that throws is logged and never stops the log. */
  private notify(name: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.logger.warn(`${name} listener threw: ${String(err)}`);
    }
  }

  private snapshotDue(): boolean {
    return (
      this.txnsSinceSnapshot > Math.floor(this.snapCount / 2) + this.randRoll ||
      (this.snapSizeBytes > 0 && this.bytesSinceSnapshot > Math.floor(this.snapSizeBytes / 2) + this.randSize)
    );
  }

  /** As ZooKeeper: a random offset so that servers of an ensemble do not snapshot together. */
  private resetSnapshotSchedule(): void {
    this.txnsSinceSnapshot = 0;
    this.bytesSinceSnapshot = 0;
    this.randRoll = Math.floor(this.random() * Math.floor(this.snapCount / 2));
    this.randSize = Math.floor(this.random() * Math.floor(this.snapSizeBytes / 2));
  }

  /** Fail-stop: the batch in flight, every pending append and every later one are refused. */
  private fail(err: PersistenceError, batch: Pending[]): void {
    this.failure = err;
    if (this.state === 'ready' || this.state === 'maintenance') this.state = 'failed';
    this.logger.warn(`txn log stopped: ${err.message}`);
    const rejected = [...batch, ...this.pending];
    this.pending = [];
    this.pendingBytes = 0;
    for (const p of rejected) p.reject?.(err);
    for (const w of this.durableWaiters) w.reject(err);
    this.durableWaiters = [];
    const a = this.active;
    this.active = undefined;
    if (a !== undefined) void a.handle.close().catch(() => undefined);
    this.flushing = false;
    this.notifyDrained();
    for (const l of this.failureListeners) this.notify('onFailure', () => l(err));
  }

  private notifyDrained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when no append is waiting or in flight. */
  private drain(): Promise<void> {
    if (!this.flushing && this.pending.length === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private async closeActive(): Promise<void> {
    const a = this.active;
    this.active = undefined;
    if (a === undefined) return;
    try {
      if (a.allocated > a.pos) {
        // Give back the preallocated space of a finished file.
        await a.handle.truncate(a.pos);
        await a.handle.sync();
      }
    } finally {
      await a.handle.close();
    }
  }

  /** Makes the next append start a new log file. */
  rollLog(): void {
    this.rollRequested = true;
  }

  /**
   * Streams a snapshot of the frozen view at `zxid` into `snapshot.<zxid>` (temp file, fsync,
   * rename, directory fsync). Appends continue meanwhile; the event loop is never held for longer
   * than filling one write buffer.
   */
  async writeSnapshot(zxid: bigint, chunks: SnapshotChunks): Promise<SnapshotInfo & { durationMs: number }> {
    if (this.state !== 'ready' && this.state !== 'failed') throw this.stateError('writeSnapshot');
    if (typeof zxid !== 'bigint' || !isZxid(zxid)) {
      throw new PersistenceError(
        'invalid-argument',
        `zxid must be a 64-bit unsigned bigint, got ${String(zxid)}`,
      );
    }
    if (this.snapshotRun !== undefined)
      throw new PersistenceError('busy', 'a snapshot is already being written');
    const run = this.snapshotFile(zxid, chunks);
    this.snapshotRun = run;
    try {
      return await run;
    } finally {
      this.snapshotRun = undefined;
    }
  }

  private async snapshotFile(
    zxid: bigint,
    chunks: SnapshotChunks,
  ): Promise<SnapshotInfo & { durationMs: number }> {
    const started = performance.now();
    const info = await writeSnapshotFile(
      this.fs,
      this.dataDir,
      zxid,
      chunks,
      this.snapshotBufferBytes,
      this.snapshotThread,
    );
    this.knownValidSnapshots.add(zxid);
    this.counters.snapshotsWritten++;
    if (zxid > this.lastZxidValue) {
      // A snapshot received from a leader (SNAP sync) moves the store forward.
      this.lastZxidValue = zxid;
      if (zxid > this.durableZxidValue) this.durableZxidValue = zxid;
    }
    return { ...info, durationMs: performance.now() - started };
  }

  /**
   * The durable txns with zxid >= `fromZxid`, in order, up to the durable zxid at the time of the
   * call (for a leader's DIFF sync). Throws `unavailable` when `fromZxid` is older than the log.
   */
  async *readFrom(fromZxid: bigint): AsyncGenerator<{ zxid: bigint; payload: Uint8Array }, void, void> {
    if (this.state === 'opened' || this.state === 'closed') throw this.stateError('readFrom');
    const upTo = this.durableZxidValue;
    if (fromZxid > upTo) return;
    const files = [...this.logFiles];
    if (files.length === 0 || fromZxid < files[0]!) {
      throw new PersistenceError(
        'unavailable',
        `txn log does not reach back to 0x${fromZxid.toString(16)} (oldest: ${files[0] === undefined ? 'none' : `0x${files[0].toString(16)}`})`,
      );
    }
    let start = 0;
    for (let i = 0; i < files.length; i++) if (files[i]! <= fromZxid) start = i;
    const activeName = this.active?.nameZxid;
    const activeLimit = this.active?.pos;
    this.activeReaders++;
    try {
      let previous: bigint | undefined;
      for (let i = start; i < files.length; i++) {
        const nameZxid = files[i]!;
        if (nameZxid > upTo) return;
        const reader = new LogFileReader(this.fs, this.logPath(nameZxid), {
          isLast: false,
          nameZxid,
          previousZxid: previous,
          fallbackMaxWrite: this.maxWriteBytes,
          ...(nameZxid === activeName && activeLimit !== undefined ? { limit: activeLimit } : {}),
        });
        for await (const rec of reader.records()) {
          if (rec.zxid > upTo) return;
          if (rec.zxid >= fromZxid) yield { zxid: rec.zxid, payload: rec.payload };
        }
        previous = reader.lastZxid ?? previous;
      }
    } finally {
      this.activeReaders--;
    }
  }

  /**
   * Drops every txn after `zxid` (a leader's TRUNC): later log files are removed, the file holding
   * `zxid` is cut after it, and snapshots newer than `zxid` are removed. Refused (`unavailable`)
   * when no snapshot at or before `zxid` would remain although snapshots exist.
   */
  truncate(zxid: bigint): Promise<void> {
    if (this.state !== 'ready') return Promise.reject(this.stateError('truncate'));
    // From now until the cut is done, appends are refused with `busy`.
    this.state = 'maintenance';
    return this.exclusive(async () => {
      try {
        await this.drain();
        if (this.failure !== undefined) throw this.failure;
        if (zxid >= this.lastZxidValue) return;
        const snaps = await this.listZxids(this.dataDir, SNAP_PREFIX);
        if (snaps.length > 0 && !snaps.some((s) => s <= zxid)) {
          throw new PersistenceError(
            'unavailable',
            `no snapshot at or before 0x${zxid.toString(16)} to truncate to`,
          );
        }
        await this.closeActive();
        for (const s of snaps.reverse()) {
          if (s <= zxid) break;
          await this.removeFile(this.snapPath(s));
          this.knownValidSnapshots.delete(s);
        }
        await this.syncDirChecked(this.dataDir);
        while (this.logFiles.length > 0 && this.logFiles[this.logFiles.length - 1]! > zxid) {
          await this.removeFile(this.logPath(this.logFiles.pop()!));
        }
        const holder = this.logFiles[this.logFiles.length - 1];
        if (holder !== undefined) {
          const path = this.logPath(holder);
          const reader = new LogFileReader(this.fs, path, {
            isLast: true,
            nameZxid: holder,
            previousZxid: undefined,
            fallbackMaxWrite: this.maxWriteBytes,
          });
          let cut = LOG_HEADER_BYTES;
          for await (const rec of reader.records()) {
            if (rec.zxid > zxid) break;
            cut = rec.end;
          }
          await this.repairTail(path, cut);
        }
        await this.syncDirChecked(this.dataLogDir);
        this.lastZxidValue = zxid;
        this.durableZxidValue = zxid;
        this.logger.info(`truncated txn log after 0x${zxid.toString(16)}`);
      } catch (err) {
        throw toPersistenceError(err, 'truncate', this.dataLogDir);
      } finally {
        if (this.state === 'maintenance') this.state = 'ready';
      }
    });
  }

  /**
   * Keeps the newest `snapRetainCount` valid snapshots and removes older snapshots and the logs
   * only they needed (the newest log starting at or before the oldest kept snapshot stays).
   */
  purge(): Promise<PurgeResult> {
    return this.exclusive(async () => {
      if (this.state !== 'ready' && this.state !== 'failed') return { removed: [] };
      const snaps = (await this.listZxids(this.dataDir, SNAP_PREFIX)).reverse();
      const kept: bigint[] = [];
      for (const zxid of snaps) {
        if (kept.length >= this.snapRetainCount) break;
        if (this.knownValidSnapshots.has(zxid)) {
          kept.push(zxid);
        } else if ((await validateSnapshot(this.fs, this.snapPath(zxid), zxid)) === undefined) {
          this.knownValidSnapshots.add(zxid);
          kept.push(zxid);
        }
      }
      if (kept.length === 0) return { removed: [] };
      const least = kept[kept.length - 1]!;
      const removed: string[] = [];
      for (const zxid of snaps) {
        if (zxid < least) {
          const path = this.snapPath(zxid);
          await this.removeFile(path);
          this.knownValidSnapshots.delete(zxid);
          removed.push(path);
        }
      }
      if (this.activeReaders === 0) {
        let keepFrom = 0;
        for (let i = 0; i < this.logFiles.length; i++) if (this.logFiles[i]! <= least) keepFrom = i;
        const doomed = this.logFiles.slice(0, keepFrom);
        for (const zxid of doomed) {
          const path = this.logPath(zxid);
          await this.removeFile(path);
          removed.push(path);
        }
        this.logFiles = this.logFiles.slice(keepFrom);
      }
      for (const path of removed) this.logger.info(`purged ${path}`);
      return { removed };
    });
  }

  /** Reads `acceptedEpoch` or `currentEpoch` from dataDir; undefined when the file does not exist. */
  async readEpoch(name: EpochName): Promise<bigint | undefined> {
    const path = join(this.dataDir, name);
    let h: FileHandle;
    try {
      h = await this.fs.open(path, 'read');
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
      throw toPersistenceError(err, 'read', path);
    }
    try {
      const buf = new Uint8Array(64);
      const n = await h.read(buf, 0);
      const text = new TextDecoder().decode(buf.subarray(0, n)).trim();
      if (!/^\d{1,20}$/.test(text)) {
        throw new PersistenceError('corrupt-file', `${path} does not hold an epoch number`, { path });
      }
      return BigInt(text);
    } catch (err) {
      throw toPersistenceError(err, 'read', path);
    } finally {
      await h.close().catch(() => undefined);
    }
  }

  /** Durably replaces `acceptedEpoch` or `currentEpoch` (temp file, fsync, rename, directory fsync). */
  async writeEpoch(name: EpochName, epoch: bigint): Promise<void> {
    if (typeof epoch !== 'bigint' || epoch < 0n || epoch >= 1n << 63n) {
      throw new PersistenceError('invalid-argument', `epoch must be a non-negative 63-bit bigint`);
    }
    const path = join(this.dataDir, name);
    const tmp = path + TMP_SUFFIX;
    try {
      const h = await this.fs.open(tmp, 'replace');
      try {
        await h.write(new TextEncoder().encode(epoch.toString()), 0);
        await h.sync();
      } finally {
        await h.close();
      }
      await this.fs.rename(tmp, path);
      await this.fs.syncDir(this.dataDir);
    } catch (err) {
      await this.fs.unlink(tmp).catch(() => undefined);
      throw toPersistenceError(err, 'write', path);
    }
  }

  /** Waits for pending appends and a snapshot being written, then closes the log. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    const wasFailed = this.state === 'failed';
    this.state = 'closing';
    if (this.purgeTimer !== undefined) clearInterval(this.purgeTimer);
    if (!wasFailed) await this.drain();
    await this.exclusiveTail.catch(() => undefined);
    await this.snapshotRun?.catch(() => undefined);
    try {
      await this.closeActive();
    } catch (err) {
      throw toPersistenceError(err, 'close', this.dataLogDir);
    } finally {
      this.state = 'closed';
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusiveTail.then(fn, fn);
    this.exclusiveTail = run.catch(() => undefined);
    return run;
  }

  private async removeFile(path: string): Promise<void> {
    try {
      await this.fs.unlink(path);
    } catch (err) {
      throw toPersistenceError(err, 'remove', path);
    }
  }

  private async syncDirChecked(dir: string): Promise<void> {
    try {
      await this.fs.syncDir(dir);
    } catch (err) {
      throw toPersistenceError(err, 'sync directory', dir);
    }
  }

  private async list(dir: string): Promise<string[]> {
    try {
      return await this.fs.readdir(dir);
    } catch (err) {
      throw toPersistenceError(err, 'list', dir);
    }
  }

  private async listZxids(dir: string, prefix: string): Promise<bigint[]> {
    const out: bigint[] = [];
    for (const name of await this.list(dir)) {
      const z = parseFileName(prefix, name);
      if (z !== undefined) out.push(z);
    }
    return out.sort(compare);
  }

  private logPath(zxid: bigint): string {
    return join(this.dataLogDir, fileName(LOG_PREFIX, zxid));
  }

  private snapPath(zxid: bigint): string {
    return join(this.dataDir, fileName(SNAP_PREFIX, zxid));
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected ${String(x)}`);
}
