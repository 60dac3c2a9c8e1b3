/** The admin package's error: `kind` says what failed. */
export type AdminErrorKind = 'listen' | 'config';

export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    readonly kind: AdminErrorKind,
    message: string,
  ) {
    super(message);
  }
}
