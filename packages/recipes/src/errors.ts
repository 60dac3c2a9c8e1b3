/** The package's one error type. */
export type RecipeErrorKind =
  /** The recipe object was used after close()/release() or in the wrong state. */
  | 'IllegalState'
  /** The session ended (expired or closed) while the recipe needed it. */
  | 'SessionLost'
  /** A bound was hit (e.g. a queue item too large). */
  | 'Bounds';

export class RecipeError extends Error {
  override readonly name = 'RecipeError';
  constructor(
    readonly kind: RecipeErrorKind,
    message: string,
  ) {
    super(message);
  }
}
