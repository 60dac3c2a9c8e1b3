import { type ACL, CreateMode, ErrorCode, type Id, Perms, pathProblem, type Stat } from '@zkts/codec';
import { AclCache, aclAllows, checkAcl, fixupAcl, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from './acl.js';
import { bytesToLatin1, LITTLE_ENDIAN, latin1ToBytes } from './bytes.js';
import { crcBytes, crcLatin1 } from './crc32.js';
import { assertNever, badArguments, noNode, TreeError } from './errors.js';
import { parentPathOf, sequenceSuffix } from './path.js';
import {
  CONFIG_ZOOKEEPER,
  LIMIT_NODE,
  PROC_ZOOKEEPER,
  QUOTA_ZOOKEEPER,
  type QuotaInfo,
  quotaLimitPath,
  quotaStatPath,
  STAT_NODE,
  StatsTrack,
  trimQuotaPath,
} from './quota.js';
import { NONE, NodeStore } from './store.js';
import type {
  ApplyResult,
  CreateRequest,
  MultiOp,
  PrepContext,
  TreeRequest,
  Txn,
  TxnBody,
  TxnResult,
  WatchNotification,
} from './types.js';
import { WatchManager } from './watches.js';

/** The ephemeralOwner of container nodes (Long.MIN_VALUE). */
export const CONTAINER_EPHEMERAL_OWNER = -0x8000000000000000n;
/** The largest TTL in ms a TTL node may have (2^40 - 1). */
export const MAX_TTL = 0xffffffffffn;
const EXTENDED_MASK = -0x100000000000000n; // 0xff00000000000000 as a signed long
const RESERVED_MASK = 0x00ffff0000000000n;
const TTL_VALUE_MASK = 0x000000ffffffffffn;

export type EphemeralKind = 'void' | 'normal' | 'container' | 'ttl';

/** How ZooKeeper reads an ephemeralOwner (EphemeralType.get). */
export function ephemeralKind(owner: bigint, extendedTypesEnabled = true): EphemeralKind {
  if (extendedTypesEnabled && (owner & EXTENDED_MASK) === EXTENDED_MASK) {
    if ((owner & RESERVED_MASK) === 0n) return 'ttl';
    return 'normal';
  }
  if (owner === CONTAINER_EPHEMERAL_OWNER) return 'container';
  return owner === 0n ? 'void' : 'normal';
}

export function ttlToEphemeralOwner(ttl: bigint): bigint {
  return BigInt.asIntN(64, EXTENDED_MASK | ttl);
}

export function ttlOfEphemeralOwner(owner: bigint): bigint {
  return owner & TTL_VALUE_MASK;
}

export interface DataTreeOptions {
  /** zookeeper.enforceQuota: hard quota limits reject creates/setData with QuotaExceeded. Default false. */
  enforceQuota?: boolean;
  /** Largest data a create/setData may carry (jute.maxbuffer, 0xfffff by default); larger is BadArguments. */
  maxDataBytes?: number;
  /** zookeeper.extendedTypesEnabled: TTL nodes. Default true (ZooKeeper's default is false). */
  extendedTypesEnabled?: boolean;
  /** zookeeper.skipACL. Default false. */
  skipACL?: boolean;
  /**
   * exists checks READ on an existing node, as later 3.8 releases do. Default false: 3.8.0 (the
   * release compatibility is proven against) answers exists without an ACL check.
   */
  existsChecksRead?: boolean;
  /**
   * Most change records prep may hold for txns not yet applied. Past it, `prep` throws a TreeError
   * with code Throttled (and makes no txn): apply or drop (`clearOutstanding`) first. Default 1e6.
   */
  maxOutstandingChanges?: number;
  /** Data of /zookeeper/config. */
  configData?: Uint8Array;
}

/**
 * @internal A stat as ZooKeeper persists it (StatPersisted: cversion counts child creations), in
 * doubles for zxids and times.
 */
export interface PStat {
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
}

/** The leader's view of a node while txns are outstanding (PrepRequestProcessor.ChangeRecord). */
interface ChangeRecord {
  zxid: bigint;
  path: string;
  /** null: deleted by an outstanding txn. */
  stat: PStat | null;
  childCount: number;
  acl: readonly ACL[];
  dataLength: number;
}

export interface ReadContext<W> {
  authIds: readonly Id[];
  /** Register a one-shot watch for this watcher. */
  watcher?: W;
}

const TWO32 = 4294967296;
const textEncoder = new TextEncoder();
const NON_ASCII = /[^ -~]/;

/** Numeric 64-bit from bigint (zxids and times are held as doubles; exact below 2^53). */
const n64 = (v: bigint): number => Number(v);
const b64 = (v: number): bigint => BigInt(v);

/** A copy of a stat to change (field by field: object spread is several times slower here). */
function copyStat(s: PStat): PStat {
  return {
    czxid: s.czxid,
    mzxid: s.mzxid,
    pzxid: s.pzxid,
    ctime: s.ctime,
    mtime: s.mtime,
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: s.ephemeralOwner,
  };
}

/** The change record that follows `r` (same path) at `zxid`. */
function nextRecord(
  r: ChangeRecord,
  zxid: bigint,
  stat: PStat,
  childCount: number,
  acl: readonly ACL[],
  dataLength: number,
): ChangeRecord {
  return { zxid, path: r.path, stat, childCount, acl, dataLength };
}

/**
 * The znode tree: deterministic apply of txns, the leader's prep step (request -> txn) with its
 * outstanding changes, reads with ACL checks and watch registration, watches, quotas, the tree
 * digest and point-in-time snapshots. `W` is the caller's watcher key type.
 */
export class DataTree<W = number> {
  /** @internal */ readonly store = new NodeStore();
  /** @internal */ readonly acls = new AclCache();
  readonly watches = new WatchManager<W>();
  readonly options: Required<Omit<DataTreeOptions, 'configData'>>;
  /** @internal */ readonly ephemerals = new Map<bigint, Set<string>>();
  /** @internal */ readonly containers = new Set<string>();
  /** @internal */ readonly ttls = new Set<string>();
  /** @internal */ readonly sessions = new Map<bigint, number>();
  /** @internal */ readonly quotaPaths = new Set<string>();
  private digestHi = 0;
  private digestLo = 0;
  private _lastZxid = 0n;
  private readonly outstanding: ChangeRecord[] = [];
  private outstandingHead = 0;
  private readonly outstandingByPath = new Map<string, ChangeRecord>();
  private notes: WatchNotification<W>[] = [];
  /** While a multi is prepped: the change records it replaced, for rollback. */
  private multiSave: Map<string, ChangeRecord | undefined> | undefined;
  /** @internal copy-on-write hooks of snapshots in progress. */
  readonly touchHooks = new Set<(id: number) => void>();
  private readonly scratch = new Uint8Array(60);
  private readonly scratchView = new DataView(this.scratch.buffer);
  /** @internal */ rootId: number;

  constructor(options: DataTreeOptions = {}, init = true) {
    this.options = {
      enforceQuota: options.enforceQuota ?? false,
      maxDataBytes: options.maxDataBytes ?? 0xfffff,
      extendedTypesEnabled: options.extendedTypesEnabled ?? true,
      skipACL: options.skipACL ?? false,
      existsChecksRead: options.existsChecksRead ?? false,
      maxOutstandingChanges: options.maxOutstandingChanges ?? 1_000_000,
    };
    this.rootId = NONE;
    if (!init) return;
    const s = this.store;
    this.rootId = s.alloc('/', '', this.acls.acquire(OPEN_ACL_UNSAFE));
    const proc = s.alloc(PROC_ZOOKEEPER, '', this.acls.acquire(OPEN_ACL_UNSAFE));
    s.link(this.rootId, proc);
    const quota = s.alloc(QUOTA_ZOOKEEPER, '', this.acls.acquire(OPEN_ACL_UNSAFE));
    s.link(proc, quota);
    const configData = bytesToLatin1(options.configData ?? new Uint8Array(0));
    const config = s.alloc(CONFIG_ZOOKEEPER, configData, this.acls.acquire(READ_ACL_UNSAFE));
    s.link(proc, config);
    for (const id of [this.rootId, proc, quota, config]) {
      for (const a of [s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime]) a[id] = 0;
    }
    // ZooKeeper sets the config node's ACL with version -1 when it adds it.
    s.aversion[config] = -1;
    for (const id of [this.rootId, proc, quota, config]) this.rehash(id, true);
  }

  // ---------------------------------------------------------------- basics

  /** The zxid of the last txn applied. */
  get lastZxid(): bigint {
    return this._lastZxid;
  }
  /** @internal */
  set lastZxid(z: bigint) {
    this._lastZxid = z;
  }

  /** Number of znodes, including /, /zookeeper, /zookeeper/quota and /zookeeper/config. */
  get nodeCount(): number {
    return this.store.size;
  }

  /**
   * ZooKeeper's tree digest (DigestCalculator version 2): the 64-bit sum of a CRC-32 per znode
   * over path, data and persisted stat, /zookeeper/ excluded. Equal trees have equal digests.
   */
  get digest(): bigint {
    return BigInt.asIntN(64, (BigInt(this.digestHi >>> 0) << 32n) + BigInt(this.digestLo));
  }

  /** @internal */
  idOf(path: string): number | undefined {
    return this.store.index.get(path === '' ? '/' : path);
  }

  /** @internal The digest of node `id` from scratch (0 under /zookeeper/). */
  nodeDigest(id: number): number {
    if (this.store.paths[id]!.startsWith('/zookeeper/')) return 0;
    return this.statCrc(id, this.pathDataCrc(id));
  }

  /** The CRC state after node `id`'s path and data; `bytes`, when given, are its data as bytes. */
  private pathDataCrc(id: number, bytes?: Uint8Array | null): number {
    const s = this.store;
    const path = s.paths[id]!;
    let crc = ~0;
    if (path !== '/') {
      crc = NON_ASCII.test(path) ? crcBytes(crc, textEncoder.encode(path)) : crcLatin1(crc, path);
    }
    if (bytes !== undefined) return bytes === null ? crc : crcBytes(crc, bytes);
    const data = s.data[id] ?? null;
    return data === null ? crc : crcLatin1(crc, data);
  }

  private statCrc(id: number, crc: number): number {
    const s = this.store;
    const v = this.scratchView;
    this.putNum(0, s.czxid[id]!);
    this.putNum(8, s.mzxid[id]!);
    this.putNum(16, s.pzxid[id]!);
    this.putNum(24, s.ctime[id]!);
    this.putNum(32, s.mtime[id]!);
    v.setInt32(40, s.version[id]!);
    v.setInt32(44, s.cversion[id]!);
    v.setInt32(48, s.aversion[id]!);
    // The owner's halves straight from the column (reading the BigInt64Array would make a BigInt).
    const o = s.owner32;
    v.setInt32(52, o[LITTLE_ENDIAN ? 2 * id + 1 : 2 * id]!);
    v.setInt32(56, o[LITTLE_ENDIAN ? 2 * id : 2 * id + 1]!);
    return ~crcBytes(crc, this.scratch) >>> 0;
  }

  /**
   * @internal Recomputes node `id`'s digest after a change and moves the tree digest by the
   * difference. Only a change of data (or a new node) re-reads path and data (`bytes`, the data as
   * bytes when the caller has them: faster than the stored string); stat-only changes continue the
   * cached CRC over the 60 stat bytes.
   */
  rehash(id: number, dataChanged: boolean, bytes?: Uint8Array | null): void {
    const s = this.store;
    if (s.paths[id]!.startsWith('/zookeeper/')) return;
    if (dataChanged) s.pdc[id] = this.pathDataCrc(id, bytes);
    const d = this.statCrc(id, s.pdc[id]!);
    this.digestSub(s.dig[id]!);
    s.dig[id] = d;
    this.digestAdd(d);
  }

  private putNum(off: number, x: number): void {
    const v = this.scratchView;
    if (x >= 0) {
      const hi = Math.floor(x / TWO32);
      v.setUint32(off, hi);
      v.setUint32(off + 4, x - hi * TWO32);
    } else {
      v.setBigInt64(off, BigInt(x));
    }
  }

  /** @internal */
  digestAdd(d: number): void {
    this.digestLo += d;
    if (this.digestLo >= TWO32) {
      this.digestLo -= TWO32;
      this.digestHi = (this.digestHi + 1) | 0;
    }
  }

  /** @internal */
  digestSub(d: number): void {
    this.digestLo -= d;
    if (this.digestLo < 0) {
      this.digestLo += TWO32;
      this.digestHi = (this.digestHi - 1) | 0;
    }
  }

  /** @internal Called before a node's persisted fields change or it is deleted. */
  private touch(id: number): void {
    if (this.touchHooks.size > 0) for (const h of this.touchHooks) h(id);
  }

  /** @internal Writes a persisted stat into node `id` (loading a snapshot). */
  setPstat(id: number, p: PStat): void {
    const s = this.store;
    s.czxid[id] = p.czxid;
    s.mzxid[id] = p.mzxid;
    s.pzxid[id] = p.pzxid;
    s.ctime[id] = p.ctime;
    s.mtime[id] = p.mtime;
    s.version[id] = p.version;
    s.cversion[id] = p.cversion;
    s.aversion[id] = p.aversion;
    s.owner[id] = p.ephemeralOwner;
  }

  /** @internal */
  pstatOf(id: number): PStat {
    const s = this.store;
    return {
      czxid: s.czxid[id]!,
      mzxid: s.mzxid[id]!,
      pzxid: s.pzxid[id]!,
      ctime: s.ctime[id]!,
      mtime: s.mtime[id]!,
      version: s.version[id]!,
      cversion: s.cversion[id]!,
      aversion: s.aversion[id]!,
      ephemeralOwner: s.owner[id]!,
    };
  }

  /** The Stat a client sees for node `id` (cversion in v3 semantics, special owners hidden). */
  private statOf(id: number): Stat {
    const s = this.store;
    const owner = s.owner[id]!;
    const n = s.nchild[id]!;
    return {
      czxid: b64(s.czxid[id]!),
      mzxid: b64(s.mzxid[id]!),
      ctime: b64(s.ctime[id]!),
      mtime: b64(s.mtime[id]!),
      version: s.version[id]!,
      cversion: (s.cversion[id]! * 2 - n) | 0,
      aversion: s.aversion[id]!,
      ephemeralOwner: ephemeralKind(owner, this.options.extendedTypesEnabled) === 'normal' ? owner : 0n,
      dataLength: s.dataLength(id),
      numChildren: n,
      pzxid: b64(s.pzxid[id]!),
    };
  }

  private kind(owner: bigint): EphemeralKind {
    return ephemeralKind(owner, this.options.extendedTypesEnabled);
  }

  // ---------------------------------------------------------------- apply

  /**
   * Applies a txn at `zxid` with wall time `time` (ms). Deterministic: the same txns in the same
   * order give the same tree. Returns the result (err 0 on success) and the watch notifications.
   */
  apply(txn: Txn, zxid: bigint, time: bigint): ApplyResult<W> {
    this.notes = [];
    const r = this.applyBody(txn.body, txn.sessionId, n64(zxid), n64(time));
    if (zxid > this._lastZxid) this._lastZxid = zxid;
    this.commitOutstanding(zxid);
    const out = r as ApplyResult<W>;
    out.zxid = zxid;
    out.notifications = this.notes;
    this.notes = [];
    return out;
  }

  private applyBody(body: TxnBody, sessionId: bigint, zxid: number, time: number): TxnResult {
    try {
      switch (body.type) {
        case 'create': {
          const owner = body.ephemeral ? sessionId : 0n;
          try {
            const stat = this.createNode(
              body.path,
              body.data,
              body.acl,
              owner,
              body.parentCVersion,
              zxid,
              time,
            );
            return { type: body.type, err: 0, path: body.path, stat };
          } catch (e) {
            // Replaying a create whose node survived (fuzzy snapshots): still move the parent's cversion.
            if (e instanceof TreeError && e.code === ErrorCode.NodeExists) {
              this.setCversionPzxid(parentPathOf(body.path), body.parentCVersion, b64(zxid));
            }
            throw e;
          }
        }
        case 'createContainer': {
          const stat = this.createNode(
            body.path,
            body.data,
            body.acl,
            CONTAINER_EPHEMERAL_OWNER,
            body.parentCVersion,
            zxid,
            time,
          );
          return { type: body.type, err: 0, path: body.path, stat };
        }
        case 'createTTL': {
          const owner = ttlToEphemeralOwner(body.ttl);
          const stat = this.createNode(
            body.path,
            body.data,
            body.acl,
            owner,
            body.parentCVersion,
            zxid,
            time,
          );
          return { type: body.type, err: 0, path: body.path, stat };
        }
        case 'delete':
        case 'deleteContainer':
          this.deleteNode(body.path, zxid);
          return { type: body.type, err: 0, path: body.path };
        case 'setData': {
          const stat = this.setDataNode(body.path, body.data, body.version, zxid, time);
          return { type: body.type, err: 0, path: body.path, stat };
        }
        case 'setACL': {
          const stat = this.setAclNode(body.path, body.acl, body.version);
          return { type: body.type, err: 0, path: body.path, stat };
        }
        case 'check':
          return { type: body.type, err: 0, path: body.path };
        case 'error':
          return { type: body.type, err: body.err };
        case 'createSession':
          this.sessions.set(sessionId, body.timeout);
          return { type: body.type, err: 0 };
        case 'closeSession':
          this.killSession(sessionId, zxid, body.paths2Delete);
          return { type: body.type, err: 0 };
        case 'multi':
          return this.applyMulti(body.txns, sessionId, zxid, time);
        default:
          return assertNever(body);
      }
    } catch (e) {
      if (e instanceof TreeError) return { type: body.type, err: e.code, path: e.path };
      throw e;
    }
  }

  private applyMulti(txns: readonly TxnBody[], sessionId: bigint, zxid: number, time: number): TxnResult {
    const failed = txns.some((t) => t.type === 'error');
    const results: TxnResult[] = [];
    let err = 0;
    let postFailed = false;
    for (const t of txns) {
      let sub: TxnBody = t;
      if (t.type === 'error') postFailed = true;
      else if (failed) sub = { type: 'error', err: postFailed ? ErrorCode.RuntimeInconsistency : 0 };
      const r = this.applyBody(sub, sessionId, zxid, time);
      results.push(r);
      if (r.err !== 0 && err === 0) err = r.err;
    }
    return { type: 'multi', err, results };
  }

  private createNode(
    path: string,
    data: Uint8Array | null,
    acl: readonly ACL[],
    owner: bigint,
    parentCVersion: number,
    zxid: number,
    time: number,
  ): Stat {
    const s = this.store;
    const slash = path.lastIndexOf('/');
    const parentName = path.slice(0, slash);
    const childName = path.slice(slash + 1);
    const parent = this.idOf(parentName);
    if (parent === undefined) throw noNode(path);
    if (s.index.has(path)) throw new TreeError(ErrorCode.NodeExists, path);
    if (parentCVersion === -1) parentCVersion = (s.cversion[parent]! + 1) | 0;
    if (parentCVersion > s.cversion[parent]!) {
      this.touch(parent);
      s.cversion[parent] = parentCVersion;
      s.pzxid[parent] = zxid;
      this.rehash(parent, false);
    }
    const id = s.alloc(path, bytesToLatin1(data), this.acls.acquire(acl));
    s.czxid[id] = zxid;
    s.mzxid[id] = zxid;
    s.pzxid[id] = zxid;
    s.ctime[id] = time;
    s.mtime[id] = time;
    s.owner[id] = owner;
    s.link(parent, id);
    this.rehash(id, true, data);
    const kind = this.kind(owner);
    if (kind === 'container') this.containers.add(path);
    else if (kind === 'ttl') this.ttls.add(path);
    else if (owner !== 0n) {
      let set = this.ephemerals.get(owner);
      if (set === undefined) {
        set = new Set();
        this.ephemerals.set(owner, set);
      }
      set.add(path);
    }
    if (parentName.startsWith(QUOTA_ZOOKEEPER)) {
      if (childName === LIMIT_NODE) this.quotaPaths.add(trimQuotaPath(parentName));
      if (childName === STAT_NODE) this.updateQuotaForPath(trimQuotaPath(parentName));
    }
    const prefix = this.maxPrefixWithQuota(path);
    if (prefix !== undefined) this.updateQuotaStat(prefix, data?.length ?? 0, 1);
    this.watches.onCreate(path, parentName, this.notes);
    return this.statOf(id);
  }

  private deleteNode(path: string, zxid: number): void {
    const s = this.store;
    const slash = path.lastIndexOf('/');
    const parentName = path.slice(0, slash);
    const childName = path.slice(slash + 1);
    const parent = this.idOf(parentName);
    if (parent === undefined) throw noNode(path);
    const id = s.index.get(path);
    if (zxid > s.pzxid[parent]!) {
      this.touch(parent);
      s.pzxid[parent] = zxid;
      this.rehash(parent, false);
    }
    if (id === undefined || id === this.rootId) throw noNode(path);
    if (s.nchild[id]! > 0) throw new TreeError(ErrorCode.NotEmpty, path);
    this.touch(id);
    this.digestSub(s.dig[id]!);
    const bytes = s.dataLength(id);
    const owner = s.owner[id]!;
    this.acls.release(s.acl[id]!);
    s.free(id);
    const kind = this.kind(owner);
    if (kind === 'container') this.containers.delete(path);
    else if (kind === 'ttl') this.ttls.delete(path);
    else if (owner !== 0n) {
      const set = this.ephemerals.get(owner);
      if (set !== undefined) {
        set.delete(path);
        if (set.size === 0) this.ephemerals.delete(owner);
      }
    }
    if (parentName.startsWith(PROC_ZOOKEEPER) && childName === LIMIT_NODE) {
      this.quotaPaths.delete(trimQuotaPath(parentName));
    }
    const prefix = this.maxPrefixWithQuota(path);
    if (prefix !== undefined) this.updateQuotaStat(prefix, -bytes, -1);
    this.watches.onDelete(path, parentName, this.notes);
  }

  private setDataNode(
    path: string,
    data: Uint8Array | null,
    version: number,
    zxid: number,
    time: number,
  ): Stat {
    const s = this.store;
    const id = this.idOf(path);
    if (id === undefined) throw noNode(path);
    this.touch(id);
    const before = s.dataLength(id);
    s.data[id] = bytesToLatin1(data);
    s.mtime[id] = time;
    s.mzxid[id] = zxid;
    s.version[id] = version;
    this.rehash(id, true, data);
    const prefix = this.maxPrefixWithQuota(path);
    if (prefix !== undefined) this.updateQuotaStat(prefix, (data?.length ?? 0) - before, 0);
    this.watches.onDataChanged(path, this.notes);
    return this.statOf(id);
  }

  private setAclNode(path: string, acl: readonly ACL[], version: number): Stat {
    const s = this.store;
    const id = this.idOf(path);
    if (id === undefined) throw noNode(path);
    this.touch(id);
    this.acls.release(s.acl[id]!);
    s.acl[id] = this.acls.acquire(acl);
    s.aversion[id] = version;
    this.rehash(id, false);
    return this.statOf(id);
  }

  private killSession(sessionId: bigint, zxid: number, paths: readonly string[]): void {
    this.sessions.delete(sessionId);
    const local = new Set(this.ephemerals.get(sessionId) ?? []);
    for (const p of paths) {
      local.delete(p);
      this.deleteQuietly(p, zxid);
    }
    for (const p of [...local].sort()) this.deleteQuietly(p, zxid);
    this.ephemerals.delete(sessionId);
  }

  private deleteQuietly(path: string, zxid: number): void {
    try {
      this.deleteNode(path, zxid);
    } catch (e) {
      if (!(e instanceof TreeError)) throw e;
    }
  }

  /**
   * Sets a node's persisted cversion and pzxid when `cversion` is larger (-1: one more), as
   * ZooKeeper does when replaying txns over a fuzzy snapshot.
   */
  setCversionPzxid(path: string, cversion: number, zxid: bigint): void {
    if (path.endsWith('/')) path = path.slice(0, -1);
    const id = this.idOf(path);
    if (id === undefined) throw noNode(path);
    const s = this.store;
    if (cversion === -1) cversion = (s.cversion[id]! + 1) | 0;
    if (cversion > s.cversion[id]!) {
      this.touch(id);
      s.cversion[id] = cversion;
      s.pzxid[id] = n64(zxid);
      this.rehash(id, false);
    }
  }

  // ---------------------------------------------------------------- quotas

  /** The longest path prefix of `path` (by components) with a quota, other than '/'. */
  maxPrefixWithQuota(path: string): string | undefined {
    if (this.quotaPaths.size === 0) return undefined;
    let p = path;
    while (p.length > 0 && p !== '/') {
      if (this.quotaPaths.has(p)) return p;
      p = p.slice(0, p.lastIndexOf('/'));
    }
    return undefined;
  }

  private updateQuotaStat(prefix: string, bytesDiff: number, countDiff: number): void {
    const id = this.idOf(quotaStatPath(prefix));
    if (id === undefined) return;
    const st = new StatsTrack(this.store.data[id] ?? '');
    st.count = st.count + countDiff;
    st.bytes = st.bytes + bytesDiff;
    this.touch(id);
    this.store.data[id] = st.toString();
  }

  /** @internal Recomputes a quota's usage from its subtree (the node itself counts). */
  updateQuotaForPath(path: string): void {
    let count = 0;
    let bytes = 0;
    const s = this.store;
    const start = this.idOf(path);
    if (start !== undefined) {
      const stack = [start];
      while (stack.length > 0) {
        const id = stack.pop()!;
        count++;
        bytes += s.dataLength(id);
        for (let c = s.first[id]!; c !== NONE; c = s.next[c]!) stack.push(c);
      }
    }
    const statId = this.idOf(quotaStatPath(path));
    if (statId === undefined) return;
    const st = new StatsTrack();
    st.count = count;
    st.bytes = bytes;
    this.touch(statId);
    this.store.data[statId] = st.toString();
  }

  /** @internal Rebuilds quota paths and usage from /zookeeper/quota (after loading a snapshot). */
  setupQuota(): void {
    this.quotaPaths.clear();
    const s = this.store;
    const walk = (id: number): void => {
      if (s.nchild[id] === 0) {
        const p = s.paths[id]!;
        const end = `/${LIMIT_NODE}`;
        if (p.endsWith(end)) {
          const real = p.slice(QUOTA_ZOOKEEPER.length, p.length - end.length);
          this.updateQuotaForPath(real);
          this.quotaPaths.add(real);
        }
        return;
      }
      for (const c of s.childIds(id)) walk(c);
    };
    const q = this.idOf(QUOTA_ZOOKEEPER);
    if (q !== undefined) walk(q);
  }

  /** listquota: the limits and usage of the quota on `path`, or undefined when it has none. */
  listQuota(path: string): QuotaInfo | undefined {
    const lim = this.idOf(quotaLimitPath(path));
    if (lim === undefined) return undefined;
    const st = this.idOf(quotaStatPath(path));
    return {
      path,
      limit: new StatsTrack(this.store.data[lim] ?? ''),
      usage: new StatsTrack(st === undefined ? '' : (this.store.data[st] ?? '')),
    };
  }

  private checkQuota(path: string, lastBytes: number, bytes: number, isCreate: boolean): void {
    if (!this.options.enforceQuota) return;
    const prefix = this.maxPrefixWithQuota(path);
    if (prefix === undefined) return;
    const limId = this.idOf(quotaLimitPath(prefix));
    if (limId === undefined) return;
    const limit = new StatsTrack(this.store.data[limId] ?? '');
    const countDiff = isCreate ? 1 : 0;
    const bytesDiff = isCreate ? bytes : bytes - lastBytes;
    const checkCount = countDiff !== 0 && (limit.count > -1 || limit.countHardLimit > -1);
    const checkBytes = bytesDiff !== 0 && (limit.bytes > -1 || limit.byteHardLimit > -1);
    if (!checkCount && !checkBytes) return;
    const statId = this.idOf(quotaStatPath(prefix));
    if (statId === undefined) return;
    const usage = new StatsTrack(this.store.data[statId] ?? '');
    // Soft limits (count, bytes) are only logged by ZooKeeper; hard limits reject.
    if (checkCount && limit.countHardLimit > -1 && usage.count + countDiff > limit.countHardLimit) {
      throw new TreeError(ErrorCode.QuotaExceeded, prefix);
    }
    if (checkBytes && limit.byteHardLimit > -1 && usage.bytes + bytesDiff > limit.byteHardLimit) {
      throw new TreeError(ErrorCode.QuotaExceeded, prefix);
    }
  }

  // ---------------------------------------------------------------- prep

  private recordFor(path: string): ChangeRecord {
    const out = this.outstandingByPath.get(path);
    if (out !== undefined) {
      if (out.stat === null) throw noNode(path);
      return out;
    }
    const id = this.idOf(path);
    if (id === undefined) throw noNode(path);
    const s = this.store;
    return {
      zxid: -1n,
      path,
      stat: this.pstatOf(id),
      childCount: s.nchild[id]!,
      acl: this.acls.get(s.acl[id]!),
      dataLength: s.dataLength(id),
    };
  }

  private recordExists(path: string): boolean {
    const out = this.outstandingByPath.get(path);
    if (out !== undefined) return out.stat !== null;
    return this.idOf(path) !== undefined;
  }

  private addRecord(r: ChangeRecord): void {
    const save = this.multiSave;
    if (save !== undefined && !save.has(r.path)) save.set(r.path, this.outstandingByPath.get(r.path));
    this.outstanding.push(r);
    this.outstandingByPath.set(r.path, r);
  }

  private commitOutstanding(zxid: bigint): void {
    const list = this.outstanding;
    while (this.outstandingHead < list.length && list[this.outstandingHead]!.zxid <= zxid) {
      const r = list[this.outstandingHead]!;
      if (this.outstandingByPath.get(r.path) === r) this.outstandingByPath.delete(r.path);
      this.outstandingHead++;
    }
    if (this.outstandingHead > 1024 && this.outstandingHead * 2 > list.length) {
      list.splice(0, this.outstandingHead);
      this.outstandingHead = 0;
    }
  }

  /** Number of change records prep holds for txns not yet applied. */
  get outstandingChanges(): number {
    return this.outstanding.length - this.outstandingHead;
  }

  /** Drops every outstanding change record (e.g. when leadership is lost). */
  clearOutstanding(): void {
    this.outstanding.length = 0;
    this.outstandingHead = 0;
    this.outstandingByPath.clear();
  }

  private checkAcl(acl: readonly ACL[], perm: number, ctx: PrepContext | ReadContext<W>, path: string): void {
    if (this.options.skipACL) return;
    checkAcl(acl, perm, ctx.authIds, path);
  }

  /**
   * The leader's prep step: checks a write request against the tree and the changes of txns
   * prepped but not yet applied, and turns it into the txn to log and apply at `ctx.zxid`. A
   * rejected request becomes an error txn (it still takes its zxid, as in ZooKeeper) and `error`
   * says why. Prep results are only valid if txns are applied in the order they were prepped.
   * Throws (no txn) only when `maxOutstandingChanges` is reached.
   */
  prep(request: TreeRequest, ctx: PrepContext): { txn: Txn; error?: TreeError } {
    if (this.outstandingChanges >= this.options.maxOutstandingChanges) {
      throw new TreeError(
        ErrorCode.Throttled,
        undefined,
        `${this.outstandingChanges} changes are outstanding`,
      );
    }
    const sessionId = ctx.sessionId;
    const cxid = ctx.cxid ?? 0;
    if (request.type === 'multi') return this.prepMulti(request.ops, ctx, sessionId, cxid);
    try {
      return { txn: { sessionId, cxid, body: this.prepOne(request, ctx) } };
    } catch (e) {
      if (!(e instanceof TreeError)) throw e;
      return { txn: { sessionId, cxid, body: { type: 'error', err: e.code } }, error: e };
    }
  }

  private prepMulti(
    ops: readonly MultiOp[],
    ctx: PrepContext,
    sessionId: bigint,
    cxid: number,
  ): { txn: Txn; error?: TreeError } {
    const savedLength = this.outstanding.length;
    const savedMap = new Map<string, ChangeRecord | undefined>();
    this.multiSave = savedMap;
    const txns: TxnBody[] = [];
    let error: TreeError | undefined;
    for (const op of ops) {
      if (error !== undefined) {
        txns.push({ type: 'error', err: ErrorCode.RuntimeInconsistency });
        continue;
      }
      try {
        txns.push(this.prepOne(op, ctx));
      } catch (e) {
        if (!(e instanceof TreeError)) {
          this.multiSave = undefined;
          throw e;
        }
        error = e;
        txns.push({ type: 'error', err: e.code });
      }
    }
    this.multiSave = undefined;
    if (error !== undefined) {
      // Roll back every change record this multi added.
      this.outstanding.length = savedLength;
      for (const [p, r] of savedMap) {
        if (r === undefined) this.outstandingByPath.delete(p);
        else this.outstandingByPath.set(p, r);
      }
    }
    const txn: Txn = { sessionId, cxid, body: { type: 'multi', txns } };
    return error === undefined ? { txn } : { txn, error };
  }

  private prepOne(req: TreeRequest, ctx: PrepContext): TxnBody {
    const zxid = ctx.zxid;
    switch (req.type) {
      case 'create':
        return this.prepCreate(req, ctx);
      case 'delete':
      case 'deleteContainer':
        return this.prepDelete(req, ctx);
      case 'setData': {
        const path = req.path;
        this.checkDataSize(path, req.data);
        validatePath(path);
        const node = this.recordFor(path);
        this.checkAcl(node.acl, Perms.WRITE, ctx, path);
        const dataLength = req.data?.length ?? 0;
        this.checkQuota(path, node.dataLength, dataLength, false);
        const version = checkVersion(node.stat!.version, req.version, path);
        const stat = copyStat(node.stat!);
        stat.version = version;
        stat.mtime = n64(ctx.time);
        stat.mzxid = n64(zxid);
        this.addRecord(nextRecord(node, zxid, stat, node.childCount, node.acl, dataLength));
        return { type: 'setData', path, data: req.data, version };
      }
      case 'setACL': {
        const path = req.path;
        validatePath(path);
        const acl = fixupAcl(path, ctx.authIds, req.acl);
        const node = this.recordFor(path);
        this.checkAcl(node.acl, Perms.ADMIN, ctx, path);
        const version = checkVersion(node.stat!.aversion, req.version, path);
        const stat = copyStat(node.stat!);
        stat.aversion = version;
        this.addRecord(nextRecord(node, zxid, stat, node.childCount, acl, node.dataLength));
        return { type: 'setACL', path, acl, version };
      }
      case 'check': {
        const path = req.path;
        validatePath(path);
        const node = this.recordFor(path);
        this.checkAcl(node.acl, Perms.READ, ctx, path);
        return { type: 'check', path, version: checkVersion(node.stat!.version, req.version, path) };
      }
      case 'createSession':
        return { type: 'createSession', timeout: req.timeout };
      case 'closeSession': {
        const es = new Set(this.ephemerals.get(ctx.sessionId) ?? []);
        for (let i = this.outstandingHead; i < this.outstanding.length; i++) {
          const c = this.outstanding[i]!;
          if (c.stat === null) es.delete(c.path);
          else if (c.stat.ephemeralOwner === ctx.sessionId) es.add(c.path);
        }
        const paths = [...es].sort();
        for (const p of paths) {
          const parentPath = parentPathOf(p);
          try {
            const parent = this.recordFor(parentPath === '' ? '/' : parentPath);
            const stat = copyStat(parent.stat!);
            stat.pzxid = n64(zxid);
            this.addRecord(
              nextRecord(parent, zxid, stat, parent.childCount - 1, parent.acl, parent.dataLength),
            );
          } catch (e) {
            if (!(e instanceof TreeError)) throw e;
          }
          this.addRecord({ zxid, path: p, stat: null, childCount: 0, acl: [], dataLength: 0 });
        }
        return { type: 'closeSession', paths2Delete: paths };
      }
      case 'multi':
        throw badArguments('', 'nested multi');
      default:
        return assertNever(req);
    }
  }

  /**
   * delete and deleteContainer: each checks the node in ZooKeeper's order (a container only if it
   * is empty and not ephemeral; a delete its parent's DELETE permission and the version), then
   * both record the parent losing a child (its pzxid moves) and the node gone.
   */
  private prepDelete(
    req: { type: 'delete'; path: string; version: number } | { type: 'deleteContainer'; path: string },
    ctx: PrepContext,
  ): TxnBody {
    const { path } = req;
    const zxid = ctx.zxid;
    const parentPath = this.parentForDelete(path);
    let parent: ChangeRecord;
    if (req.type === 'deleteContainer') {
      const node = this.recordFor(path);
      if (node.childCount > 0) throw new TreeError(ErrorCode.NotEmpty, path);
      if (this.kind(node.stat!.ephemeralOwner) === 'normal') throw new TreeError(ErrorCode.BadVersion, path);
      parent = this.recordFor(parentPath);
    } else {
      parent = this.recordFor(parentPath);
      this.checkAcl(parent.acl, Perms.DELETE, ctx, path);
      const node = this.recordFor(path);
      checkVersion(node.stat!.version, req.version, path);
      if (node.childCount > 0) throw new TreeError(ErrorCode.NotEmpty, path);
    }
    const stat = copyStat(parent.stat!);
    stat.pzxid = n64(zxid);
    this.addRecord(nextRecord(parent, zxid, stat, parent.childCount - 1, parent.acl, parent.dataLength));
    this.addRecord({ zxid, path, stat: null, childCount: -1, acl: [], dataLength: 0 });
    return { type: req.type, path };
  }

  private checkDataSize(path: string, data: Uint8Array | null): void {
    if (data !== null && data.length > this.options.maxDataBytes) {
      throw badArguments(path, `data of ${data.length} bytes exceeds ${this.options.maxDataBytes}`);
    }
  }

  private parentForDelete(path: string): string {
    const slash = path.lastIndexOf('/');
    if (slash === -1 || path.includes('\0') || isSpecialPath(path)) throw badArguments(path);
    const parent = path.slice(0, slash);
    return parent === '' ? '/' : parent;
  }

  private prepCreate(req: CreateRequest, ctx: PrepContext): TxnBody {
    const flags = req.flags;
    const mode = createModeInfo(flags);
    if (mode === undefined) throw badArguments(req.path, `unknown create mode ${flags}`);
    const ttl = req.ttl === undefined ? -1n : BigInt(req.ttl);
    if (mode.ttl && !this.options.extendedTypesEnabled)
      throw new TreeError(ErrorCode.Unimplemented, req.path);
    if (mode.ttl) {
      if (ttl > MAX_TTL || ttl <= 0n) throw badArguments(req.path, 'ttl out of range');
    } else if (ttl >= 0n) {
      throw badArguments(req.path, 'ttl not valid for this mode');
    }
    if (mode.ephemeral && !this.sessions.has(ctx.sessionId)) {
      throw new TreeError(ErrorCode.SessionExpired, req.path);
    }
    this.checkDataSize(req.path, req.data);
    let path = req.path;
    const slash = path.lastIndexOf('/');
    if (slash === -1 || path.includes('\0')) throw badArguments(path);
    const parentPath = path.slice(0, slash);
    const acl = fixupAcl(path, ctx.authIds, req.acl);
    const parent = this.recordFor(parentPath === '' ? '/' : parentPath);
    this.checkAcl(parent.acl, Perms.CREATE, ctx, path);
    const parentCVersion = parent.stat!.cversion;
    if (mode.sequential) path = path + sequenceSuffix(parentCVersion);
    validatePath(path);
    if (this.recordExists(path)) throw new TreeError(ErrorCode.NodeExists, path);
    if (this.kind(parent.stat!.ephemeralOwner) === 'normal') {
      throw new TreeError(ErrorCode.NoChildrenForEphemerals, path);
    }
    const newCversion = (parentCVersion + 1) | 0;
    const dataLength = req.data?.length ?? 0;
    this.checkQuota(path, 0, dataLength, true);
    let body: TxnBody;
    let owner = 0n;
    if (mode.container) {
      body = { type: 'createContainer', path, data: req.data, acl, parentCVersion: newCversion };
      owner = CONTAINER_EPHEMERAL_OWNER;
    } else if (mode.ttl) {
      body = { type: 'createTTL', path, data: req.data, acl, parentCVersion: newCversion, ttl };
      owner = ttlToEphemeralOwner(ttl);
    } else {
      body = {
        type: 'create',
        path,
        data: req.data,
        acl,
        ephemeral: mode.ephemeral,
        parentCVersion: newCversion,
      };
      if (mode.ephemeral) owner = ctx.sessionId;
    }
    const z = n64(ctx.zxid);
    const t = n64(ctx.time);
    const parentStat = copyStat(parent.stat!);
    parentStat.cversion = newCversion;
    parentStat.pzxid = z;
    this.addRecord(
      nextRecord(parent, ctx.zxid, parentStat, parent.childCount + 1, parent.acl, parent.dataLength),
    );
    this.addRecord({
      zxid: ctx.zxid,
      path,
      stat: {
        czxid: z,
        mzxid: z,
        pzxid: z,
        ctime: t,
        mtime: t,
        version: 0,
        cversion: 0,
        aversion: 0,
        ephemeralOwner: owner,
      },
      childCount: 0,
      acl,
      dataLength,
    });
    return body;
  }

  // ---------------------------------------------------------------- reads

  private readNode(path: string, ctx: ReadContext<W>, perm: number): number {
    const id = this.idOf(path);
    if (id === undefined) throw noNode(path);
    this.checkAcl(this.acls.get(this.store.acl[id]!), perm, ctx, path);
    return id;
  }

  /**
   * getData as ZooKeeper answers it: data is null when the node was created or last set with null
   * data, an empty array when with empty data. READ on the node; registers a data watch when
   * `ctx.watcher` is set.
   */
  getData(path: string, ctx: ReadContext<W>): { data: Uint8Array | null; stat: Stat } {
    const id = this.readNode(path, ctx, Perms.READ);
    if (ctx.watcher !== undefined) this.watches.addDataWatch(path, ctx.watcher);
    return { data: latin1ToBytes(this.store.data[id] ?? null), stat: this.statOf(id) };
  }

  /**
   * exists: the watch is registered whether the node exists or not. No ACL check unless
   * `existsChecksRead` (then READ on an existing node).
   */
  exists(path: string, ctx: ReadContext<W>): Stat | null {
    if (path.includes('\0')) throw badArguments(path);
    const id = this.idOf(path);
    if (id !== undefined && this.options.existsChecksRead)
      this.checkAcl(this.acls.get(this.store.acl[id]!), Perms.READ, ctx, path);
    if (ctx.watcher !== undefined) this.watches.addDataWatch(path, ctx.watcher);
    return id === undefined ? null : this.statOf(id);
  }

  /** getChildren / getChildren2: READ; registers a child watch when `ctx.watcher` is set. */
  getChildren(path: string, ctx: ReadContext<W>): { children: string[]; stat: Stat } {
    const id = this.readNode(path, ctx, Perms.READ);
    if (ctx.watcher !== undefined) this.watches.addChildWatch(path, ctx.watcher);
    return { children: this.store.childNames(id), stat: this.statOf(id) };
  }

  /** getACL: READ or ADMIN; without ADMIN, digest ids come back as `user:x`. */
  getACL(path: string, ctx: ReadContext<W>): { acl: ACL[]; stat: Stat } {
    const id = this.readNode(path, ctx, Perms.READ | Perms.ADMIN);
    const list = this.acls.get(this.store.acl[id]!);
    const admin = this.options.skipACL || aclAllows(list, Perms.ADMIN, ctx.authIds);
    const acl = list.map((a) =>
      !admin && a.id.scheme === 'digest'
        ? { perms: a.perms, id: { scheme: 'digest', id: a.id.id.replace(/:.*/s, ':x') } }
        : { perms: a.perms, id: { ...a.id } },
    );
    return { acl, stat: this.statOf(id) };
  }

  /** getAllChildrenNumber: READ; the number of descendants (for '/', every node but the root). */
  getAllChildrenNumber(path: string, ctx: ReadContext<W>): number {
    const id = this.readNode(path, ctx, Perms.READ);
    if (id === this.rootId) return this.store.size - 1;
    let n = 0;
    const s = this.store;
    const stack = s.childIds(id);
    while (stack.length > 0) {
      const c = stack.pop()!;
      n++;
      for (let k = s.first[c]!; k !== NONE; k = s.next[k]!) stack.push(k);
    }
    return n;
  }

  /** getEphemerals: the session's ephemeral paths starting with `prefix` (all for '', '/' or none). */
  getEphemerals(sessionId: bigint, prefix?: string): string[] {
    const all = [...(this.ephemerals.get(sessionId) ?? [])];
    const p = prefix?.trim();
    const out = p === undefined || p === '' || p === '/' ? all : all.filter((x) => x.startsWith(prefix!));
    return out.sort();
  }

  /** Every session's ephemeral paths, sorted (the dump report). */
  getAllEphemerals(): Map<bigint, string[]> {
    return new Map([...this.ephemerals].map(([id, ps]) => [id, [...ps].sort()]));
  }

  /** Number of ephemeral znodes (zk_ephemerals_count). */
  get ephemeralCount(): number {
    let n = 0;
    for (const ps of this.ephemerals.values()) n += ps.size;
    return n;
  }

  /** Sum of path and data lengths over all znodes (zk_approximate_data_size); O(znodes). */
  approximateDataSize(): number {
    const s = this.store;
    let n = 0;
    for (let id = 0; id < s.highWater; id++) if (s.isLive(id)) n += s.paths[id]!.length + s.dataLength(id);
    return n;
  }

  /** Sessions the tree knows (createSession applied, closeSession not yet) with their timeouts. */
  getSessions(): Map<bigint, number> {
    return new Map(this.sessions);
  }

  /** Stat of a node without ACL checks or watches (server internals, 4lw). */
  statNode(path: string): Stat | undefined {
    const id = this.idOf(path);
    return id === undefined ? undefined : this.statOf(id);
  }

  /** The ACL list of a node without checks. */
  aclOf(path: string): readonly ACL[] | undefined {
    const id = this.idOf(path);
    return id === undefined ? undefined : this.acls.get(this.store.acl[id]!);
  }

  /** addWatch: a persistent or persistent-recursive watch (AddWatchMode) on `path`. */
  addWatch(path: string, mode: number, watcher: W): void {
    this.watches.addPersistentWatch(path, watcher, mode === 1);
  }

  /**
   * setWatches / setWatches2 after a reconnect: for each watch the client had, fire at once what
   * it missed since `relativeZxid`, and re-register the rest.
   */
  setWatches(
    relativeZxid: bigint,
    watches: {
      dataWatches?: readonly string[];
      existWatches?: readonly string[];
      childWatches?: readonly string[];
      persistentWatches?: readonly string[];
      persistentRecursiveWatches?: readonly string[];
    },
    watcher: W,
  ): WatchNotification<W>[] {
    const out: WatchNotification<W>[] = [];
    const rel = n64(relativeZxid);
    const s = this.store;
    for (const path of watches.dataWatches ?? []) {
      const id = this.idOf(path);
      if (id === undefined) out.push({ watcher, type: 2, path });
      else if (s.mzxid[id]! > rel) out.push({ watcher, type: 3, path });
      else this.watches.addDataWatch(path, watcher);
    }
    for (const path of watches.existWatches ?? []) {
      if (this.idOf(path) !== undefined) out.push({ watcher, type: 1, path });
      else this.watches.addDataWatch(path, watcher);
    }
    for (const path of watches.childWatches ?? []) {
      const id = this.idOf(path);
      if (id === undefined) out.push({ watcher, type: 2, path });
      else if (s.pzxid[id]! > rel) out.push({ watcher, type: 4, path });
      else this.watches.addChildWatch(path, watcher);
    }
    for (const path of watches.persistentWatches ?? []) this.watches.addPersistentWatch(path, watcher, false);
    for (const path of watches.persistentRecursiveWatches ?? []) {
      this.watches.addPersistentWatch(path, watcher, true);
    }
    return out;
  }

  /** removeWatches: false is ZooKeeper's NoWatcher. */
  removeWatches(path: string, watcherType: number, watcher: W): boolean {
    return this.watches.removeWatch(path, watcherType, watcher);
  }

  /** checkWatches: false is ZooKeeper's NoWatcher. */
  checkWatches(path: string, watcherType: number, watcher: W): boolean {
    return this.watches.containsWatch(path, watcherType, watcher);
  }

  // ---------------------------------------------------------------- containers and TTLs

  /**
   * Containers and TTL nodes due for deletion at wall time `now` (ms), sorted: containers that had
   * a child and have none (or never had one for longer than `maxNeverUsedIntervalMs`, when not 0),
   * TTL nodes with no children unchanged for longer than their TTL. The server turns each into a
   * deleteContainer request.
   */
  expiredNodes(now: bigint, maxNeverUsedIntervalMs = 0): string[] {
    const s = this.store;
    const nowN = n64(now);
    const out: string[] = [];
    for (const p of this.containers) {
      const id = this.idOf(p);
      if (id === undefined || s.nchild[id] !== 0) continue;
      if (s.cversion[id]! > 0) out.push(p);
      else if (maxNeverUsedIntervalMs !== 0 && nowN - s.mtime[id]! > maxNeverUsedIntervalMs) out.push(p);
    }
    for (const p of this.ttls) {
      const id = this.idOf(p);
      if (id === undefined || s.nchild[id] !== 0) continue;
      const owner = s.owner[id]!;
      if (this.kind(owner) !== 'ttl') continue;
      const ttl = Number(ttlOfEphemeralOwner(owner));
      if (ttl !== 0 && nowN - s.mtime[id]! > ttl) out.push(p);
    }
    return out.sort();
  }

  /** Every node path in the tree (diagnostics, tests). */
  paths(): string[] {
    return [...this.store.index.keys()];
  }
}

function validatePath(path: string): void {
  const why = pathProblem(path);
  if (why !== undefined) throw badArguments(path, why);
}

function checkVersion(current: number, expected: number, path: string): number {
  if (expected !== -1 && expected !== current) throw new TreeError(ErrorCode.BadVersion, path);
  return (current + 1) | 0;
}

export function isSpecialPath(path: string): boolean {
  return path === '/' || path === PROC_ZOOKEEPER || path === QUOTA_ZOOKEEPER || path === CONFIG_ZOOKEEPER;
}

interface ModeInfo {
  ephemeral: boolean;
  sequential: boolean;
  container: boolean;
  ttl: boolean;
}

/** What a CreateMode flag means, or undefined for an unknown flag. */
export function createModeInfo(flags: number): ModeInfo | undefined {
  switch (flags) {
    case CreateMode.PERSISTENT:
      return { ephemeral: false, sequential: false, container: false, ttl: false };
    case CreateMode.EPHEMERAL:
      return { ephemeral: true, sequential: false, container: false, ttl: false };
    case CreateMode.PERSISTENT_SEQUENTIAL:
      return { ephemeral: false, sequential: true, container: false, ttl: false };
    case CreateMode.EPHEMERAL_SEQUENTIAL:
      return { ephemeral: true, sequential: true, container: false, ttl: false };
    case CreateMode.CONTAINER:
      return { ephemeral: false, sequential: false, container: true, ttl: false };
    case CreateMode.PERSISTENT_WITH_TTL:
      return { ephemeral: false, sequential: false, container: false, ttl: true };
    case CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL:
      return { ephemeral: false, sequential: true, container: false, ttl: true };
    default:
      return undefined;
  }
}
