import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const SHELL_DIR = join(here, '..');
export const MAIN = join(SHELL_DIR, 'src', 'main.ts');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs zkts-shell from its sources (no build needed) with `args`, feeding `input` on stdin. */
export function runShell(args: string[], input = '', timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn('pnpm', ['exec', 'tsx', '--conditions=@zkts/source', MAIN, ...args], {
      cwd: SHELL_DIR,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** Masks what legitimately differs between two runs: times, zxids, session ids; drops JVM logging. */
export function normalize(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('SLF4J:'))
    .map((l) =>
      l
        .replace(/^(ctime|mtime) = .*$/, '$1 = <time>')
        .replace(/^(cZxid|mZxid|pZxid) = 0x[0-9a-f]+$/, '$1 = <zxid>')
        .replace(/^ephemeralOwner = 0x[0-9a-f]+$/, (m) =>
          m.endsWith('= 0x0') ? m : 'ephemeralOwner = <session>',
        ),
    );
}
