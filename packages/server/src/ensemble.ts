/**
 * What an ensemble member puts on the quorum: the records Zab replicates (a txn with the id of
 * the member whose client asked for it) and the messages a learner sends its leader (forwarded
 * requests and session touches). The member wiring itself lives in the server.
 */

import { CodecError, decodeQuorumFrame, encodeQuorumFrame, pooledBytes } from '@zkts/codec';
import type { Txn } from '@zkts/data-tree';
import { decodeTxn, encodeTxn } from '@zkts/data-tree';
import type { EnsembleConfig, ServerAddress } from '@zkts/election';
import type { ServerConfig } from './config.js';
import { ServerError } from './errors.js';

/** Whether a configuration describes an ensemble member rather than a standalone server. */
export function isEnsembleConfig(config: ServerConfig): boolean {
  return config.servers.length > 1 || (config.servers.length === 1 && !config.standaloneEnabled);
}

/** The election's and Zab's view of a server configuration. */
export function toEnsembleConfig(config: ServerConfig): EnsembleConfig {
  const servers = new Map<number, ServerAddress>();
  for (const s of config.servers) {
    servers.set(s.id, {
      sid: s.id,
      host: s.host,
      quorumPort: s.quorumPort,
      electionPort: s.electionPort,
      type: s.role,
    });
  }
  return {
    servers,
    tickTime: config.tickTime,
    initLimit: config.initLimit,
    syncLimit: config.syncLimit,
    dataDir: config.dataDir,
    raw: config.raw,
  };
}

/**
 * The client address of member `myId`: its `server.N` line's `;[address:]port` part when it has
 * one, else clientPortAddress/clientPort. Both given and different is an error, as in ZooKeeper.
 */
export function memberClientAddress(config: ServerConfig, myId: number): { address: string; port: number } {
  const spec = config.servers.find((s) => s.id === myId);
  if (spec === undefined) {
    throw new ServerError('config', `myid is ${myId} but there is no server.${myId} line`, { key: 'myid' });
  }
  const fileSetsPort = config.raw.has('clientPort');
  if (spec.clientPort === undefined) {
    return { address: config.clientPortAddress, port: config.clientPort };
  }
  if (fileSetsPort && config.clientPort !== spec.clientPort) {
    throw new ServerError(
      'config',
      `clientPort ${config.clientPort} differs from the client port ${spec.clientPort} of server.${myId}`,
      { key: 'clientPort' },
    );
  }
  return { address: spec.clientAddress ?? config.clientPortAddress, port: spec.clientPort };
}

// ------------------------------------------------------------------ replicated records

/** A replicated txn: [int32 origin member][int64 wall time][txn]. */
export interface QuorumRecord {
  /** The member whose client asked for it (0: the leader's own housekeeping). */
  readonly origin: number;
  readonly time: bigint;
  readonly txn: Txn;
}

export function encodeQuorumRecord(record: QuorumRecord): Uint8Array {
  const out = encodeTxn(record.txn, 12);
  const view = new DataView(out.buffer, out.byteOffset, 12);
  view.setInt32(0, record.origin);
  view.setBigInt64(4, record.time);
  return out;
}

/** Throws ServerError (`storage`) on a record that does not decode. */
export function decodeQuorumRecord(bytes: Uint8Array): QuorumRecord {
  if (bytes.length < 13)
    throw new ServerError('storage', `replicated record of ${bytes.length} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return { origin: view.getInt32(0), time: view.getBigInt64(4), txn: decodeTxn(bytes.subarray(12)) };
  } catch (e) {
    throw new ServerError('storage', `replicated record does not decode: ${(e as Error).message}`);
  }
}

// ------------------------------------------------------------------ learner -> leader

/** An authenticated identity, as the leader must see it to check ACLs. */
export interface AuthId {
  readonly scheme: string;
  readonly id: string;
}

/**
 * What a learner sends its leader: a client's write request (the request frame as the client
 * sent it), a new session, a sync, or the sessions its clients touched.
 */
export type LearnerMessage =
  | {
      readonly k: 'request';
      readonly sessionId: bigint;
      readonly cxid: number;
      readonly authIds: readonly AuthId[];
      readonly frame: Uint8Array;
    }
  | { readonly k: 'createSession'; readonly sessionId: bigint; readonly timeout: number }
  | { readonly k: 'sync' }
  | { readonly k: 'touch'; readonly sessions: readonly bigint[] };

/** Touches per message (a larger set is sent as several). */
export const MAX_TOUCHES_PER_MESSAGE = 10_000;

/**
 * First byte of a forwarded request in its compact form (one per forwarded write): the request
 * frame behind [int64 session][int32 cxid][uint16 ids]([uint16 length][utf-8 scheme]
 * [uint16 length][utf-8 id])*. The other messages are quorum frames (msgpack), whose first byte is
 * a length byte, 0 for every frame a member accepts.
 */
const COMPACT_REQUEST = 0x52;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

function encodeRequest(m: Extract<LearnerMessage, { k: 'request' }>, maxFrameSize: number): Uint8Array {
  const ids = m.authIds.map((a) => [utf8.encode(a.scheme), utf8.encode(a.id)] as const);
  let size = 15 + m.frame.length;
  for (const [scheme, id] of ids) size += 4 + scheme.length + id.length;
  if (size > maxFrameSize) {
    throw new CodecError(
      'frame-too-large',
      `forwarded request of ${size} bytes exceeds the maximum of ${maxFrameSize}`,
    );
  }
  if (ids.length > 0xffff || ids.some(([s, i]) => s.length > 0xffff || i.length > 0xffff)) {
    throw new CodecError('bad-value', 'too many or too long auth ids to forward');
  }
  const out = pooledBytes(size);
  const view = new DataView(out.buffer, out.byteOffset, size);
  out[0] = COMPACT_REQUEST;
  view.setBigInt64(1, m.sessionId);
  view.setInt32(9, m.cxid);
  view.setUint16(13, ids.length);
  let at = 15;
  for (const [scheme, id] of ids) {
    for (const part of [scheme, id]) {
      view.setUint16(at, part.length);
      out.set(part, at + 2);
      at += 2 + part.length;
    }
  }
  out.set(m.frame, at);
  return out;
}

function decodeRequest(bytes: Uint8Array, maxFrameSize: number): LearnerMessage {
  const bad = (why: string): never => {
    throw new CodecError('bad-value', `malformed forwarded request: ${why}`);
  };
  if (bytes.length > maxFrameSize) {
    throw new CodecError(
      'frame-too-large',
      `forwarded request of ${bytes.length} bytes exceeds the maximum of ${maxFrameSize}`,
    );
  }
  if (bytes.length < 15) bad('truncated header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sessionId = view.getBigInt64(1);
  const cxid = view.getInt32(9);
  const count = view.getUint16(13);
  let at = 15;
  const text = (): string => {
    if (at + 2 > bytes.length) bad('truncated auth id');
    const length = view.getUint16(at);
    if (at + 2 + length > bytes.length) bad('truncated auth id');
    let s = '';
    try {
      s = fromUtf8.decode(bytes.subarray(at + 2, at + 2 + length));
    } catch {
      bad('auth id is not UTF-8');
    }
    at += 2 + length;
    return s;
  };
  const authIds: AuthId[] = [];
  for (let i = 0; i < count; i++) {
    const scheme = text();
    authIds.push({ scheme, id: text() });
  }
  return { k: 'request', sessionId, cxid, authIds, frame: bytes.slice(at) };
}

export function encodeLearnerMessage(m: LearnerMessage, maxFrameSize: number): Uint8Array {
  switch (m.k) {
    case 'request':
      return encodeRequest(m, maxFrameSize);
    case 'createSession':
      return encodeQuorumFrame({ k: 'n', s: m.sessionId, t: m.timeout }, { maxFrameSize });
    case 'sync':
      return encodeQuorumFrame({ k: 'y' }, { maxFrameSize });
    case 'touch':
      return encodeQuorumFrame({ k: 't', s: m.sessions }, { maxFrameSize });
    default: {
      const never: never = m;
      throw new ServerError('protocol', `unknown learner message ${(never as LearnerMessage).k}`);
    }
  }
}

const int64 = (v: unknown): bigint | undefined =>
  typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;

/** Decodes what a learner sent; throws CodecError on anything malformed. */
export function decodeLearnerMessage(bytes: Uint8Array, maxFrameSize: number): LearnerMessage {
  if (bytes[0] === COMPACT_REQUEST) return decodeRequest(bytes, maxFrameSize);
  const v = decodeQuorumFrame(bytes, { maxFrameSize });
  const bad = (why: string): never => {
    throw new CodecError('bad-value', `malformed learner message: ${why}`);
  };
  if (v === null || typeof v !== 'object') return bad('not a record');
  const f = v as Record<string, unknown>;
  switch (f.k) {
    case 'n': {
      const sessionId = int64(f.s) ?? bad('session id');
      if (typeof f.t !== 'number' || !Number.isInteger(f.t) || f.t <= 0) return bad('timeout');
      return { k: 'createSession', sessionId, timeout: f.t };
    }
    case 'y':
      return { k: 'sync' };
    case 't': {
      if (!Array.isArray(f.s) || f.s.length > MAX_TOUCHES_PER_MESSAGE) return bad('touches');
      const sessions: bigint[] = [];
      for (const s of f.s) sessions.push(int64(s) ?? bad('touched session id'));
      return { k: 'touch', sessions };
    }
    default:
      return bad(`kind ${String(f.k)}`);
  }
}
