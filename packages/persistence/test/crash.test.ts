import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, openRecovered, payloadFor, tempDir } from './helpers.js';

/**
 * Crash tests with real processes: a child appends under load and is killed with SIGKILL at a
 * random moment; every append it reported as resolved must be recovered, in order, intact.
 */
const here = dirname(fileURLToPath(import.meta.url));
const SEEDS = Number(process.env.PERSISTENCE_CRASH_SEEDS ?? 24);
const ROUNDS = 2;

let work: { dir: string; cleanup: () => Promise<void> };
const children = new Set<ChildProcess>();
let libDir: string;

/** Compiles the package sources to plain JS for the child (no build step needed). */
async function compileSources(outDir: string): Promise<void> {
  const srcDir = join(here, '..', 'src');
  await mkdir(outDir, { recursive: true });
  for (const name of await readdir(srcDir)) {
    if (!name.endsWith('.ts')) continue;
    const source = await readFile(join(srcDir, name), 'utf8');
    const out = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: name,
    });
    await writeFile(join(outDir, name.replace(/\.ts$/, '.js')), out.outputText);
  }
  await writeFile(join(outDir, 'package.json'), '{"type":"module"}');
}

interface ChildRun {
  acked: bigint[];
  startedFrom: bigint;
  stderr: string;
}

function runAndKill(dataDir: string, seed: number, killAfterMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'crash-child.mjs'), libDir, dataDir, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    let out = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      if (timer === undefined && out.includes('READY')) {
        timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`child exited with ${code}/${signal} before the kill: ${stderr}`));
        return;
      }
      const lines = out.split('\n');
      const ready = lines.find((l) => l.startsWith('READY '));
      if (ready === undefined) {
        reject(new Error(`child never got ready: ${stderr}`));
        return;
      }
      const acked = lines
        .filter((l) => l.startsWith('A ') && l.length > 2)
        .map((l) => BigInt(`0x${l.slice(2)}`));
      resolve({ acked, startedFrom: BigInt(`0x${ready.slice(6)}`), stderr });
    });
  });
}

const sizeOf = (zxid: bigint): number => 1 + (Number(zxid % 997n) % 400);

beforeAll(async () => {
  work = await tempDir();
  libDir = join(work.dir, 'lib');
  await compileSources(libDir);
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await work.cleanup();
});

describe('SIGKILL crash tests with real processes', () => {
  it.each(Array.from({ length: SEEDS }, (_, i) => i + 1))('seed %i', { timeout: 60_000 }, async (seed) => {
    const random = mulberry32(seed * 7919);
    const dataDir = join(work.dir, `data-${seed}`);
    let everAcked = 0n;
    let totalAcked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const run = await runAndKill(dataDir, seed * 100 + round, 80 + Math.floor(random() * 300));
      totalAcked += run.acked.length;
      expect(run.startedFrom).toBeGreaterThanOrEqual(everAcked);
      for (const z of run.acked) if (z > everAcked) everAcked = z;
      const r = await openRecovered({ dataDir, logger: { info() {}, warn() {} } });
      const got = r.txns.map((t) => t.zxid);
      const base = r.snapshot?.zxid ?? 0n;
      // a contiguous history: the snapshot, then every txn after it, each intact
      if (got.length > 0) expect(got[0]).toBe(base + 1n);
      for (let i = 1; i < got.length; i++) expect(got[i]).toBe(got[i - 1]! + 1n);
      for (const t of r.txns) expect(t.payload).toEqual(payloadFor(t.zxid, sizeOf(t.zxid)));
      // every append that resolved is there
      expect(r.result.lastZxid).toBeGreaterThanOrEqual(everAcked);
      await r.store.close();
    }
    expect(totalAcked).toBeGreaterThan(0);
  });
});

describe('a process whose last work is a snapshot', () => {
  it(
    'stays alive until the snapshot written on the worker thread is complete',
    { timeout: 60_000 },
    async () => {
      const dataDir = join(work.dir, 'last-work');
      // 64 chunks of 256 KiB: many buffers through the worker thread, then nothing else to do.
      const script = `
      import { pathToFileURL } from 'node:url';
      const { TxnSnapStore } = await import(pathToFileURL(${JSON.stringify(`${libDir}/index.js`)}).href);
      const store = await TxnSnapStore.open({ dataDir: ${JSON.stringify(dataDir)} });
      await store.recover();
      const chunks = Array.from({ length: 64 }, (_, i) => new Uint8Array(256 * 1024).fill(i));
      store.writeSnapshot(9n, chunks).then(() => process.stdout.write('written\\n'));
    `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      children.delete(child);
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(out).toBe('written\n');
      const r = await openRecovered({ dataDir });
      expect(r.snapshot?.zxid).toBe(9n);
      expect(r.snapshot?.chunks.length).toBe(64);
      expect(r.snapshot?.chunks[63]).toEqual(new Uint8Array(256 * 1024).fill(63));
      await r.store.close();
    },
  );
});
