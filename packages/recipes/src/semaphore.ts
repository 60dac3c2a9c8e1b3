import type { ZooKeeperClient } from '@zkts/client';
import { Contender, type Decide } from './contender.js';
import { RecipeError } from './errors.js';
import { Lock } from './lock.js';
import { isCode, join } from './util.js';

/** A held lease of a Semaphore; `release()` gives it back. */
export interface Lease {
  readonly nodePath: string;
  release(): Promise<void>;
}

/**
 * A counting semaphore (Curator's InterProcessSemaphoreV2, kazoo's Semaphore): at most
 * `maxLeases` holders at once, granted in arrival order. Without a herd: waiters queue on a lock
 * under `path/locks` (each watches only the lock node before its own); only the head of that
 * queue watches the leases under `path/leases`, takes one as soon as fewer than `maxLeases` are
 * held, and hands the lock to the next waiter. A release wakes that one waiter, not all of them.
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

  /** Where waiters queue. */
  get locksPath(): string {
    return join(this.path, 'locks');
  }

  /** Where each held lease is an EPHEMERAL_SEQUENTIAL node. */
  get leasesPath(): string {
    return join(this.path, 'leases');
  }

  /** A lease, or null after `timeoutMs`. */
  async acquire(timeoutMs?: number): Promise<Lease | null> {
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const left = () => (deadline === undefined ? undefined : Math.max(0, deadline - Date.now()));
    const lock = new Lock(this.zk, this.locksPath);
    if (!(await lock.acquire(left()))) return null;
    const max = this.maxLeases;
    // Only lease holders and this one (the head of the queue) have nodes here.
    const decide: Decide = (_sorted, index) =>
      index < max ? { kind: 'proceed' } : { kind: 'watchChildren' };
    const c = new Contender(this.zk, this.leasesPath, 'lease-', null, decide);
    let ok = false;
    try {
      ok = await c.attempt(left());
    } finally {
      if (!ok) await c.remove().catch(() => undefined);
      if (lock.isHeld) await lock.release().catch(() => undefined);
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

  /** Paths of the leases held now (Curator's getParticipantNodes). */
  async participantNodes(): Promise<string[]> {
    try {
      return (await this.zk.getChildren(this.leasesPath)).map((n) => join(this.leasesPath, n));
    } catch (e) {
      if (isCode(e, 'NoNode')) return [];
      throw e;
    }
  }
}
