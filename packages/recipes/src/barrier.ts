import { oneShotWatch, type ZooKeeperClient } from '@zkts/client';
import { RecipeError } from './errors.js';
import { ensurePath, isCode, join, randomId, sessionLost, waitFor } from './util.js';

/** Curator's DistributedBarrier: waiters block while the barrier node exists. */
export class Barrier {
  constructor(
    readonly zk: ZooKeeperClient,
    readonly path: string,
  ) {}

  /** Raises the barrier (creates the node; an existing one is fine). */
  async setBarrier(): Promise<void> {
    const parent = this.path.slice(0, this.path.lastIndexOf('/')) || '/';
    await ensurePath(this.zk, parent);
    try {
      await this.zk.create(this.path);
    } catch (e) {
      if (!isCode(e, 'NodeExists')) throw e;
    }
  }

  /** Lowers the barrier: every waiter proceeds. */
  async removeBarrier(): Promise<void> {
    try {
      await this.zk.delete(this.path);
    } catch (e) {
      if (!isCode(e, 'NoNode')) throw e;
    }
  }

  /** True once the barrier is down, false after `timeoutMs`. */
  async waitOnBarrier(timeoutMs?: number): Promise<boolean> {
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    for (;;) {
      const w = oneShotWatch();
      if ((await this.zk.exists(this.path, { watch: w.watcher })) === null) return true;
      const r = await waitFor(this.zk, w.event, deadline === undefined ? undefined : deadline - Date.now());
      if (r === 'timeout') return false;
      if (r === 'lost') throw sessionLost();
    }
  }
}

const READY = 'ready';

/**
 * Curator's DistributedDoubleBarrier: `enter()` blocks until `memberQty` members entered,
 * `leave()` blocks until every member left.
 */
export class DoubleBarrier {
  private node: string | undefined;

  constructor(
    readonly zk: ZooKeeperClient,
    readonly path: string,
    readonly memberQty: number,
    readonly id: string = randomId(),
  ) {
    if (!Number.isInteger(memberQty) || memberQty < 1) {
      throw new RecipeError('IllegalState', `memberQty must be a positive integer, not ${memberQty}`);
    }
  }

  private members(children: readonly string[]): string[] {
    return children.filter((c) => c !== READY);
  }

  /** True once `memberQty` members are in, false after `timeoutMs` (this member leaves then). */
  async enter(timeoutMs?: number): Promise<boolean> {
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    await ensurePath(this.zk, this.path);
    const ready = join(this.path, READY);
    const w = oneShotWatch();
    const readyNow = (await this.zk.exists(ready, { watch: w.watcher })) !== null;
    this.node = join(this.path, this.id);
    try {
      await this.zk.create(this.node, null, { mode: 'EPHEMERAL' });
    } catch (e) {
      if (!isCode(e, 'NodeExists')) throw e;
    }
    if (readyNow) return true;
    if (this.members(await this.zk.getChildren(this.path)).length >= this.memberQty) {
      try {
        await this.zk.create(ready);
      } catch (e) {
        if (!isCode(e, 'NodeExists')) throw e;
      }
      return true;
    }
    const r = await waitFor(this.zk, w.event, deadline === undefined ? undefined : deadline - Date.now());
    if (r === 'lost') throw sessionLost();
    if (r === 'timeout') {
      await this.zk.delete(this.node).catch(() => undefined);
      this.node = undefined;
      return false;
    }
    return true;
  }

  /** True once every member left, false after `timeoutMs`. */
  async leave(timeoutMs?: number): Promise<boolean> {
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    if (this.node !== undefined) {
      await this.zk.delete(this.node).catch((e: unknown) => {
        if (!isCode(e, 'NoNode')) throw e;
      });
      this.node = undefined;
    }
    for (;;) {
      const w = oneShotWatch();
      const left = this.members(await this.zk.getChildren(this.path, { watch: w.watcher }));
      if (left.length === 0) {
        await this.zk.delete(join(this.path, READY)).catch(() => undefined);
        return true;
      }
      const r = await waitFor(this.zk, w.event, deadline === undefined ? undefined : deadline - Date.now());
      if (r === 'timeout') return false;
      if (r === 'lost') throw sessionLost();
    }
  }
}
