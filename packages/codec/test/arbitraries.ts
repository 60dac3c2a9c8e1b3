/** fast-check arbitraries for every record of the codec (shared by the property and fuzz tests). */
import fc from 'fast-check';
import type {
  ACL,
  ClientInfo,
  ConnectRequest,
  ConnectResponse,
  MultiOp,
  MultiReadOp,
  MultiReadResult,
  MultiResult,
  Request,
  Response,
  Stat,
  WatcherEvent,
} from '../src/index.js';

export const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
export const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
/** Strings that survive UTF-8 (no lone surrogates): mostly ASCII paths, sometimes any code point. */
export const str = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', minLength: 30, maxLength: 80 }),
);
export const path = fc.oneof(
  fc.array(fc.stringMatching(/^[a-z0-9_-]{1,8}$/), { maxLength: 4 }).map((p) => `/${p.join('/')}`),
  str,
);
export const bytes = fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u));
export const maybeBytes = fc.option(bytes, { nil: null, freq: 4 });
export const strings = fc.array(path, { maxLength: 5 });

export const stat: fc.Arbitrary<Stat> = fc.record({
  czxid: int64,
  mzxid: int64,
  ctime: int64,
  mtime: int64,
  version: int32,
  cversion: int32,
  aversion: int32,
  ephemeralOwner: int64,
  dataLength: int32,
  numChildren: int32,
  pzxid: int64,
});

export const acl: fc.Arbitrary<ACL> = fc.record({
  perms: int32,
  id: fc.record({ scheme: str, id: str }),
});
export const acls = fc.array(acl, { maxLength: 4 });

export const clientInfo: fc.Arbitrary<ClientInfo> = fc.record({ authScheme: str, user: str });
export const watcherEvent: fc.Arbitrary<WatcherEvent> = fc.record({ type: int32, state: int32, path });

export const connectRequest: fc.Arbitrary<ConnectRequest> = fc.record(
  {
    protocolVersion: int32,
    lastZxidSeen: int64,
    timeOut: int32,
    sessionId: int64,
    passwd: bytes,
    readOnly: fc.boolean(),
  },
  { requiredKeys: ['protocolVersion', 'lastZxidSeen', 'timeOut', 'sessionId', 'passwd'] },
);

export const connectResponse: fc.Arbitrary<ConnectResponse> = fc.record(
  { protocolVersion: int32, timeOut: int32, sessionId: int64, passwd: bytes, readOnly: fc.boolean() },
  { requiredKeys: ['protocolVersion', 'timeOut', 'sessionId', 'passwd'] },
);

const create = fc.record({
  type: fc.constantFrom('create', 'create2', 'createContainer' as const),
  path,
  data: maybeBytes,
  acl: acls,
  flags: int32,
});
const createTTL = fc.record({
  type: fc.constant('createTTL' as const),
  path,
  data: maybeBytes,
  acl: acls,
  flags: int32,
  ttl: int64,
});
const del = fc.record({ type: fc.constant('delete' as const), path, version: int32 });
const setData = fc.record({ type: fc.constant('setData' as const), path, data: maybeBytes, version: int32 });
const check = fc.record({ type: fc.constant('check' as const), path, version: int32 });
const getData = fc.record({ type: fc.constant('getData' as const), path, watch: fc.boolean() });
const getChildren = fc.record({ type: fc.constant('getChildren' as const), path, watch: fc.boolean() });

export const multiOp: fc.Arbitrary<MultiOp> = fc.oneof(create, createTTL, del, setData, check);
export const multiReadOp: fc.Arbitrary<MultiReadOp> = fc.oneof(getData, getChildren);

/** One arbitrary per request type, so every variant is exercised. */
export const requestByType: Record<Request['type'], fc.Arbitrary<Request>> = {
  create: create.map((r) => ({ ...r, type: 'create' as const })),
  create2: create.map((r) => ({ ...r, type: 'create2' as const })),
  createContainer: create.map((r) => ({ ...r, type: 'createContainer' as const })),
  createTTL,
  delete: del,
  deleteContainer: fc.record({ type: fc.constant('deleteContainer' as const), path }),
  exists: fc.record({ type: fc.constant('exists' as const), path, watch: fc.boolean() }),
  getData,
  setData,
  getACL: fc.record({ type: fc.constant('getACL' as const), path }),
  setACL: fc.record({ type: fc.constant('setACL' as const), path, acl: acls, version: int32 }),
  getChildren,
  getChildren2: fc.record({ type: fc.constant('getChildren2' as const), path, watch: fc.boolean() }),
  getAllChildrenNumber: fc.record({ type: fc.constant('getAllChildrenNumber' as const), path }),
  getEphemerals: fc.record({ type: fc.constant('getEphemerals' as const), prefixPath: path }),
  sync: fc.record({ type: fc.constant('sync' as const), path }),
  check,
  multi: fc.record({ type: fc.constant('multi' as const), ops: fc.array(multiOp, { maxLength: 5 }) }),
  multiRead: fc.record({
    type: fc.constant('multiRead' as const),
    ops: fc.array(multiReadOp, { maxLength: 5 }),
  }),
  setWatches: fc.record({
    type: fc.constant('setWatches' as const),
    relativeZxid: int64,
    dataWatches: strings,
    existWatches: strings,
    childWatches: strings,
  }),
  setWatches2: fc.record({
    type: fc.constant('setWatches2' as const),
    relativeZxid: int64,
    dataWatches: strings,
    existWatches: strings,
    childWatches: strings,
    persistentWatches: strings,
    persistentRecursiveWatches: strings,
  }),
  addWatch: fc.record({ type: fc.constant('addWatch' as const), path, mode: int32 }),
  checkWatches: fc.record({ type: fc.constant('checkWatches' as const), path, watcherType: int32 }),
  removeWatches: fc.record({ type: fc.constant('removeWatches' as const), path, watcherType: int32 }),
  auth: fc.record({ type: fc.constant('auth' as const), authType: int32, scheme: str, auth: bytes }),
  sasl: fc.record({ type: fc.constant('sasl' as const), token: maybeBytes }),
  reconfig: fc.record({
    type: fc.constant('reconfig' as const),
    joiningServers: fc.option(str, { nil: null }),
    leavingServers: fc.option(str, { nil: null }),
    newMembers: fc.option(str, { nil: null }),
    curConfigId: int64,
  }),
  whoAmI: fc.constant({ type: 'whoAmI' as const }),
  closeSession: fc.constant({ type: 'closeSession' as const }),
  ping: fc.constant({ type: 'ping' as const }),
};
export const request: fc.Arbitrary<Request> = fc.oneof(...Object.values(requestByType));

const multiResult: fc.Arbitrary<MultiResult> = fc.oneof(
  fc.record({ type: fc.constant('create' as const), path }),
  fc.record({ type: fc.constant('create2' as const), path, stat }),
  fc.constant({ type: 'delete' as const }),
  fc.constant({ type: 'check' as const }),
  fc.record({ type: fc.constant('setData' as const), stat }),
  fc.record({ type: fc.constant('error' as const), err: int32 }),
);
const multiReadResult: fc.Arbitrary<MultiReadResult> = fc.oneof(
  fc.record({ type: fc.constant('getData' as const), data: maybeBytes, stat }),
  fc.record({ type: fc.constant('getChildren' as const), children: strings }),
  fc.record({ type: fc.constant('error' as const), err: int32 }),
);

const empty = <T extends string>(type: T) => fc.constant({ type });

/** One arbitrary per response type. */
export const responseByType: Record<Response['type'], fc.Arbitrary<Response>> = {
  create: fc.record({ type: fc.constant('create' as const), path }),
  create2: fc.record({ type: fc.constant('create2' as const), path, stat }),
  createContainer: fc.record({ type: fc.constant('createContainer' as const), path, stat }),
  createTTL: fc.record({ type: fc.constant('createTTL' as const), path, stat }),
  delete: empty('delete'),
  deleteContainer: empty('deleteContainer'),
  setWatches: empty('setWatches'),
  setWatches2: empty('setWatches2'),
  checkWatches: empty('checkWatches'),
  removeWatches: empty('removeWatches'),
  closeSession: empty('closeSession'),
  ping: empty('ping'),
  auth: empty('auth'),
  exists: fc.record({ type: fc.constant('exists' as const), stat }),
  setData: fc.record({ type: fc.constant('setData' as const), stat }),
  setACL: fc.record({ type: fc.constant('setACL' as const), stat }),
  check: fc.record({ type: fc.constant('check' as const), stat }),
  getData: fc.record({ type: fc.constant('getData' as const), data: maybeBytes, stat }),
  reconfig: fc.record({ type: fc.constant('reconfig' as const), data: maybeBytes, stat }),
  getACL: fc.record({ type: fc.constant('getACL' as const), acl: acls, stat }),
  getChildren: fc.record({ type: fc.constant('getChildren' as const), children: strings }),
  getChildren2: fc.record({ type: fc.constant('getChildren2' as const), children: strings, stat }),
  getAllChildrenNumber: fc.record({ type: fc.constant('getAllChildrenNumber' as const), totalNumber: int32 }),
  getEphemerals: fc.record({ type: fc.constant('getEphemerals' as const), ephemerals: strings }),
  sync: fc.record({ type: fc.constant('sync' as const), path }),
  addWatch: fc.record({ type: fc.constant('addWatch' as const), err: int32 }),
  sasl: fc.record({ type: fc.constant('sasl' as const), token: maybeBytes }),
  whoAmI: fc.record({
    type: fc.constant('whoAmI' as const),
    clientInfo: fc.array(clientInfo, { maxLength: 4 }),
  }),
  notification: fc.record({ type: fc.constant('notification' as const), event: watcherEvent }),
  multi: fc.record({ type: fc.constant('multi' as const), results: fc.array(multiResult, { maxLength: 5 }) }),
  multiRead: fc.record({
    type: fc.constant('multiRead' as const),
    results: fc.array(multiReadResult, { maxLength: 5 }),
  }),
};
export const response: fc.Arbitrary<Response> = fc.oneof(...Object.values(responseByType));
