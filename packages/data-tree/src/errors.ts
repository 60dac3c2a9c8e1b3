import { ErrorCode, errorCodeName } from '@zkts/codec';

/** A ZooKeeper error raised by the tree: `code` is a KeeperException code (ErrorCode value). */
export class TreeError extends Error {
  override readonly name = 'TreeError';
  constructor(
    readonly code: number,
    readonly path?: string,
    detail?: string,
  ) {
    super(
      `${errorCodeName(code) ?? `error ${code}`}${path === undefined ? '' : ` for ${path}`}${detail ? `: ${detail}` : ''}`,
    );
  }
}

export const noNode = (path: string): TreeError => new TreeError(ErrorCode.NoNode, path);
export const badArguments = (path: string, detail?: string): TreeError =>
  new TreeError(ErrorCode.BadArguments, path, detail);

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${String(x)}`);
}
