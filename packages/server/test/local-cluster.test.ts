/**
 * `zkts-server --local-cluster N`: refuses bad arguments with a message and exit code 2; runs a
 * development ensemble of N member processes that elect a leader and serve, and stops them all.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fourLetterWord, waitFor } from '@zkts/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const PACKAGE_DIR = resolve(here, '..');
const MAIN = resolve(here, '../../../apps/server/src/main.ts');
const dirs: string[] = [];

function run(args: string[], cwd: string) {
  const child = spawn(process.execPath, ['--conditions=@zkts/source', '--import', 'tsx', MAIN, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('zkts-server --local-cluster', () => {
  it.each([
    [['--local-cluster', 'three'], /member count from 1 to 9/],
    [['--local-cluster', '12'], /member count from 1 to 9/],
    [['--local-cluster', '3', '--base-port', '80'], /leaves no room/],
    [['--local-cluster', '3', '--colour', 'blue'], /unexpected argument "--colour"/],
  ])('refuses %j with exit code 2', async (args, message) => {
    const p = run(args, PACKAGE_DIR);
    expect(await p.exited).toBe(2);
    expect(p.err()).toMatch(message);
  });

  it('runs three members that elect a leader and serve, each with its data under one folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zkts-local-cluster-'));
    dirs.push(dir);
    // Ports base..base+2 for clients and base+700+10i / base+1700+10i for the quorum: a block per run.
    const base = 15_000 + (process.pid % 500) * 20;
    const p = run(
      ['--local-cluster', '3', '--dir', join(dir, 'cluster'), '--base-port', String(base)],
      PACKAGE_DIR,
    );
    try {
      await waitFor(async () => p.out().includes('connect string:'), 30_000, 'the cluster to start');
      expect(p.out()).toContain(
        `connect string: 127.0.0.1:${base},127.0.0.1:${base + 1},127.0.0.1:${base + 2}`,
      );
      const modes = async () =>
        Promise.all(
          [0, 1, 2].map(
            async (i) => /Mode: (\w+)/.exec(await fourLetterWord(base + i, 'srvr').catch(() => ''))?.[1],
          ),
        );
      // The first two members up may elect before the third has started; it then joins them.
      await waitFor(
        async () => (await modes()).every((m) => m !== undefined),
        60_000,
        'every member serving',
      );
      expect((await modes()).sort()).toEqual(['follower', 'follower', 'leader']);
      expect((await readdir(join(dir, 'cluster'))).sort()).toEqual(['server1', 'server2', 'server3']);
      expect((await readdir(join(dir, 'cluster', 'server2'))).sort()).toEqual(
        expect.arrayContaining(['myid', 'server.log', 'zoo.cfg']),
      );
    } finally {
      p.child.kill('SIGTERM');
    }
    expect(await p.exited).toBe(0);
    // Every member stopped with it.
    await waitFor(
      async () =>
        (
          await Promise.all(
            [0, 1, 2].map((i) =>
              fourLetterWord(base + i, 'ruok').then(
                () => 1,
                () => 0,
              ),
            ),
          )
        ).every((x) => x === 0),
      10_000,
      'the members to stop',
    );
  }, 120_000);
});
