import { EventEmitter } from 'node:events';
import type { ZooKeeperClient } from '@zkts/client';
import { Contender, type Decide, type HolderEvents, SessionWatch } from './contender.js';
import { RecipeError } from './errors.js';
import { sortBySequence } from './util.js';

const LOCK_PREFIX = 'lock-';
const READ_PREFIX = '__READ__';
const WRITE_PREFIX = '__WRIT__';

/** Each waiter watches only the node just before its own: one watch fires per release. */
const exclusive: Decide = (sorted, index) =>
  index === 0 ? { kind: 'proceed' } : { kind: 'watchNode', node: sorted[index - 1] as string };

/** A reader waits only for the closest earlier writer. */
const shared: Decide = (sorted, index) => {
  for (let i = index - 1; i >= 0; i--) {
    if ((sorted[i] as string).includes(WRITE_PREFIX)) return { kind: 'watchNode', node: sorted[i] as string };
  }
  return { kind: 'proceed' };
};

export interface LockOptions {
  /** Data stored in the lock node (e.g. who holds it). Default none. */
  data?: string | Uint8Array;
}

/**
 * A distributed mutex (ZooKeeper's lock recipe, as Curator's InterProcessMutex and kazoo's Lock):
 * an EPHEMERAL_SEQUENTIAL node under `path`; the smallest holds the lock, every other watches only
 * the next smaller node and checks again when it goes. Events: `lost` when the session ends while
 * held, `suspended`/`reconnected` around connection losses.
 *
 * Reentrant per Lock object, as InterProcessMutex is per thread: `acquire` while this object holds
 * the lock succeeds at once and counts; the node goes with the last matching `release`. A second
 * `acquire` while the first is still waiting fails with IllegalState.
 */
export class Lock extends EventEmitter<HolderEvents> {
  private contender: Contender | undefined;
  private session: SessionWatch | undefined;
  private held = false;
  /** How many acquires the current hold counts (0 when not held). */
  private holds = 0;

  constructor(
    readonly zk: ZooKeeperClient,
    readonly path: string,
    private readonly options: LockOptions & { prefix?: string; decide?: Decide } = {},
  ) {
    super();
  }

  /** True while this object holds the lock (false again once released or lost). */
  get isHeld(): boolean {
    return this.held;
  }

  /** The lock node's path while acquiring or held. */
  get nodePath(): string | undefined {
    return this.contender?.path;
  }

  /**
   * Waits for the lock: true once held, false after `timeoutMs` (no timeout: waits as long as it
   * takes). Throws RecipeError 'SessionLost' if the session ends meanwhile.
   */
  async acquire(timeoutMs?: number): Promise<boolean> {
    if (this.held) {
      this.holds++;
      return true;
    }
    if (this.contender !== undefined)
      throw new RecipeError('IllegalState', `${this.path}: already acquiring`);
    const c = new Contender(
      this.zk,
      this.path,
      this.options.prefix ?? LOCK_PREFIX,
      this.options.data ?? null,
      this.options.decide ?? exclusive,
    );
    this.contender = c;
    let ok = false;
    try {
      ok = await c.attempt(timeoutMs);
    } finally {
      if (!ok) {
        this.contender = undefined;
        await c.remove().catch(() => undefined);
      }
    }
    if (!ok) return false;
    this.held = true;
    this.holds = 1;
    this.session = new SessionWatch(this.zk, this, () => {
      this.held = false;
      this.holds = 0;
      this.contender = undefined;
    });
    return true;
  }

  /** How many acquires the current hold counts (0 when not held). */
  get holdCount(): number {
    return this.holds;
  }

  /** Releases one acquire; the last one gives the lock up (deletes the node). */
  async release(): Promise<void> {
    const c = this.contender;
    if (c === undefined || !this.held) throw new RecipeError('IllegalState', `${this.path}: not held`);
    if (this.holds > 1) {
      this.holds--;
      return;
    }
    this.holds = 0;
    this.session?.stop();
    this.session = undefined;
    this.held = false;
    this.contender = undefined;
    await c.remove();
  }

  /** Runs `fn` while holding the lock. */
  async withLock<T>(fn: () => Promise<T> | T, timeoutMs?: number): Promise<T> {
    if (!(await this.acquire(timeoutMs))) throw new RecipeError('IllegalState', `${this.path}: timed out`);
    try {
      return await fn();
    } finally {
      if (this.held) await this.release();
    }
  }

  /** Participant node names in the order they will hold the lock. */
  async participants(): Promise<string[]> {
    return sortBySequence(await this.zk.getChildren(this.path));
  }
}

/**
 * A read/write lock (Curator's InterProcessReadWriteLock): readers share, a writer excludes
 * everyone; requests are served in arrival order, so writers do not starve.
 */
export class ReadWriteLock {
  readonly readLock: Lock;
  readonly writeLock: Lock;

  constructor(zk: ZooKeeperClient, path: string, options: LockOptions = {}) {
    this.readLock = new Lock(zk, path, { ...options, prefix: READ_PREFIX, decide: shared });
    this.writeLock = new Lock(zk, path, { ...options, prefix: WRITE_PREFIX, decide: exclusive });
  }
}
