export { CreateMode, ErrorCode, EventType, KeeperState, Perms } from '@zkts/codec';
export {
  type ClientEvents,
  CREATOR_ALL_ACL,
  createClient,
  OPEN_ACL_UNSAFE,
  oneShotWatch,
  READ_ACL_UNSAFE,
  ZooKeeperClient,
} from './client.js';
export {
  type ConnectString,
  type HostPort,
  parseConnectString,
  prependChroot,
  shuffle,
  stripChroot,
  validatePath,
} from './connect-string.js';
export { KeeperError } from './errors.js';
export { Transaction } from './transaction.js';
export type * from './types.js';
export {
  parentOf,
  type WatchedEvent,
  type Watcher,
  type WatchKind,
  WatchRegistry,
  type WatchSet,
} from './watches.js';
