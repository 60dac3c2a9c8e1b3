/**
 * The web console in headless Chromium (Debian's chromium, driven by playwright-core) against a
 * real zkts server. Screenshots go to test-artifacts/ in this package.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CREATOR_ALL_ACL, createClient, type ZooKeeperClient } from '@zkts/client';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startZkts, type TestZkts } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-artifacts');
/** How long a poll waits for the page: the machine is shared and CI runs test files in parallel. */
const WAIT = { timeout: 15_000, interval: 100 };
const XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

describe('web console in Chromium', () => {
  let zkts: TestZkts;
  let zk: ZooKeeperClient;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: run scripts/install-chromium.sh (pnpm run ci does).`);
    }
    await mkdir(ARTIFACTS, { recursive: true });
    zkts = await startZkts();
    zk = createClient(zkts.connectString);
    await zk.connect();
    await zk.create('/app', 'application');
    await zk.create('/app/config', '{"replicas":3,"regions":["eu","us"]}');
    await zk.create('/xss', XSS);
    await zk.create('/bin', Buffer.from([0, 1, 2, 0xff, 0xfe]));
    profile = await mkdtemp(join(tmpdir(), 'zkts-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 860 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('dialog', (d) => void d.dismiss());
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await zk?.close().catch(() => {});
    await zkts?.stop();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  });

  const statValue = (field: string) => page.locator(`#stat tr[data-field="${field}"] td`);

  it('browses to a node and shows its data as text, JSON and hex, with its Stat', async () => {
    await page.goto(`${zkts.base}/console/#/app/config`);
    await expect.poll(() => page.locator('#node-path').textContent(), WAIT).toBe('/app/config');
    await expect
      .poll(() => page.locator('#node-data').textContent())
      .toBe('{"replicas":3,"regions":["eu","us"]}');
    await page.click('.views button[data-view="json"]');
    await expect.poll(() => page.locator('#node-data').textContent(), WAIT).toContain('"replicas": 3,\n');
    await page.click('.views button[data-view="hex"]');
    await expect
      .poll(() => page.locator('#node-data').textContent(), WAIT)
      .toMatch(/^00000000 {2}7b 22 72 65/);
    await page.click('.views button[data-view="text"]');
    expect(await statValue('version').textContent()).toBe('0');
    expect(await statValue('dataLength').textContent()).toBe('36');
    // The tree shows the path, opened down to the node.
    await expect
      .poll(() => page.locator('.tree .item.selected').getAttribute('data-path'))
      .toBe('/app/config');
    await page.screenshot({ path: join(ARTIFACTS, 'console-node.png') });
  });

  it('edits a node: the version goes up, the server has the new data', async () => {
    await page.goto(`${zkts.base}/console/#/app/config`);
    await expect.poll(() => statValue('version').textContent(), WAIT).toBe('0');
    await page.fill('#editor', '{"replicas":5}');
    await page.click('#save');
    await expect.poll(() => statValue('version').textContent(), WAIT).toBe('1');
    await expect.poll(() => page.locator('#message').textContent(), WAIT).toContain('version 1');
    const { data, stat } = await zk.getData('/app/config');
    expect(String(data)).toBe('{"replicas":5}');
    expect(stat.version).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'console-edited.png') });
  });

  it('refuses a save over a newer version (BadVersion)', async () => {
    await page.goto(`${zkts.base}/console/#/app`);
    await expect.poll(() => statValue('version').textContent(), WAIT).toBe('0');
    // Another client writes after the console read version 0; the console's save carries the
    // version it read, and the server refuses it.
    await zk.setData('/app', 'from another client');
    const r = await page.evaluate(async () => {
      const res = await fetch('api/write', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-ZK-Console': '1' },
        body: JSON.stringify({ op: 'setData', path: '/app', data: 'stale', version: 0 }),
      });
      return { status: res.status, body: await res.json() };
    });
    expect(r).toEqual({
      status: 409,
      body: { error: expect.stringContaining('BadVersion'), code: 'BadVersion' },
    });
    expect((await zk.getData('/app')).data?.toString()).toBe('from another client');
  });

  it('shows a new ephemeral node and its session live', async () => {
    await page.goto(`${zkts.base}/console/#/app`);
    await expect.poll(() => page.locator('#node-path').textContent(), WAIT).toBe('/app');
    const other = createClient(zkts.connectString);
    await other.connect();
    try {
      await other.create('/app/worker-1', 'busy', { mode: 'EPHEMERAL' });
      const item = page.locator('.tree .item[data-path="/app/worker-1"]');
      await expect.poll(() => item.count(), WAIT).toBe(1);
      expect(await item.locator('.eph').textContent()).toBe('ephemeral');
      await page.click('.tabs button[data-tab="sessions"]');
      const sid = `0x${other.sessionId.toString(16)}`;
      const row = page.locator('#sessions tr', { hasText: sid });
      await expect.poll(() => row.count(), WAIT).toBe(1);
      expect(await row.textContent()).toContain('/app/worker-1');
      await page.screenshot({ path: join(ARTIFACTS, 'console-sessions.png') });
      await other.close();
      await expect.poll(() => item.count(), WAIT).toBe(0);
    } finally {
      await other.close().catch(() => {});
    }
  });

  it('renders a node holding markup as text, never running it', async () => {
    await page.goto(`${zkts.base}/console/#/xss`);
    await page.click('.tabs button[data-tab="node"]');
    await expect.poll(() => page.locator('#node-data').textContent(), WAIT).toBe(XSS);
    expect(await page.locator('#node-data script, #node-data img').count()).toBe(0);
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    await page.click('.views button[data-view="json"]');
    await page.click('.views button[data-view="text"]');
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    await page.screenshot({ path: join(ARTIFACTS, 'console-xss.png') });
  });

  it('needs digest auth to write where the ACL requires it', async () => {
    const owner = createClient(zkts.connectString, {
      authInfo: [{ scheme: 'digest', auth: 'alice:secret' }],
    });
    await owner.connect();
    try {
      await owner.create('/secure', 'top secret', { acl: CREATOR_ALL_ACL });
    } finally {
      await owner.close();
    }
    await page.goto(`${zkts.base}/console/#/secure`);
    await expect.poll(() => page.locator('#node-data').textContent(), WAIT).toContain('NoAuth');
    await page.fill('#editor', 'changed anonymously');
    await page.click('#save');
    await expect.poll(() => page.locator('#message').textContent(), WAIT).toContain('NoAuth');
    await page.fill('#auth', 'alice:secret');
    await page.click('#auth-form button');
    await expect.poll(() => page.locator('#node-data').textContent(), WAIT).toBe('top secret');
    await page.fill('#editor', 'changed by alice');
    await page.click('#save');
    await expect.poll(() => statValue('version').textContent(), WAIT).toBe('1');
    const reader = createClient(zkts.connectString, {
      authInfo: [{ scheme: 'digest', auth: 'alice:secret' }],
    });
    await reader.connect();
    try {
      expect((await reader.getData('/secure')).data?.toString()).toBe('changed by alice');
    } finally {
      await reader.close();
    }
    await page.fill('#auth', '');
    await page.click('#auth-form button');
  });

  it('search shows no path below a node the caller may not read', async () => {
    const owner = createClient(zkts.connectString, { authInfo: [{ scheme: 'digest', auth: 'bob:pw' }] });
    await owner.connect();
    try {
      await owner.create('/hidden', '', { acl: CREATOR_ALL_ACL });
      await owner.create('/hidden/needle', '', { acl: CREATOR_ALL_ACL });
    } finally {
      await owner.close();
    }
    const search = async (auth?: string) => {
      const r = await fetch(`${zkts.base}/console/api/search?q=needle`, {
        headers: auth === undefined ? {} : { 'X-ZK-Auth': `digest ${auth}` },
      });
      return ((await r.json()) as { paths: string[] }).paths;
    };
    expect(await search()).toEqual([]);
    expect(await search('bob:wrong')).toEqual([]);
    expect(await search('bob:pw')).toEqual(['/hidden/needle']);
  });

  it('searches, shows watches, the ensemble and live charts', async () => {
    await zk.getData('/app/config', { watch: () => {} });
    await page.goto(`${zkts.base}/console/#/`);
    await page.fill('#search', 'conf');
    await page.press('#search', 'Enter');
    await expect
      .poll(() => page.locator('#search-results a').allTextContents())
      .toEqual(['/app/config', '/zookeeper/config']);
    expect(await page.locator('#search-results li').allTextContents()).toEqual([
      '/app/config',
      '/zookeeper/config',
    ]);
    await page.click('.tabs button[data-tab="watches"]');
    await expect.poll(() => page.locator('#watches tr', { hasText: '/app/config' }).count(), WAIT).toBe(1);
    await page.click('.tabs button[data-tab="ensemble"]');
    await expect.poll(() => page.locator('#ensemble').textContent(), WAIT).toContain('standalone');
    const load = setInterval(() => void zk.getData('/app').catch(() => {}), 20);
    try {
      await page.click('.tabs button[data-tab="charts"]');
      await page.waitForTimeout(3500);
    } finally {
      clearInterval(load);
    }
    // The throughput chart drew something other than a blank canvas.
    const inked = await page.evaluate(`(() => {
      const c = document.getElementById('chart-throughput');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    })()`);
    expect(inked).toBeGreaterThan(100);
    await page.screenshot({ path: join(ARTIFACTS, 'console-charts.png') });
  });

  it('tells null data from empty data, in the node API and on the page', async () => {
    await zk.create('/null-data', null);
    await zk.create('/empty-data', '');
    const node = async (path: string) =>
      (await getJson(`${zkts.base}/console/api/node?path=${path}`)).body as {
        nullData: boolean;
        hex: string;
      };
    expect(await node('/null-data')).toMatchObject({ nullData: true, hex: '' });
    expect(await node('/empty-data')).toMatchObject({ nullData: false, hex: '' });
    await page.goto(`${zkts.base}/console/#/null-data`);
    await expect.poll(() => page.locator('#node-data').textContent(), WAIT).toBe('(null data)');
    await page.goto(`${zkts.base}/console/#/empty-data`);
    await expect.poll(() => page.locator('#node-path').textContent(), WAIT).toBe('/empty-data');
    await expect.poll(() => page.locator('#node-data').textContent(), WAIT).toBe('');
  });

  it('answers bad console requests with JSON errors, and is off with admin.console.enabled=false', async () => {
    expect(await getJson(`${zkts.base}/console/api/node?path=/nope`)).toEqual({
      status: 404,
      type: 'application/json; charset=utf-8',
      body: { error: 'KeeperErrorCode = NoNode for /nope', code: 'NoNode' },
    });
    expect((await getJson(`${zkts.base}/console/api/node?path=relative`)).status).toBe(400);
    expect((await getJson(`${zkts.base}/console/api/nothing`)).status).toBe(404);
    const crossSite = await fetch(`${zkts.base}/console/api/write`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ op: 'delete', path: '/app/config' }),
    });
    expect(crossSite.status).toBe(403);
    expect(await zk.exists('/app/config')).not.toBeNull();
    const off = await startZkts({ 'admin.console.enabled': 'false' });
    try {
      expect((await fetch(`${off.base}/console/`)).status).toBe(404);
      expect((await getJson(`${off.base}/commands/ruok`)).body).toEqual({ command: 'ruok', error: null });
    } finally {
      await off.stop();
    }
  });
});
