export {
  PersistenceError,
  type PersistenceErrorDetails,
  type PersistenceErrorKind,
} from './errors.js';
export { type FileHandle, type FileSystem, nodeFileSystem, type OpenMode } from './fs.js';
export { type CrashOptions, type FaultRule, type FsOp, MemoryFileSystem } from './memory-fs.js';
export type { SnapshotChunks, SnapshotInfo } from './snapshot.js';
export {
  type EpochName,
  type Logger,
  type PurgeResult,
  type RecoveryHandlers,
  type RecoveryResult,
  type StoreOptions,
  type StoreStats,
  type SyncInfo,
  TxnSnapStore,
} from './store.js';
