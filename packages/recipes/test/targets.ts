import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ZooKeeperClient } from '@zkts/client';
import { parseConfig, ZkServer } from '@zkts/server';
import { fourLetterWord, freePort, startApacheZooKeeper } from '@zkts/testkit';

/** A running server the recipes are tested against. */
export interface Target {
  connectString: string;
  port: number;
  fourLetterWord(word: string): Promise<string>;
  stop(): Promise<void>;
}

/** A short tick so that sessions can expire within a test (min session timeout 2 ticks). */
const TICK = '500';

export async function startApache(): Promise<Target> {
  const zk = await startApacheZooKeeper({ config: { tickTime: TICK } });
  return {
    connectString: zk.connectString,
    port: zk.port,
    fourLetterWord: (w) => zk.fourLetterWord(w),
    stop: () => zk.stop(),
  };
}

export async function startZkts(): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'zkts-recipes-'));
  const port = await freePort();
  const text = [
    `tickTime=${TICK}`,
    `dataDir=${dir}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    '4lw.commands.whitelist=*',
  ].join('\n');
  const server = await ZkServer.start({ config: parseConfig(text).config });
  return {
    connectString: `127.0.0.1:${port}`,
    port,
    fourLetterWord: (w) => fourLetterWord(port, w),
    stop: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const TARGETS: Array<[string, () => Promise<Target>]> = [
  ['Apache ZooKeeper', startApache],
  ['zkts', startZkts],
];

/** Connected clients, closed by `closeAll`. */
export async function clients(
  connectString: string,
  n: number,
  sessionTimeout = 10_000,
): Promise<ZooKeeperClient[]> {
  const out: ZooKeeperClient[] = [];
  for (let i = 0; i < n; i++) {
    const zk = createClient(connectString, { sessionTimeout });
    await zk.connect();
    out.push(zk);
  }
  return out;
}

export async function closeAll(list: ZooKeeperClient[]): Promise<void> {
  await Promise.all(list.map((c) => c.close().catch(() => undefined)));
}

/** A TCP proxy to `port` that a test can cut (every connection dropped, nothing accepted) and restore. */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  listenPort = 0;

  constructor(private readonly target: number) {}

  async start(port = 0): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket();
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      upstream.connect(this.target, '127.0.0.1', () => {
        client.pipe(upstream);
        upstream.pipe(client);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (addr !== null && typeof addr === 'object') this.listenPort = addr.port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  async restore(): Promise<void> {
    await this.start(this.listenPort);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until true, failing after `ms`. */
export async function until(
  probe: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
