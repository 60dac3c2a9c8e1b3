import type { ZooKeeperClient } from '@zkts/client';
import { RecipeError } from './errors.js';
import { isCode } from './util.js';

/** A counter value and the node version it was read at. */
export interface VersionedValue {
  value: number;
  version: number;
}

function encode(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function decode(b: Buffer | null): number {
  return b !== null && b.length >= 4 ? b.readInt32BE(0) : 0;
}

/**
 * A shared integer (Curator's SharedCount / DistributedAtomicInteger): a node holding a 32-bit
 * big-endian int, changed only by versioned compare-and-set.
 */
export class SharedCounter {
  constructor(
    readonly zk: ZooKeeperClient,
    readonly path: string,
    readonly initial = 0,
  ) {}

  private async ensure(): Promise<void> {
    try {
      await this.zk.create(this.path, encode(this.initial));
    } catch (e) {
      if (!isCode(e, 'NodeExists')) throw e;
    }
  }

  /** The value and its version (creates the node with `initial` if missing). */
  async get(): Promise<VersionedValue> {
    for (;;) {
      try {
        const { data, stat } = await this.zk.getData(this.path);
        return { value: decode(data), version: stat.version };
      } catch (e) {
        if (!isCode(e, 'NoNode')) throw e;
        await this.ensure();
      }
    }
  }

  /** Sets `value` only if the node is still at `expected.version`; false if someone changed it. */
  async trySet(expected: VersionedValue, value: number): Promise<boolean> {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
      throw new RecipeError('Bounds', `${value} is not a 32-bit integer`);
    }
    try {
      await this.zk.setData(this.path, encode(value), expected.version);
      return true;
    } catch (e) {
      if (isCode(e, 'BadVersion')) return false;
      throw e;
    }
  }

  /** Adds `delta` with a compare-and-set loop; returns the new value. */
  async add(delta: number, maxAttempts = 1000): Promise<number> {
    for (let i = 0; i < maxAttempts; i++) {
      const cur = await this.get();
      if (await this.trySet(cur, cur.value + delta)) return cur.value + delta;
    }
    throw new RecipeError('Bounds', `${this.path}: no compare-and-set succeeded in ${maxAttempts} attempts`);
  }

  increment(): Promise<number> {
    return this.add(1);
  }

  decrement(): Promise<number> {
    return this.add(-1);
  }
}
