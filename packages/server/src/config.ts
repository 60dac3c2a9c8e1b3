/**
 * zoo.cfg as Apache ZooKeeper reads it: `key=value` lines (Java properties syntax: `#`/`!`
 * comments, `=` or `:` separators, trimmed keys and values), plus `myid` in dataDir.
 *
 * Keys ZooKeeper reads as Java system properties are accepted under their property name as well
 * (`zookeeper.snapCount`, `jute.maxbuffer`, `znode.container.checkIntervalMs`, ...) and, as
 * ZooKeeper does, under the name without the `zookeeper.` prefix. An unknown key is a warning; a
 * bad value is a ConfigError naming the key and the line.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServerError } from './errors.js';

export type PeerRole = 'participant' | 'observer';

/** One `server.N=host:quorumPort:electionPort[:role][;[clientAddr:]clientPort]` line. */
export interface QuorumServerSpec {
  id: number;
  host: string;
  quorumPort: number;
  electionPort: number;
  role: PeerRole;
  clientAddress?: string;
  clientPort?: number;
}

export interface AdminServerConfig {
  enabled: boolean;
  address: string;
  port: number;
  commandUrl: string;
  /** `admin.console.enabled`: the web console served by the AdminServer. */
  consoleEnabled: boolean;
}

export interface ServerConfig {
  tickTime: number;
  initLimit: number;
  syncLimit: number;
  dataDir: string;
  dataLogDir: string;
  clientPort: number;
  clientPortAddress: string;
  /** Per-IP connection limit; 0 = unlimited. */
  maxClientCnxns: number;
  /** Server-wide connection limit; 0 = unlimited. */
  maxCnxns: number;
  minSessionTimeout: number;
  maxSessionTimeout: number;
  snapCount: number;
  /** `forceSync` (`zookeeper.forceSync`): false = no fdatasync after txn log writes. */
  forceSync: boolean;
  snapRetainCount: number;
  /** Hours between purges; 0 = autopurge off. */
  purgeIntervalHours: number;
  juteMaxBuffer: number;
  /** Enabled four-letter words (`srvr` always is, as in ZooKeeper). */
  fourLetterWords: ReadonlySet<string>;
  extendedTypesEnabled: boolean;
  enforceQuota: boolean;
  containerCheckIntervalMs: number;
  containerMaxPerMinute: number;
  fsyncWarningThresholdMs: number;
  globalOutstandingLimit: number;
  /** `zookeeper.DigestAuthenticationProvider.superDigest`: `super:<base64 sha1>`. */
  superDigest?: string;
  /** Bytes queued towards one client before the connection is closed. */
  maxResponseBufferBytes: number;
  peerType: PeerRole;
  standaloneEnabled: boolean;
  syncEnabled: boolean;
  servers: QuorumServerSpec[];
  admin: AdminServerConfig;
  metricsHttpPort?: number;
  /** `metricsProvider.httpHost`: where Prometheus listens (ZooKeeper's default 0.0.0.0). */
  metricsHttpHost?: string;
  /** Every key as written, for `conf` and `envi`. */
  raw: ReadonlyMap<string, string>;
}

export interface ConfigWarning {
  key: string;
  line: number;
  message: string;
}

export interface ParsedConfig {
  config: ServerConfig;
  warnings: ConfigWarning[];
}

/** The four-letter words zkts implements (the `*` whitelist). */
export const ALL_FOUR_LETTER_WORDS = [
  'ruok',
  'srvr',
  'stat',
  'mntr',
  'conf',
  'cons',
  'crst',
  'srst',
  'envi',
  'dump',
  'wchs',
  'wchc',
  'wchp',
  'isro',
  'dirs',
] as const;

const DEFAULT_TICK_TIME = 3000;

interface Line {
  key: string;
  value: string;
  line: number;
}

/** Splits Java-properties text into key/value lines (no continuation lines in zoo.cfg practice). */
function splitProperties(text: string): Line[] {
  const out: Line[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').trim();
    if (raw === '' || raw.startsWith('#') || raw.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(raw);
    if (m === null) {
      out.push({ key: raw, value: '', line: i + 1 });
      continue;
    }
    out.push({ key: m[1] ?? '', value: (m[2] ?? '').trim(), line: i + 1 });
  }
  return out;
}

function fail(where: string, l: Line, message: string): never {
  throw new ServerError('config', `${where}:${l.line}: ${l.key}: ${message}`, { key: l.key, line: l.line });
}

function int(where: string, l: Line, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(l.value)) fail(where, l, `expected an integer, got "${l.value}"`);
  const n = Number(l.value);
  if (n < min || n > max) fail(where, l, `${n} is out of range [${min}, ${max}]`);
  return n;
}

function bool(where: string, l: Line): boolean {
  const v = l.value.toLowerCase();
  if (v === 'true' || v === 'yes') return true;
  if (v === 'false' || v === 'no') return false;
  return fail(where, l, `expected true or false, got "${l.value}"`);
}

function port(where: string, l: Line, text: string): number {
  if (!/^\d+$/.test(text)) fail(where, l, `bad port "${text}"`);
  const n = Number(text);
  if (n < 1 || n > 65535) fail(where, l, `port ${n} is out of range [1, 65535]`);
  return n;
}

/** Parses the value of a `server.N` line. */
export function parseServerLine(where: string, l: Line): QuorumServerSpec {
  const idText = l.key.slice('server.'.length);
  if (!/^\d+$/.test(idText)) fail(where, l, `server id "${idText}" is not a number`);
  const id = Number(idText);
  const [addrPart = '', clientPart] = l.value.split(';', 2);
  const parts = addrPart.split(':');
  if (parts.length < 3 || parts.length > 4) {
    fail(where, l, `expected host:quorumPort:electionPort[:participant|:observer], got "${l.value}"`);
  }
  const [host = '', qp = '', ep = '', roleText] = parts;
  if (host === '') fail(where, l, 'empty host');
  let role: PeerRole = 'participant';
  if (roleText !== undefined) {
    const r = roleText.toLowerCase();
    if (r === 'observer') role = 'observer';
    else if (r !== 'participant') fail(where, l, `unknown peer type "${roleText}"`);
  }
  const spec: QuorumServerSpec = {
    id,
    host,
    quorumPort: port(where, l, qp),
    electionPort: port(where, l, ep),
    role,
  };
  if (clientPart !== undefined && clientPart.trim() !== '') {
    const c = clientPart.trim();
    const idx = c.lastIndexOf(':');
    if (idx >= 0) {
      spec.clientAddress = c.slice(0, idx);
      spec.clientPort = port(where, l, c.slice(idx + 1));
    } else {
      spec.clientPort = port(where, l, c);
    }
  }
  return spec;
}

type Setter = (where: string, l: Line, c: MutableConfig) => void;
type MutableConfig = Omit<ServerConfig, 'fourLetterWords' | 'raw'> & { fourLetterWordsText?: string };

/** Keys and their setters. Aliases (system-property names) map to the same setter. */
const SETTERS: Record<string, Setter> = {
  tickTime: (w, l, c) => {
    c.tickTime = int(w, l, 1);
  },
  initLimit: (w, l, c) => {
    c.initLimit = int(w, l, 1);
  },
  syncLimit: (w, l, c) => {
    c.syncLimit = int(w, l, 1);
  },
  dataDir: (w, l, c) => {
    if (l.value === '') fail(w, l, 'empty path');
    c.dataDir = l.value;
  },
  dataLogDir: (w, l, c) => {
    if (l.value === '') fail(w, l, 'empty path');
    c.dataLogDir = l.value;
  },
  clientPort: (w, l, c) => {
    c.clientPort = port(w, l, l.value);
  },
  clientPortAddress: (w, l, c) => {
    if (l.value === '') fail(w, l, 'empty address');
    c.clientPortAddress = l.value;
  },
  maxClientCnxns: (w, l, c) => {
    c.maxClientCnxns = int(w, l, 0);
  },
  maxCnxns: (w, l, c) => {
    c.maxCnxns = int(w, l, 0);
  },
  minSessionTimeout: (w, l, c) => {
    c.minSessionTimeout = int(w, l, -1);
  },
  maxSessionTimeout: (w, l, c) => {
    c.maxSessionTimeout = int(w, l, -1);
  },
  snapCount: (w, l, c) => {
    c.snapCount = int(w, l, 2);
  },
  forceSync: (w, l, c) => {
    c.forceSync = bool(w, l);
  },
  'autopurge.snapRetainCount': (w, l, c) => {
    c.snapRetainCount = int(w, l, 0);
  },
  'autopurge.purgeInterval': (w, l, c) => {
    c.purgeIntervalHours = int(w, l, 0);
  },
  'jute.maxbuffer': (w, l, c) => {
    c.juteMaxBuffer = int(w, l, 1024, 2 ** 31 - 1);
  },
  '4lw.commands.whitelist': (_w, l, c) => {
    c.fourLetterWordsText = l.value;
  },
  extendedTypesEnabled: (w, l, c) => {
    c.extendedTypesEnabled = bool(w, l);
  },
  enforceQuota: (w, l, c) => {
    c.enforceQuota = bool(w, l);
  },
  'znode.container.checkIntervalMs': (w, l, c) => {
    c.containerCheckIntervalMs = int(w, l, 1);
  },
  'znode.container.maxPerMinute': (w, l, c) => {
    c.containerMaxPerMinute = int(w, l, 1);
  },
  'fsync.warningthresholdms': (w, l, c) => {
    c.fsyncWarningThresholdMs = int(w, l, 0);
  },
  globalOutstandingLimit: (w, l, c) => {
    c.globalOutstandingLimit = int(w, l, 1);
  },
  'DigestAuthenticationProvider.superDigest': (w, l, c) => {
    if (!/^[^:]+:[A-Za-z0-9+/=]+$/.test(l.value)) fail(w, l, 'expected user:base64digest');
    c.superDigest = l.value;
  },
  maxResponseBufferBytes: (w, l, c) => {
    c.maxResponseBufferBytes = int(w, l, 64 * 1024);
  },
  peerType: (w, l, c) => {
    const v = l.value.toLowerCase();
    if (v !== 'observer' && v !== 'participant') fail(w, l, `unrecognised peer type "${l.value}"`);
    c.peerType = v;
  },
  standaloneEnabled: (w, l, c) => {
    c.standaloneEnabled = bool(w, l);
  },
  syncEnabled: (w, l, c) => {
    c.syncEnabled = bool(w, l);
  },
  electionAlg: (w, l) => {
    if (int(w, l, 0) !== 3) fail(w, l, 'only electionAlg=3 (FastLeaderElection) exists');
  },
  'admin.enableServer': (w, l, c) => {
    c.admin.enabled = bool(w, l);
  },
  'admin.serverAddress': (_w, l, c) => {
    c.admin.address = l.value;
  },
  'admin.serverPort': (w, l, c) => {
    c.admin.port = port(w, l, l.value);
  },
  'admin.commandURL': (w, l, c) => {
    if (!l.value.startsWith('/')) fail(w, l, 'must start with /');
    c.admin.commandUrl = l.value;
  },
  'admin.console.enabled': (w, l, c) => {
    c.admin.consoleEnabled = bool(w, l);
  },
  'metricsProvider.httpPort': (w, l, c) => {
    c.metricsHttpPort = port(w, l, l.value);
  },
  'metricsProvider.httpHost': (w, l, c) => {
    if (l.value === '') fail(w, l, 'empty address');
    c.metricsHttpHost = l.value;
  },
};

/** Keys ZooKeeper knows that zkts accepts without acting on them (no warning). */
const ACCEPTED_WITHOUT_EFFECT = new Set([
  'localSessionsEnabled',
  'localSessionsUpgradingEnabled',
  'quorumListenOnAllIPs',
  'reconfigEnabled',
  'dynamicConfigFile',
  'connectToLearnerMasterLimit',
  'clientPortListenBacklog',
  'metricsProvider.className',
  'metricsProvider.exportJvmInfo',
  'admin.idleTimeout',
  'admin.httpVersion',
  'skipACL',
  'preAllocSize',
  'commitLogCount',
  'snapSizeLimitInKb',
  'txnLogSizeLimitInKb',
  'leaderServes',
  'cnxTimeout',
  'electionPortBindRetry',
  'multiAddress.enabled',
  'sslQuorum',
  'portUnification',
  'serverCnxnFactory',
  'audit.enable',
  'maxBatchSize',
  'digest.enabled',
]);

function canonicalKey(key: string): string {
  if (SETTERS[key] !== undefined || ACCEPTED_WITHOUT_EFFECT.has(key)) return key;
  if (key.startsWith('zookeeper.')) {
    const bare = key.slice('zookeeper.'.length);
    if (SETTERS[bare] !== undefined || ACCEPTED_WITHOUT_EFFECT.has(bare)) return bare;
  }
  return key;
}

function defaults(): MutableConfig {
  return {
    tickTime: DEFAULT_TICK_TIME,
    initLimit: 10,
    syncLimit: 5,
    dataDir: '',
    dataLogDir: '',
    clientPort: 2181,
    clientPortAddress: '0.0.0.0',
    maxClientCnxns: 60,
    maxCnxns: 0,
    minSessionTimeout: -1,
    maxSessionTimeout: -1,
    snapCount: 100_000,
    forceSync: true,
    snapRetainCount: 3,
    purgeIntervalHours: 0,
    juteMaxBuffer: 0xfffff,
    extendedTypesEnabled: false,
    enforceQuota: false,
    containerCheckIntervalMs: 60_000,
    containerMaxPerMinute: 10_000,
    fsyncWarningThresholdMs: 1000,
    globalOutstandingLimit: 1000,
    maxResponseBufferBytes: 8 * 1024 * 1024,
    peerType: 'participant',
    standaloneEnabled: true,
    syncEnabled: true,
    servers: [],
    admin: { enabled: true, address: '0.0.0.0', port: 8080, commandUrl: '/commands', consoleEnabled: true },
  };
}

function fourLetterWords(text: string | undefined): Set<string> {
  const words = new Set<string>();
  if (text !== undefined) {
    for (const w of text.split(',').map((s) => s.trim())) {
      if (w === '*') {
        for (const all of ALL_FOUR_LETTER_WORDS) words.add(all);
        break;
      }
      if (w !== '') words.add(w);
    }
  }
  words.add('srvr');
  return words;
}

/**
 * Parses zoo.cfg text. `where` names the file in errors. `overrides` (e.g. from the environment)
 * are applied after the file, as extra lines.
 */
export function parseConfig(text: string, where = 'zoo.cfg'): ParsedConfig {
  const c = defaults();
  const warnings: ConfigWarning[] = [];
  const raw = new Map<string, string>();
  const seenServers = new Set<number>();
  let sawDataDir = false;
  for (const l of splitProperties(text)) {
    raw.set(l.key, l.value);
    if (l.key.startsWith('server.')) {
      const spec = parseServerLine(where, l);
      if (seenServers.has(spec.id)) fail(where, l, `server ${spec.id} is listed twice`);
      seenServers.add(spec.id);
      c.servers.push(spec);
      continue;
    }
    if (l.key.startsWith('group.') || l.key.startsWith('weight.')) {
      warnings.push({ key: l.key, line: l.line, message: 'hierarchical quorums are not supported; ignored' });
      continue;
    }
    const key = canonicalKey(l.key);
    const setter = SETTERS[key];
    if (setter !== undefined) {
      if (key === 'dataDir') sawDataDir = true;
      setter(where, { ...l, key: l.key }, c);
    } else if (!ACCEPTED_WITHOUT_EFFECT.has(key)) {
      warnings.push({ key: l.key, line: l.line, message: 'unknown key; ignored' });
    }
  }
  if (!sawDataDir) {
    throw new ServerError('config', `${where}: dataDir is not set`, { key: 'dataDir' });
  }
  if (c.dataLogDir === '') c.dataLogDir = c.dataDir;
  if (c.minSessionTimeout === -1) c.minSessionTimeout = c.tickTime * 2;
  if (c.maxSessionTimeout === -1) c.maxSessionTimeout = c.tickTime * 20;
  if (c.minSessionTimeout > c.maxSessionTimeout) {
    throw new ServerError(
      'config',
      `${where}: minSessionTimeout (${c.minSessionTimeout}) must not be larger than maxSessionTimeout (${c.maxSessionTimeout})`,
      { key: 'minSessionTimeout' },
    );
  }
  if (c.snapRetainCount < 3) c.snapRetainCount = 3;
  c.servers.sort((a, b) => a.id - b.id);
  const { fourLetterWordsText, ...rest } = c;
  return { config: { ...rest, fourLetterWords: fourLetterWords(fourLetterWordsText), raw }, warnings };
}

/** Reads `myid` from dataDir: a positive integer on its own. */
export function readMyId(dataDir: string): number {
  const path = join(dataDir, 'myid');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ServerError('config', `cannot read ${path}: ${(e as Error).message}`, { key: 'myid' });
  }
  const t = text.trim();
  if (!/^\d+$/.test(t) || Number(t) < 1) {
    throw new ServerError('config', `${path}: expected a positive server id, got "${t}"`, { key: 'myid' });
  }
  return Number(t);
}

/** Clamps a client's requested session timeout into [min, max], as ZooKeeper does. */
export function negotiateSessionTimeout(config: ServerConfig, requested: number): number {
  return Math.min(Math.max(requested, config.minSessionTimeout), config.maxSessionTimeout);
}
