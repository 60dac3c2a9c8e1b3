import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ensembleConfigText, tempDir, waitUntil } from './helpers.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const pkgDir = join(here, '..');

interface Proc {
  readonly id: number;
  readonly child: ChildProcess;
  role: { state: string; leader: string; serving: boolean } | undefined;
  readonly replies: string[];
  stderr: string;
  exited: boolean;
}

function spawnMember(cfgPath: string, id: number, dataDir: string): Proc {
  const child = spawn(
    'pnpm',
    ['exec', 'tsx', '--conditions=@zkts/source', 'test/fixtures/member.ts', cfgPath, String(id), dataDir],
    // Its own process group: pnpm, tsx and node die together on SIGKILL.
    { cwd: pkgDir, stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );
  const p: Proc = { id, child, role: undefined, replies: [], stderr: '', exited: false };
  let buf = '';
  child.stdout?.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
      const m = /^ROLE (\S+) (\S+) (\S+)$/.exec(line);
      if (m !== null) p.role = { state: m[1] as string, leader: m[2] as string, serving: m[3] === 'true' };
      else p.replies.push(line);
    }
  });
  child.stderr?.on('data', (c: Buffer) => {
    p.stderr = (p.stderr + c.toString('utf8')).slice(-20_000);
  });
  child.on('exit', () => {
    p.exited = true;
  });
  return p;
}

function killGroup(p: Proc): void {
  try {
    process.kill(-(p.child.pid as number), 'SIGKILL');
  } catch {
    // already gone
  }
}

function settled(procs: readonly Proc[]): string | undefined {
  const leaders = procs.filter((p) => p.role?.state === 'LEADING' && p.role.serving);
  if (leaders.length !== 1) return undefined;
  const leader = String((leaders[0] as Proc).id);
  return procs.every((p) => p.role?.serving === true && p.role.leader === leader) ? leader : undefined;
}

async function ask(p: Proc, command: string, prefix: string, timeoutMs = 30_000): Promise<string> {
  const start = p.replies.length;
  p.child.stdin?.write(`${command}\n`);
  let found: string | undefined;
  await waitUntil(
    `${command} on member ${p.id}`,
    () => {
      found = p.replies.slice(start).find((l) => l.startsWith(prefix) || l.startsWith('FAILED'));
      return found !== undefined;
    },
    timeoutMs,
  );
  if ((found as string).startsWith('FAILED')) throw new Error(`member ${p.id}: ${found}`);
  return (found as string).slice(prefix.length + 1);
}

async function submit(p: Proc, count: number, prefix: string): Promise<Array<[string, string]>> {
  return JSON.parse(await ask(p, `submit ${count} ${prefix}`, 'ACKED')) as Array<[string, string]>;
}

async function history(p: Proc): Promise<string[]> {
  return JSON.parse(await ask(p, 'history', 'HISTORY')) as string[];
}

describe('three member processes', () => {
  const procs: Proc[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const p of procs) killGroup(p);
    for (const c of cleanups) await c().catch(() => {});
  });

  it('SIGKILL of the leader: the survivors go on, the restarted process catches up, nothing acknowledged is lost', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const cfgPath = join(dir.path, 'zoo.cfg');
    await writeFile(cfgPath, await ensembleConfigText(3));
    const dataDir = (id: number) => join(dir.path, `data${id}`);
    for (const id of [1, 2, 3]) procs.push(spawnMember(cfgPath, id, dataDir(id)));
    const live = () => procs.filter((p) => !p.exited);
    const describeAll = () =>
      procs.map((p) => `${p.id}: ${JSON.stringify(p.role)}\n${p.stderr.slice(-2000)}`).join('\n');

    await waitUntil(
      'three processes settle',
      () => live().length === 3 && settled(live()) !== undefined,
      45_000,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${describeAll()}`);
    });
    const leader1 = Number(settled(live()));
    const acked: Array<[string, string]> = [];
    const writes = await Promise.all(live().map((p) => submit(p, 200, `p${p.id}`)));
    for (const w of writes) acked.push(...w);
    expect(acked).toHaveLength(600);

    // The followers keep writing while the leader's process is killed.
    const old = procs.find((p) => p.id === leader1) as Proc;
    const during = live()
      .filter((p) => p !== old)
      .map((p) => submit(p, 600, `k${p.id}`));
    await new Promise((r) => setTimeout(r, 100));
    killGroup(old);
    await waitUntil('the leader process is gone', () => old.exited);
    await waitUntil(
      'the survivors settle',
      () => {
        const s = settled(live());
        return s !== undefined && Number(s) !== leader1;
      },
      45_000,
    );
    for (const w of await Promise.all(during)) acked.push(...w);
    // The kill landed in the middle of those writes: some were refused by the failover and retried.
    expect(live().some((p) => p.stderr.includes('retry k'))).toBe(true);
    for (const w of await Promise.all(live().map((p) => submit(p, 100, `q${p.id}`)))) acked.push(...w);

    const restarted = spawnMember(cfgPath, leader1, dataDir(leader1));
    procs[procs.indexOf(old)] = restarted;
    await waitUntil(
      'the old leader rejoins',
      () => settled(live()) !== undefined && live().length === 3,
      45_000,
    );
    expect(restarted.role?.state).toBe('FOLLOWING');
    for (const w of await Promise.all(live().map((p) => submit(p, 20, `r${p.id}`)))) acked.push(...w);

    // Same history everywhere once every member has applied the last acknowledged txn.
    const top = acked.map(([z]) => BigInt(`0x${z}`)).reduce((a, b) => (b > a ? b : a), 0n);
    let hs: string[][] = [];
    const end = Date.now() + 20_000;
    for (;;) {
      hs = await Promise.all(live().map((p) => history(p)));
      const tops = hs.map((h) => BigInt(`0x${(h[h.length - 1] ?? '0:').split(':')[0]}`));
      if (tops.every((t) => t >= top) || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const first = hs[0] as string[];
    expect(first.length).toBeGreaterThanOrEqual(acked.length);
    for (const h of hs) expect(h).toEqual(first);
    const set = new Set(first);
    for (const [z, payload] of acked) expect(set.has(`${z}:${payload}`)).toBe(true);
  }, 120_000);
});
