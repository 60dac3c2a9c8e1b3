import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@zkts/testkit';
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
