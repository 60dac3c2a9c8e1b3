/**
 * Crash safety of the real `zkts-server` process: under write load from 8 sessions it is killed
 * with SIGKILL, restarted on the same zoo.cfg, and every write it acknowledged must be there.
 * Several rounds, each adding to the same data directory.
 *
 * The process runs from sources (tsx, the @zkts/source condition), so no build is needed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fourLetterWord, freePort, waitFor } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from './compat/raw-client.js';

const here = dirname(fileURLToPath(import.meta.url));
const PACKAGE_DIR = resolve(here, '..');
const MAIN = resolve(here, '../../../apps/server/src/main.ts');
const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const SESSIONS = 8;
const IN_FLIGHT = 16;
const ROUNDS = 3;

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  output: () => string;
}

async function startServer(cfgPath: string, port: number): Promise<Running> {
  const child = spawn(process.execPath, ['--conditions=@zkts/source', '--import', 'tsx', MAIN, cfgPath], {
    cwd: PACKAGE_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString('utf8')).slice(-32 * 1024);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let gone = false;
  const exited = new Promise<void>((r) =>
    child.on('exit', () => {
      gone = true;
      r();
    }),
  );
  try {
    await waitFor(
      async () => {
        if (gone) throw new Error('exited');
        return (await fourLetterWord(port, 'srvr', '127.0.0.1', 1000)).startsWith('Zookeeper version:');
      },
      30_000,
      `zkts-server on port ${port}`,
    );
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`zkts-server did not start: ${(e as Error).message}\n${out}`);
  }
  if (gone) throw new Error(`zkts-server exited at start:\n${out}`);
  return { child, exited, output: () => out };
}

describe('zkts-server process: SIGKILL under write load', () => {
  let dir: string;
  let cfgPath: string;
  let port: number;
  let server: Running | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zkts-restart-'));
    port = await freePort();
    cfgPath = join(dir, 'zoo.cfg');
    await writeFile(
      cfgPath,
      [
        'tickTime=2000',
        `dataDir=${join(dir, 'data')}`,
        `clientPort=${port}`,
        'clientPortAddress=127.0.0.1',
        '4lw.commands.whitelist=*',
        'admin.enableServer=false',
        // Small enough that snapshots are taken during the load too.
        'snapCount=500',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    server?.child.kill('SIGKILL');
    await server?.exited;
    await rm(dir, { recursive: true, force: true });
  });

  it(`keeps every acknowledged write across ${ROUNDS} crashes`, async () => {
    const ackedCreates = new Set<string>();
    /** Per session: the last acknowledged value of its counter node, and every value it sent. */
    const lastAckedValue = new Map<number, number>();
    let nextValue = 0;
    server = await startServer(cfgPath, port);
    {
      const c = await RawClient.connect(port);
      await c.request({ type: 'create', path: '/w', data: null, acl: OPEN, flags: 0 });
      for (let s = 0; s < SESSIONS; s++) {
        await c.request({ type: 'create', path: `/c${s}`, data: Buffer.from('-1'), acl: OPEN, flags: 0 });
      }
      c.destroy();
    }
    for (let round = 0; round < ROUNDS; round++) {
      const clients = await Promise.all(Array.from({ length: SESSIONS }, () => RawClient.connect(port)));
      let stop = false;
      let acks = 0;
      const load = clients.map(async (c, s) => {
        let seq = 0;
        const one = async (): Promise<void> => {
          while (!stop && !c.closed) {
            const k = seq++;
            if (k % 2 === 0) {
              const path = `/w/r${round}-s${s}-${k}`;
              const r = await c.request({
                type: 'create',
                path,
                data: Buffer.alloc(100, k),
                acl: OPEN,
                flags: 0,
              });
              if (r.header.err === 0 && !c.closed) {
                ackedCreates.add(path);
                acks++;
              }
            } else {
              const v = nextValue++;
              const r = await c.request({
                type: 'setData',
                path: `/c${s}`,
                data: Buffer.from(String(v)),
                version: -1,
              });
              if (r.header.err === 0 && !c.closed) {
                // Replies of one session arrive in order: a later ack means a later value.
                lastAckedValue.set(s, Math.max(lastAckedValue.get(s) ?? -1, v));
                acks++;
              }
            }
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, one));
      });
      // Let the load run, then crash the server in the middle of it.
      await waitFor(async () => acks >= 300, 30_000, 'write acknowledgements');
      await new Promise((r) => setTimeout(r, 50 + round * 40));
      server.child.kill('SIGKILL');
      await server.exited;
      stop = true;
      await Promise.all(load);
      for (const c of clients) c.destroy();

      server = await startServer(cfgPath, port);
      const check = await RawClient.connect(port);
      const kids = await check.request({ type: 'getChildren', path: '/w', watch: false });
      expect(kids.header.err).toBe(0);
      const present = new Set((kids.response?.children ?? []).map((k) => `/w/${k}`));
      const missing = [...ackedCreates].filter((p) => !present.has(p));
      expect({ round, missing: missing.slice(0, 5), count: missing.length }).toEqual({
        round,
        missing: [],
        count: 0,
      });
      for (let s = 0; s < SESSIONS; s++) {
        const r = await check.request({ type: 'getData', path: `/c${s}`, watch: false });
        expect(r.header.err).toBe(0);
        const v = Number(Buffer.from(r.response?.data ?? []).toString());
        // An unacknowledged write may have become durable too; never an older value than the last ack.
        expect(v).toBeGreaterThanOrEqual(lastAckedValue.get(s) ?? -1);
        expect(v).toBeLessThan(nextValue);
      }
      check.destroy();
    }
    expect(ackedCreates.size).toBeGreaterThan(ROUNDS * 100);
  }, 120_000);
});
