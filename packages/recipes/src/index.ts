export { Barrier, DoubleBarrier } from './barrier.js';
export type { Decision, HolderEvents } from './contender.js';
export { SharedCounter, type VersionedValue } from './counter.js';
export {
  ServiceCache,
  ServiceDiscovery,
  type ServiceInstance,
  type ServiceInstanceInput,
} from './discovery.js';
export { RecipeError, type RecipeErrorKind } from './errors.js';
export { type LatchEvents, LeaderElection, LeaderLatch } from './leader.js';
export { Lock, type LockOptions, ReadWriteLock } from './lock.js';
export { DistributedQueue } from './queue.js';
export { type Lease, Semaphore } from './semaphore.js';
export { type CachedNode, TreeCache, type TreeCacheEvents, type TreeCacheOptions } from './tree-cache.js';
