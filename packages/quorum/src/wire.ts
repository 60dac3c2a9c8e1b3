import { CodecError, pooledBytes, QUORUM_FRAME_HEADER } from '@zkts/codec';
import type { ZabMessage } from '@zkts/zab';

/** Version of the quorum-port connection protocol (the hello frame and the envelopes below). */
export const QUORUM_CONNECTION_VERSION = 3;

/** A snapshot as it travels in SNAP: the host's chunks. */
export type SnapshotChunks = readonly Uint8Array[];

/** A Zab message with this package's payload types. */
export type PeerZabMessage = ZabMessage<Uint8Array, SnapshotChunks>;

/**
 * What travels on a learner's connection to the leader's quorum port, one per quorum frame. The
 * learner opens the connection and sends `hello` first. `req` / `rep` are this package's addition
 * to Zab's message set: a learner forwards a write to the leader, which answers with the zxid once
 * the txn is committed (or with the reason it was not proposed). `app` carries the host's own
 * learner-to-leader notices (the server's session touches), fire and forget. `snap` carries Zab's
 * SNAP in parts (a snapshot may be larger than a frame): the learner hands the SNAP to Zab once the
 * part marked `last` is in; nothing else travels on the connection between the parts.
 */
export type QuorumWireMessage =
  | { readonly t: 'hello'; readonly protocol: number; readonly sid: number }
  | { readonly t: 'zab'; readonly m: PeerZabMessage }
  | { readonly t: 'req'; readonly id: number; readonly data: Uint8Array }
  | { readonly t: 'app'; readonly data: Uint8Array }
  | {
      readonly t: 'snap';
      readonly zxid: bigint;
      readonly chunks: readonly Uint8Array[];
      readonly last: boolean;
    }
  | {
      readonly t: 'rep';
      readonly id: number;
      readonly zxid?: bigint;
      readonly error?: 'not-ready' | 'overloaded' | 'outcome-unknown';
      readonly message?: string;
    };

const big = (v: unknown): bigint | undefined =>
  typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;

const bytes = (v: unknown): Uint8Array | undefined => (v instanceof Uint8Array ? v : undefined);

/** Validates a decoded frame; undefined means the peer broke the protocol. */
export function toWire(frame: unknown): QuorumWireMessage | undefined {
  if (frame === null || typeof frame !== 'object') return undefined;
  const f = frame as Record<string, unknown>;
  switch (f.t) {
    case 'hello':
      return typeof f.protocol === 'number' && typeof f.sid === 'number' && Number.isSafeInteger(f.sid)
        ? { t: 'hello', protocol: f.protocol, sid: f.sid }
        : undefined;
    case 'zab': {
      const m = toZab(f.m);
      return m === undefined ? undefined : { t: 'zab', m };
    }
    case 'req': {
      const data = bytes(f.data);
      return typeof f.id === 'number' && data !== undefined ? { t: 'req', id: f.id, data } : undefined;
    }
    case 'app': {
      const data = bytes(f.data);
      return data === undefined ? undefined : { t: 'app', data };
    }
    case 'snap': {
      const zxid = big(f.zxid);
      if (zxid === undefined || typeof f.last !== 'boolean' || !Array.isArray(f.chunks)) return undefined;
      const chunks: Uint8Array[] = [];
      for (const c of f.chunks) {
        if (!(c instanceof Uint8Array)) return undefined;
        chunks.push(c);
      }
      return { t: 'snap', zxid, chunks, last: f.last };
    }
    case 'rep': {
      if (typeof f.id !== 'number') return undefined;
      const zxid = big(f.zxid);
      if (zxid !== undefined) return { t: 'rep', id: f.id, zxid };
      const error = f.error;
      if (error === 'not-ready' || error === 'overloaded' || error === 'outcome-unknown') {
        return { t: 'rep', id: f.id, error, message: typeof f.message === 'string' ? f.message : '' };
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function toZab(v: unknown): PeerZabMessage | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const m = v as Record<string, unknown>;
  const zxid = big(m.zxid);
  switch (m.type) {
    case 'FOLLOWERINFO':
    case 'OBSERVERINFO': {
      const acceptedEpoch = big(m.acceptedEpoch);
      const lastZxid = big(m.lastZxid);
      return acceptedEpoch === undefined || lastZxid === undefined
        ? undefined
        : { type: m.type, acceptedEpoch, lastZxid };
    }
    case 'LEADERINFO': {
      const epoch = big(m.epoch);
      return epoch === undefined ? undefined : { type: 'LEADERINFO', epoch };
    }
    case 'ACKEPOCH': {
      const epoch = big(m.epoch);
      const currentEpoch = big(m.currentEpoch);
      const lastZxid = big(m.lastZxid);
      if (epoch === undefined || currentEpoch === undefined || lastZxid === undefined) return undefined;
      if (typeof m.fresh !== 'boolean') return undefined;
      return { type: 'ACKEPOCH', epoch, fresh: m.fresh, currentEpoch, lastZxid };
    }
    case 'SNAP': {
      if (zxid === undefined || !Array.isArray(m.snapshot)) return undefined;
      const chunks: Uint8Array[] = [];
      for (const c of m.snapshot) {
        if (!(c instanceof Uint8Array)) return undefined;
        chunks.push(c);
      }
      return { type: 'SNAP', zxid, snapshot: chunks };
    }
    case 'PROPOSAL':
    case 'INFORM': {
      const data = bytes(m.data);
      return zxid === undefined || data === undefined ? undefined : { type: m.type, zxid, data };
    }
    case 'DIFF':
    case 'TRUNC':
    case 'COMMIT':
    case 'NEWLEADER':
    case 'ACK':
    case 'UPTODATE':
    case 'PING':
      return zxid === undefined ? undefined : { type: m.type, zxid };
    default:
      return undefined;
  }
}

/**
 * A SNAP as `snap` messages of at most about `partBytes` of chunks each (a chunk larger than that is
 * cut in pieces: the state machine reads the chunks as one stream of bytes).
 */
export function* snapParts(
  zxid: bigint,
  chunks: readonly Uint8Array[],
  partBytes: number,
): Generator<Extract<QuorumWireMessage, { t: 'snap' }>> {
  let part: Uint8Array[] = [];
  let bytes = 0;
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length || (at === 0 && chunk.length === 0); at += partBytes) {
      const piece = chunk.subarray(at, at + partBytes);
      if (bytes > 0 && bytes + piece.length > partBytes) {
        yield { t: 'snap', zxid, chunks: part, last: false };
        part = [];
        bytes = 0;
      }
      part.push(piece);
      bytes += piece.length;
      if (chunk.length === 0) break;
    }
  }
  yield { t: 'snap', zxid, chunks: part, last: true };
}

// ------------------------------------------------------------------ compact encoding

/**
 * The first byte of a compact frame: the messages sent once per write (PROPOSAL, ACK, COMMIT, a
 * forwarded request and its answer, a notice) skip msgpack: a kind byte, then fixed fields.
 */
export const COMPACT_FRAME = 0x81;

enum Compact {
  Proposal = 1,
  Ack = 2,
  Commit = 3,
  Request = 4,
  Reply = 5,
  Notice = 6,
}

/** A compact body for the hot messages; undefined for the others (they travel as msgpack). */
export function encodeCompact(msg: QuorumWireMessage): Uint8Array | undefined {
  return encodeCompactFrame(msg)?.subarray(QUORUM_FRAME_HEADER);
}

/**
 * The whole frame (length prefix included) of a hot message, written in one allocation;
 * undefined for the other messages (they travel as msgpack).
 */
export function encodeCompactFrame(msg: QuorumWireMessage): Uint8Array | undefined {
  switch (msg.t) {
    case 'zab': {
      const m = msg.m;
      if (m.type === 'PROPOSAL')
        return frame(Compact.Proposal, 8, m.data, (b) => b.writeBigInt64BE(m.zxid, 6));
      if (m.type === 'ACK') return frame(Compact.Ack, 8, undefined, (b) => b.writeBigInt64BE(m.zxid, 6));
      if (m.type === 'COMMIT')
        return frame(Compact.Commit, 8, undefined, (b) => b.writeBigInt64BE(m.zxid, 6));
      return undefined;
    }
    case 'req': {
      const id = msg.id;
      if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) return undefined;
      return frame(Compact.Request, 4, msg.data, (b) => b.writeUInt32BE(id, 6));
    }
    case 'rep': {
      const { id, zxid } = msg;
      if (zxid === undefined || !Number.isInteger(id) || id < 0 || id > 0xffffffff) return undefined;
      return frame(Compact.Reply, 12, undefined, (b) => {
        b.writeUInt32BE(id, 6);
        b.writeBigInt64BE(zxid, 10);
      });
    }
    case 'app':
      return frame(Compact.Notice, 0, msg.data, () => {});
    case 'hello':
    case 'snap':
      return undefined;
    default: {
      const never: never = msg;
      return never;
    }
  }
}

/** [uint32 length][COMPACT_FRAME][kind][fixed fields][payload] */
function frame(
  kind: Compact,
  fixed: number,
  payload: Uint8Array | undefined,
  fill: (b: Buffer) => void,
): Buffer {
  const length = 2 + fixed + (payload?.length ?? 0);
  const b = Buffer.allocUnsafe(QUORUM_FRAME_HEADER + length);
  b.writeUInt32BE(length, 0);
  b[4] = COMPACT_FRAME;
  b[5] = kind;
  fill(b);
  if (payload !== undefined) b.set(payload, 6 + fixed);
  return b;
}

/** A copy in Node's buffer pool (cheaper than a fresh ArrayBuffer). */
function pooledCopy(bytes: Uint8Array): Uint8Array {
  const out = pooledBytes(bytes.length);
  out.set(bytes);
  return out;
}

/**
 * Reads a compact body (a QuorumFrameDecoder's `decodeOther`) into the message it stands for;
 * throws CodecError on anything else. Payloads are copied: a logged txn must not pin the chunk
 * it arrived in.
 */
export function decodeCompact(body: Uint8Array): QuorumWireMessage {
  const bad = (why: string): never => {
    throw new CodecError('bad-value', `malformed compact quorum frame: ${why}`);
  };
  if (body[0] !== COMPACT_FRAME) bad(`first byte 0x${(body[0] ?? 0).toString(16)}`);
  if (body.length < 2) bad('no kind');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const kind = body[1] as Compact;
  const zxidAt2 = () => (body.length >= 10 ? view.getBigInt64(2) : bad('truncated zxid'));
  switch (kind) {
    case Compact.Proposal:
      return { t: 'zab', m: { type: 'PROPOSAL', zxid: zxidAt2(), data: pooledCopy(body.subarray(10)) } };
    case Compact.Ack:
    case Compact.Commit:
      if (body.length !== 10) bad('ACK/COMMIT of the wrong length');
      return { t: 'zab', m: { type: kind === Compact.Ack ? 'ACK' : 'COMMIT', zxid: zxidAt2() } };
    case Compact.Request:
      if (body.length < 6) bad('truncated request');
      return { t: 'req', id: view.getUint32(2), data: pooledCopy(body.subarray(6)) };
    case Compact.Reply:
      if (body.length !== 14) bad('reply of the wrong length');
      return { t: 'rep', id: view.getUint32(2), zxid: view.getBigInt64(6) };
    case Compact.Notice:
      return { t: 'app', data: pooledCopy(body.subarray(2)) };
    default:
      return bad(`kind ${body[1]}`);
  }
}
