import { ZabError } from './errors.js';
import type { ResolvedConfig, Txn, ZabConfig, ZabDiskState } from './types.js';

export function resolveConfig(config: ZabConfig): ResolvedConfig {
  const voters = new Set(config.voters);
  const observers = new Set(config.observers ?? []);
  if (voters.size === 0) throw new ZabError('config', 'an ensemble needs at least one voter');
  for (const id of observers) {
    if (voters.has(id)) throw new ZabError('config', `server ${id} cannot be both a voter and an observer`);
  }
  if (!voters.has(config.myId) && !observers.has(config.myId)) {
    throw new ZabError('config', `my id ${config.myId} is not in the ensemble`);
  }
  const initLimit = config.initLimit ?? 10;
  const syncLimit = config.syncLimit ?? 5;
  const maxOutstanding = config.maxOutstanding ?? 1000;
  const maxDiffTxns = config.maxDiffTxns ?? 100_000;
  if (!(initLimit >= 1 && syncLimit >= 1 && maxOutstanding >= 1 && maxDiffTxns >= 0)) {
    throw new ZabError(
      'config',
      'initLimit, syncLimit and maxOutstanding must be at least 1, maxDiffTxns at least 0',
    );
  }
  return {
    myId: config.myId,
    voters,
    observers,
    initLimit,
    syncLimit,
    maxOutstanding,
    maxDiffTxns,
    unsafe: config.unsafe ?? {},
  };
}

/** True when `ids` holds a strict majority of the voters. */
export function isQuorum(voters: ReadonlySet<number>, ids: Iterable<number>): boolean {
  let n = 0;
  for (const id of new Set(ids)) if (voters.has(id)) n++;
  return n * 2 > voters.size;
}

export function checkDisk<T>(disk: ZabDiskState<T>): Txn<T>[] {
  let prev = disk.snapshotZxid;
  for (const t of disk.log) {
    if (t.zxid <= prev) throw new ZabError('disk', 'logged zxids must ascend and follow the snapshot');
    prev = t.zxid;
  }
  if (disk.currentEpoch > disk.acceptedEpoch) {
    throw new ZabError('disk', 'currentEpoch cannot be above acceptedEpoch');
  }
  return disk.log.slice();
}
