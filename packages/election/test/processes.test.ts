import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@zkts/testkit';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The notes' scenario with three real processes on 127.0.0.1: servers 1 and 2 start and elect 2;
 * server 3 starts later and follows 2; the leader is killed (SIGKILL) and the survivors elect 3.
 * Each child runs src/cli.ts through tsx, resolving workspace packages to their sources.
 */

const PKG = join(import.meta.dirname, '..');

interface Child {
  proc: ChildProcess;
  out: string;
  decisions: string[];
}

const children: Child[] = [];
let dir: string | undefined;

afterAll(async () => {
  for (const c of children) c.proc.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

function startServer(cfg: string, myId: number): Child {
  const proc = spawn(
    process.execPath,
    ['--conditions=@zkts/source', '--import', 'tsx', 'src/cli.ts', cfg, '--myid', String(myId)],
    { cwd: PKG, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const child: Child = { proc, out: '', decisions: [] };
  const take = (b: Buffer) => {
    child.out += b.toString('utf8');
    for (const line of b.toString('utf8').split('\n'))
      if (line.startsWith('DECIDED ')) child.decisions.push(line);
  };
  proc.stdout?.on('data', take);
  proc.stderr?.on('data', (b: Buffer) => {
    child.out += b.toString('utf8');
  });
  children.push(child);
  return child;
}

async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) {
      throw new Error(
        `timed out waiting for ${what}\n${children.map((c, i) => `--- child ${i}\n${c.out}`).join('\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

const last = (c: Child) => c.decisions[c.decisions.length - 1] ?? '';

describe('three election processes on 127.0.0.1', () => {
  it('elects 2 from {1,2}, 3 follows 2, and after SIGKILL of 2 the survivors elect 3', async () => {
    dir = await mkdtemp(join(tmpdir(), 'zkts-election-'));
    const lines = ['tickTime=200', 'initLimit=10', 'syncLimit=5', `dataDir=${dir}`];
    for (const sid of [1, 2, 3])
      lines.push(`server.${sid}=127.0.0.1:${await freePort()}:${await freePort()}`);
    const cfg = join(dir, 'zoo.cfg');
    await writeFile(cfg, `${lines.join('\n')}\n`);

    const s1 = startServer(cfg, 1);
    const s2 = startServer(cfg, 2);
    await until('1 and 2 to decide', () => s1.decisions.length > 0 && s2.decisions.length > 0);
    expect(last(s2)).toMatch(/^DECIDED LEADING leader=2 round=0x1 /);
    expect(last(s1)).toMatch(/^DECIDED FOLLOWING leader=2 round=0x1 /);
    expect(s1.out).toContain('New election. My id = 1, proposed zxid=0x0');

    const s3 = startServer(cfg, 3);
    await until('3 to decide', () => s3.decisions.length > 0);
    expect(last(s3)).toMatch(/^DECIDED FOLLOWING leader=2 round=0x1 /);
    expect(s3.out).toContain('New election. My id = 3, proposed zxid=0x0');
    expect(s3.out).toMatch(
      /Notification: 1 \(message format version\), 2 \(n\.leader\), 0x0 \(n\.zxid\), 0x1 \(n\.round\), LEADING \(n\.state\), 2 \(n\.sid\), 0x0 \(n\.peerEpoch\) LOOKING \(my state\)/,
    );
    expect(s3.out).toMatch(/\[myid:3\] - INFO {2}- FOLLOWING/);

    const before1 = s1.decisions.length;
    const before3 = s3.decisions.length;
    s2.proc.kill('SIGKILL');
    await until('a new leader', () => s1.decisions.length > before1 && s3.decisions.length > before3);
    expect(last(s3)).toMatch(/^DECIDED LEADING leader=3 /);
    expect(last(s1)).toMatch(/^DECIDED FOLLOWING leader=3 /);
    expect(s1.out).toContain('Connection to leader 2 closed: looking again');
  }, 60_000);
});
