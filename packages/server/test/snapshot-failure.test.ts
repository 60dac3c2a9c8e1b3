import { MemoryFileSystem } from '@zkts/persistence';
import { freePort } from '@zkts/testkit';
import { describe, expect, it } from 'vitest';
import { parseConfig, type ServerLogger, ZkServer } from '../src/index.js';
import { connectNodeClient as connect } from './helpers.js';

describe('a snapshot that cannot be written', () => {
  it('is logged, leaves no hook on the tree, and the server keeps serving writes', async () => {
    const fs = new MemoryFileSystem(['/data']);
    fs.inject({ op: 'open', path: /snapshot\.[0-9a-f]+\.tmp$/, code: 'EIO' });
    const port = await freePort();
    const { config } = parseConfig(
      ['dataDir=/data', `clientPort=${port}`, 'clientPortAddress=127.0.0.1', 'snapCount=2'].join('\n'),
    );
    const warnings: string[] = [];
    const logger: ServerLogger = {
      info() {},
      debug() {},
      error() {},
      warn: (_obj, msg) => warnings.push(msg ?? ''),
    };
    const server = await ZkServer.start({
      config: { ...config, admin: { ...config.admin, enabled: false } },
      fs,
      logger,
    });
    const c = await connect(`127.0.0.1:${port}`);
    try {
      for (let i = 0; i < 12; i++) {
        await new Promise<void>((res, rej) =>
          c.create(`/n${i}`, Buffer.from('x'), (e) => (e ? rej(e) : res())),
        );
      }
      const deadline = Date.now() + 10_000;
      while (!warnings.includes('snapshot failed') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(warnings).toContain('snapshot failed');
      await new Promise((r) => setTimeout(r, 50));
      expect(server.tree.touchHooks.size).toBe(0);
      expect(server.tree.nodeCount).toBe(4 + 12);
    } finally {
      c.close();
      await server.close();
    }
  });
});
