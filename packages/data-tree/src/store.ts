/**
 * Znodes as columns (struct of arrays): a node is an integer id into typed arrays, so a million
 * znodes cost a few typed-array slots each instead of a JS object, a Stat object and boxed numbers.
 * Data is held as a latin1 string (one char per byte), the most compact immutable byte holder V8 has,
 * or null for ZooKeeper's null data.
 * zxids and times are doubles (exact to 2^53); the ephemeral owner is a full 64-bit value.
 */
export const NONE = -1;

export class NodeStore {
  private cap = 0;
  czxid = new Float64Array(0);
  mzxid = new Float64Array(0);
  pzxid = new Float64Array(0);
  ctime = new Float64Array(0);
  mtime = new Float64Array(0);
  version = new Int32Array(0);
  /** The persisted cversion: the number of child creations (ZooKeeper's StatPersisted semantics). */
  cversion = new Int32Array(0);
  aversion = new Int32Array(0);
  acl = new Int32Array(0);
  nchild = new Int32Array(0);
  parent = new Int32Array(0);
  first = new Int32Array(0);
  last = new Int32Array(0);
  next = new Int32Array(0);
  prev = new Int32Array(0);
  owner = new BigInt64Array(0);
  /** `owner` as 32-bit halves in host order (a view of the same memory). */
  owner32 = new Int32Array(0);
  /** Cached digest of each node, and the CRC state after its path and data (see DataTree). */
  dig = new Uint32Array(0);
  pdc = new Int32Array(0);
  data: (string | null)[] = [];
  paths: string[] = [];
  /** Full path to id; the root is '/'. */
  readonly index = new Map<string, number>();
  private freeIds: number[] = [];
  /** One past the highest id ever handed out. */
  highWater = 0;

  constructor(initialCapacity = 1024) {
    this.grow(initialCapacity);
  }

  get size(): number {
    return this.index.size;
  }

  private grow(min: number): void {
    let cap = Math.max(16, this.cap);
    while (cap < min) cap *= 2;
    if (cap === this.cap) return;
    const f = (a: Float64Array) => {
      const n = new Float64Array(cap);
      n.set(a);
      return n;
    };
    const i = (a: Int32Array) => {
      const n = new Int32Array(cap);
      n.set(a);
      return n;
    };
    this.czxid = f(this.czxid);
    this.mzxid = f(this.mzxid);
    this.pzxid = f(this.pzxid);
    this.ctime = f(this.ctime);
    this.mtime = f(this.mtime);
    this.version = i(this.version);
    this.cversion = i(this.cversion);
    this.aversion = i(this.aversion);
    this.acl = i(this.acl);
    this.nchild = i(this.nchild);
    this.parent = i(this.parent);
    this.first = i(this.first);
    this.last = i(this.last);
    this.next = i(this.next);
    this.prev = i(this.prev);
    const d = new Uint32Array(cap);
    d.set(this.dig);
    this.dig = d;
    this.pdc = i(this.pdc);
    const o = new BigInt64Array(cap);
    o.set(this.owner);
    this.owner = o;
    this.owner32 = new Int32Array(o.buffer);
    this.cap = cap;
  }

  /** Allocates an unlinked node for `path`. */
  alloc(path: string, data: string | null, acl: number): number {
    let id = this.freeIds.pop();
    if (id === undefined) {
      id = this.highWater++;
      if (id >= this.cap) this.grow(id + 1);
      this.paths.push(path);
      this.data.push(data);
    } else {
      this.paths[id] = path;
      this.data[id] = data;
    }
    this.acl[id] = acl;
    this.nchild[id] = 0;
    this.parent[id] = NONE;
    this.first[id] = NONE;
    this.last[id] = NONE;
    this.next[id] = NONE;
    this.prev[id] = NONE;
    this.version[id] = 0;
    this.cversion[id] = 0;
    this.aversion[id] = 0;
    this.owner[id] = 0n;
    this.dig[id] = 0;
    this.index.set(path, id);
    return id;
  }

  /** Appends `child` to `parent`'s children. */
  link(parent: number, child: number): void {
    this.parent[child] = parent;
    const tail = this.last[parent]!;
    this.prev[child] = tail;
    this.next[child] = NONE;
    if (tail === NONE) this.first[parent] = child;
    else this.next[tail] = child;
    this.last[parent] = child;
    this.nchild[parent]!++;
  }

  unlink(child: number): void {
    const p = this.parent[child]!;
    if (p === NONE) return;
    const pv = this.prev[child]!;
    const nx = this.next[child]!;
    if (pv === NONE) this.first[p] = nx;
    else this.next[pv] = nx;
    if (nx === NONE) this.last[p] = pv;
    else this.prev[nx] = pv;
    this.nchild[p]!--;
    this.parent[child] = NONE;
    this.prev[child] = NONE;
    this.next[child] = NONE;
  }

  /** Unlinks and frees a node (which must have no children). */
  free(id: number): void {
    this.unlink(id);
    this.index.delete(this.paths[id]!);
    this.paths[id] = '';
    this.data[id] = '';
    this.freeIds.push(id);
  }

  /** Length of node `id`'s data; null data counts 0 bytes, as in ZooKeeper. */
  dataLength(id: number): number {
    return this.data[id]?.length ?? 0;
  }

  /** Whether `id` holds a node: `alloc` (only ever called for an absent path) and `free` keep the path and the index in step. */
  isLive(id: number): boolean {
    const p = this.paths[id];
    return p !== undefined && p !== '';
  }

  childNames(id: number): string[] {
    const out: string[] = [];
    for (let c = this.first[id]!; c !== NONE; c = this.next[c]!) {
      const p = this.paths[c]!;
      out.push(p.slice(p.lastIndexOf('/') + 1));
    }
    return out;
  }

  childIds(id: number): number[] {
    const out: number[] = [];
    for (let c = this.first[id]!; c !== NONE; c = this.next[c]!) out.push(c);
    return out;
  }
}
