/** A server's role, as ZooKeeper names it (and as the wire carries it: 0..3). */
export type ServerState = 'LOOKING' | 'FOLLOWING' | 'LEADING' | 'OBSERVING';

export const SERVER_STATES: readonly ServerState[] = ['LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING'];

/** What a decided server became. */
export type DecidedState = Exclude<ServerState, 'LOOKING'>;

/** The smallest 64-bit signed value: what a server that cannot lead (an observer) proposes. */
export const NO_ZXID = -(2n ** 63n);
/** The leader id an observer proposes before it has heard anything. */
export const NO_LEADER = -1;

/** The credentials a server is ranked by: which epoch it last accepted, its last zxid, its id. */
export interface Credentials {
  readonly leader: number;
  readonly zxid: bigint;
  readonly peerEpoch: bigint;
}

/** A vote: a proposed leader with its credentials, cast in an election round (logical clock). */
export interface Vote extends Credentials {
  readonly electionEpoch: bigint;
}

/**
 * A notification as it travels between servers: the sender's current vote, its round and its
 * state. The sender's id is not inside: the connection's handshake tells it.
 */
export interface Notification extends Vote {
  /** Message format version. */
  readonly version: number;
  readonly state: ServerState;
}

/** The version of the notification format this package sends. */
export const NOTIFICATION_VERSION = 1;

/**
 * The total order on votes: true when `a` ranks above `b` — a higher peer epoch wins, then a
 * higher zxid, then a higher server id. (Whether `a.leader` may lead at all is the caller's check.)
 */
export function ranksAbove(a: Credentials, b: Credentials): boolean {
  if (a.peerEpoch !== b.peerEpoch) return a.peerEpoch > b.peerEpoch;
  if (a.zxid !== b.zxid) return a.zxid > b.zxid;
  return a.leader > b.leader;
}

/** Compares two votes as `Array.prototype.sort` wants: negative when `a` ranks below `b`. */
export function compareCredentials(a: Credentials, b: Credentials): number {
  if (ranksAbove(a, b)) return 1;
  if (ranksAbove(b, a)) return -1;
  return 0;
}

/** Renders a 64-bit value as ZooKeeper logs it: `0x` and lower-case hex (two's complement if negative). */
export function hex(v: bigint): string {
  return `0x${BigInt.asUintN(64, v).toString(16)}`;
}

/** The epoch part (high 32 bits) of a zxid. */
export function epochOf(zxid: bigint): bigint {
  return zxid >> 32n;
}

/** Builds a zxid from an epoch and a counter. */
export function makeZxid(epoch: bigint, counter: bigint): bigint {
  return (epoch << 32n) | (counter & 0xffffffffn);
}
