/** Why a simulation stopped. */
export type SimErrorKind =
  /** An invariant check reported a violation. */
  | 'invariant'
  /** The protocol or the test used the simulator wrongly (unknown node, bad option...). */
  | 'usage'
  /** A run exceeded its event budget (a livelock or a runaway timer). */
  | 'budget';

/** The only error the simulator throws. `seed` and `atMs` say how to replay it. */
export class SimError extends Error {
  override readonly name = 'SimError';
  constructor(
    readonly kind: SimErrorKind,
    message: string,
    readonly seed?: number,
    readonly atMs?: number,
    /** The last trace lines (empty unless tracing was on). */
    readonly trace: readonly string[] = [],
  ) {
    super(message);
  }
}
