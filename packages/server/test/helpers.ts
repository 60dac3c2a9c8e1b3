import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@zkts/testkit';
import zookeeper from 'node-zookeeper-client';
import { parseConfig } from '../src/config.js';
import { ZkServer } from '../src/server.js';

export interface TestServer {
  server: ZkServer;
  connectString: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts a zkts standalone server on a free loopback port with a fresh data directory. */
export async function startTestServer(
  extra: Record<string, string> = {},
  dataDir?: string,
): Promise<TestServer> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'zkts-server-')));
  const port = await freePort();
  const cfg = {
    tickTime: '2000',
    dataDir: dir,
    clientPort: String(port),
    clientPortAddress: '127.0.0.1',
    '4lw.commands.whitelist': '*',
    extendedTypesEnabled: 'true',
    ...extra,
  };
  const { config } = parseConfig(
    Object.entries(cfg)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
  );
  const server = await ZkServer.start({ config });
  return {
    server,
    connectString: `127.0.0.1:${port}`,
    port,
    dataDir: dir,
    stop: async () => {
      await server.close();
      if (dataDir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A connected node-zookeeper-client session (no retries: a test wants to see a failure). */
export function connectNodeClient(connectString: string): Promise<zookeeper.Client> {
  const c = zookeeper.createClient(connectString, { sessionTimeout: 30_000, retries: 0 });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`could not connect to ${connectString}`)), 20_000);
    c.once('connected', () => {
      clearTimeout(t);
      resolve(c);
    });
    c.connect();
  });
}
