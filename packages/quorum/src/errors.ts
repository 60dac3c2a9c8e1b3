/** What went wrong, for callers that branch on it. */
export type QuorumErrorKind =
  /** Bad options or ensemble configuration. */
  | 'config'
  /** `propose` on a server that is not the established leader. */
  | 'not-leader'
  /** `forward` on a server that is not a synced learner (or the leader refused: not established). */
  | 'not-ready'
  /** Too many proposals or forwarded requests in flight. */
  | 'overloaded'
  /**
   * The role ended (leader lost, connection closed) before the outcome was known: the txn may or
   * may not commit later.
   */
  | 'outcome-unknown'
  /** A payload or message over a bound. */
  | 'limit'
  /** The disk failed: the peer stopped (fail-stop). */
  | 'disk'
  /** The host's state machine threw: the peer stopped (its state can no longer be trusted). */
  | 'state-machine'
  /** The peer is closed. */
  | 'closed';

/** The only error this package throws or rejects with. */
export class QuorumError extends Error {
  override readonly name = 'QuorumError';
  constructor(
    readonly kind: QuorumErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export function assertNever(x: never): never {
  throw new QuorumError('config', `unexpected value ${JSON.stringify(x)}`);
}
