import { ErrorCode, type ErrorCodeName, errorCodeName } from '@zkts/codec';
import type { OpResult } from './types.js';

/**
 * The client's one error type: ZooKeeper's numeric code, its name and the path involved. A failed
 * multi carries every op's result in `results`.
 */
export class KeeperError extends Error {
  override readonly name = 'KeeperError';
  readonly codeName: ErrorCodeName | 'Unknown';
  /** Per-op results of a failed multi (the first `error` result with a non-OK code is `code`). */
  results?: OpResult[];
  constructor(
    readonly code: number,
    message?: string,
    readonly path?: string,
  ) {
    const codeName = errorCodeName(code) ?? 'Unknown';
    super(message ?? `KeeperErrorCode = ${codeName}${path === undefined ? '' : ` for ${path}`}`);
    this.codeName = codeName;
  }

  static fromName(name: ErrorCodeName, message?: string, path?: string): KeeperError {
    return new KeeperError(ErrorCode[name], message, path);
  }

  is(name: ErrorCodeName): boolean {
    return this.code === ErrorCode[name];
  }
}
