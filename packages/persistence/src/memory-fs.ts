import { basename, dirname } from 'node:path';
import type { FileHandle, FileSystem, OpenMode } from './fs.js';

/** The operations of the file-system seam that faults can be injected into. */
export type FsOp =
  | 'open'
  | 'read'
  | 'write'
  | 'datasync'
  | 'sync'
  | 'truncate'
  | 'size'
  | 'close'
  | 'readdir'
  | 'unlink'
  | 'rename'
  | 'mkdir'
  | 'syncDir'
  | 'isDirectory';

/** A fault: matching calls fail with an errno `code` (e.g. 'ENOSPC', 'EACCES', 'EIO'). */
export interface FaultRule {
  op: FsOp;
  /** Only paths containing this string (or matching this RegExp); every path when absent. */
  path?: string | RegExp;
  code: string;
  /** Let this many matching calls succeed first; default 0. */
  after?: number;
  /** Fail this many matching calls, then the rule is spent; default forever. */
  times?: number;
  /** For `write`: write this many bytes of the data before failing (a short, torn write). */
  partialBytes?: number;
}

export interface CrashOptions {
  /**
   * What becomes of data written but not synced: `drop` (default) loses all of it; `torn` keeps a
   * random subset of its 512-byte sectors and a random one of the old and new lengths, as a disk
   * that reorders writes may.
   */
  unsynced?: 'drop' | 'torn';
  /** Random source in [0, 1) for `torn`; default Math.random. */
  random?: () => number;
}

interface Inode {
  buf: Uint8Array;
  len: number;
  /** Contents as of the last sync: `durableBuf[0, durableLen)`. */
  durableBuf: Uint8Array;
  durableLen: number;
  /** Lowest offset changed since the last sync (Infinity when clean), so a sync copies only that. */
  dirtyFrom: number;
}

function newInode(data: Uint8Array = new Uint8Array(0)): Inode {
  return {
    buf: data.slice(),
    len: data.length,
    durableBuf: data.slice(),
    durableLen: data.length,
    dirtyFrom: Infinity,
  };
}

function persist(inode: Inode): void {
  const from = Math.min(inode.dirtyFrom, inode.len);
  if (inode.durableBuf.length < inode.len) {
    const grown = new Uint8Array(Math.max(inode.len, inode.durableBuf.length * 2));
    grown.set(inode.durableBuf.subarray(0, Math.min(inode.durableLen, from)));
    inode.durableBuf = grown;
  }
  inode.durableBuf.set(inode.buf.subarray(from, inode.len), from);
  inode.durableLen = inode.len;
  inode.dirtyFrom = Infinity;
}

interface Dir {
  entries: Map<string, Inode>;
  durableEntries: Map<string, Inode>;
}

const SECTOR = 512;

function errno(code: string, op: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${op} '${path}'`), { code, syscall: op, path });
}

function matches(rule: FaultRule, path: string): boolean {
  if (rule.path === undefined) return true;
  return typeof rule.path === 'string' ? path.includes(rule.path) : rule.path.test(path);
}

/**
 * An in-memory `FileSystem` that tracks what is durable (synced file contents, synced directory
 * entries), simulates a crash that loses everything else, and injects faults. For tests and
 * simulations.
 */
export class MemoryFileSystem implements FileSystem {
  private dirs = new Map<string, Dir>();
  private faults: (FaultRule & { seen: number; failed: number })[] = [];
  private dead = false;
  /** Calls per operation, for assertions. */
  readonly calls = new Map<FsOp, number>();

  /**
   * @param dirs directories that exist from the start
   * @param options.yieldEachOp let every operation wait for a turn of the event loop first, so a
   *   `crash()` scheduled by a test can land between a write and its sync
   */
  constructor(dirs: string[] = [], options: { yieldEachOp?: boolean } = {}) {
    for (const d of dirs) this.mkdirSync(d);
    this.yieldEachOp = options.yieldEachOp ?? false;
  }

  private readonly yieldEachOp: boolean;

  /** @internal */
  async turn(): Promise<void> {
    if (this.yieldEachOp) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Adds a fault rule. */
  inject(rule: FaultRule): void {
    this.faults.push({ ...rule, seen: 0, failed: 0 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /**
   * A power loss: every directory reverts to its last synced entries and every file to its last
   * synced contents (see `CrashOptions.unsynced`). Returns the file system as the next process sees
   * it; this instance (the crashed process's view) fails every later call with EIO.
   */
  crash(options: CrashOptions = {}): MemoryFileSystem {
    const random = options.random ?? Math.random;
    this.dead = true;
    const inodes = new Set<Inode>();
    for (const dir of this.dirs.values()) {
      dir.entries = new Map(dir.durableEntries);
      for (const inode of dir.entries.values()) inodes.add(inode);
    }
    for (const inode of inodes) {
      const cur = inode.buf.subarray(0, inode.len);
      const old = inode.durableBuf.subarray(0, inode.durableLen);
      let next: Uint8Array;
      if (options.unsynced === 'torn') {
        const len = random() < 0.5 ? old.length : cur.length;
        next = new Uint8Array(len);
        next.set(old.subarray(0, Math.min(len, old.length)));
        for (let s = 0; s < len; s += SECTOR) {
          const e = Math.min(len, s + SECTOR);
          const changed = e > old.length || !equal(cur.subarray(s, e), old.subarray(s, e));
          if (changed && random() < 0.5) {
            next.fill(0, s, e);
            next.set(cur.subarray(s, Math.min(e, cur.length)), s);
            if (e > old.length && s < old.length) next.set(old.subarray(s, old.length), s);
          }
        }
      } else {
        next = old.slice();
      }
      Object.assign(inode, newInode(next));
    }
    const after = new MemoryFileSystem([], { yieldEachOp: this.yieldEachOp });
    after.dirs = this.dirs;
    this.dirs = new Map();
    return after;
  }

  /** Current contents of a file (synced or not). */
  readFile(path: string): Uint8Array {
    return this.inode(path, 'readFile').buf.slice(0, this.inode(path, 'readFile').len);
  }

  /** Replaces a file's contents durably (creating it), bypassing faults. */
  writeFile(path: string, data: Uint8Array): void {
    const dir = this.dir(dirname(path), 'writeFile');
    const inode = newInode(data);
    dir.entries.set(basename(path), inode);
    dir.durableEntries.set(basename(path), inode);
  }

  /** Flips one bit, durably (bit rot). */
  flipBit(path: string, offset: number, bit = 0): void {
    const inode = this.inode(path, 'flipBit');
    if (offset >= inode.len) throw new RangeError(`offset ${offset} beyond ${path}`);
    inode.buf[offset]! ^= 1 << bit;
    if (offset < inode.durableLen) inode.durableBuf[offset]! ^= 1 << bit;
  }

  /** Cuts (or zero-extends) a file durably. */
  setLength(path: string, length: number): void {
    const data = new Uint8Array(length);
    const cur = this.readFile(path);
    data.set(cur.subarray(0, Math.min(length, cur.length)));
    this.writeFile(path, data);
  }

  exists(path: string): boolean {
    const dir = this.dirs.get(dirname(path));
    return dir?.entries.has(basename(path)) ?? false;
  }

  /** Names in a directory, bypassing faults. */
  list(dir: string): string[] {
    return [...this.dir(dir, 'list').entries.keys()].sort();
  }

  private count(op: FsOp): void {
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
  }

  private fault(op: FsOp, path: string): FaultRule | undefined {
    this.count(op);
    if (this.dead) throw errno('EIO', op, path);
    for (const rule of this.faults) {
      if (rule.op !== op || !matches(rule, path)) continue;
      rule.seen++;
      if (rule.seen <= (rule.after ?? 0)) continue;
      if (rule.times !== undefined && rule.failed >= rule.times) continue;
      rule.failed++;
      return rule;
    }
    return undefined;
  }

  private check(op: FsOp, path: string): void {
    const rule = this.fault(op, path);
    if (rule !== undefined) throw errno(rule.code, op, path);
  }

  private dir(path: string, op: string): Dir {
    const d = this.dirs.get(path);
    if (d === undefined) throw errno('ENOENT', op, path);
    return d;
  }

  private inode(path: string, op: string): Inode {
    const inode = this.dir(dirname(path), op).entries.get(basename(path));
    if (inode === undefined) throw errno('ENOENT', op, path);
    return inode;
  }

  private mkdirSync(path: string): void {
    let p = path;
    const chain: string[] = [];
    while (!this.dirs.has(p)) {
      chain.push(p);
      const parent = dirname(p);
      if (parent === p) break;
      p = parent;
    }
    for (const d of chain) this.dirs.set(d, { entries: new Map(), durableEntries: new Map() });
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    await this.turn();
    this.check('open', path);
    const dir = this.dir(dirname(path), 'open');
    const name = basename(path);
    let inode = dir.entries.get(name);
    switch (mode) {
      case 'read':
      case 'read-write':
        if (inode === undefined) throw errno('ENOENT', 'open', path);
        break;
      case 'create':
        if (inode !== undefined) throw errno('EEXIST', 'open', path);
        inode = newInode();
        dir.entries.set(name, inode);
        break;
      case 'replace':
        if (inode === undefined) {
          inode = newInode();
          dir.entries.set(name, inode);
        } else {
          inode.len = 0;
          inode.dirtyFrom = 0;
        }
        break;
    }
    return new MemoryFileHandle(this, inode, path, mode === 'read');
  }

  async readdir(dir: string): Promise<string[]> {
    await this.turn();
    this.check('readdir', dir);
    return [...this.dir(dir, 'readdir').entries.keys()];
  }

  async unlink(path: string): Promise<void> {
    await this.turn();
    this.check('unlink', path);
    const dir = this.dir(dirname(path), 'unlink');
    if (!dir.entries.delete(basename(path))) throw errno('ENOENT', 'unlink', path);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.turn();
    this.check('rename', from);
    const inode = this.inode(from, 'rename');
    const target = this.dir(dirname(to), 'rename');
    this.dir(dirname(from), 'rename').entries.delete(basename(from));
    target.entries.set(basename(to), inode);
  }

  async mkdir(dir: string): Promise<void> {
    await this.turn();
    this.check('mkdir', dir);
    this.mkdirSync(dir);
  }

  async syncDir(dir: string): Promise<void> {
    await this.turn();
    this.check('syncDir', dir);
    const d = this.dir(dir, 'syncDir');
    d.durableEntries = new Map(d.entries);
  }

  async isDirectory(path: string): Promise<boolean> {
    await this.turn();
    this.check('isDirectory', path);
    return this.dirs.has(path);
  }

  /** @internal used by handles */
  handleOp(op: FsOp, path: string): FaultRule | undefined {
    return this.fault(op, path);
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

class MemoryFileHandle implements FileHandle {
  private closed = false;

  constructor(
    private readonly fs: MemoryFileSystem,
    private readonly inode: Inode,
    private readonly path: string,
    private readonly readOnly: boolean,
  ) {}

  private op(op: FsOp): void {
    if (this.closed) throw errno('EBADF', op, this.path);
    const rule = this.fs.handleOp(op, this.path);
    if (rule !== undefined) {
      throw Object.assign(errno(rule.code, op, this.path), { partialBytes: rule.partialBytes });
    }
  }

  private grow(len: number): void {
    const inode = this.inode;
    if (len > inode.buf.length) {
      const next = new Uint8Array(Math.max(len, inode.buf.length * 2, 4096));
      next.set(inode.buf.subarray(0, inode.len));
      inode.buf = next;
    }
    if (len > inode.len) {
      inode.buf.fill(0, inode.len, len);
      inode.dirtyFrom = Math.min(inode.dirtyFrom, inode.len);
      inode.len = len;
    }
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    await this.fs.turn();
    if (this.readOnly) throw errno('EBADF', 'write', this.path);
    try {
      this.op('write');
    } catch (err) {
      const partial = (err as { partialBytes?: number }).partialBytes;
      if (partial !== undefined) {
        const n = Math.min(partial, data.length);
        this.grow(position + n);
        this.inode.buf.set(data.subarray(0, n), position);
        this.inode.dirtyFrom = Math.min(this.inode.dirtyFrom, position);
      }
      throw err;
    }
    this.grow(position + data.length);
    this.inode.buf.set(data, position);
    this.inode.dirtyFrom = Math.min(this.inode.dirtyFrom, position);
  }

  async read(buffer: Uint8Array, position: number): Promise<number> {
    await this.fs.turn();
    this.op('read');
    const n = Math.max(0, Math.min(buffer.length, this.inode.len - position));
    buffer.set(this.inode.buf.subarray(position, position + n));
    return n;
  }

  async datasync(): Promise<void> {
    await this.fs.turn();
    this.op('datasync');
    persist(this.inode);
  }

  async sync(): Promise<void> {
    await this.fs.turn();
    this.op('sync');
    persist(this.inode);
  }

  async truncate(length: number): Promise<void> {
    await this.fs.turn();
    if (this.readOnly) throw errno('EBADF', 'ftruncate', this.path);
    this.op('truncate');
    if (length < this.inode.len) {
      this.inode.len = length;
      this.inode.dirtyFrom = Math.min(this.inode.dirtyFrom, length);
    } else {
      this.grow(length);
    }
  }

  async size(): Promise<number> {
    await this.fs.turn();
    this.op('size');
    return this.inode.len;
  }

  async close(): Promise<void> {
    await this.fs.turn();
    if (this.closed) throw errno('EBADF', 'close', this.path);
    this.closed = true;
    this.fs.handleOp('close', this.path);
  }
}
