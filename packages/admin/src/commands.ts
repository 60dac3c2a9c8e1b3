/**
 * The AdminServer's commands as Apache ZooKeeper 3.8 answers them: the same names and aliases,
 * the same JSON field names, `command` set to the primary name and `error` null or a message.
 */

import { readdirSync, statSync } from 'node:fs';
import { homedir, hostname, release, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { ConnectionInfo, ZkServer } from '@zkts/server';
import { JavaDouble, type JsonValue } from './json.js';
import type { Metrics } from './metrics.js';

/** What a command answers: its fields, then `command` and `error` (added by `runCommand`). */
export type CommandFields = Record<string, JsonValue>;

export interface CommandContext {
  server: ZkServer;
  metrics: Metrics;
  /** The trace mask `gtmk`/`stmk` read and set (ZooKeeper's default is 306). */
  traceMask: bigint;
}

export interface CommandSpec {
  /** Primary name first, then aliases. */
  names: readonly string[];
  /** Whether the server must be serving (ZooKeeper's "server required"). */
  serverRequired: boolean;
  run(ctx: CommandContext, params: URLSearchParams): CommandFields | Promise<CommandFields>;
}

export const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';
export const DEFAULT_TRACE_MASK = 306n;

const BUFFER_STATS = (): CommandFields => ({
  last_buffer_size: -1,
  min_buffer_size: -1,
  max_buffer_size: -1,
});

function remote(address: string): string {
  return address.startsWith('/') ? address.slice(1) : address;
}

function connectionInfo(c: ConnectionInfo, brief: boolean): CommandFields {
  const info: CommandFields = {
    remote_socket_address: remote(c.remote),
    interest_ops: c.interest,
    outstanding_requests: c.queued,
    packets_received: c.received,
    packets_sent: c.sent,
  };
  if (!brief && c.sessionId !== 0n) {
    Object.assign(info, {
      session_id: BigInt.asIntN(64, c.sessionId),
      last_operation: c.lastOperation,
      established: c.establishedMs,
      session_timeout: c.sessionTimeoutMs,
      last_cxid: c.lastCxid,
      last_zxid: c.lastZxid,
      last_response_time: c.lastResponseMs,
      last_latency: c.lastLatencyMs,
      min_latency: c.minLatencyMs,
      avg_latency: c.avgLatencyMs,
      max_latency: c.maxLatencyMs,
    });
  }
  return info;
}

/** Bytes of a directory tree; 0 when unreadable. */
export function directorySize(dir: string): number {
  let total = 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) total += directorySize(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  } catch {
    return total;
  }
  return total;
}

/** ZooKeeper keeps its files in `<dir>/version-2`; the zkts store may use the directory itself. */
function versionDir(dir: string): string {
  const v2 = join(dir, 'version-2');
  try {
    if (statSync(v2).isDirectory()) return v2;
  } catch {
    // not there
  }
  return dir;
}

/** The newest `snapshot.<hex zxid>` in the data directory, or undefined. */
export function lastSnapshot(dataDir: string): { zxid: bigint; timestampSec: number } | undefined {
  let best: { zxid: bigint; timestampSec: number } | undefined;
  for (const dir of new Set([dataDir, join(dataDir, 'version-2')])) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      const m = /^snapshot\.([0-9a-f]+)$/.exec(n);
      if (m === null) continue;
      const zxid = BigInt(`0x${m[1]}`);
      if (best === undefined || zxid > best.zxid) {
        best = { zxid, timestampSec: Math.floor(statSync(join(dir, n)).mtimeMs / 1000) };
      }
    }
  }
  return best;
}

const mb = (bytes: number) => `${Math.round(bytes / (1024 * 1024))}MB`;

function serverStats(ctx: CommandContext): CommandFields {
  const { server } = ctx;
  const src = server.fourLetterSource();
  const uptime = Number(server.monitorValues().find(([k]) => k === 'uptime')?.[1] ?? 0);
  return {
    version: zkVersion(ctx),
    read_only: src.readOnly,
    server_stats: {
      packets_sent: src.packetsSent,
      packets_received: src.packetsReceived,
      fsync_threshold_exceed_count: 0,
      client_response_stats: BUFFER_STATS(),
      data_dir_size: src.dataDirSize,
      log_dir_size: src.dataLogDirSize,
      provider_null: false,
      server_state: src.mode,
      last_processed_zxid: src.lastZxid,
      outstanding_requests: src.outstandingRequests,
      avg_latency: new JavaDouble(src.latency.avg),
      max_latency: src.latency.max,
      min_latency: src.latency.min,
      num_alive_client_connections: src.connections().length,
      uptime,
      auth_failed_count: server.counters.authFailedCount,
      non_mtlsremote_conn_count: 0,
      non_mtlslocal_conn_count: 0,
    },
    client_response: BUFFER_STATS(),
    node_count: src.nodeCount,
  };
}

function zkVersion(ctx: CommandContext): string {
  const v = ctx.server.monitorValues().find(([k]) => k === 'version');
  return String(v?.[1] ?? '');
}

function javaLikeEnvironment(ctx: CommandContext): CommandFields {
  const mem = process.memoryUsage();
  let user = '';
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? '';
  }
  // ZooKeeper's keys, with what the Node runtime has in their place.
  return {
    'zookeeper.version': zkVersion(ctx),
    'host.name': hostname(),
    'java.version': process.versions.node,
    'java.vendor': 'Node.js',
    'java.home': process.execPath,
    'java.class.path': process.argv[1] ?? '',
    'java.library.path': process.env.NODE_PATH ?? '',
    'java.io.tmpdir': tmpdir(),
    'java.compiler': '<NA>',
    'os.name': process.platform === 'linux' ? 'Linux' : process.platform,
    'os.arch': process.arch === 'x64' ? 'amd64' : process.arch,
    'os.version': release(),
    'user.name': user,
    'user.home': homedir(),
    'user.dir': process.cwd(),
    'os.memory.free': mb(mem.heapTotal - mem.heapUsed),
    'os.memory.max': mb(mem.rss + (mem.heapTotal - mem.heapUsed)),
    'os.memory.total': mb(mem.heapTotal),
  };
}

function systemProperties(ctx: CommandContext): CommandFields {
  const out: Record<string, string> = {
    'file.encoding': 'UTF-8',
    'file.separator': '/',
    'line.separator': '\n',
    'path.separator': ':',
    'node.version': process.version,
    'os.arch': process.arch,
    'os.name': process.platform,
    'os.version': release(),
    'user.dir': process.cwd(),
    'user.home': homedir(),
  };
  // What ZooKeeper would have as -Dzookeeper.* properties: the configuration's keys.
  for (const [k, v] of ctx.server.config.raw) {
    if (k === 'dataDir' || k === 'dataLogDir' || k === 'clientPort' || k.startsWith('server.')) continue;
    out[
      k.startsWith('zookeeper.') || k.startsWith('jute.') || k.startsWith('znode.') ? k : `zookeeper.${k}`
    ] = v;
  }
  const sorted: CommandFields = {};
  for (const k of Object.keys(out).sort()) sorted[k] = out[k] ?? '';
  return sorted;
}

const watchesBySession = (ctx: CommandContext) => ctx.server.fourLetterSource().watchesBySession();

/** Every command, primary name first (ZooKeeper 3.8's list). */
export const COMMANDS: readonly CommandSpec[] = [
  {
    names: ['configuration', 'conf', 'config'],
    serverRequired: true,
    run: ({ server }) => {
      const c = server.config;
      return {
        client_port: c.clientPort,
        data_dir: versionDir(c.dataDir),
        data_log_dir: versionDir(c.dataLogDir),
        tick_time: c.tickTime,
        max_client_cnxns: c.maxClientCnxns,
        min_session_timeout: c.minSessionTimeout,
        max_session_timeout: c.maxSessionTimeout,
        server_id: server.serverId,
        client_port_listen_backlog: -1,
      };
    },
  },
  {
    names: ['connection_stat_reset', 'crst'],
    serverRequired: true,
    run: ({ server }) => {
      server.fourLetterSource().resetConnectionStats();
      return {};
    },
  },
  {
    names: ['connections', 'cons'],
    serverRequired: true,
    run: ({ server }) => ({
      connections: server
        .fourLetterSource()
        .connections()
        .map((c) => connectionInfo(c, false)),
      secure_connections: [],
    }),
  },
  {
    names: ['dirs'],
    serverRequired: true,
    run: ({ server }) => {
      const src = server.fourLetterSource();
      return { datadir_size: src.dataDirSize, logdir_size: src.dataLogDirSize };
    },
  },
  {
    names: ['dump'],
    serverRequired: true,
    run: ({ server }) => {
      const src = server.fourLetterSource();
      const expiry: Record<string, JsonValue> = {};
      for (const b of src.sessionBuckets()) {
        expiry[String(b.expiresAtMs)] = b.sessions.map((s) => BigInt.asIntN(64, s.id));
      }
      const ephemerals: Record<string, JsonValue> = {};
      for (const [id, paths] of src.ephemeralsBySession()) ephemerals[String(BigInt.asIntN(64, id))] = paths;
      return { expiry_time_to_session_ids: expiry, session_id_to_ephemeral_paths: ephemerals };
    },
  },
  {
    names: ['environment', 'env', 'envi'],
    serverRequired: false,
    run: (ctx) => javaLikeEnvironment(ctx),
  },
  {
    names: ['get_trace_mask', 'gtmk'],
    serverRequired: false,
    run: (ctx) => ({ tracemask: ctx.traceMask }),
  },
  {
    names: ['hash'],
    serverRequired: true,
    run: ({ server }) => ({
      digests: [
        {
          zxid: server.tree.lastZxid,
          digestVersion: 2,
          digest: BigInt.asIntN(64, server.tree.digest),
        },
      ],
    }),
  },
  {
    names: ['initial_configuration', 'icfg'],
    serverRequired: true,
    run: ({ server }) => ({
      initial_configuration: [...server.config.raw].map(([k, v]) => `${k}=${v}\n`).join(''),
    }),
  },
  {
    names: ['is_read_only', 'isro'],
    serverRequired: true,
    run: ({ server }) => ({ read_only: server.fourLetterSource().readOnly }),
  },
  {
    names: ['last_snapshot', 'lsnp'],
    serverRequired: true,
    run: ({ server }) => {
      const s = lastSnapshot(server.config.dataDir);
      return { zxid: s === undefined ? '-1' : s.zxid.toString(16), timestamp: s?.timestampSec ?? -1 };
    },
  },
  {
    names: ['leader', 'lead'],
    serverRequired: true,
    // A standalone server has no quorum peer: ZooKeeper answers with this error.
    run: () => ({ error: 'server is not initialized' }),
  },
  {
    names: ['monitor', 'mntr'],
    serverRequired: false,
    run: async (ctx) => {
      const out: CommandFields = {};
      for (const [k, v] of await ctx.metrics.monitor()) out[k] = v;
      return out;
    },
  },
  {
    names: ['observer_connection_stat_reset', 'orst'],
    serverRequired: true,
    run: () => ({}),
  },
  {
    names: ['observers', 'obsr'],
    serverRequired: true,
    run: () => ({ synced_observers: 0, observers: [] }),
  },
  {
    names: ['ruok'],
    serverRequired: true,
    run: () => ({}),
  },
  {
    names: ['server_stats', 'srvr'],
    serverRequired: true,
    run: (ctx) => serverStats(ctx),
  },
  {
    names: ['set_trace_mask', 'stmk'],
    serverRequired: false,
    run: (ctx, params): CommandFields => {
      const text = params.get('traceMask');
      if (text === null) return { error: 'setTraceMask requires long traceMask argument' };
      if (!/^-?\d+$/.test(text) || BigInt.asIntN(64, BigInt(text)) !== BigInt(text)) {
        return { error: `setTraceMask requires long traceMask argument, got ${text}` };
      }
      ctx.traceMask = BigInt(text);
      return { tracemask: ctx.traceMask };
    },
  },
  {
    names: ['stat_reset', 'srst'],
    serverRequired: true,
    run: ({ server }) => {
      server.fourLetterSource().resetServerStats();
      return {};
    },
  },
  {
    names: ['stats', 'stat'],
    serverRequired: true,
    run: (ctx) => ({
      ...serverStats(ctx),
      connections: ctx.server
        .fourLetterSource()
        .connections()
        .map((c) => connectionInfo(c, true)),
      secure_connections: [],
    }),
  },
  {
    names: ['system_properties', 'sysp'],
    serverRequired: false,
    run: (ctx) => systemProperties(ctx),
  },
  {
    names: ['voting_view'],
    serverRequired: true,
    run: () => ({ current_config: {} }),
  },
  {
    names: ['watch_summary', 'wchs'],
    serverRequired: true,
    run: (ctx) => {
      const by = watchesBySession(ctx);
      const paths = new Set<string>();
      let total = 0;
      for (const ps of by.values()) {
        total += ps.length;
        for (const p of ps) paths.add(p);
      }
      return { num_connections: by.size, num_paths: paths.size, num_total_watches: total };
    },
  },
  {
    names: ['watches', 'wchc'],
    serverRequired: true,
    run: (ctx) => {
      const out: Record<string, JsonValue> = {};
      for (const [id, ps] of watchesBySession(ctx)) out[String(BigInt.asIntN(64, id))] = ps;
      return { session_id_to_watched_paths: out };
    },
  },
  {
    names: ['watches_by_path', 'wchp'],
    serverRequired: true,
    run: (ctx) => {
      const byPath = new Map<string, bigint[]>();
      for (const [id, ps] of watchesBySession(ctx)) {
        for (const p of ps) byPath.set(p, [...(byPath.get(p) ?? []), BigInt.asIntN(64, id)]);
      }
      return { path_to_session_ids: Object.fromEntries(byPath) };
    },
  },
  {
    names: ['zabstate'],
    serverRequired: false,
    // Standalone: no quorum peer, as ZooKeeper answers then.
    run: () => ({ voting: false, zabstate: '' }),
  },
];

const BY_NAME = new Map<string, CommandSpec>();
for (const c of COMMANDS) for (const n of c.names) BY_NAME.set(n, c);

/** Primary names, sorted, as the `/commands` index lists them. */
export function primaryNames(): string[] {
  return COMMANDS.map((c) => c.names[0] ?? '').sort();
}

export function findCommand(name: string): CommandSpec | undefined {
  return BY_NAME.get(name);
}

/**
 * Runs a command by any of its names. Unknown names and failures come back as ZooKeeper's JSON
 * error (`error` set), never as an exception.
 */
export async function runCommand(
  name: string,
  ctx: CommandContext,
  params: URLSearchParams,
): Promise<CommandFields> {
  const spec = findCommand(name);
  if (spec === undefined) return { command: name, error: `Unknown command: ${name}` };
  const primary = spec.names[0] ?? name;
  if (spec.serverRequired && !ctx.server.fourLetterSource().serving) {
    return { command: primary, error: NOT_SERVING };
  }
  try {
    const fields = await spec.run(ctx, params);
    if (typeof fields.error === 'string') {
      const { error, ...rest } = fields;
      return { ...rest, error, command: primary };
    }
    return { ...fields, command: primary, error: null };
  } catch (e) {
    return { command: primary, error: `${primary} failed: ${(e as Error).message}` };
  }
}
