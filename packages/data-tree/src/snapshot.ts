import type { ACL } from '@zkts/codec';
import { ErrorCode } from '@zkts/codec';
import { Incomplete, LITTLE_ENDIAN, Reader, swapBytes, Writer } from './bytes.js';
import { TreeError } from './errors.js';
import { parentPathOf } from './path.js';
import { NONE } from './store.js';
import { DataTree, type DataTreeOptions, ephemeralKind, type PStat } from './tree.js';
import { readAcl, writeAcl } from './txn-codec.js';

const MAGIC = [0x5a, 0x4b, 0x54, 0x53]; // "ZKTS"
/**
 * Version of the snapshot format written. Version 1 held one record per node (REC_NODE); version 2
 * holds nodes in blocks of columns (REC_BLOCK), which are written and read in bulk. Both load.
 *
 * Layout: the magic, the version (u8), zxid and digest (i64), the sessions (u32 count, then id i64
 * and timeout i32 each), then records, each a tag (u8): REC_ACL (u32 ref, an ACL list) before the
 * first node that refers to it, REC_BLOCK, and REC_END (u32 node count). Integers outside blocks are
 * big-endian. A block is: u32 n, u32 path bytes, u32 data bytes, then columns of n little-endian
 * values each, in this order: czxid, mzxid, pzxid, ctime, mtime (f64), ephemeralOwner (i64),
 * version, cversion, aversion, ACL ref, data length (i32; -1 for null data); then the paths in
 * UTF-8, separated by NUL (which a znode path cannot hold); then the data bytes of each node, one
 * after the other.
 */
export const SNAPSHOT_FORMAT_VERSION = 2;
const REC_END = 0;
const REC_ACL = 1;
const REC_NODE = 2;
const REC_BLOCK = 3;
const utf8d = new TextDecoder('utf-8', { fatal: false });
/** Nodes per block at most. */
const BLOCK_NODES = 4096;
/** Column bytes per node in a block: six 8-byte and five 4-byte columns. */
const NODE_COLUMN_BYTES = 6 * 8 + 5 * 4;
const COLUMN_WIDTHS = [8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 4];

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

/** The columns of one block (BLOCK_NODES entries each), views of one buffer. */
class Columns {
  readonly bytes: Uint8Array;
  readonly czxid: Float64Array;
  readonly mzxid: Float64Array;
  readonly pzxid: Float64Array;
  readonly ctime: Float64Array;
  readonly mtime: Float64Array;
  readonly owner: BigInt64Array;
  /** `owner` as pairs of 32-bit halves (copied without making a BigInt per node). */
  readonly owner32: Int32Array;
  readonly version: Int32Array;
  readonly cversion: Int32Array;
  readonly aversion: Int32Array;
  readonly acl: Int32Array;
  readonly dataLength: Int32Array;

  /** Columns of `n` nodes over `bytes` (a block's column bytes, or a fresh buffer of BLOCK_NODES). */
  constructor(
    readonly n: number,
    bytes = new Uint8Array(n * NODE_COLUMN_BYTES),
  ) {
    this.bytes = bytes;
    const b = bytes.buffer;
    const at = (i: number) => bytes.byteOffset + i * 8 * n;
    const at4 = (i: number) => bytes.byteOffset + 6 * 8 * n + i * 4 * n;
    this.czxid = new Float64Array(b, at(0), n);
    this.mzxid = new Float64Array(b, at(1), n);
    this.pzxid = new Float64Array(b, at(2), n);
    this.ctime = new Float64Array(b, at(3), n);
    this.mtime = new Float64Array(b, at(4), n);
    this.owner = new BigInt64Array(b, at(5), n);
    this.owner32 = new Int32Array(b, at(5), 2 * n);
    this.version = new Int32Array(b, at4(0), n);
    this.cversion = new Int32Array(b, at4(1), n);
    this.aversion = new Int32Array(b, at4(2), n);
    this.acl = new Int32Array(b, at4(3), n);
    this.dataLength = new Int32Array(b, at4(4), n);
  }

  /** The bytes of the first `count` entries of each column, in the block's order. */
  *slices(count: number): Generator<[Uint8Array, number]> {
    let at = 0;
    for (const width of COLUMN_WIDTHS) {
      yield [this.bytes.subarray(at, at + count * width), width];
      at += this.n * width;
    }
  }
}

export interface SnapshotOptions {
  /** Approximate size of each chunk (bytes). Default 64 KiB. */
  chunkBytes?: number;
  /** Nodes serialized per `next()` at most. Default: as many as fill a chunk. */
  nodesPerChunk?: number;
  /**
   * Each chunk is a view of the stream's own buffer, overwritten by the next `next()`: for a
   * consumer that copies or writes every chunk before it asks for the next (as
   * `TxnSnapStore.writeSnapshot` does), a snapshot then allocates no chunks. Default false.
   */
  lendChunks?: boolean;
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
  private readonly lendChunks: boolean;
  private readonly cols = new Columns(BLOCK_NODES);
  private readonly pathParts: string[] = [];
  private readonly dataParts: string[] = [];

  constructor(
    private readonly tree: DataTree<unknown>,
    options: SnapshotOptions = {},
  ) {
    this.chunkBytes = options.chunkBytes ?? 64 * 1024;
    this.nodesPerChunk = options.nodesPerChunk ?? Number.POSITIVE_INFINITY;
    this.lendChunks = options.lendChunks ?? false;
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

  /**
   * Gathers up to `max` nodes from the cursor on into the columns (live nodes straight from the
   * store, nodes changed since the stream began from their saved copies) and writes them as one
   * block. Returns the number of nodes written.
   */
  private block(max: number): number {
    const s = this.tree.store;
    const acls = this.tree.acls;
    const { paths, data } = s;
    const sczxid = s.czxid;
    const sowner32 = new Int32Array(s.owner.buffer, s.owner.byteOffset, 2 * s.owner.length);
    const c = this.cols;
    const pathParts = this.pathParts;
    const dataParts = this.dataParts;
    const saved = this.saved;
    const budget = this.chunkBytes - this.w.pos;
    let lastAcl: readonly ACL[] | undefined;
    let lastRef = 0;
    let id = this.cursor;
    let k = 0;
    let bytes = 0;
    while (id < this.limit && k < max && bytes < budget) {
      const copy = saved.size > 0 ? saved.get(id) : undefined;
      let path: string;
      let d: string | null;
      let acl: readonly ACL[];
      if (copy !== undefined) {
        saved.delete(id);
        path = copy.path;
        d = copy.data;
        acl = copy.acl;
        c.czxid[k] = copy.czxid;
        c.mzxid[k] = copy.mzxid;
        c.pzxid[k] = copy.pzxid;
        c.ctime[k] = copy.ctime;
        c.mtime[k] = copy.mtime;
        c.owner[k] = copy.ephemeralOwner;
        c.version[k] = copy.version;
        c.cversion[k] = copy.cversion;
        c.aversion[k] = copy.aversion;
      } else if (paths[id] !== '' && sczxid[id]! <= this.snapZxid) {
        // A live node (see NodeStore.isLive: a freed id has the empty path) the snapshot covers.
        path = paths[id]!;
        d = data[id] ?? null;
        acl = acls.get(s.acl[id]!);
        c.czxid[k] = sczxid[id]!;
        c.mzxid[k] = s.mzxid[id]!;
        c.pzxid[k] = s.pzxid[id]!;
        c.ctime[k] = s.ctime[id]!;
        c.mtime[k] = s.mtime[id]!;
        c.owner32[2 * k] = sowner32[2 * id]!;
        c.owner32[2 * k + 1] = sowner32[2 * id + 1]!;
        c.version[k] = s.version[id]!;
        c.cversion[k] = s.cversion[id]!;
        c.aversion[k] = s.aversion[id]!;
      } else {
        id++;
        continue;
      }
      if (acl !== lastAcl) {
        lastRef = this.aclRef(acl);
        lastAcl = acl;
      }
      c.acl[k] = lastRef;
      pathParts.push(path);
      if (d === null) {
        c.dataLength[k] = -1;
        dataParts.push('');
      } else {
        c.dataLength[k] = d.length;
        dataParts.push(d);
        bytes += d.length;
      }
      bytes += NODE_COLUMN_BYTES + path.length;
      k++;
      id++;
    }
    this.cursor = id;
    if (k === 0) return 0;
    const pathText = pathParts.join('\0');
    const dataText = dataParts.join('');
    pathParts.length = 0;
    dataParts.length = 0;
    const pathBytes = Buffer.byteLength(pathText, 'utf8');
    const w = this.w;
    w.u8(REC_BLOCK);
    w.u32(k);
    w.u32(pathBytes);
    w.u32(dataText.length);
    for (const [bytes, width] of c.slices(k)) {
      const at = w.pos;
      w.raw(bytes);
      if (!LITTLE_ENDIAN) swapBytes(w.buf.subarray(at, w.pos), width);
    }
    w.utf8Raw(pathText, pathBytes);
    w.latin1Raw(dataText);
    this.count += k;
    return k;
  }

  next(): IteratorResult<Uint8Array> {
    if (this.done) return { done: true, value: undefined };
    let n = 0;
    while (this.cursor < this.limit && this.w.pos < this.chunkBytes && n < this.nodesPerChunk) {
      n += this.block(Math.min(BLOCK_NODES, this.nodesPerChunk - n));
    }
    if (this.cursor >= this.limit) {
      this.w.u8(REC_END);
      this.w.u32(this.count);
      this.release();
    }
    return { done: false, value: this.lendChunks ? this.w.lend() : this.w.take() };
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
  private parts: Uint8Array[] = [];
  private partsBytes = 0;
  /** Bytes the next record needs before it can be read (0: unknown, try with any). */
  private wanted = 0;
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
    // Bytes of a record not complete yet wait in `parts` until there are as many as it needs, so
    // a large block fed in small pieces is copied once, not once per piece.
    this.parts.push(chunk);
    this.partsBytes += chunk.length;
    if (this.partsBytes < this.wanted) return;
    let buf: Uint8Array;
    if (this.parts.length === 1) buf = chunk;
    else {
      buf = new Uint8Array(this.partsBytes);
      let at = 0;
      for (const p of this.parts) {
        buf.set(p, at);
        at += p.length;
      }
    }
    const r = new Reader(buf);
    let mark = 0;
    this.wanted = 0;
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
      this.wanted = e.needed - mark;
    }
    if (this.ended && mark < buf.length) throw corrupt('bytes after the end of the snapshot');
    const rest = buf.subarray(mark);
    // A copy (new Uint8Array, not slice: a Buffer's slice is a view of the chunk).
    this.parts = rest.length > 0 ? [new Uint8Array(rest)] : [];
    this.partsBytes = rest.length;
  }

  private readHeader(r: Reader): void {
    for (const b of MAGIC) if (r.u8() !== b) throw corrupt('not a zkts snapshot');
    const v = r.u8();
    if (v !== 1 && v !== SNAPSHOT_FORMAT_VERSION) throw corrupt(`unknown snapshot version ${v}`);
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
      const id = this.addNode(path, data, aclRef);
      this.tree.setPstat(id, stat);
    } else if (tag === REC_BLOCK) {
      this.readBlock(r);
    } else if (tag === REC_END) {
      const n = r.u32();
      if (n !== this.count) throw corrupt(`snapshot says ${n} nodes, read ${this.count}`);
      this.ended = true;
    } else {
      throw corrupt(`unknown record ${tag}`);
    }
  }

  /** Allocates a node read from the snapshot; its stat is set by the caller. */
  private addNode(path: string, data: string | null, aclRef: number): number {
    if (path[0] !== '/') throw corrupt(`node path ${JSON.stringify(path)}`);
    const acl = this.aclMap.get(aclRef);
    if (acl === undefined) throw corrupt(`node ${path} refers to unknown ACL ${aclRef}`);
    const s = this.tree.store;
    if (s.index.has(path)) throw corrupt(`duplicate node ${path}`);
    this.count++;
    return s.alloc(path, data, this.tree.acls.acquire(acl));
  }

  private readBlock(r: Reader): void {
    const n = r.u32();
    const pathBytes = r.u32();
    const dataBytes = r.u32();
    if (n === 0 || n > BLOCK_NODES) throw corrupt(`block of ${n} nodes`);
    // Checked as a whole first, so a block split across pushes is read once it is all there.
    const total = n * NODE_COLUMN_BYTES + pathBytes + dataBytes;
    if (total > r.remaining) throw new Incomplete('block', r.pos + total);
    // Copied to an aligned buffer of their own (the columns are typed-array views of it); not with
    // slice, which for a Buffer chunk (a SNAP off the network) is a view at any offset.
    const c = new Columns(n, new Uint8Array(r.take(n * NODE_COLUMN_BYTES)));
    if (!LITTLE_ENDIAN) for (const [b, width] of c.slices(n)) swapBytes(b, width);
    // zxids and times are whole numbers: a bit flip can make a column's double anything else.
    for (const col of [c.czxid, c.mzxid, c.pzxid, c.ctime, c.mtime]) {
      for (let i = 0; i < n; i++) {
        if (!Number.isSafeInteger(col[i])) throw corrupt(`block of ${n} nodes holds a stat of ${col[i]}`);
      }
    }
    const pathBuf = r.take(pathBytes);
    const dataBuf = r.take(dataBytes);
    const dataText = Buffer.from(dataBuf.buffer, dataBuf.byteOffset, dataBuf.byteLength);
    const s = this.tree.store;
    let p = 0;
    let d = 0;
    for (let i = 0; i < n; i++) {
      const sep = pathBuf.indexOf(0, p);
      const last = i === n - 1;
      if (last ? sep >= 0 : sep < 0) throw corrupt(`block of ${n} nodes does not hold ${n} paths`);
      const end = last ? pathBytes : sep;
      const path = utf8d.decode(pathBuf.subarray(p, end));
      p = end + 1;
      const len = c.dataLength[i]!;
      let data: string | null = null;
      if (len >= 0) {
        if (d + len > dataBytes) throw corrupt(`node ${path}: data runs past its block`);
        data = dataText.toString('latin1', d, d + len);
        d += len;
      } else if (len !== -1) throw corrupt(`node ${path}: data length ${len}`);
      const id = this.addNode(path, data, c.acl[i]!);
      s.czxid[id] = c.czxid[i]!;
      s.mzxid[id] = c.mzxid[i]!;
      s.pzxid[id] = c.pzxid[i]!;
      s.ctime[id] = c.ctime[i]!;
      s.mtime[id] = c.mtime[i]!;
      s.version[id] = c.version[i]!;
      s.cversion[id] = c.cversion[i]!;
      s.aversion[id] = c.aversion[i]!;
      s.owner[id] = c.owner[i]!;
    }
    if (d !== dataBytes) throw corrupt(`block of ${n} nodes holds ${dataBytes - d} stray data bytes`);
  }

  /** Links the nodes, rebuilds indexes and checks the digest. */
  finish(): DataTree<W> {
    if (!this.ended || this.partsBytes > 0) throw corrupt('snapshot is truncated');
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
