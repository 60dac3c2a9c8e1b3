import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, ZkServer } from '@zkts/server';
import { freePort } from '@zkts/testkit';
import { type AdminServer, startAdminServer } from '../src/index.js';

export interface TestZkts {
  server: ZkServer;
  admin: AdminServer;
  connectString: string;
  /** `http://127.0.0.1:<admin port>` */
  base: string;
  stop(): Promise<void>;
}

/** A zkts server on free loopback ports with its AdminServer, from zoo.cfg keys. */
export async function startZkts(extra: Record<string, string> = {}): Promise<TestZkts> {
  const dir = await mkdtemp(join(tmpdir(), 'zkts-admin-'));
  const port = await freePort();
  const adminPort = await freePort();
  const cfg = {
    tickTime: '2000',
    dataDir: dir,
    clientPort: String(port),
    clientPortAddress: '127.0.0.1',
    '4lw.commands.whitelist': '*',
    extendedTypesEnabled: 'true',
    'admin.serverAddress': '127.0.0.1',
    'admin.serverPort': String(adminPort),
    ...extra,
  };
  const { config } = parseConfig(
    Object.entries(cfg)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
  );
  const server = await ZkServer.start({ config });
  const admin = await startAdminServer({ server });
  return {
    server,
    admin,
    connectString: `127.0.0.1:${port}`,
    base: `http://127.0.0.1:${admin.address().port}`,
    stop: async () => {
      await admin.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function getJson(url: string): Promise<{ status: number; type: string | null; body: unknown }> {
  const r = await fetch(url);
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type'), body: JSON.parse(text) as unknown };
}
