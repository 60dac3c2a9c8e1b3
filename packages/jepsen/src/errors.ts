/** What went wrong, for `JepsenError`. */
export type JepsenErrorKind =
  /** A history file or value that does not parse or breaks the history's rules. */
  | 'history'
  /** An option out of its range. */
  | 'options'
  /** A link proxy that cannot listen or is used after close. */
  | 'proxy'
  /** A cluster member that does not start, stop or serve in time. */
  | 'cluster'
  /** The checked history is not linearizable, loses writes, or could not be checked. */
  | 'verdict';

/** The package's one error type. */
export class JepsenError extends Error {
  override readonly name = 'JepsenError';
  constructor(
    readonly kind: JepsenErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
