/**
 * Four-letter words, answered in the text shapes Apache ZooKeeper 3.8 prints (operators' scripts
 * parse them). Pure formatting over a `FourLetterSource` that the server provides.
 */

import { ALL_FOUR_LETTER_WORDS } from './config.js';

export const ZKTS_VERSION = '3.8.0-zkts, built on 2026-11-26 00:00 UTC';
export const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';

/** A standalone server, or an ensemble member's role (`looking` while it has no leader). */
export type ServerMode = 'standalone' | 'leader' | 'follower' | 'observer' | 'looking';

export interface ConnectionInfo {
  /** `/127.0.0.1:51234` as Java prints an InetSocketAddress. */
  remote: string;
  /** 1 = reading, 0 = not (as ZooKeeper's interest ops). */
  interest: number;
  queued: number;
  received: number;
  sent: number;
  sessionId: bigint;
  lastOperation: string;
  establishedMs: number;
  sessionTimeoutMs: number;
  lastCxid: number;
  lastZxid: bigint;
  lastResponseMs: number;
  lastLatencyMs: number;
  minLatencyMs: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
}

export interface FourLetterSource {
  serving: boolean;
  mode: ServerMode;
  readOnly: boolean;
  latency: { min: number; avg: number; max: number };
  packetsReceived: number;
  packetsSent: number;
  outstandingRequests: number;
  lastZxid: bigint;
  nodeCount: number;
  /** A leader's proposal sizes in bytes (-1 until the first), printed by srvr and stat. */
  proposalSizes?: { last: number; min: number; max: number };
  connections(): ConnectionInfo[];
  /** `mntr` key/values without the `zk_` prefix, in print order. */
  monitor(): Array<[string, string | number | bigint]>;
  /** `conf` key/values. */
  configuration(): Array<[string, string | number]>;
  /** An ensemble member's `server.N=...` lines, printed by `conf` after a `membership: ` line. */
  membership?: () => string[];
  environment(): Array<[string, string]>;
  /** sessionId -> watched paths */
  watchesBySession(): Map<bigint, string[]>;
  /** sessions with ephemerals: sessionId -> paths */
  ephemeralsBySession(): Map<bigint, string[]>;
  /** sessions grouped by expiry bucket for `dump`. */
  sessionBuckets(): Array<{ expiresAtMs: number; sessions: Array<{ id: bigint; timeoutMs: number }> }>;
  dataDirSize: number;
  dataLogDirSize: number;
  resetConnectionStats(): void;
  resetServerStats(): void;
}

const CNXN_BUCKET_MS = 10_000;

const hex = (v: bigint): string => BigInt.asUintN(64, v).toString(16);

function javaDouble(n: number): string {
  return Number.isInteger(n) ? `${n}.0` : String(n);
}

/** Java's Date.toString() in UTC: `Thu Nov 26 09:44:31 UTC 2026`. */
export function javaDate(ms: number): string {
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (x: number) => String(x).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(
    d.getUTCMinutes(),
  )}:${p(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

function connectionLine(c: ConnectionInfo, brief: boolean): string {
  let s = ` ${c.remote}[${c.interest === 0 ? '0' : c.interest.toString(16)}](queued=${c.queued},recved=${c.received},sent=${c.sent}`;
  if (!brief && c.sessionId !== 0n) {
    s += `,sid=0x${hex(c.sessionId)},lop=${c.lastOperation},est=${c.establishedMs},to=${c.sessionTimeoutMs}`;
    if (c.lastCxid >= 0) s += `,lcxid=0x${c.lastCxid.toString(16)}`;
    s += `,lzxid=0x${hex(c.lastZxid)},lresp=${c.lastResponseMs},llat=${c.lastLatencyMs},minlat=${c.minLatencyMs},avglat=${c.avgLatencyMs},maxlat=${c.maxLatencyMs}`;
  }
  return `${s})`;
}

function statsBlock(src: FourLetterSource): string {
  return (
    `Latency min/avg/max: ${src.latency.min}/${javaDouble(src.latency.avg)}/${src.latency.max}\n` +
    `Received: ${src.packetsReceived}\n` +
    `Sent: ${src.packetsSent}\n` +
    `Connections: ${src.connections().length}\n` +
    `Outstanding: ${src.outstandingRequests}\n` +
    `Zxid: 0x${hex(src.lastZxid)}\n` +
    `Mode: ${src.mode}\n`
  );
}

/** The leader's line after the node count, as ZooKeeper prints it. */
function proposalLine(src: FourLetterSource): string {
  const p = src.proposalSizes;
  if (src.mode !== 'leader' || p === undefined) return '';
  return `Proposal sizes last/min/max: ${p.last}/${p.min}/${p.max}\n`;
}

export function isFourLetterWord(word: string): boolean {
  return /^[a-z]{4}$/.test(word);
}

/**
 * The answer to a four-letter word, or undefined for a word ZooKeeper does not know (the connection
 * is then treated as a client connection, as ZooKeeper does).
 */
export function answerFourLetterWord(
  word: string,
  enabled: ReadonlySet<string>,
  src: FourLetterSource,
): string | undefined {
  const known = KNOWN.has(word);
  if (!known) return undefined;
  if (!enabled.has(word)) return `${word} is not executed because it is not in the whitelist.`;
  const needsServing =
    word !== 'ruok' && word !== 'conf' && word !== 'envi' && word !== 'isro' && word !== 'crst';
  if (needsServing && !src.serving) return `${NOT_SERVING}\n`;
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'srvr':
      return `Zookeeper version: ${ZKTS_VERSION}\n${statsBlock(src)}Node count: ${src.nodeCount}\n${proposalLine(src)}`;
    case 'stat': {
      let s = `Zookeeper version: ${ZKTS_VERSION}\n`;
      if (src.readOnly) s += 'READ-ONLY mode; serving only read-only clients\n';
      s += 'Clients:\n';
      for (const c of src.connections()) s += `${connectionLine(c, true)}\n`;
      s += '\n';
      return `${s}${statsBlock(src)}Node count: ${src.nodeCount}\n${proposalLine(src)}`;
    }
    case 'mntr':
      return src
        .monitor()
        .map(([k, v]) => `zk_${k}\t${v}\n`)
        .join('');
    case 'conf': {
      const conf = src
        .configuration()
        .map(([k, v]) => `${k}=${v}\n`)
        .join('');
      const members = src.membership?.();
      // As ZooKeeper: the quorum verifier's lines end with its version, without a newline.
      return members === undefined
        ? conf
        : `${conf}membership: \n${members.map((l) => `${l}\n`).join('')}version=0`;
    }
    case 'cons':
      return `${src
        .connections()
        .map((c) => `${connectionLine(c, false)}\n`)
        .join('')}\n`;
    case 'crst':
      src.resetConnectionStats();
      return 'Connection stats reset.\n';
    case 'srst':
      src.resetServerStats();
      return 'Server stats reset.\n';
    case 'envi':
      return `Environment:\n${src
        .environment()
        .map(([k, v]) => `${k}=${v}\n`)
        .join('')}`;
    case 'dump': {
      const buckets = src.sessionBuckets();
      const total = buckets.reduce((n, b) => n + b.sessions.length, 0);
      let s = `SessionTracker dump:\nSession Sets (${buckets.length})/(${total}):\n`;
      for (const b of buckets) {
        s += `${b.sessions.length} expire at ${javaDate(b.expiresAtMs)}:\n`;
        for (const x of b.sessions) s += `\t0x${hex(x.id)}\n`;
      }
      const eph = src.ephemeralsBySession();
      s += `ephemeral nodes dump:\nSessions with Ephemerals (${eph.size}):\n`;
      for (const [id, paths] of eph) {
        s += `0x${hex(id)}:\n`;
        for (const p of [...paths].sort()) s += `\t${p}\n`;
      }
      const conns = src.connections();
      // ZooKeeper's connection expiry queue: buckets of 10 s (the sessionless connection timeout),
      // each connection due at its last activity plus its session timeout.
      const byBucket = new Map<number, ConnectionInfo[]>();
      for (const c of conns) {
        const last = Math.max(c.establishedMs, c.lastResponseMs);
        const at =
          (Math.floor((last + (c.sessionTimeoutMs || CNXN_BUCKET_MS)) / CNXN_BUCKET_MS) + 1) * CNXN_BUCKET_MS;
        byBucket.set(at, [...(byBucket.get(at) ?? []), c]);
      }
      s += `Connections dump:\nConnections Sets (${byBucket.size})/(${conns.length}):\n`;
      for (const at of [...byBucket.keys()].sort((a, b) => a - b)) {
        const list = byBucket.get(at) ?? [];
        s += `${list.length} expire at ${javaDate(at)}:\n`;
        for (const c of list) s += `\tip: ${c.remote} sessionId: 0x${hex(c.sessionId)}\n`;
      }
      return s;
    }
    case 'wchs': {
      const bySession = src.watchesBySession();
      const paths = new Set<string>();
      let total = 0;
      for (const ps of bySession.values()) {
        total += ps.length;
        for (const p of ps) paths.add(p);
      }
      return `${bySession.size} connections watching ${paths.size} paths\nTotal watches:${total}\n`;
    }
    case 'wchc': {
      let s = '';
      for (const [id, ps] of src.watchesBySession()) {
        s += `0x${hex(id)}\n`;
        for (const p of ps) s += `\t${p}\n`;
      }
      return `${s}\n`;
    }
    case 'wchp': {
      const byPath = new Map<string, bigint[]>();
      for (const [id, ps] of src.watchesBySession()) {
        for (const p of ps) {
          const list = byPath.get(p) ?? [];
          list.push(id);
          byPath.set(p, list);
        }
      }
      let s = '';
      for (const [p, ids] of byPath) {
        s += `${p}\n`;
        for (const id of ids) s += `\t0x${hex(id)}\n`;
      }
      return `${s}\n`;
    }
    case 'isro':
      return src.readOnly ? 'ro' : 'rw';
    case 'dirs':
      return `datadir_size: ${src.dataDirSize}\nlogdir_size: ${src.dataLogDirSize}\n`;
    default:
      return undefined;
  }
}

const KNOWN = new Set<string>([
  ...ALL_FOUR_LETTER_WORDS,
  // Known to ZooKeeper, answered with the whitelist message when not enabled.
  'gtmk',
  'stmk',
  'hash',
]);
