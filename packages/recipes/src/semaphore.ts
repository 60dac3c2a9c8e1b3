import type { ZooKeeperClient } from '@zkts/client';
import { Contender, type Decide } from './contender.js';
import { RecipeError } from './errors.js';

/** A held lease of a Semaphore; `release()` gives it back. */
export interface Lease {
  readonly nodePath: string;
  release(): Promise<void>;
}

/**
 * A counting semaphore (Curator's InterProcessSemaphoreV2, kazoo's Semaphore): at most
 * `maxLeases` holders at once, granted in arrival order. Waiters watch the participant list.
 */
export class Semaphore {
  constructor(
    readonly zk: ZooKeeperClient,
    readonly path: string,
    readonly maxLeases: number,
  ) {
    if (!Number.isInteger(maxLeases) || maxLeases < 1) {
      throw new RecipeError('IllegalState', `maxLeases must be a positive integer, not ${maxLeases}`);
    }
  }

  /** A lease, or null after `timeoutMs`. */
  async acquire(timeoutMs?: number): Promise<Lease | null> {
    const max = this.maxLeases;
    const decide: Decide = (_sorted, index) =>
      index < max ? { kind: 'proceed' } : { kind: 'watchChildren' };
    const c = new Contender(this.zk, this.path, 'lease-', null, decide);
    let ok = false;
    try {
      ok = await c.attempt(timeoutMs);
    } finally {
      if (!ok) await c.remove().catch(() => undefined);
    }
    if (!ok) return null;
    const nodePath = c.path as string;
    let released = false;
    return {
      nodePath,
      release: async () => {
        if (released) return;
        released = true;
        await c.remove();
      },
    };
  }
}
