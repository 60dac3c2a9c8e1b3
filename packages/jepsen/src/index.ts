export { ApacheCluster, type EnsembleOptions, ProxiedEnsemble } from './apache-cluster.js';
export type { Cluster } from './cluster.js';
export { assertNever, JepsenError, type JepsenErrorKind } from './errors.js';
export * from './history.js';
export * from './linearizability.js';
export {
  type CutMode,
  LinkProxy,
  type LinkProxyOptions,
  type LinkProxyStats,
  MAX_REWRITE_HEAD,
  rewriteElectionAddress,
} from './link-proxy.js';
export * from './nemesis.js';
export { Prng, randomSeed } from './prng.js';
export {
  checkHistoryFile,
  type JepsenOptions,
  type JepsenResult,
  runJepsen,
  SEED_ENV,
  seedFromEnv,
} from './runner.js';
export { repositoryRoot, ZktsCluster, zktsServerMain } from './zkts-cluster.js';
