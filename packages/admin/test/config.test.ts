import { parseConfig } from '@zkts/server';
import { describe, expect, it } from 'vitest';
import { getJson, startZkts } from './helpers.js';

describe('admin and metrics keys in zoo.cfg', () => {
  it('reads them under their property names, with and without the zookeeper. prefix', () => {
    const base = 'dataDir=/var/lib/zookeeper\n';
    const plain = parseConfig(
      `${base}admin.enableServer=false\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=9090\nadmin.commandURL=/cmds\nadmin.console.enabled=false\nmetricsProvider.httpPort=7001\nmetricsProvider.httpHost=127.0.0.2\n`,
    );
    const prefixed = parseConfig(
      `${base}zookeeper.admin.enableServer=false\nzookeeper.admin.serverAddress=127.0.0.1\nzookeeper.admin.serverPort=9090\nzookeeper.admin.commandURL=/cmds\nzookeeper.admin.console.enabled=false\nmetricsProvider.httpPort=7001\nmetricsProvider.httpHost=127.0.0.2\n`,
    );
    for (const { config, warnings } of [plain, prefixed]) {
      expect(warnings).toEqual([]);
      expect(config.admin).toEqual({
        enabled: false,
        address: '127.0.0.1',
        port: 9090,
        commandUrl: '/cmds',
        consoleEnabled: false,
      });
      expect(config.metricsHttpPort).toBe(7001);
      expect(config.metricsHttpHost).toBe('127.0.0.2');
    }
    const defaults = parseConfig(base).config;
    expect(defaults.admin).toEqual({
      enabled: true,
      address: '0.0.0.0',
      port: 8080,
      commandUrl: '/commands',
      consoleEnabled: true,
    });
    expect(defaults.metricsHttpPort).toBeUndefined();
    expect(() => parseConfig(`${base}admin.console.enabled=maybe\n`)).toThrow(/admin.console.enabled/);
    expect(() => parseConfig(`${base}admin.serverPort=70000\n`)).toThrow(/out of range/);
  });

  it('serves the commands under admin.commandURL', async () => {
    const z = await startZkts({ 'admin.commandURL': '/ops' });
    try {
      expect((await getJson(`${z.base}/ops/ruok`)).body).toEqual({ command: 'ruok', error: null });
      expect(await (await fetch(`${z.base}/ops`)).text()).toContain('<a href="/ops/monitor">monitor</a>');
      expect((await fetch(`${z.base}/commands/ruok`)).status).toBe(404);
    } finally {
      await z.stop();
    }
  });
});

describe('bad requests', () => {
  it('get JSON errors, never a stack trace', async () => {
    const z = await startZkts();
    try {
      const cases: Array<[string, RequestInit | undefined, number]> = [
        ['/commands/%E0%A4%A', undefined, 200],
        ['/commands/stmk?traceMask=99999999999999999999', undefined, 200],
        ['/console/api/node?path=%00', undefined, 400],
        ['/console/api/node', undefined, 400],
        ['/console/api/children?path=/nope', undefined, 404],
        ['/console/api/search', undefined, 400],
        ['/console/api/node?path=/', { headers: { 'X-ZK-Auth': 'basic abc' } }, 400],
        [
          '/console/api/write',
          { method: 'POST', headers: { 'content-type': 'application/json', 'x-zk-console': '1' }, body: '{' },
          400,
        ],
        [
          '/console/api/write',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-zk-console': '1' },
            body: JSON.stringify({ op: 'setData', path: '/nope', data: 'x', version: 0 }),
          },
          404,
        ],
        [
          '/console/api/write',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-zk-console': '1' },
            body: JSON.stringify({ op: 'setData', path: '/zookeeper', data: 'zz', encoding: 'hex' }),
          },
          400,
        ],
        ['/commands/ruok', { method: 'POST' }, 405],
        ['/elsewhere', undefined, 404],
      ];
      for (const [path, init, status] of cases) {
        const r = await fetch(`${z.base}${path}`, init);
        const text = await r.text();
        expect({ path, status: r.status }).toEqual({ path, status });
        const body = JSON.parse(text) as { error?: unknown };
        expect(typeof body.error).toBe('string');
        expect(text).not.toMatch(/\n\s+at /);
      }
    } finally {
      await z.stop();
    }
  });
});
