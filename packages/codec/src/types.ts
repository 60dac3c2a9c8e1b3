/** Core records of zookeeper.jute shared by every package (org.apache.zookeeper.data). */

/** A znode's Stat, all eleven fields. zxids and times are 64-bit, hence bigint. */
export interface Stat {
  czxid: bigint;
  mzxid: bigint;
  ctime: bigint;
  mtime: bigint;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}

/** An authentication identity: scheme (world, auth, digest, ip, super, ...) and id. */
export interface Id {
  scheme: string;
  id: string;
}

/** One ACL entry: a bitmask of Perms granted to an Id. */
export interface ACL {
  perms: number;
  id: Id;
}

/** A client identity as reported by whoAmI (org.apache.zookeeper.data.ClientInfo). */
export interface ClientInfo {
  authScheme: string;
  user: string;
}

/** The header in front of every request after the connect request. */
export interface RequestHeader {
  xid: number;
  /** The opcode (see OpCode). */
  type: number;
}

/** The header in front of every reply after the connect response. */
export interface ReplyHeader {
  xid: number;
  zxid: bigint;
  /** An ErrorCode; 0 is OK. */
  err: number;
}

/**
 * The first frame a client sends. `readOnly` is the trailing "can be read-only" byte 3.x clients
 * append; undefined means the frame ended without it (an old client).
 */
export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: bigint;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array;
  readOnly?: boolean | undefined;
}

/**
 * The server's answer to a ConnectRequest. `readOnly` is the trailing byte sent to clients that sent
 * one themselves; undefined means it is absent.
 */
export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array;
  readOnly?: boolean | undefined;
}

/** A watch notification (the body of a reply with xid -1). */
export interface WatcherEvent {
  /** An EventType. */
  type: number;
  /** A KeeperState. */
  state: number;
  path: string;
}

/** The header in front of each operation and result of a multi, and its end marker (type -1, done). */
export interface MultiHeader {
  /** The op's opcode (-1 for an error result and for the end marker). */
  type: number;
  done: boolean;
  /** -1 in requests; the error code of an error result, 0 for other results. */
  err: number;
}
