import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fourLetterWord, freePort, waitFor } from './ports.js';

/** Where Debian's zookeeper package puts the server and client. */
export const APACHE_ZK_JAR = '/usr/share/java/zookeeper.jar';
export const APACHE_ZK_CONF_DIR = '/etc/zookeeper/conf';
/** Debian's servlet API jar (libservlet-api-java): Apache's AdminServer needs it on the classpath. */
export const SERVLET_API_JAR = '/usr/share/java/servlet-api.jar';

/** Thrown when Apache ZooKeeper is needed and not installed: tests fail loudly, never skip. */
export class ApacheZooKeeperMissing extends Error {
  override readonly name = 'ApacheZooKeeperMissing';
  constructor() {
    super(
      `Apache ZooKeeper 3.8 is not installed (${APACHE_ZK_JAR} is missing). ` +
        'Run scripts/install-apache-zookeeper.sh (the README test command does).',
    );
  }
}

export function assertApacheZooKeeperInstalled(): void {
  if (!existsSync(APACHE_ZK_JAR)) throw new ApacheZooKeeperMissing();
}

export interface ApacheZooKeeperOptions {
  /** Extra zoo.cfg keys, e.g. `{ maxSessionTimeout: '60000' }`. */
  config?: Record<string, string>;
  /** JVM options; defaults keep start-up quick and memory small. */
  jvmOptions?: string[];
  /** Java system properties (-Dkey=value). */
  systemProperties?: Record<string, string>;
  /** Client port; a free one by default. */
  port?: number;
  /** Data directory; a fresh temporary one (removed on stop) by default. */
  dataDir?: string;
  startTimeoutMs?: number;
  /**
   * Starts Apache's AdminServer (Jetty) on 127.0.0.1 at this port, with the servlet API jar on
   * the classpath. Off by default.
   */
  adminServerPort?: number;
  /**
   * Ensemble member: its id (written to dataDir/myid). The config must then hold the
   * `server.N` lines; the member runs QuorumPeerMain and is ready once its ensemble serves.
   */
  myId?: number;
}

export interface ApacheZooKeeper {
  readonly host: string;
  readonly port: number;
  /** `127.0.0.1:port` */
  readonly connectString: string;
  readonly dataDir: string;
  readonly process: ChildProcess;
  /** Output the JVM printed so far (for failing tests). */
  output(): string;
  fourLetterWord(word: string): Promise<string>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** Stops the server and removes a temporary data directory. */
  stop(): Promise<void>;
}

const DEFAULT_JVM = ['-Xmx512m', '-XX:+UseSerialGC', '-Xshare:auto'];

/** Starts a throwaway standalone Apache ZooKeeper 3.8 on 127.0.0.1 and waits until it serves requests. */
export async function startApacheZooKeeper(options: ApacheZooKeeperOptions = {}): Promise<ApacheZooKeeper> {
  assertApacheZooKeeperInstalled();
  if (options.adminServerPort !== undefined && !existsSync(SERVLET_API_JAR)) {
    throw new Error(
      `Apache ZooKeeper's AdminServer needs ${SERVLET_API_JAR} (Debian's libservlet-api-java). ` +
        'Run scripts/install-apache-zookeeper.sh.',
    );
  }
  const port = options.port ?? (await freePort());
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'apache-zk-')));
  const cfg: Record<string, string> = {
    tickTime: '2000',
    initLimit: '10',
    syncLimit: '5',
    dataDir,
    clientPort: String(port),
    clientPortAddress: '127.0.0.1',
    maxClientCnxns: '0',
    '4lw.commands.whitelist': '*',
    'admin.enableServer': 'false',
    extendedTypesEnabled: 'true',
    ...(options.adminServerPort === undefined
      ? {}
      : {
          'admin.enableServer': 'true',
          'admin.serverAddress': '127.0.0.1',
          'admin.serverPort': String(options.adminServerPort),
        }),
    ...options.config,
  };
  if (options.myId !== undefined) await writeFile(join(dataDir, 'myid'), `${options.myId}\n`);
  const cfgPath = join(dataDir, 'zoo.cfg');
  await writeFile(
    cfgPath,
    `${Object.entries(cfg)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  const props = { 'zookeeper.extendedTypesEnabled': 'true', ...options.systemProperties };
  const args = [
    ...(options.jvmOptions ?? DEFAULT_JVM),
    ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
    '-cp',
    options.adminServerPort === undefined
      ? `${APACHE_ZK_CONF_DIR}:${APACHE_ZK_JAR}`
      : `${APACHE_ZK_CONF_DIR}:${APACHE_ZK_JAR}:${SERVLET_API_JAR}`,
    options.myId === undefined
      ? 'org.apache.zookeeper.server.ZooKeeperServerMain'
      : 'org.apache.zookeeper.server.quorum.QuorumPeerMain',
    cfgPath,
  ];
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      resolve();
    }),
  );
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error('exited');
        // `ruok` answers before the server serves requests; `srvr` tells the truth.
        return (await fourLetterWord(port, 'srvr', '127.0.0.1', 1000)).startsWith('Zookeeper version:');
      },
      options.startTimeoutMs ?? 30_000,
      `Apache ZooKeeper on port ${port}`,
    );
    if (exited) throw new Error('exited');
  } catch (e) {
    child.kill('SIGKILL');
    await exit;
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
    throw new Error(`Apache ZooKeeper did not start on port ${port}: ${(e as Error).message}\n${out}`);
  }
  const stopWith = async (signal: NodeJS.Signals) => {
    if (!exited) {
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(t);
    }
  };
  return {
    host: '127.0.0.1',
    port,
    connectString: `127.0.0.1:${port}`,
    dataDir,
    process: child,
    output: () => out,
    fourLetterWord: (word) => fourLetterWord(port, word),
    kill: () => stopWith('SIGKILL'),
    stop: async () => {
      await stopWith('SIGTERM');
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ZkCliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs Apache ZooKeeper's own command-line client (what zkCli.sh runs) non-interactively:
 * `zkCli -server host:port cmd args...`.
 */
export function runZkCli(server: string, command: string[], timeoutMs = 30_000): Promise<ZkCliResult> {
  assertApacheZooKeeperInstalled();
  return new Promise((resolve) => {
    execFile(
      'java',
      [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-cp',
        `${APACHE_ZK_CONF_DIR}:${APACHE_ZK_JAR}`,
        'org.apache.zookeeper.ZooKeeperMain',
        '-server',
        server,
        ...command,
      ],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err && typeof err.code === 'number' ? err.code : err ? null : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Runs zkCli with `lines` on its standard input (one JVM for the whole script, as a user typing
 * commands without JLine). stdout holds the commands' output, stderr the client's messages.
 */
export function runZkCliScript(server: string, lines: string[], timeoutMs = 60_000): Promise<ZkCliResult> {
  assertApacheZooKeeperInstalled();
  return new Promise((resolve) => {
    const child = spawn(
      'java',
      [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-cp',
        `${APACHE_ZK_CONF_DIR}:${APACHE_ZK_JAR}`,
        'org.apache.zookeeper.ZooKeeperMain',
        '-server',
        server,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(`${lines.join('\n')}\n`);
  });
}

export interface ApacheEnsemble {
  /** Members by id (1..size). */
  readonly members: ReadonlyMap<number, ApacheZooKeeper>;
  /** Every member's client address. */
  readonly connectString: string;
  /** The id of the member whose srvr says `Mode: leader`. */
  leader(): Promise<number | undefined>;
  /** Stops every member and removes the data directories. */
  stop(): Promise<void>;
}

/**
 * Starts an Apache ZooKeeper 3.8 ensemble of `size` members on 127.0.0.1 (QuorumPeerMain, each
 * its own JVM, data directory and myid) and waits until every member serves.
 */
export async function startApacheEnsemble(
  size: number,
  options: { config?: Record<string, string>; startTimeoutMs?: number } = {},
): Promise<ApacheEnsemble> {
  assertApacheZooKeeperInstalled();
  const root = await mkdtemp(join(tmpdir(), 'apache-ensemble-'));
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const ports = new Map<number, { client: number; quorum: number; election: number }>();
  for (const id of ids)
    ports.set(id, { client: await freePort(), quorum: await freePort(), election: await freePort() });
  const servers: Record<string, string> = {};
  for (const [id, p] of ports)
    servers[`server.${id}`] = `127.0.0.1:${p.quorum}:${p.election};127.0.0.1:${p.client}`;
  const started = await Promise.allSettled(
    ids.map(async (id) => {
      const dataDir = join(root, `server${id}`);
      await mkdir(dataDir, { recursive: true });
      const { client } = ports.get(id) as { client: number };
      const member = await startApacheZooKeeper({
        port: client,
        dataDir,
        myId: id,
        startTimeoutMs: options.startTimeoutMs ?? 60_000,
        config: { ...servers, ...options.config },
      });
      return [id, member] as const;
    }),
  );
  const members = new Map<number, ApacheZooKeeper>();
  for (const r of started) if (r.status === 'fulfilled') members.set(r.value[0], r.value[1]);
  const stop = async () => {
    await Promise.all([...members.values()].map((m) => m.stop()));
    await rm(root, { recursive: true, force: true });
  };
  const failed = started.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    await stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  return {
    members,
    connectString: [...members.values()].map((m) => m.connectString).join(','),
    leader: async () => {
      for (const [id, m] of members) {
        if (/^Mode: leader$/m.test(await m.fourLetterWord('srvr').catch(() => ''))) return id;
      }
      return undefined;
    },
    stop,
  };
}
