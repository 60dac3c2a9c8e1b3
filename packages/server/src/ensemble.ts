/**
 * What an ensemble member puts on the quorum: the records Zab replicates (a txn with the id of
 * the member whose client asked for it) and the messages a learner sends its leader (forwarded
 * requests and session touches). The member wiring itself lives in the server.
 */

import { CodecError, decodeQuorumFrame, encodeQuorumFrame } from '@zkts/codec';
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
  const body = encodeTxn(record.txn);
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setInt32(0, record.origin);
  view.setBigInt64(4, record.time);
  out.set(body, 12);
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

export function encodeLearnerMessage(m: LearnerMessage, maxFrameSize: number): Uint8Array {
  switch (m.k) {
    case 'request':
      return encodeQuorumFrame(
        { k: 'r', s: m.sessionId, c: m.cxid, a: m.authIds.flatMap((a) => [a.scheme, a.id]), f: m.frame },
        { maxFrameSize },
      );
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
  const v = decodeQuorumFrame(bytes, { maxFrameSize });
  const bad = (why: string): never => {
    throw new CodecError('bad-value', `malformed learner message: ${why}`);
  };
  if (v === null || typeof v !== 'object') return bad('not a record');
  const f = v as Record<string, unknown>;
  switch (f.k) {
    case 'r': {
      const sessionId = int64(f.s) ?? bad('session id');
      if (typeof f.c !== 'number' || !Number.isInteger(f.c)) return bad('cxid');
      if (!(f.f instanceof Uint8Array)) return bad('frame');
      if (!Array.isArray(f.a) || f.a.length % 2 !== 0 || !f.a.every((x) => typeof x === 'string')) {
        return bad('auth ids');
      }
      const authIds: AuthId[] = [];
      for (let i = 0; i < f.a.length; i += 2)
        authIds.push({ scheme: f.a[i] as string, id: f.a[i + 1] as string });
      return { k: 'request', sessionId, cxid: f.c, authIds, frame: f.f };
    }
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
