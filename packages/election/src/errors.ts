/** Why the election package refused something. */
export type ElectionErrorKind =
  /** An invalid ensemble or election configuration (ids, ports, intervals). */
  | 'config'
  /** An input the state machine cannot take in its current state. */
  | 'input'
  /** A peer broke the connection protocol (handshake, version, sid). */
  | 'protocol'
  /** A bound was hit (queue, connections). */
  | 'limit';

/** The only error the election package throws. */
export class ElectionError extends Error {
  override readonly name = 'ElectionError';
  constructor(
    readonly kind: ElectionErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export function assertNever(x: never): never {
  throw new ElectionError(
    'input',
    `unexpected value ${JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`,
  );
}
