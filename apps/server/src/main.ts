#!/usr/bin/env node
/**
 * zkts-server [zoo.cfg] | --local-cluster N [--dir D] [--base-port P]
 *
 * With a zoo.cfg, runs the server it describes: standalone, or one ensemble member when it has
 * `server.N` lines (its id in dataDir/myid). With no argument, runs a standalone server on
 * 127.0.0.1:2181 with its data in ./zkts-data (created if missing). `--local-cluster N` runs a
 * development ensemble of N member processes on this host.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdminServer } from '@zkts/admin';
import {
  configFromEnvironment,
  hasZooEnvironment,
  parseConfig,
  type ServerConfig,
  ServerError,
  ZkServer,
} from '@zkts/server';
import { pino } from 'pino';
import { runLocalCluster } from './local-cluster.js';

const USAGE = `usage: zkts-server [zoo.cfg]
       zkts-server --local-cluster N [--dir zkts-cluster] [--base-port 2181]

  zoo.cfg           a ZooKeeper configuration file (tickTime, dataDir, clientPort, ...); with
                    server.N lines it starts that ensemble member (its id in dataDir/myid)
  --local-cluster N a development ensemble: N member processes on 127.0.0.1, client ports
                    base-port..base-port+N-1, each member's data, zoo.cfg and log under --dir

Without a file, zkts-server reads the official ZooKeeper Docker image's ZOO_* environment
variables when any is set (ZOO_DATA_DIR, ZOO_SERVERS, ZOO_MY_ID, ZOO_CFG_EXTRA, ...), and otherwise
runs standalone on 127.0.0.1:2181 with its data in ./zkts-data.
`;

function defaultConfig(): { config: ServerConfig; source: string } {
  const dataDir = resolve('zkts-data');
  mkdirSync(dataDir, { recursive: true });
  const text = [
    'tickTime=2000',
    `dataDir=${dataDir}`,
    'clientPort=2181',
    'clientPortAddress=127.0.0.1',
    'maxClientCnxns=60',
    '4lw.commands.whitelist=*',
    'extendedTypesEnabled=true',
    'admin.serverAddress=127.0.0.1',
  ].join('\n');
  return { config: parseConfig(text, 'embedded defaults').config, source: 'embedded defaults' };
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args[0] === '--local-cluster') return localCluster(args.slice(1));
  if (args.length > 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  const log = pino({ base: { app: 'zkts-server' } });
  let config: ServerConfig;
  let source: string;
  if (args[0] === undefined && hasZooEnvironment(process.env)) {
    const env = configFromEnvironment(process.env, resolve('zkts-data'));
    if (env.myId !== undefined && !(env.myId >= 1)) {
      process.stderr.write(
        `zkts-server: ZOO_MY_ID must be a positive integer, got "${process.env.ZOO_MY_ID}"\n`,
      );
      return 2;
    }
    mkdirSync(env.dataDir, { recursive: true });
    const myIdFile = join(env.dataDir, 'myid');
    if (env.myId !== undefined && !existsSync(myIdFile)) writeFileSync(myIdFile, `${env.myId}\n`);
    const parsed = parseConfig(env.text, 'ZOO_* environment');
    for (const w of parsed.warnings) log.warn({ key: w.key }, `ZOO_* environment: ${w.key}: ${w.message}`);
    config = parsed.config;
    source = 'ZOO_* environment';
  } else if (args[0] === undefined) {
    ({ config, source } = defaultConfig());
  } else {
    const file = resolve(args[0]);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      process.stderr.write(`zkts-server: cannot read ${file}: ${(e as Error).message}\n`);
      return 2;
    }
    const parsed = parseConfig(text, file);
    for (const w of parsed.warnings)
      log.warn({ key: w.key, line: w.line }, `${file}:${w.line}: ${w.key}: ${w.message}`);
    config = parsed.config;
    source = file;
  }
  const server = await ZkServer.start({ config, logger: log });
  let admin: AdminServer | undefined;
  if (config.admin.enabled) {
    // As ZooKeeper: a server whose AdminServer cannot start keeps serving clients.
    // Loaded only when enabled, and after the server started: the AdminServer's modules (the
    // metrics registry, its client) would otherwise delay every start, a rejoining member's too.
    admin = await import('@zkts/admin')
      .then(({ startAdminServer }) => startAdminServer({ server, config, logger: log }))
      .catch((e: Error) => {
        log.warn({ err: e.message }, 'Problem starting AdminServer');
        return undefined;
      });
  }
  const { host, port } = server.address();
  log.info({ config: source, dataDir: config.dataDir, dataLogDir: config.dataLogDir }, 'configuration');
  if (server.mode === 'standalone') {
    process.stdout.write(`zkts-server: standalone on ${host}:${port}, data in ${config.dataDir}\n`);
  } else {
    process.stdout.write(
      `zkts-server: ensemble member ${server.serverId} of ${config.servers.length} on ${host}:${port}, data in ${config.dataDir}\n`,
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    void Promise.resolve(admin?.close())
      .then(() => server.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  server.onFatal(() => {
    process.exitCode = 1;
    void server.close().then(() => process.exit(1));
  });
  return -1;
}

async function localCluster(args: string[]): Promise<number> {
  const size = Number(args[0]);
  let dir = 'zkts-cluster';
  let basePort = 2181;
  for (let i = 1; i < args.length; i += 2) {
    const value = args[i + 1];
    if (args[i] === '--dir' && value !== undefined) dir = value;
    else if (args[i] === '--base-port' && value !== undefined && /^\d+$/.test(value))
      basePort = Number(value);
    else {
      process.stderr.write(`zkts-server: unexpected argument "${args[i]}"\n${USAGE}`);
      return 2;
    }
  }
  if (!Number.isInteger(size) || size < 1 || size > 9) {
    process.stderr.write(
      `zkts-server: --local-cluster needs a member count from 1 to 9, got "${args[0] ?? ''}"\n`,
    );
    return 2;
  }
  if (basePort < 1024 || basePort + size + 1800 > 65535) {
    process.stderr.write(`zkts-server: --base-port ${basePort} leaves no room for the members' ports\n`);
    return 2;
  }
  // Members run this same entry point (dist/main.js, or main.ts under a loader) with our node flags.
  const entry = fileURLToPath(import.meta.url);
  return runLocalCluster({ size, dir, basePort, entry });
}

main().then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof ServerError) process.stderr.write(`zkts-server: ${e.message}\n`);
    else process.stderr.write(`zkts-server: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
