import { EventEmitter } from 'node:events';
import type { ZooKeeperClient } from '@zkts/client';
import { Contender, type Decide, type HolderEvents, SessionWatch } from './contender.js';
import { RecipeError } from './errors.js';
import { isCode, join, sortBySequence, waitFor } from './util.js';

const exclusive: Decide = (sorted, index) =>
  index === 0 ? { kind: 'proceed' } : { kind: 'watchNode', node: sorted[index - 1] as string };

export interface LatchEvents extends HolderEvents {
  isLeader: [];
  notLeader: [];
}

/** Participant ids in order (the first leads), read from the nodes' data. */
async function participantIds(zk: ZooKeeperClient, path: string): Promise<string[]> {
  const ids: string[] = [];
  for (const name of sortBySequence(await zk.getChildren(path).catch(() => [] as string[]))) {
    try {
      ids.push((await zk.getData(join(path, name))).data?.toString('utf8') ?? '');
    } catch (e) {
      if (!isCode(e, 'NoNode')) throw e;
    }
  }
  return ids;
}

/**
 * Curator's LeaderLatch: `start()` joins; the participant with the smallest node leads until it
 * calls `close()` or its session ends. Events `isLeader` and `notLeader`.
 */
export class LeaderLatch extends EventEmitter<LatchEvents> {
  private contender: Contender | undefined;
  private session: SessionWatch | undefined;
  private leader = false;
  private closed = false;
  private running: Promise<void> | undefined;

  constructor(
    readonly zk: ZooKeeperClient,
    readonly path: string,
    readonly id = '',
  ) {
    super();
  }

  hasLeadership(): boolean {
    return this.leader;
  }

  /** Joins the election; leadership comes later through `isLeader` / `await()`. */
  start(): void {
    if (this.running !== undefined) throw new RecipeError('IllegalState', 'already started');
    const c = new Contender(this.zk, this.path, 'latch-', this.id, exclusive);
    this.contender = c;
    this.running = c.attempt().then(
      async (ok) => {
        if (!ok || this.closed) return;
        this.leader = true;
        this.session = new SessionWatch(this.zk, this as EventEmitter<HolderEvents>, () => this.lose());
        this.emit('isLeader');
      },
      () => this.lose(),
    );
  }

  private lose(): void {
    if (this.leader) {
      this.leader = false;
      this.emit('notLeader');
    }
  }

  /** Resolves true once leader, false after `timeoutMs` or when the session ends. */
  async await(timeoutMs?: number): Promise<boolean> {
    if (this.leader) return true;
    const became = new Promise<void>((resolve) => this.once('isLeader', resolve));
    const r = await waitFor(this.zk, became, timeoutMs);
    return r !== 'timeout' && r !== 'lost' && this.leader;
  }

  /** The current leader's id. */
  async getLeader(): Promise<string | undefined> {
    return (await participantIds(this.zk, this.path))[0];
  }

  async getParticipants(): Promise<string[]> {
    return participantIds(this.zk, this.path);
  }

  /** Leaves the election (gives up leadership if held). */
  async close(): Promise<void> {
    this.closed = true;
    this.session?.stop();
    await this.contender?.remove();
    this.lose();
  }
}

/**
 * kazoo's Election: `run(fn)` waits for leadership, runs `fn` as leader and steps down when it
 * returns. `cancel()` stops waiting.
 */
export class LeaderElection {
  private latch: LeaderLatch | undefined;

  constructor(
    readonly zk: ZooKeeperClient,
    readonly path: string,
    readonly id = '',
  ) {}

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const latch = new LeaderLatch(this.zk, this.path, this.id);
    this.latch = latch;
    latch.start();
    try {
      if (!(await latch.await())) throw new RecipeError('SessionLost', 'election cancelled or session lost');
      return await fn();
    } finally {
      this.latch = undefined;
      await latch.close().catch(() => undefined);
    }
  }

  async cancel(): Promise<void> {
    const l = this.latch;
    if (l !== undefined) {
      await l.close();
      l.emit('lost');
      l.emit('isLeader');
    }
  }

  /** Participant ids in order; the first leads. */
  contenders(): Promise<string[]> {
    return participantIds(this.zk, this.path);
  }
}
