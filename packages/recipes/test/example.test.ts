import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZkts, type Target } from './targets.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('examples/lock-counter.ts', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startZkts();
  });
  afterAll(async () => {
    await target?.stop();
  });

  it('runs: 10 workers decrement 500 to 490 one at a time', async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(
        'pnpm',
        ['exec', 'tsx', '--conditions=@zkts/source', 'examples/lock-counter.ts', target.connectString],
        { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.on('close', (c) => resolve({ code: c, stdout: out }));
    });
    const values = [...stdout.matchAll(/worker-\d+ n=(\d+)/g)].map((m) => Number(m[1]));
    expect(values).toEqual([499, 498, 497, 496, 495, 494, 493, 492, 491, 490]);
    expect(stdout).toContain('final n=490');
    expect(code).toBe(0);
  });
});
