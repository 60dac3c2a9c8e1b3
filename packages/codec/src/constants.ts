/**
 * Numeric constants of Apache ZooKeeper 3.8's client protocol: opcodes, error codes, watch event
 * types, keeper states, create modes, permissions and the reserved xids.
 */

export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;
export type OpCodeName = keyof typeof OpCode;
export type OpCodeValue = (typeof OpCode)[OpCodeName];

/** The reverse of a table of codes: code -> name. */
function namesOf<K extends string>(table: Readonly<Record<K, number>>): ReadonlyMap<number, K> {
  return new Map(Object.entries<number>(table).map(([name, code]) => [code, name as K]));
}

const opNames = namesOf(OpCode);
/** The name of an opcode, or undefined when ZooKeeper 3.8 has no such opcode. */
export function opCodeName(code: number): OpCodeName | undefined {
  return opNames.get(code);
}

/** KeeperException.Code values. */
export const ErrorCode = {
  OK: 0,
  SystemError: -1,
  RuntimeInconsistency: -2,
  DataInconsistency: -3,
  ConnectionLoss: -4,
  MarshallingError: -5,
  Unimplemented: -6,
  OperationTimeout: -7,
  BadArguments: -8,
  UnknownSession: -12,
  NewConfigNoQuorum: -13,
  ReconfigInProgress: -14,
  APIError: -100,
  NoNode: -101,
  NoAuth: -102,
  BadVersion: -103,
  NoChildrenForEphemerals: -108,
  NodeExists: -110,
  NotEmpty: -111,
  SessionExpired: -112,
  InvalidCallback: -113,
  InvalidACL: -114,
  AuthFailed: -115,
  SessionMoved: -118,
  NotReadOnly: -119,
  EphemeralOnLocalSession: -120,
  NoWatcher: -121,
  RequestTimeout: -122,
  ReconfigDisabled: -123,
  SessionClosedRequireSaslAuth: -124,
  QuotaExceeded: -125,
  Throttled: -127,
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;
export type ErrorCodeValue = (typeof ErrorCode)[ErrorCodeName];

const errorNames = namesOf(ErrorCode);
/** The name of an error code, or undefined for a code ZooKeeper 3.8 does not define. */
export function errorCodeName(code: number): ErrorCodeName | undefined {
  return errorNames.get(code);
}

/** Watcher.Event.EventType values. */
export const EventType = {
  None: -1,
  NodeCreated: 1,
  NodeDeleted: 2,
  NodeDataChanged: 3,
  NodeChildrenChanged: 4,
  DataWatchRemoved: 5,
  ChildWatchRemoved: 6,
  PersistentWatchRemoved: 7,
} as const;
export type EventTypeName = keyof typeof EventType;
export type EventTypeValue = (typeof EventType)[EventTypeName];

/** Watcher.Event.KeeperState values. */
export const KeeperState = {
  Unknown: -1,
  Disconnected: 0,
  NoSyncConnected: 1,
  SyncConnected: 3,
  AuthFailed: 4,
  ConnectedReadOnly: 5,
  SaslAuthenticated: 6,
  Expired: -112,
  Closed: 7,
} as const;
export type KeeperStateName = keyof typeof KeeperState;
export type KeeperStateValue = (typeof KeeperState)[KeeperStateName];

/** CreateMode flag values as sent in CreateRequest.flags. */
export const CreateMode = {
  PERSISTENT: 0,
  EPHEMERAL: 1,
  PERSISTENT_SEQUENTIAL: 2,
  EPHEMERAL_SEQUENTIAL: 3,
  CONTAINER: 4,
  PERSISTENT_WITH_TTL: 5,
  PERSISTENT_SEQUENTIAL_WITH_TTL: 6,
} as const;
export type CreateModeName = keyof typeof CreateMode;
export type CreateModeValue = (typeof CreateMode)[CreateModeName];

/** ZooDefs.Perms bits. */
export const Perms = {
  READ: 1,
  WRITE: 2,
  CREATE: 4,
  DELETE: 8,
  ADMIN: 16,
  ALL: 31,
} as const;

/** ZooDefs.AddWatchModes. */
export const AddWatchMode = { PERSISTENT: 0, PERSISTENT_RECURSIVE: 1 } as const;
export type AddWatchModeValue = (typeof AddWatchMode)[keyof typeof AddWatchMode];

/**
 * Watcher.WatcherType as sent in CheckWatches/RemoveWatches requests. ZooKeeper 3.8 defines only
 * these three (persistent watch types arrived in 3.9).
 */
export const WatcherType = { Children: 1, Data: 2, Any: 3 } as const;
export type WatcherTypeValue = (typeof WatcherType)[keyof typeof WatcherType];

/** Reserved xids (ClientCnxn). */
export const Xid = {
  notification: -1,
  ping: -2,
  auth: -4,
  setWatches: -8,
} as const;

/**
 * Default jute.maxbuffer: 0xfffff bytes (1 MiB - 1). ZooKeeper 3.8's server and client both refuse a
 * frame whose length prefix is above it (no slack is added at the frame level).
 */
export const DEFAULT_MAX_BUFFER = 0xfffff;
/**
 * Default zookeeper.jute.maxbuffer.extrasize: the slack ZooKeeper adds to jute.maxbuffer when it
 * checks the length of a single field inside a record (it defaults to jute.maxbuffer itself and is
 * never below 1024). Field lengths are also bounded by the frame, so the codec needs it only to
 * mirror configuration.
 */
export const DEFAULT_MAX_BUFFER_EXTRA = 0xfffff;
/** The floor ZooKeeper applies to zookeeper.jute.maxbuffer.extrasize. */
export const MIN_MAX_BUFFER_EXTRA = 1024;
