import * as nodeFs from 'node:fs';

/**
 * How a file is opened:
 * - `read`: read only, must exist;
 * - `read-write`: read and write, must exist;
 * - `create`: read and write, must not exist yet (exclusive create);
 * - `replace`: read and write, created or emptied.
 */
export type OpenMode = 'read' | 'read-write' | 'create' | 'replace';

/** An open file. Positions and lengths are byte counts. */
export interface FileHandle {
  /** Writes all of `data` at `position` (a short write is retried until done or failed). */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Reads up to `buffer.length` bytes at `position`; resolves to the count read (0 at end of file). */
  read(buffer: Uint8Array, position: number): Promise<number>;
  /** Makes written data durable (fdatasync). */
  datasync(): Promise<void>;
  /** Makes written data and metadata durable (fsync). */
  sync(): Promise<void>;
  /** Sets the file's length (ftruncate): shortens it, or extends it with zeros. */
  truncate(length: number): Promise<void>;
  /** The file's current length. */
  size(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The file-system seam every file the package touches goes through. `nodeFileSystem` is the real
 * one; `MemoryFileSystem` simulates crashes and injects faults for tests.
 */
export interface FileSystem {
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  /** The names (not paths) in a directory. */
  readdir(dir: string): Promise<string[]>;
  unlink(path: string): Promise<void>;
  /** Atomically replaces `to` with `from`. */
  rename(from: string, to: string): Promise<void>;
  /** Creates a directory and its missing parents. */
  mkdir(dir: string): Promise<void>;
  /** Makes a directory's entries (creates, renames, unlinks) durable. */
  syncDir(dir: string): Promise<void>;
  /** Whether `path` exists and is a directory. */
  isDirectory(path: string): Promise<boolean>;
}

type Callback<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

function call<T>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value)));
  });
}

const FLAGS: Record<OpenMode, string> = {
  read: 'r',
  'read-write': 'r+',
  create: 'wx+',
  replace: 'w+',
};

/** @internal A file of the real file system (its descriptor lets a worker thread write to it). */
export class NodeFileHandle implements FileHandle {
  constructor(readonly fd: number) {}

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const n = await call<number>((cb) =>
        nodeFs.write(this.fd, data, done, data.length - done, position + done, cb),
      );
      done += n;
    }
  }

  read(buffer: Uint8Array, position: number): Promise<number> {
    return call<number>((cb) => nodeFs.read(this.fd, buffer, 0, buffer.length, position, cb));
  }

  datasync(): Promise<void> {
    return call<void>((cb) => nodeFs.fdatasync(this.fd, (err) => cb(err, undefined)));
  }

  sync(): Promise<void> {
    return call<void>((cb) => nodeFs.fsync(this.fd, (err) => cb(err, undefined)));
  }

  truncate(length: number): Promise<void> {
    return call<void>((cb) => nodeFs.ftruncate(this.fd, length, (err) => cb(err, undefined)));
  }

  async size(): Promise<number> {
    const st = await call<nodeFs.Stats>((cb) => nodeFs.fstat(this.fd, cb));
    return st.size;
  }

  close(): Promise<void> {
    return call<void>((cb) => nodeFs.close(this.fd, (err) => cb(err, undefined)));
  }
}

/** The real file system (node:fs, fd-based calls). */
export const nodeFileSystem: FileSystem = {
  async open(path, mode) {
    const fd = await call<number>((cb) => nodeFs.open(path, FLAGS[mode], 0o644, cb));
    return new NodeFileHandle(fd);
  },
  readdir(dir) {
    return nodeFs.promises.readdir(dir);
  },
  unlink(path) {
    return nodeFs.promises.unlink(path);
  },
  rename(from, to) {
    return nodeFs.promises.rename(from, to);
  },
  async mkdir(dir) {
    await nodeFs.promises.mkdir(dir, { recursive: true });
  },
  async syncDir(dir) {
    const fd = await call<number>((cb) => nodeFs.open(dir, 'r', cb));
    try {
      await call<void>((cb) => nodeFs.fsync(fd, (err) => cb(err, undefined)));
    } finally {
      await call<void>((cb) => nodeFs.close(fd, (err) => cb(err, undefined)));
    }
  },
  async isDirectory(path) {
    try {
      return (await nodeFs.promises.stat(path)).isDirectory();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  },
};
