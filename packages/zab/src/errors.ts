/** What went wrong. */
export type ZabErrorKind =
  /** A configuration that cannot work (empty ensemble, unknown id, bad limits). */
  | 'config'
  /** An input the role cannot take in its state (propose on a leader that does not serve). */
  | 'state'
  /** Too many proposals in flight (`maxOutstanding`). */
  | 'overloaded'
  /** A disk state that breaks Zab's assumptions (unsorted log, zxid below the snapshot). */
  | 'disk';

/** The only error this package throws. */
export class ZabError extends Error {
  override readonly name = 'ZabError';
  constructor(
    readonly kind: ZabErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** For exhaustive switches. */
export function assertNever(x: never): never {
  throw new ZabError('state', `unexpected value ${String((x as { type?: unknown })?.type ?? x)}`);
}
