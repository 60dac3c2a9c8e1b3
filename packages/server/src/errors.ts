export type ServerErrorKind = 'config' | 'startup' | 'limit' | 'protocol' | 'storage';

/** The server package's typed error. `key`/`line` locate a configuration mistake. */
export class ServerError extends Error {
  override readonly name = 'ServerError';
  readonly key: string | undefined;
  readonly line: number | undefined;
  constructor(
    readonly kind: ServerErrorKind,
    message: string,
    where: { key?: string; line?: number } = {},
  ) {
    super(message);
    this.key = where.key;
    this.line = where.line;
  }
}
