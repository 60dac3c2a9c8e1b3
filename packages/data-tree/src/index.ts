export { isValidPath, pathProblem } from '@zkts/codec';
export {
  AclCache,
  aclAllows,
  addAuthIds,
  CREATOR_ALL_ACL,
  checkAcl,
  clientInfos,
  digestAuthIds,
  fixupAcl,
  generateDigest,
  ipAuthId,
  ipMatches,
  isValidAclId,
  OPEN_ACL_UNSAFE,
  READ_ACL_UNSAFE,
  WORLD_ANYONE,
} from './acl.js';
export { TreeError } from './errors.js';
export { childPath, parentPathOf, sequenceSuffix } from './path.js';
export {
  CONFIG_ZOOKEEPER,
  LIMIT_NODE,
  PROC_ZOOKEEPER,
  QUOTA_ZOOKEEPER,
  type QuotaInfo,
  quotaLimitPath,
  quotaPath,
  quotaStatPath,
  STAT_NODE,
  StatsTrack,
} from './quota.js';
export {
  loadSnapshot,
  SNAPSHOT_FORMAT_VERSION,
  SnapshotLoader,
  type SnapshotOptions,
  SnapshotStream,
  snapshotTree,
} from './snapshot.js';
export {
  CONTAINER_EPHEMERAL_OWNER,
  createModeInfo,
  DataTree,
  type DataTreeOptions,
  type EphemeralKind,
  ephemeralKind,
  isSpecialPath,
  MAX_TTL,
  type ReadContext,
  ttlOfEphemeralOwner,
  ttlToEphemeralOwner,
} from './tree.js';
export { decodeTxn, encodeTxn, TXN_FORMAT_VERSION } from './txn-codec.js';
export type {
  ApplyResult,
  CreateRequest,
  MultiOp,
  PrepContext,
  TreeRequest,
  Txn,
  TxnBody,
  TxnResult,
  WatchNotification,
} from './types.js';
export { WatchManager, WatchMode, type WatchModeValue } from './watches.js';
