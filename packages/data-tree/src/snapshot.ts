import type { ACL } from '@zkts/codec';
import { ErrorCode } from '@zkts/codec';
import { Incomplete, Reader, Writer } from './bytes.js';
import { TreeError } from './errors.js';
import { parentPathOf } from './path.js';
import { NONE } from './store.js';
import { DataTree, type DataTreeOptions, ephemeralKind, type PStat } from './tree.js';
import { readAcl, writeAcl } from './txn-codec.js';

const MAGIC = [0x5a, 0x4b, 0x54, 0x53]; // "ZKTS"
/**
 * Version of the snapshot format. Node data is a u32 length and its bytes, or the length -1
 * (0xffffffff) for null data.
 */
export const SNAPSHOT_FORMAT_VERSION = 1;
const REC_END = 0;
const REC_ACL = 1;
const REC_NODE = 2;

/** A node as the snapshot holds it: its path, data (null: ZooKeeper's null data), ACL and stat. */
interface SavedNode extends PStat {
  path: string;
  data: string | null;
  acl: readonly ACL[];
}

function savedNode(tree: DataTree<unknown>, id: number): SavedNode {
  const s = tree.store;
  return {
    ...tree.pstatOf(id),
    path: s.paths[id]!,
    data: s.data[id] ?? null,
    acl: tree.acls.get(s.acl[id]!),
  };
}

export interface SnapshotOptions {
  /** Approximate size of each chunk (bytes). Default 64 KiB. */
  chunkBytes?: number;
  /** Nodes serialized per `next()` at most. Default: as many as fill a chunk. */
  nodesPerChunk?: number;
}

/**
 * A point-in-time snapshot of a tree, produced chunk by chunk. The view is fixed when the stream
 * is created: txns applied while it is being read do not show in it (nodes changed or deleted
 * before the stream reaches them are copied aside first). Iterate it to the end, or call
 * `return()` (for..of does on break) to release it.
 */
export class SnapshotStream implements IterableIterator<Uint8Array> {
  /** zxid of the last txn the snapshot contains. */
  readonly zxid: bigint;
  /** Tree digest at that zxid. */
  readonly digest: bigint;
  private cursor = 0;
  private readonly limit: number;
  private readonly snapZxid: number;
  private readonly saved = new Map<number, SavedNode>();
  private readonly aclIds = new Map<readonly ACL[], number>();
  private readonly w: Writer;
  private readonly hook: (id: number) => void;
  private count = 0;
  private done = false;
  private readonly chunkBytes: number;
  private readonly nodesPerChunk: number;

  constructor(
    private readonly tree: DataTree<unknown>,
    options: SnapshotOptions = {},
  ) {
    this.chunkBytes = options.chunkBytes ?? 64 * 1024;
    this.nodesPerChunk = options.nodesPerChunk ?? Number.POSITIVE_INFINITY;
    this.w = new Writer(this.chunkBytes + 1024);
    this.zxid = tree.lastZxid;
    this.snapZxid = Number(tree.lastZxid);
    this.digest = tree.digest;
    this.limit = tree.store.highWater;
    const s = tree.store;
    this.hook = (id: number) => {
      if (id < this.cursor || id >= this.limit || this.saved.has(id)) return;
      if (!s.isLive(id) || s.czxid[id]! > this.snapZxid) return;
      this.saved.set(id, savedNode(tree, id));
    };
    tree.touchHooks.add(this.hook);
    const w = this.w;
    for (const b of MAGIC) w.u8(b);
    w.u8(SNAPSHOT_FORMAT_VERSION);
    w.i64(this.zxid);
    w.i64(this.digest);
    const sessions = [...tree.sessions].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    w.u32(sessions.length);
    for (const [id, timeout] of sessions) {
      w.i64(id);
      w.i32(timeout);
    }
  }

  [Symbol.iterator](): this {
    return this;
  }

  private aclRef(acl: readonly ACL[]): number {
    let id = this.aclIds.get(acl);
    if (id === undefined) {
      id = this.aclIds.size;
      this.aclIds.set(acl, id);
      this.w.u8(REC_ACL);
      this.w.u32(id);
      writeAcl(this.w, acl);
    }
    return id;
  }

  /** A node copied aside before a txn changed it. */
  private writeNode(n: SavedNode): void {
    this.writeRecord(
      n.path,
      n.data,
      n.acl,
      n.czxid,
      n.mzxid,
      n.pzxid,
      n.ctime,
      n.mtime,
      n.version,
      n.cversion,
      n.aversion,
      n.ephemeralOwner,
    );
  }

  /** Writes live node `id` straight from the store's columns (the common case: no copy). */
  private writeLive(id: number): void {
    const s = this.tree.store;
    this.writeRecord(
      s.paths[id]!,
      s.data[id] ?? null,
      this.tree.acls.get(s.acl[id]!),
      s.czxid[id]!,
      s.mzxid[id]!,
      s.pzxid[id]!,
      s.ctime[id]!,
      s.mtime[id]!,
      s.version[id]!,
      s.cversion[id]!,
      s.aversion[id]!,
      s.owner[id]!,
    );
  }

  /** One node record, in the order SnapshotLoader reads it. */
  private writeRecord(
    path: string,
    data: string | null,
    acl: readonly ACL[],
    czxid: number,
    mzxid: number,
    pzxid: number,
    ctime: number,
    mtime: number,
    version: number,
    cversion: number,
    aversion: number,
    owner: bigint,
  ): void {
    const a = this.aclRef(acl);
    const w = this.w;
    w.u8(REC_NODE);
    w.str(path);
    w.nullableLatin1(data);
    w.u32(a);
    w.num64(czxid);
    w.num64(mzxid);
    w.num64(pzxid);
    w.num64(ctime);
    w.num64(mtime);
    w.i32(version);
    w.i32(cversion);
    w.i32(aversion);
    w.i64(owner);
    this.count++;
  }

  next(): IteratorResult<Uint8Array> {
    if (this.done) return { done: true, value: undefined };
    const s = this.tree.store;
    const paths = s.paths;
    const czxid = s.czxid;
    const saved = this.saved;
    const w = this.w;
    let id = this.cursor;
    let n = 0;
    while (id < this.limit && w.pos < this.chunkBytes && n < this.nodesPerChunk) {
      if (saved.size > 0) {
        const copy = saved.get(id);
        if (copy !== undefined) {
          saved.delete(id);
          this.writeNode(copy);
          n++;
          id++;
          continue;
        }
      }
      // A live node (see NodeStore.isLive: a freed id has the empty path) the snapshot covers.
      if (paths[id] !== '' && czxid[id]! <= this.snapZxid) {
        this.writeLive(id);
        n++;
      }
      id++;
    }
    this.cursor = id;
    if (this.cursor >= this.limit) {
      this.w.u8(REC_END);
      this.w.u32(this.count);
      this.release();
    }
    return { done: false, value: this.w.take() };
  }

  return(): IteratorResult<Uint8Array> {
    this.release();
    return { done: true, value: undefined };
  }

  private release(): void {
    this.done = true;
    this.tree.touchHooks.delete(this.hook);
    this.saved.clear();
  }
}

/** Rebuilds a tree from snapshot chunks fed in order with `push`, then `finish`. */
export class SnapshotLoader<W = number> {
  private pending: Uint8Array = new Uint8Array(0);
  private headerRead = false;
  private ended = false;
  private readonly tree: DataTree<W>;
  private readonly aclMap = new Map<number, ACL[]>();
  private count = 0;
  private expectedDigest = 0n;

  constructor(options: DataTreeOptions = {}) {
    this.tree = new DataTree<W>(options, false);
  }

  push(chunk: Uint8Array): void {
    if (this.ended) {
      if (chunk.length > 0) throw corrupt('bytes after the end of the snapshot');
      return;
    }
    let buf: Uint8Array;
    if (this.pending.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending);
      buf.set(chunk, this.pending.length);
    }
    const r = new Reader(buf);
    let mark = 0;
    try {
      if (!this.headerRead) {
        this.readHeader(r);
        this.headerRead = true;
        mark = r.pos;
      }
      while (r.remaining > 0 && !this.ended) {
        this.readRecord(r);
        mark = r.pos;
      }
    } catch (e) {
      if (!(e instanceof Incomplete)) throw e;
    }
    if (this.ended && mark < buf.length) throw corrupt('bytes after the end of the snapshot');
    this.pending = buf.slice(mark);
  }

  private readHeader(r: Reader): void {
    for (const b of MAGIC) if (r.u8() !== b) throw corrupt('not a zkts snapshot');
    const v = r.u8();
    if (v !== SNAPSHOT_FORMAT_VERSION) throw corrupt(`unknown snapshot version ${v}`);
    const zxid = r.i64();
    const digest = r.i64();
    const n = r.u32();
    const sessions: [bigint, number][] = [];
    for (let i = 0; i < n; i++) {
      const id = r.i64();
      sessions.push([id, r.i32()]);
    }
    this.tree.lastZxid = zxid;
    this.expectedDigest = digest;
    for (const [id, t] of sessions) this.tree.sessions.set(id, t);
  }

  private readRecord(r: Reader): void {
    const tag = r.u8();
    if (tag === REC_ACL) {
      const id = r.u32();
      this.aclMap.set(id, readAcl(r));
    } else if (tag === REC_NODE) {
      const path = r.str();
      const data = r.nullableLatin1();
      const aclRef = r.u32();
      const stat: PStat = {
        czxid: r.num64(),
        mzxid: r.num64(),
        pzxid: r.num64(),
        ctime: r.num64(),
        mtime: r.num64(),
        version: r.i32(),
        cversion: r.i32(),
        aversion: r.i32(),
        ephemeralOwner: r.i64(),
      };
      const acl = this.aclMap.get(aclRef);
      if (acl === undefined) throw corrupt(`node ${path} refers to unknown ACL ${aclRef}`);
      const s = this.tree.store;
      if (s.index.has(path)) throw corrupt(`duplicate node ${path}`);
      const id = s.alloc(path, data, this.tree.acls.acquire(acl));
      this.tree.setPstat(id, stat);
      this.count++;
    } else if (tag === REC_END) {
      const n = r.u32();
      if (n !== this.count) throw corrupt(`snapshot says ${n} nodes, read ${this.count}`);
      this.ended = true;
    } else {
      throw corrupt(`unknown record ${tag}`);
    }
  }

  /** Links the nodes, rebuilds indexes and checks the digest. */
  finish(): DataTree<W> {
    if (!this.ended || this.pending.length > 0) throw corrupt('snapshot is truncated');
    const tree = this.tree;
    const s = tree.store;
    const root = s.index.get('/');
    if (root === undefined) throw corrupt('snapshot has no root');
    tree.rootId = root;
    for (let id = 0; id < s.highWater; id++) {
      if (!s.isLive(id) || id === root) continue;
      const path = s.paths[id]!;
      const pp = parentPathOf(path);
      const parent = s.index.get(pp === '' ? '/' : pp);
      if (parent === undefined || parent === NONE) throw corrupt(`node ${path} has no parent`);
      s.link(parent, id);
      const owner = s.owner[id]!;
      const kind = ephemeralKind(owner, tree.options.extendedTypesEnabled);
      if (kind === 'container') tree.containers.add(path);
      else if (kind === 'ttl') tree.ttls.add(path);
      else if (kind === 'normal') {
        let set = tree.ephemerals.get(owner);
        if (set === undefined) {
          set = new Set();
          tree.ephemerals.set(owner, set);
        }
        set.add(path);
      }
    }
    for (let id = 0; id < s.highWater; id++) if (s.isLive(id)) tree.rehash(id, true);
    if (tree.digest !== this.expectedDigest) {
      throw corrupt(`digest mismatch: snapshot ${this.expectedDigest}, rebuilt ${tree.digest}`);
    }
    tree.setupQuota();
    return tree;
  }
}

function corrupt(why: string): TreeError {
  return new TreeError(ErrorCode.MarshallingError, undefined, `snapshot: ${why}`);
}

/** Serializes the tree's current state as a stream of chunks. */
export function snapshotTree<W>(tree: DataTree<W>, options?: SnapshotOptions): SnapshotStream {
  return new SnapshotStream(tree as DataTree<unknown>, options);
}

/** Loads a tree from all the chunks of a snapshot. */
export function loadSnapshot<W = number>(
  chunks: Iterable<Uint8Array>,
  options?: DataTreeOptions,
): DataTree<W> {
  const l = new SnapshotLoader<W>(options);
  for (const c of chunks) l.push(c);
  return l.finish();
}
