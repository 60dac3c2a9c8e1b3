/**
 * The servers every compatibility test runs against: Apache ZooKeeper 3.8 (the reference), a
 * standalone zkts server, and a follower of a three-member zkts ensemble (clients see the same
 * behaviour on a member as on a standalone server). A test is written once and run on each
 * (`describe.each(TARGETS)`), so each expectation is proven on the reference first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApacheZooKeeper, fourLetterWord, freePort, startApacheZooKeeper } from '@zkts/testkit';
import { parseConfig } from '../../src/config.js';
import { ZkServer } from '../../src/server.js';
import { startTestEnsemble } from '../ensemble-helpers.js';

export type TargetName = 'apache' | 'zkts' | 'zkts-follower';
export const TARGETS: TargetName[] = ['apache', 'zkts', 'zkts-follower'];
/** The zkts targets, each compared with Apache ZooKeeper. */
export const ZKTS_TARGETS: TargetName[] = TARGETS.filter((t) => t !== 'apache');

export interface TargetOptions {
  /** zoo.cfg keys for both servers. */
  config?: Record<string, string>;
  /**
   * Settings Apache ZooKeeper reads as Java system properties (znode.container.checkIntervalMs,
   * jute.maxbuffer, ...); zkts reads the same names from zoo.cfg.
   */
  properties?: Record<string, string>;
}

export interface Target {
  readonly name: TargetName;
  /** For 'zkts-follower': the follower's address only. */
  readonly connectString: string;
  readonly port: number;
  readonly dataDir: string;
  fourLetterWord(word: string): Promise<string>;
  /** Stops the server (the follower) and starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops the server (the whole ensemble) and removes its data directory. */
  stop(): Promise<void>;
  /** The zkts server object (undefined for Apache; the follower's for 'zkts-follower'). */
  readonly zkts: ZkServer | undefined;
}

const BASE: Record<string, string> = {
  tickTime: '2000',
  clientPortAddress: '127.0.0.1',
  '4lw.commands.whitelist': '*',
  extendedTypesEnabled: 'true',
};

async function startZkts(port: number, dataDir: string, opts: TargetOptions): Promise<ZkServer> {
  const cfg: Record<string, string> = {
    ...BASE,
    dataDir,
    clientPort: String(port),
    maxClientCnxns: '0',
    ...opts.properties,
    ...opts.config,
  };
  const { config } = parseConfig(
    Object.entries(cfg)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
  );
  return ZkServer.start({ config });
}

/**
 * A three-member zkts ensemble (tickTime 200, so elections and syncs are quick) whose target is one
 * follower; session timeouts are bounded as a standalone server's with tickTime 2000 are, so
 * sessions negotiate as on the other targets.
 */
async function startFollowerTarget(opts: TargetOptions): Promise<Target> {
  const ens = await startTestEnsemble(3, {
    extra: {
      minSessionTimeout: '4000',
      maxSessionTimeout: '40000',
      maxClientCnxns: '0',
      ...opts.properties,
      ...opts.config,
    },
  });
  const leader = await ens.ready(30_000);
  const member = ens.members.find((m) => m.id !== leader);
  if (member === undefined) throw new Error('no follower');
  return {
    name: 'zkts-follower',
    connectString: member.connectString,
    port: member.clientPort,
    dataDir: member.dataDir,
    get zkts() {
      return member.server;
    },
    fourLetterWord: (w) => fourLetterWord(member.clientPort, w),
    restart: async () => {
      await ens.stop(member.id);
      await ens.start(member.id);
      await ens.ready(30_000);
    },
    stop: () => ens.close(),
  };
}

export async function startTarget(name: TargetName, opts: TargetOptions = {}): Promise<Target> {
  if (name === 'zkts-follower') return startFollowerTarget(opts);
  const dataDir = await mkdtemp(join(tmpdir(), `compat-${name}-`));
  const port = await freePort();
  if (name === 'apache') {
    const start = () =>
      startApacheZooKeeper({
        port,
        dataDir,
        config: { ...opts.config },
        systemProperties: { 'zookeeper.extendedTypesEnabled': 'true', ...opts.properties },
      });
    let zk: ApacheZooKeeper = await start();
    return {
      name,
      connectString: zk.connectString,
      port,
      dataDir,
      zkts: undefined,
      fourLetterWord: (w) => fourLetterWord(port, w),
      restart: async () => {
        await zk.stop();
        zk = await start();
      },
      stop: async () => {
        await zk.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  }
  let server = await startZkts(port, dataDir, opts);
  return {
    name,
    connectString: `127.0.0.1:${port}`,
    port,
    dataDir,
    get zkts() {
      return server;
    },
    fourLetterWord: (w) => fourLetterWord(port, w),
    restart: async () => {
      await server.close();
      server = await startZkts(port, dataDir, opts);
    },
    stop: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Replaces times, zxids and session ids so outputs of two servers can be compared line by line. */
export function maskVolatile(text: string): string {
  return text
    .replace(/\b(ctime|mtime) = .*$/gm, '$1 = <time>')
    .replace(/0x[0-9a-fA-F]+/g, '0x<hex>')
    .replace(/sessionid:0x<hex>/g, 'sessionid:<id>');
}

/** Replaces times and session ids (ephemeral owners), keeping zxids: for runs from a fresh data directory. */
export function maskTimesAndSessions(text: string): string {
  return text
    .replace(/\b(ctime|mtime) = .*$/gm, '$1 = <time>')
    .replace(/\bephemeralOwner = 0x[0-9a-fA-F]+/g, (m) =>
      m.endsWith('= 0x0') ? m : 'ephemeralOwner = <session>',
    )
    .replace(/(session ?id[:=] ?)0x[0-9a-fA-F]+/gi, '$1<session>');
}
