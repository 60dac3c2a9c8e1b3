/** Every way a persistence operation can fail. */
export type PersistenceErrorKind =
  /** The disk (or quota) is full: ENOSPC, EDQUOT. */
  | 'disk-full'
  /** The process may not read or write a file or directory: EACCES, EPERM, EROFS. */
  | 'permission-denied'
  /** A directory (dataDir, dataLogDir) or a file expected to exist is missing: ENOENT, ENOTDIR. */
  | 'missing-directory'
  /** Any other I/O failure reported by the operating system. */
  | 'io'
  /** A txn log file is damaged before its tail; `path` and `offset` name the spot. */
  | 'corrupt-log'
  /** No snapshot validates although snapshot files exist, or one failed validation on read. */
  | 'corrupt-snapshot'
  /** Logs needed to replay from the loaded snapshot are missing. */
  | 'missing-log'
  /** An append's zxid is not greater than the previous one. */
  | 'out-of-order'
  /** A txn is larger than `maxTxnBytes`. */
  | 'too-large'
  /** The append queue is full (`maxPendingBytes`). */
  | 'overloaded'
  /** An earlier write or fsync failed: the log refuses every append until it is reopened. */
  | 'failed'
  /** The store is closed (or closing). */
  | 'closed'
  /** The operation needs `recover()` to have completed first. */
  | 'not-recovered'
  /** Another snapshot is being written. */
  | 'busy'
  /** The requested history is no longer (or not yet) in the log. */
  | 'unavailable'
  /** An epoch file (acceptedEpoch, currentEpoch) does not hold a number. */
  | 'corrupt-file'
  /** A bad option or argument. */
  | 'invalid-argument';

export interface PersistenceErrorDetails {
  path?: string;
  offset?: number;
  cause?: unknown;
}

/** The one error type of `@zkts/persistence`. */
export class PersistenceError extends Error {
  override readonly name = 'PersistenceError';
  readonly kind: PersistenceErrorKind;
  /** The file or directory concerned, when there is one. */
  readonly path: string | undefined;
  /** The byte offset in `path`, for corruption errors. */
  readonly offset: number | undefined;

  constructor(kind: PersistenceErrorKind, message: string, details: PersistenceErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.path = details.path;
    this.offset = details.offset;
  }
}

function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** The error kind for an operating-system error code. */
export function kindForErrno(code: string | undefined): PersistenceErrorKind {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'disk-full';
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 'permission-denied';
    case 'ENOENT':
    case 'ENOTDIR':
      return 'missing-directory';
    default:
      return 'io';
  }
}

/** Wraps anything thrown by the file system in a `PersistenceError` (kept as is if it already is one). */
export function toPersistenceError(err: unknown, action: string, path: string): PersistenceError {
  if (err instanceof PersistenceError) return err;
  const code = errnoCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  return new PersistenceError(kindForErrno(code), `${action} ${path}: ${detail}`, { path, cause: err });
}
