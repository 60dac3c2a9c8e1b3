/**
 * Client requests of ZooKeeper 3.8: a union discriminated by the opcode name, with encoders and a
 * decoder for the server side.
 */
import { OpCode } from './constants.js';
import { encode, writeFramed } from './encode.js';
import { CodecError } from './errors.js';
import { Reader, type Writer } from './jute.js';
import { readMultiItems, writeMultiItems } from './multi.js';
import { assertNever, readACLs, readRequestHeader, writeACLs, writeRequestHeader } from './records.js';
import type { ACL, MultiHeader, RequestHeader } from './types.js';

/** create, create2 and createContainer (CreateRequest). */
export interface CreateRequest {
  type: 'create' | 'create2' | 'createContainer';
  path: string;
  data: Uint8Array | null;
  acl: ACL[];
  /** A CreateMode value. */
  flags: number;
}

/** createTTL (CreateTTLRequest). */
export interface CreateTTLRequest {
  type: 'createTTL';
  path: string;
  data: Uint8Array | null;
  acl: ACL[];
  flags: number;
  ttl: bigint;
}

export interface DeleteRequest {
  type: 'delete';
  path: string;
  version: number;
}

/** deleteContainer: ZooKeeper sends the bare UTF-8 path as the whole body (no length prefix). */
export interface DeleteContainerRequest {
  type: 'deleteContainer';
  path: string;
}

/** exists, getData, getChildren and getChildren2: a path and whether to leave a watch. */
export interface ExistsRequest {
  type: 'exists';
  path: string;
  watch: boolean;
}
export interface GetDataRequest {
  type: 'getData';
  path: string;
  watch: boolean;
}
export interface GetChildrenRequest {
  type: 'getChildren';
  path: string;
  watch: boolean;
}
export interface GetChildren2Request {
  type: 'getChildren2';
  path: string;
  watch: boolean;
}

export interface SetDataRequest {
  type: 'setData';
  path: string;
  data: Uint8Array | null;
  version: number;
}

export interface GetACLRequest {
  type: 'getACL';
  path: string;
}

export interface SetACLRequest {
  type: 'setACL';
  path: string;
  acl: ACL[];
  version: number;
}

export interface GetAllChildrenNumberRequest {
  type: 'getAllChildrenNumber';
  path: string;
}

export interface GetEphemeralsRequest {
  type: 'getEphemerals';
  prefixPath: string;
}

export interface SyncRequest {
  type: 'sync';
  path: string;
}

/** check (CheckVersionRequest), mostly seen inside multi. */
export interface CheckVersionRequest {
  type: 'check';
  path: string;
  version: number;
}

/** An operation of a multi (transaction). */
export type MultiOp = CreateRequest | CreateTTLRequest | DeleteRequest | SetDataRequest | CheckVersionRequest;
/** An operation of a multiRead. */
export type MultiReadOp = GetDataRequest | GetChildrenRequest;

export interface MultiRequest {
  type: 'multi';
  ops: MultiOp[];
}

export interface MultiReadRequest {
  type: 'multiRead';
  ops: MultiReadOp[];
}

/** setWatches (SetWatches), sent with xid -8 on reconnect by older clients. */
export interface SetWatchesRequest {
  type: 'setWatches';
  relativeZxid: bigint;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
}

/** setWatches2 (SetWatches2), sent with xid -8 on reconnect by 3.6+ clients. */
export interface SetWatches2Request {
  type: 'setWatches2';
  relativeZxid: bigint;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}

export interface AddWatchRequest {
  type: 'addWatch';
  path: string;
  /** An AddWatchMode. */
  mode: number;
}

/** checkWatches and removeWatches; `watcherType` is the jute field `type` (a WatcherType). */
export interface CheckWatchesRequest {
  type: 'checkWatches';
  path: string;
  watcherType: number;
}
export interface RemoveWatchesRequest {
  type: 'removeWatches';
  path: string;
  watcherType: number;
}

/** auth (AuthPacket), sent with xid -4; `authType` is the jute field `type` (0 in practice). */
export interface AuthRequest {
  type: 'auth';
  authType: number;
  scheme: string;
  auth: Uint8Array;
}

/** sasl (GetSASLRequest). */
export interface SaslRequest {
  type: 'sasl';
  token: Uint8Array | null;
}

/** reconfig (ReconfigRequest); absent strings are null. */
export interface ReconfigRequest {
  type: 'reconfig';
  joiningServers: string | null;
  leavingServers: string | null;
  newMembers: string | null;
  curConfigId: bigint;
}

/** Requests without a body. */
export interface WhoAmIRequest {
  type: 'whoAmI';
}
export interface CloseSessionRequest {
  type: 'closeSession';
}
export interface PingRequest {
  type: 'ping';
}

/** Every request a 3.8 client sends after connecting. */
export type Request =
  | CreateRequest
  | CreateTTLRequest
  | DeleteRequest
  | DeleteContainerRequest
  | ExistsRequest
  | GetDataRequest
  | SetDataRequest
  | GetACLRequest
  | SetACLRequest
  | GetChildrenRequest
  | GetChildren2Request
  | GetAllChildrenNumberRequest
  | GetEphemeralsRequest
  | SyncRequest
  | CheckVersionRequest
  | MultiRequest
  | MultiReadRequest
  | SetWatchesRequest
  | SetWatches2Request
  | AddWatchRequest
  | CheckWatchesRequest
  | RemoveWatchesRequest
  | AuthRequest
  | SaslRequest
  | ReconfigRequest
  | WhoAmIRequest
  | CloseSessionRequest
  | PingRequest;

export type RequestType = Request['type'];
/** The request variant of a given type (narrowed to that type). */
export type RequestOf<T extends RequestType> = Request extends infer R
  ? R extends { type: infer K }
    ? T extends K
      ? R & { type: T }
      : never
    : never
  : never;

/** A decoded request frame. */
export interface DecodedRequest {
  header: RequestHeader;
  request: Request;
}

function writeCreateBody(w: Writer, r: CreateRequest | CreateTTLRequest): void {
  w.ustring(r.path).buffer(r.data);
  writeACLs(w, r.acl);
  w.int(r.flags);
  if (r.type === 'createTTL') w.long(r.ttl);
}

/** Writes a request's body (what follows the RequestHeader). */
export function writeRequestBody(w: Writer, r: Request): void {
  switch (r.type) {
    case 'create':
    case 'create2':
    case 'createContainer':
    case 'createTTL':
      writeCreateBody(w, r);
      return;
    case 'delete':
    case 'check':
      w.ustring(r.path).int(r.version);
      return;
    case 'deleteContainer':
      w.raw(Buffer.from(r.path, 'utf8'));
      return;
    case 'exists':
    case 'getData':
    case 'getChildren':
    case 'getChildren2':
      w.ustring(r.path).bool(r.watch);
      return;
    case 'setData':
      w.ustring(r.path).buffer(r.data).int(r.version);
      return;
    case 'getACL':
    case 'getAllChildrenNumber':
    case 'sync':
      w.ustring(r.path);
      return;
    case 'setACL':
      w.ustring(r.path);
      writeACLs(w, r.acl);
      w.int(r.version);
      return;
    case 'getEphemerals':
      w.ustring(r.prefixPath);
      return;
    case 'multi':
    case 'multiRead':
      writeMultiItems(w, r.ops, multiOpHeader, writeRequestBody);
      return;
    case 'setWatches':
      w.long(r.relativeZxid)
        .stringVector(r.dataWatches)
        .stringVector(r.existWatches)
        .stringVector(r.childWatches);
      return;
    case 'setWatches2':
      w.long(r.relativeZxid)
        .stringVector(r.dataWatches)
        .stringVector(r.existWatches)
        .stringVector(r.childWatches)
        .stringVector(r.persistentWatches)
        .stringVector(r.persistentRecursiveWatches);
      return;
    case 'addWatch':
      w.ustring(r.path).int(r.mode);
      return;
    case 'checkWatches':
    case 'removeWatches':
      w.ustring(r.path).int(r.watcherType);
      return;
    case 'auth':
      w.int(r.authType).ustring(r.scheme).buffer(r.auth);
      return;
    case 'sasl':
      w.buffer(r.token);
      return;
    case 'reconfig':
      w.ustring(r.joiningServers).ustring(r.leavingServers).ustring(r.newMembers).long(r.curConfigId);
      return;
    case 'whoAmI':
    case 'closeSession':
    case 'ping':
      return;
    default:
      assertNever(r, 'request');
  }
}

function multiOpHeader(op: MultiOp | MultiReadOp): MultiHeader {
  return { type: OpCode[op.type], done: false, err: -1 };
}

const multiOps: ReadonlySet<MultiOp['type']> = new Set([
  'create',
  'create2',
  'createContainer',
  'createTTL',
  'delete',
  'setData',
  'check',
] as const);
const multiReadOps: ReadonlySet<MultiReadOp['type']> = new Set(['getData', 'getChildren'] as const);

/** Reads a request body of a known type. */
export function readRequestBody(r: Reader, type: RequestType): Request {
  switch (type) {
    case 'create':
    case 'create2':
    case 'createContainer': {
      const path = r.string();
      const data = r.buffer();
      const acl = readACLs(r);
      return { type, path, data, acl, flags: r.int() };
    }
    case 'createTTL': {
      const path = r.string();
      const data = r.buffer();
      const acl = readACLs(r);
      const flags = r.int();
      return { type, path, data, acl, flags, ttl: r.long() };
    }
    case 'delete':
    case 'check': {
      const path = r.string();
      return { type, path, version: r.int() };
    }
    case 'deleteContainer':
      return { type, path: r.rest().toString('utf8') };
    case 'exists':
    case 'getData':
    case 'getChildren':
    case 'getChildren2': {
      const path = r.string();
      return { type, path, watch: r.bool() };
    }
    case 'setData': {
      const path = r.string();
      const data = r.buffer();
      return { type, path, data, version: r.int() };
    }
    case 'getACL':
    case 'getAllChildrenNumber':
    case 'sync':
      return { type, path: r.string() };
    case 'setACL': {
      const path = r.string();
      const acl = readACLs(r);
      return { type, path, acl, version: r.int() };
    }
    case 'getEphemerals':
      return { type, prefixPath: r.string() };
    case 'multi':
      return { type, ops: readMultiItems(r, multiOps, 'multi operation', readRequestBody) as MultiOp[] };
    case 'multiRead':
      return {
        type,
        ops: readMultiItems(r, multiReadOps, 'multiRead operation', readRequestBody) as MultiReadOp[],
      };
    case 'setWatches': {
      const relativeZxid = r.long();
      const dataWatches = r.stringVector();
      const existWatches = r.stringVector();
      return { type, relativeZxid, dataWatches, existWatches, childWatches: r.stringVector() };
    }
    case 'setWatches2': {
      const relativeZxid = r.long();
      const dataWatches = r.stringVector();
      const existWatches = r.stringVector();
      const childWatches = r.stringVector();
      const persistentWatches = r.stringVector();
      return {
        type,
        relativeZxid,
        dataWatches,
        existWatches,
        childWatches,
        persistentWatches,
        persistentRecursiveWatches: r.stringVector(),
      };
    }
    case 'addWatch': {
      const path = r.string();
      return { type, path, mode: r.int() };
    }
    case 'checkWatches':
    case 'removeWatches': {
      const path = r.string();
      return { type, path, watcherType: r.int() };
    }
    case 'auth': {
      const authType = r.int();
      const scheme = r.string();
      return { type, authType, scheme, auth: r.bytes() };
    }
    case 'sasl':
      return { type, token: r.buffer() };
    case 'reconfig': {
      const joiningServers = r.ustring();
      const leavingServers = r.ustring();
      const newMembers = r.ustring();
      return { type, joiningServers, leavingServers, newMembers, curConfigId: r.long() };
    }
    case 'whoAmI':
    case 'closeSession':
    case 'ping':
      return { type };
    default:
      return assertNever(type, 'request type');
  }
}

const requestTypes = new Map<number, RequestType>();
for (const name of [
  'create',
  'create2',
  'createContainer',
  'createTTL',
  'delete',
  'deleteContainer',
  'exists',
  'getData',
  'setData',
  'getACL',
  'setACL',
  'getChildren',
  'getChildren2',
  'getAllChildrenNumber',
  'getEphemerals',
  'sync',
  'check',
  'multi',
  'multiRead',
  'setWatches',
  'setWatches2',
  'addWatch',
  'checkWatches',
  'removeWatches',
  'auth',
  'sasl',
  'reconfig',
  'whoAmI',
  'closeSession',
  'ping',
] as const satisfies readonly RequestType[]) {
  requestTypes.set(OpCode[name], name);
}

/** The request type of an opcode, or undefined when it is not a client request of ZooKeeper 3.8. */
export function requestTypeOf(opcode: number): RequestType | undefined {
  return requestTypes.get(opcode);
}

/**
 * Appends a whole request frame (length prefix, header, body) to a caller-owned Writer, e.g. to
 * batch several frames into one socket write.
 */
export function writeRequestFrame(w: Writer, xid: number, request: Request): void {
  writeFramed(w, (w) => writeRequest(w, xid, request));
}

function writeRequest(w: Writer, xid: number, request: Request): void {
  writeRequestHeader(w, { xid, type: OpCode[request.type] });
  writeRequestBody(w, request);
}

/** Encodes RequestHeader + body (no length prefix). */
export function encodeRequest(xid: number, request: Request): Buffer {
  return encode(false, (w) => writeRequest(w, xid, request));
}

/** Encodes a whole frame: length prefix, RequestHeader, body. */
export function encodeRequestFrame(xid: number, request: Request): Buffer {
  return encode(true, (w) => writeRequest(w, xid, request));
}

/** Reads only the RequestHeader of a frame (e.g. to answer an unknown opcode with its xid). */
export function decodeRequestHeader(frame: Uint8Array): RequestHeader {
  return readRequestHeader(new Reader(frame));
}

/**
 * Decodes a request frame (without its length prefix). Throws CodecError `unknown-opcode` for an
 * opcode that is not a 3.8 client request, and `truncated`/`bad-length` for malformed bodies.
 * Trailing bytes after a complete body are ignored, as ZooKeeper does.
 */
export function decodeRequest(frame: Uint8Array): DecodedRequest {
  const r = new Reader(frame);
  const header = readRequestHeader(r);
  const type = requestTypes.get(header.type);
  if (type === undefined) throw new CodecError('unknown-opcode', `unknown request opcode ${header.type}`);
  return { header, request: readRequestBody(r, type) };
}
