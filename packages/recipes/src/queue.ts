import { oneShotWatch, type ZooKeeperClient } from '@zkts/client';
import { RecipeError } from './errors.js';
import { ensurePath, isCode, join, sessionLost, sortBySequence, waitFor } from './util.js';

const ITEM_PREFIX = 'qn-';
/** Largest item accepted (ZooKeeper's default jute.maxbuffer leaves room for the request). */
const MAX_ITEM_BYTES = 1024 * 1000;

/**
 * A FIFO queue (Curator's SimpleDistributedQueue, kazoo's Queue): items are
 * PERSISTENT_SEQUENTIAL nodes; a consumer takes the smallest by deleting it, so each item goes to
 * exactly one consumer.
 */
export class DistributedQueue {
  constructor(
    readonly zk: ZooKeeperClient,
    readonly path: string,
  ) {}

  /** Adds an item; returns its node path. */
  async offer(data: string | Uint8Array): Promise<string> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (bytes.byteLength > MAX_ITEM_BYTES) {
      throw new RecipeError('Bounds', `queue item of ${bytes.byteLength} bytes exceeds ${MAX_ITEM_BYTES}`);
    }
    await ensurePath(this.zk, this.path);
    return this.zk.create(join(this.path, ITEM_PREFIX), bytes, { mode: 'PERSISTENT_SEQUENTIAL' });
  }

  private async items(watch?: ReturnType<typeof oneShotWatch>): Promise<string[]> {
    try {
      return sortBySequence(
        (await this.zk.getChildren(this.path, { watch: watch?.watcher })).filter((c) =>
          c.startsWith(ITEM_PREFIX),
        ),
      );
    } catch (e) {
      if (!isCode(e, 'NoNode')) throw e;
      await ensurePath(this.zk, this.path);
      return [];
    }
  }

  /** The head item without removing it, or null. */
  async peek(): Promise<Buffer | null> {
    for (const name of await this.items()) {
      try {
        return (await this.zk.getData(join(this.path, name))).data ?? Buffer.alloc(0);
      } catch (e) {
        if (!isCode(e, 'NoNode')) throw e;
      }
    }
    return null;
  }

  /** Removes and returns the head item, or null when the queue is empty. */
  async poll(): Promise<Buffer | null> {
    for (const name of await this.items()) {
      const p = join(this.path, name);
      try {
        const { data, stat } = await this.zk.getData(p);
        await this.zk.delete(p, stat.version);
        return data ?? Buffer.alloc(0);
      } catch (e) {
        if (!isCode(e, 'NoNode')) throw e;
      }
    }
    return null;
  }

  /** Removes and returns the head item, waiting for one; null after `timeoutMs`. */
  async take(timeoutMs?: number): Promise<Buffer | null> {
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    for (;;) {
      const item = await this.poll();
      if (item !== null) return item;
      const w = oneShotWatch();
      if ((await this.items(w)).length > 0) continue;
      const r = await waitFor(this.zk, w.event, deadline === undefined ? undefined : deadline - Date.now());
      if (r === 'timeout') return null;
      if (r === 'lost') throw sessionLost();
    }
  }

  /** Number of items queued. */
  async size(): Promise<number> {
    return (await this.items()).length;
  }
}
