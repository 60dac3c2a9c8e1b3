import type { ZabMessage } from '@zkts/zab';

/** Version of the quorum-port connection protocol (the hello frame and the envelopes below). */
export const QUORUM_CONNECTION_VERSION = 1;

/** A snapshot as it travels in SNAP: the host's chunks. */
export type SnapshotChunks = readonly Uint8Array[];

/** A Zab message with this package's payload types. */
export type PeerZabMessage = ZabMessage<Uint8Array, SnapshotChunks>;

/**
 * What travels on a learner's connection to the leader's quorum port, one per quorum frame. The
 * learner opens the connection and sends `hello` first. `req` / `rep` are this package's addition
 * to Zab's message set: a learner forwards a write to the leader, which answers with the zxid once
 * the txn is committed (or with the reason it was not proposed). `app` carries the host's own
 * learner-to-leader notices (the server's session touches), fire and forget.
 */
export type QuorumWireMessage =
  | { readonly t: 'hello'; readonly protocol: number; readonly sid: number }
  | { readonly t: 'zab'; readonly m: PeerZabMessage }
  | { readonly t: 'req'; readonly id: number; readonly data: Uint8Array }
  | { readonly t: 'app'; readonly data: Uint8Array }
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
