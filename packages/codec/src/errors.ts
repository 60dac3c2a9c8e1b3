/** Why the codec refused some bytes or a value. */
export type CodecErrorKind =
  | 'truncated'
  | 'bad-length'
  | 'frame-too-large'
  | 'unknown-opcode'
  | 'bad-value'
  | 'unsupported-version';

/** The only error the codec throws: every decoder maps any bad input to one of these. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    readonly kind: CodecErrorKind,
    message: string,
  ) {
    super(message);
  }
}
