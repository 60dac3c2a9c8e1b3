/**
 * Server replies of ZooKeeper 3.8. A reply does not say which request it answers: the client keeps
 * xid -> request type and passes the type to `decodeResponse`.
 */
import { ErrorCode, OpCode } from './constants.js';
import { encode, writeFramed } from './encode.js';
import { Reader, type Writer } from './jute.js';
import { readMultiItems, writeMultiItems } from './multi.js';
import {
  assertNever,
  readACLs,
  readClientInfo,
  readReplyHeader,
  readStat,
  readWatcherEvent,
  writeACLs,
  writeClientInfo,
  writeReplyHeader,
  writeStat,
  writeWatcherEvent,
} from './records.js';
import type { RequestType } from './requests.js';
import type { ACL, ClientInfo, MultiHeader, ReplyHeader, Stat, WatcherEvent } from './types.js';

/** create (CreateResponse): the created path (with a sequence suffix if sequential). */
export interface CreateResponse {
  type: 'create';
  path: string;
}

/** create2, createContainer and createTTL (Create2Response). */
export interface Create2Response {
  type: 'create2' | 'createContainer' | 'createTTL';
  path: string;
  stat: Stat;
}

/** Replies without a body. */
export interface EmptyResponse {
  type:
    | 'delete'
    | 'deleteContainer'
    | 'setWatches'
    | 'setWatches2'
    | 'checkWatches'
    | 'removeWatches'
    | 'closeSession'
    | 'ping'
    | 'auth';
}

/** exists (ExistsResponse), setData, setACL and check (SetDataResponse / SetACLResponse). */
export interface StatResponse {
  type: 'exists' | 'setData' | 'setACL' | 'check';
  stat: Stat;
}

/** getData and reconfig (GetDataResponse). */
export interface GetDataResponse {
  type: 'getData' | 'reconfig';
  data: Uint8Array | null;
  stat: Stat;
}

export interface GetACLResponse {
  type: 'getACL';
  acl: ACL[];
  stat: Stat;
}

export interface GetChildrenResponse {
  type: 'getChildren';
  children: string[];
}

export interface GetChildren2Response {
  type: 'getChildren2';
  children: string[];
  stat: Stat;
}

export interface GetAllChildrenNumberResponse {
  type: 'getAllChildrenNumber';
  totalNumber: number;
}

export interface GetEphemeralsResponse {
  type: 'getEphemerals';
  ephemerals: string[];
}

export interface SyncResponse {
  type: 'sync';
  path: string;
}

/** addWatch: ZooKeeper 3.8 answers with an ErrorResponse body (err 0). */
export interface AddWatchResponse {
  type: 'addWatch';
  err: number;
}

/** sasl (SetSASLResponse). */
export interface SaslResponse {
  type: 'sasl';
  token: Uint8Array | null;
}

export interface WhoAmIResponse {
  type: 'whoAmI';
  clientInfo: ClientInfo[];
}

/** A watch notification: the body of a reply with xid -1. */
export interface NotificationResponse {
  type: 'notification';
  event: WatcherEvent;
}

/** One result of a multi. `create2` results also answer createTTL and createContainer ops. */
export type MultiResult =
  | { type: 'create'; path: string }
  | { type: 'create2'; path: string; stat: Stat }
  | { type: 'delete' }
  | { type: 'check' }
  | { type: 'setData'; stat: Stat }
  | { type: 'error'; err: number };

/** One result of a multiRead. */
export type MultiReadResult =
  | { type: 'getData'; data: Uint8Array | null; stat: Stat }
  | { type: 'getChildren'; children: string[] }
  | { type: 'error'; err: number };

export interface MultiResponse {
  type: 'multi';
  results: MultiResult[];
}

export interface MultiReadResponse {
  type: 'multiRead';
  results: MultiReadResult[];
}

/** Every reply body a 3.8 server sends after the connect response. */
export type Response =
  | CreateResponse
  | Create2Response
  | EmptyResponse
  | StatResponse
  | GetDataResponse
  | GetACLResponse
  | GetChildrenResponse
  | GetChildren2Response
  | GetAllChildrenNumberResponse
  | GetEphemeralsResponse
  | SyncResponse
  | AddWatchResponse
  | SaslResponse
  | WhoAmIResponse
  | NotificationResponse
  | MultiResponse
  | MultiReadResponse;

/** What a reply answers: a request type, or 'notification' for xid -1. */
export type ResponseType = RequestType | 'notification';
/** The reply variant answering a request of type T (narrowed to that type). */
export type ResponseOf<T extends ResponseType> = Response extends infer R
  ? R extends { type: infer K }
    ? T extends K
      ? R & { type: T }
      : never
    : never
  : never;

/**
 * A decoded reply. `response` is null when `header.err` is not OK: like ZooKeeper's client, the body
 * of an error reply is not read.
 */
export interface DecodedResponse<T extends ResponseType = ResponseType> {
  header: ReplyHeader;
  response: ResponseOf<T> | null;
}

type MultiAnyResult = MultiResult | MultiReadResult;

const multiResults: ReadonlySet<MultiResult['type']> = new Set([
  'create',
  'create2',
  'delete',
  'check',
  'setData',
  'error',
] as const);
const multiReadResults: ReadonlySet<MultiReadResult['type']> = new Set([
  'getData',
  'getChildren',
  'error',
] as const);

function multiResultHeader(res: MultiAnyResult): MultiHeader {
  // An error result carries its code in the header and again in its ErrorResponse body.
  return { type: OpCode[res.type], done: false, err: res.type === 'error' ? res.err : 0 };
}

// A multi result's body is the reply body of the same operation (ZooKeeper writes the same jute
// records), except that a check result has none and an error result is an ErrorResponse.

function writeMultiResult(w: Writer, res: MultiAnyResult): void {
  if (res.type === 'error') w.int(res.err);
  else if (res.type !== 'check') writeResponseBody(w, res);
}

function readMultiResult(r: Reader, type: MultiAnyResult['type']): MultiAnyResult {
  if (type === 'error') return { type, err: r.int() };
  if (type === 'check') return { type };
  return readResponseBody(r, type) as MultiAnyResult;
}

/** Writes a reply body (what follows the ReplyHeader). */
export function writeResponseBody(w: Writer, res: Response): void {
  switch (res.type) {
    case 'create':
    case 'sync':
      w.ustring(res.path);
      return;
    case 'create2':
    case 'createContainer':
    case 'createTTL':
      w.ustring(res.path);
      writeStat(w, res.stat);
      return;
    case 'delete':
    case 'deleteContainer':
    case 'setWatches':
    case 'setWatches2':
    case 'checkWatches':
    case 'removeWatches':
    case 'closeSession':
    case 'ping':
    case 'auth':
      return;
    case 'exists':
    case 'setData':
    case 'setACL':
    case 'check':
      writeStat(w, res.stat);
      return;
    case 'getData':
    case 'reconfig':
      w.buffer(res.data);
      writeStat(w, res.stat);
      return;
    case 'getACL':
      writeACLs(w, res.acl);
      writeStat(w, res.stat);
      return;
    case 'getChildren':
      w.stringVector(res.children);
      return;
    case 'getChildren2':
      w.stringVector(res.children);
      writeStat(w, res.stat);
      return;
    case 'getAllChildrenNumber':
      w.int(res.totalNumber);
      return;
    case 'getEphemerals':
      w.stringVector(res.ephemerals);
      return;
    case 'addWatch':
      w.int(res.err);
      return;
    case 'sasl':
      w.buffer(res.token);
      return;
    case 'whoAmI':
      w.vector(res.clientInfo, writeClientInfo);
      return;
    case 'notification':
      writeWatcherEvent(w, res.event);
      return;
    case 'multi':
    case 'multiRead':
      writeMultiItems(w, res.results, multiResultHeader, writeMultiResult);
      return;
    default:
      assertNever(res, 'response');
  }
}

/** Reads a reply body of a known type. */
export function readResponseBody(r: Reader, type: ResponseType): Response {
  switch (type) {
    case 'create':
    case 'sync':
      return { type, path: r.string() };
    case 'create2':
    case 'createContainer':
    case 'createTTL': {
      const path = r.string();
      return { type, path, stat: readStat(r) };
    }
    case 'delete':
    case 'deleteContainer':
    case 'setWatches':
    case 'setWatches2':
    case 'checkWatches':
    case 'removeWatches':
    case 'closeSession':
    case 'ping':
    case 'auth':
      return { type };
    case 'exists':
    case 'setData':
    case 'setACL':
    case 'check':
      return { type, stat: readStat(r) };
    case 'getData':
    case 'reconfig': {
      const data = r.buffer();
      return { type, data, stat: readStat(r) };
    }
    case 'getACL': {
      const acl = readACLs(r);
      return { type, acl, stat: readStat(r) };
    }
    case 'getChildren':
      return { type, children: r.stringVector() };
    case 'getChildren2': {
      const children = r.stringVector();
      return { type, children, stat: readStat(r) };
    }
    case 'getAllChildrenNumber':
      return { type, totalNumber: r.int() };
    case 'getEphemerals':
      return { type, ephemerals: r.stringVector() };
    case 'addWatch':
      return { type, err: r.int() };
    case 'sasl':
      return { type, token: r.buffer() };
    case 'whoAmI':
      return { type, clientInfo: r.vector(8, readClientInfo) };
    case 'notification':
      return { type, event: readWatcherEvent(r) };
    case 'multi':
      return {
        type,
        results: readMultiItems(r, multiResults, 'multi result', readMultiResult) as MultiResult[],
      };
    case 'multiRead':
      return {
        type,
        results: readMultiItems(
          r,
          multiReadResults,
          'multiRead result',
          readMultiResult,
        ) as MultiReadResult[],
      };
    default:
      return assertNever(type, 'response type');
  }
}

/**
 * Appends a whole reply frame (length prefix, header, body) to a caller-owned Writer, e.g. to batch
 * several replies into one socket write.
 */
export function writeResponseFrame(w: Writer, header: ReplyHeader, response: Response | null): void {
  writeFramed(w, (w) => writeResponse(w, header, response));
}

function writeResponse(w: Writer, header: ReplyHeader, response: Response | null): void {
  writeReplyHeader(w, header);
  if (response !== null) writeResponseBody(w, response);
}

/** Encodes ReplyHeader + body (no length prefix); a null response sends the header alone. */
export function encodeResponse(header: ReplyHeader, response: Response | null): Buffer {
  return encode(false, (w) => writeResponse(w, header, response));
}

/** Encodes a whole reply frame: length prefix, ReplyHeader, body. */
export function encodeResponseFrame(header: ReplyHeader, response: Response | null): Buffer {
  return encode(true, (w) => writeResponse(w, header, response));
}

/** Reads only the ReplyHeader of a frame (a client uses its xid to find the request type). */
export function decodeReplyHeader(frame: Uint8Array): ReplyHeader {
  return readReplyHeader(new Reader(frame));
}

/**
 * Decodes a reply frame (without its length prefix) as the answer to a request of type `type`
 * ('notification' for xid -1). When `header.err` is not OK the body is not read and `response` is
 * null. Trailing bytes after a complete body are ignored.
 */
export function decodeResponse<T extends ResponseType>(frame: Uint8Array, type: T): DecodedResponse<T> {
  const r = new Reader(frame);
  const header = readReplyHeader(r);
  if (header.err !== ErrorCode.OK) return { header, response: null };
  return { header, response: readResponseBody(r, type) as ResponseOf<T> };
}
