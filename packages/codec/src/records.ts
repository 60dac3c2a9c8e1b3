/** Encoders and decoders of the shared jute records: Stat, Id, ACL, headers, connect, WatcherEvent. */
import { CodecError } from './errors.js';
import type { Reader, Writer } from './jute.js';
import type {
  ACL,
  ClientInfo,
  ConnectRequest,
  ConnectResponse,
  Id,
  MultiHeader,
  ReplyHeader,
  RequestHeader,
  Stat,
  WatcherEvent,
} from './types.js';

/** Encoded size of a Stat. */
export const STAT_SIZE = 68;

/** For exhaustive switches: a compile error when a case is missing, a CodecError at run time. */
export function assertNever(value: never, what = 'value'): never {
  throw new CodecError('bad-value', `unexpected ${what}: ${JSON.stringify(value)}`);
}

export function writeStat(w: Writer, s: Stat): void {
  w.long(s.czxid)
    .long(s.mzxid)
    .long(s.ctime)
    .long(s.mtime)
    .int(s.version)
    .int(s.cversion)
    .int(s.aversion)
    .long(s.ephemeralOwner)
    .int(s.dataLength)
    .int(s.numChildren)
    .long(s.pzxid);
}

export function readStat(r: Reader): Stat {
  if (r.remaining < STAT_SIZE)
    throw new CodecError('truncated', `Stat: need ${STAT_SIZE} bytes, ${r.remaining} left`);
  return {
    czxid: r.long(),
    mzxid: r.long(),
    ctime: r.long(),
    mtime: r.long(),
    version: r.int(),
    cversion: r.int(),
    aversion: r.int(),
    ephemeralOwner: r.long(),
    dataLength: r.int(),
    numChildren: r.int(),
    pzxid: r.long(),
  };
}

export function writeId(w: Writer, id: Id): void {
  w.ustring(id.scheme).ustring(id.id);
}

export function readId(r: Reader): Id {
  return { scheme: r.string(), id: r.string() };
}

export function writeACL(w: Writer, acl: ACL): void {
  w.int(acl.perms);
  writeId(w, acl.id);
}

export function readACL(r: Reader): ACL {
  const perms = r.int();
  return { perms, id: readId(r) };
}

/** Minimum encoded size of one ACL (perms + two empty strings). */
export const ACL_MIN_SIZE = 12;

export function writeACLs(w: Writer, acl: readonly ACL[]): void {
  w.vector(acl, writeACL);
}

export function readACLs(r: Reader): ACL[] {
  return r.vector(ACL_MIN_SIZE, readACL);
}

export function writeClientInfo(w: Writer, c: ClientInfo): void {
  w.ustring(c.authScheme).ustring(c.user);
}

export function readClientInfo(r: Reader): ClientInfo {
  return { authScheme: r.string(), user: r.string() };
}

export function writeRequestHeader(w: Writer, h: RequestHeader): void {
  w.int(h.xid).int(h.type);
}

export function readRequestHeader(r: Reader): RequestHeader {
  const xid = r.int();
  return { xid, type: r.int() };
}

export function writeReplyHeader(w: Writer, h: ReplyHeader): void {
  w.int(h.xid).long(h.zxid).int(h.err);
}

export function readReplyHeader(r: Reader): ReplyHeader {
  const xid = r.int();
  const zxid = r.long();
  return { xid, zxid, err: r.int() };
}

export function writeWatcherEvent(w: Writer, e: WatcherEvent): void {
  w.int(e.type).int(e.state).ustring(e.path);
}

export function readWatcherEvent(r: Reader): WatcherEvent {
  const type = r.int();
  const state = r.int();
  return { type, state, path: r.string() };
}

export function writeConnectRequest(w: Writer, c: ConnectRequest): void {
  w.int(c.protocolVersion).long(c.lastZxidSeen).int(c.timeOut).long(c.sessionId).buffer(c.passwd);
  if (c.readOnly !== undefined) w.bool(c.readOnly);
}

export function readConnectRequest(r: Reader): ConnectRequest {
  const protocolVersion = r.int();
  const lastZxidSeen = r.long();
  const timeOut = r.int();
  const sessionId = r.long();
  const passwd = r.bytes();
  const req: ConnectRequest = { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd };
  // Like ZooKeeper's server: the readOnly byte is optional (old clients do not send it).
  if (r.remaining > 0) req.readOnly = r.bool();
  return req;
}

export function writeConnectResponse(w: Writer, c: ConnectResponse): void {
  w.int(c.protocolVersion).int(c.timeOut).long(c.sessionId).buffer(c.passwd);
  if (c.readOnly !== undefined) w.bool(c.readOnly);
}

export function readConnectResponse(r: Reader): ConnectResponse {
  const protocolVersion = r.int();
  const timeOut = r.int();
  const sessionId = r.long();
  const passwd = r.bytes();
  const res: ConnectResponse = { protocolVersion, timeOut, sessionId, passwd };
  if (r.remaining > 0) res.readOnly = r.bool();
  return res;
}

export function writeMultiHeader(w: Writer, h: MultiHeader): void {
  w.int(h.type).bool(h.done).int(h.err);
}

export function readMultiHeader(r: Reader): MultiHeader {
  const type = r.int();
  const done = r.bool();
  return { type, done, err: r.int() };
}

/** The end marker of a multi's operations and of its results. */
export const MULTI_END: Readonly<MultiHeader> = Object.freeze({ type: -1, done: true, err: -1 });
