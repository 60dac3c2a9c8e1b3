import type { CreateOptions, Op, OpResult } from './types.js';

/**
 * Collects operations for one multi: `client.transaction().create('/a').setData('/b', 'x').commit()`.
 * Nothing is sent before `commit()`.
 */
export class Transaction {
  readonly ops: Op[] = [];
  constructor(private readonly run: (ops: Op[]) => Promise<OpResult[]>) {}

  create(path: string, data?: Uint8Array | string | null, options: CreateOptions = {}): this {
    this.ops.push({ type: 'create', path, data: data ?? null, ...options });
    return this;
  }

  delete(path: string, version = -1): this {
    this.ops.push({ type: 'delete', path, version });
    return this;
  }

  setData(path: string, data: Uint8Array | string | null, version = -1): this {
    this.ops.push({ type: 'setData', path, data, version });
    return this;
  }

  check(path: string, version: number): this {
    this.ops.push({ type: 'check', path, version });
    return this;
  }

  /** Sends the operations as one multi; see `ZooKeeperClient.multi` for failures. */
  commit(): Promise<OpResult[]> {
    return this.run([...this.ops]);
  }
}
