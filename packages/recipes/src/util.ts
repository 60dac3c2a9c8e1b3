import { KeeperError, type ZooKeeperClient } from '@zkts/client';
import { RecipeError } from './errors.js';

/** The 10-digit sequence suffix ZooKeeper appends to sequential nodes (-1 when absent). */
export function sequenceOf(name: string): number {
  const m = /(\d{10})$/.exec(name);
  return m ? Number(m[1]) : -1;
}

/** Sorts node names by their sequence suffix (then by name). */
export function sortBySequence(names: readonly string[]): string[] {
  return [...names].sort((a, b) => sequenceOf(a) - sequenceOf(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export function join(parent: string, child: string): string {
  return parent === '/' ? `/${child}` : `${parent}/${child}`;
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function isCode(e: unknown, name: Parameters<KeeperError['is']>[0]): boolean {
  return e instanceof KeeperError && e.is(name);
}

/** Creates `path` and its missing ancestors as persistent nodes (existing ones are fine). */
export async function ensurePath(zk: ZooKeeperClient, path: string): Promise<void> {
  if (path === '/' || (await zk.exists(path)) !== null) return;
  let cur = '';
  for (const part of path.split('/').slice(1)) {
    cur = `${cur}/${part}`;
    try {
      await zk.create(cur);
    } catch (e) {
      if (!isCode(e, 'NodeExists')) throw e;
    }
  }
}

/** A random id for protected node names. */
export function randomId(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * Resolves when `event` resolves, or to 'timeout' after `ms` (undefined: never), or to 'lost'
 * when the client's session ends.
 */
export function waitFor<T>(
  zk: ZooKeeperClient,
  event: Promise<T>,
  ms: number | undefined,
): Promise<T | 'timeout' | 'lost'> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const lost = () => done('lost');
    const done = (v: T | 'timeout' | 'lost') => {
      if (timer) clearTimeout(timer);
      zk.off('expired', lost);
      zk.off('closed', lost);
      zk.off('authFailed', lost);
      resolve(v);
    };
    if (ms !== undefined) timer = setTimeout(() => done('timeout'), Math.max(0, ms));
    zk.on('expired', lost);
    zk.on('closed', lost);
    zk.on('authFailed', lost);
    event.then(done, () => done('lost'));
  });
}

export function sessionLost(): RecipeError {
  return new RecipeError('SessionLost', 'the ZooKeeper session ended');
}

export function terminal(zk: ZooKeeperClient): boolean {
  return zk.state === 'expired' || zk.state === 'closed' || zk.state === 'authFailed';
}
