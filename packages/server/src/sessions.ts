/**
 * Sessions: ids, passwords and expiry by tick buckets, as ZooKeeper's SessionTrackerImpl and
 * ExpiryQueue keep them. Pure: every method takes the current time in milliseconds.
 *
 * A session's deadline is rounded up to the next multiple of tickTime, so expiry is checked once a
 * tick for a whole bucket of sessions instead of once per session.
 */

/** Bits of a 64-bit session id: the server id in the top byte, a time-seeded counter below. */
export function initialSessionId(serverId: number, nowMs: number): bigint {
  const mask64 = (1n << 64n) - 1n;
  // (time << 24) >>> 8: the time's low 40 bits move to bits 16..55.
  let id = ((BigInt(nowMs) << 24n) & mask64) >> 8n;
  id |= (BigInt(serverId) & 0xffn) << 56n;
  // 0x8000000000000000 is the ephemeralOwner that marks containers; never hand it out.
  if (id === 0x8000000000000000n) id += 1n;
  return id;
}

/** Converts an unsigned 64-bit id to the signed value ZooKeeper puts on the wire. */
export function toSigned64(id: bigint): bigint {
  return BigInt.asIntN(64, id);
}

const SUPER_SECRET = 0xb3415c00n;
const MASK48 = (1n << 48n) - 1n;
const MULTIPLIER = 0x5deece66dn;

/**
 * The 16-byte session password, derived from the session id exactly as Apache ZooKeeper derives it
 * (java.util.Random seeded with `id ^ 0xB3415C00`), so any member of an ensemble can check it.
 */
export function sessionPassword(sessionId: bigint): Buffer {
  let seed = (BigInt.asUintN(64, sessionId ^ SUPER_SECRET) ^ MULTIPLIER) & MASK48;
  const next32 = (): number => {
    seed = (seed * MULTIPLIER + 0xbn) & MASK48;
    return Number(BigInt.asIntN(32, seed >> 16n));
  };
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; ) {
    let rnd = next32();
    for (let n = Math.min(16 - i, 4); n-- > 0; rnd >>= 8) out[i++] = rnd & 0xff;
  }
  return out;
}

export function checkPassword(sessionId: bigint, password: Uint8Array): boolean {
  return sessionId !== 0n && Buffer.from(password).equals(sessionPassword(sessionId));
}

export interface SessionInfo {
  id: bigint;
  timeoutMs: number;
  /** Deadline bucket (ms) after which the session expires unless touched. */
  expiresAt: number;
  closing: boolean;
}

/** Sessions bucketed by expiry tick. */
export class SessionTracker {
  private readonly sessions = new Map<bigint, SessionInfo>();
  private readonly buckets = new Map<number, Set<bigint>>();
  private nextId: bigint;
  private nextExpiry: number;

  constructor(
    private readonly tickTime: number,
    serverId: number,
    nowMs: number,
  ) {
    this.nextId = initialSessionId(serverId, nowMs);
    this.nextExpiry = this.roundUp(nowMs);
  }

  private roundUp(t: number): number {
    return (Math.floor(t / this.tickTime) + 1) * this.tickTime;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A fresh session id (not yet tracked: call `add` once its createSession txn commits). */
  allocateId(): bigint {
    const id = this.nextId;
    this.nextId = BigInt.asUintN(64, this.nextId + 1n);
    return toSigned64(id);
  }

  get(id: bigint): SessionInfo | undefined {
    return this.sessions.get(id);
  }

  all(): IterableIterator<SessionInfo> {
    return this.sessions.values();
  }

  add(id: bigint, timeoutMs: number, nowMs: number): SessionInfo {
    let s = this.sessions.get(id);
    if (s === undefined) {
      s = { id, timeoutMs, expiresAt: 0, closing: false };
      this.sessions.set(id, s);
    }
    s.timeoutMs = timeoutMs;
    this.touch(id, nowMs);
    return s;
  }

  /** Moves a live session's deadline to now + timeout; false if the session is gone or closing. */
  touch(id: bigint, nowMs: number): boolean {
    const s = this.sessions.get(id);
    if (s === undefined || s.closing) return false;
    const at = this.roundUp(nowMs + s.timeoutMs);
    if (at === s.expiresAt) return true;
    this.buckets.get(s.expiresAt)?.delete(id);
    let bucket = this.buckets.get(at);
    if (bucket === undefined) {
      bucket = new Set();
      this.buckets.set(at, bucket);
    }
    bucket.add(id);
    s.expiresAt = at;
    return true;
  }

  /**
   * Replaces the tracked sessions with `sessions` (id -> timeout), each given a full timeout from
   * now: what a new leader does, since it cannot know when its learners' clients were last heard.
   * Allocated ids keep increasing.
   */
  rebuild(sessions: ReadonlyMap<bigint, number>, nowMs: number): void {
    this.sessions.clear();
    this.buckets.clear();
    this.nextExpiry = this.roundUp(nowMs);
    for (const [id, timeout] of sessions) this.add(id, timeout, nowMs);
  }

  /** Marks a session as closing: no more touches; its closeSession txn is on its way. */
  setClosing(id: bigint): void {
    const s = this.sessions.get(id);
    if (s !== undefined) s.closing = true;
  }

  remove(id: bigint): void {
    const s = this.sessions.get(id);
    if (s === undefined) return;
    this.buckets.get(s.expiresAt)?.delete(id);
    this.sessions.delete(id);
  }

  /** Milliseconds until the next bucket is due. */
  waitTime(nowMs: number): number {
    return Math.max(0, this.nextExpiry - nowMs);
  }

  /** Sessions whose bucket is due at `nowMs`; they are marked closing. */
  expire(nowMs: number): SessionInfo[] {
    const out: SessionInfo[] = [];
    while (this.nextExpiry <= nowMs) {
      const bucket = this.buckets.get(this.nextExpiry);
      this.buckets.delete(this.nextExpiry);
      this.nextExpiry += this.tickTime;
      if (bucket === undefined) continue;
      for (const id of bucket) {
        const s = this.sessions.get(id);
        if (s === undefined) continue;
        s.closing = true;
        out.push(s);
      }
    }
    return out;
  }
}
