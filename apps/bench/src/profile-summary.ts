/**
 * Summarises a V8 CPU profile (`node --cpu-prof` writes one `.cpuprofile` per process on exit):
 * self time aggregated by function (name + file + line) and by package, highest first.
 *
 *   pnpm --filter @zkts/bench run bench profile-summary <file.cpuprofile> [--top 15] [--callers 0]
 *
 * Self time is the sum of the sampling intervals that ended in the function itself (not its
 * callees). `(garbage collector)` and `(program)` (V8 and native code outside JavaScript) are
 * V8's own entries (package `v8`); `(idle)` is left out of the tables and of `% busy`. Native
 * functions (a binding such as `writeBuffer`, also package `v8`) are told apart by their callers:
 * `--callers N` lists the N callers with most of each top function's self time.
 */
import { readFileSync } from 'node:fs';
import { option } from './load.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  /** Function name (`(anonymous)` when it has none) and `file:line`, or a V8 entry like `(program)`. */
  name: string;
  where: string;
  /** `@zkts/server`, `node:net`, `pino`, ... or `v8` for V8's own entries. */
  pkg: string;
  ms: number;
  /** The functions that called it, `name (file:line)`, with the self time spent under each. */
  callers: Map<string, number>;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  /** Every function but `(idle)`, most self time first. */
  functions: SelfTime[];
  packages: Array<{ pkg: string; ms: number }>;
}

/** The package a script URL belongs to: a workspace package, a dependency, or a Node.js module. */
export function packageOf(url: string): string {
  if (url === '') return 'v8';
  if (url.startsWith('node:'))
    return `node:${url.slice(5).split('/')[0] === 'internal' ? 'internal' : url.slice(5)}`;
  const path = url.replace(/^file:\/\//, '');
  const dep = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (dep?.[1] !== undefined && !dep[1].startsWith('@zkts/')) return dep[1];
  const ws = /\/(packages|apps)\/([^/]+)\//.exec(path);
  if (ws?.[2] !== undefined) return ws[1] === 'packages' ? `@zkts/${ws[2]}` : `apps/${ws[2]}`;
  return path;
}

/** `file:line` relative to the workspace (`packages/server/dist/server.js:120`), or the module name. */
function whereOf(frame: CallFrame): string {
  if (frame.url === '') return '';
  const path = frame.url.replace(/^file:\/\//, '');
  const ws = /\/((?:packages|apps)\/.*)$/.exec(path);
  const dep = /.*\/node_modules\/(.*)$/.exec(path);
  const short = ws?.[1] ?? dep?.[1] ?? path;
  return `${short}:${frame.lineNumber + 1}`;
}

export function summarise(profile: CpuProfile): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time between sample i-1 and sample i; it is charged to sample i.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i] ?? 0));
  }
  const fns = new Map<string, SelfTime>();
  const pkgs = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    totalUs += us;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = frame.functionName || '(anonymous)';
    const where = whereOf(frame);
    const key = `${name}\t${where}`;
    const pkg = packageOf(frame.url);
    const f = fns.get(key) ?? { name, where, pkg, ms: 0, callers: new Map<string, number>() };
    f.ms += us / 1000;
    fns.set(key, f);
    const up = byId.get(parent.get(id) ?? -1)?.callFrame;
    const caller = up === undefined ? '(root)' : `${up.functionName || '(anonymous)'} (${whereOf(up)})`;
    f.callers.set(caller, (f.callers.get(caller) ?? 0) + us / 1000);
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us / 1000);
  }
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    functions: [...fns.values()].sort((a, b) => b.ms - a.ms),
    packages: [...pkgs.entries()].map(([pkg, ms]) => ({ pkg, ms })).sort((a, b) => b.ms - a.ms),
  };
}

export function readProfile(file: string): CpuProfile {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  if (!Array.isArray(p.nodes) || !Array.isArray(p.samples) || !Array.isArray(p.timeDeltas)) {
    throw new Error(`${file} is not a V8 CPU profile (.cpuprofile)`);
  }
  return p;
}

/** A tab-separated report: top `top` functions by self time, then every package. */
export function formatSummary(s: ProfileSummary, top: number, callers = 0): string {
  const busy = s.totalMs - s.idleMs;
  const pct = (ms: number, of: number) => (of > 0 ? ((ms * 100) / of).toFixed(1) : '-');
  const lines = [
    `profiled ${(s.totalMs / 1000).toFixed(1)} s, busy (not idle) ${(busy / 1000).toFixed(1)} s`,
    ['rank', 'self ms', '% busy', 'function', 'package', 'file:line'].join('\t'),
  ];
  for (const [i, f] of s.functions.slice(0, top).entries()) {
    lines.push([i + 1, f.ms.toFixed(0), pct(f.ms, busy), f.name, f.pkg, f.where].join('\t'));
    const by = [...f.callers.entries()].sort((a, b) => b[1] - a[1]).slice(0, callers);
    for (const [c, ms] of by) lines.push(['', ms.toFixed(0), pct(ms, busy), `  <- ${c}`].join('\t'));
  }
  lines.push('', ['self ms', '% busy', 'package'].join('\t'));
  for (const p of s.packages) lines.push([p.ms.toFixed(0), pct(p.ms, busy), p.pkg].join('\t'));
  return `${lines.join('\n')}\n`;
}

export async function run(args: string[]): Promise<void> {
  const file = args.find(
    (a, i) => !a.startsWith('--') && !['--top', '--callers'].includes(args[i - 1] ?? ''),
  );
  if (file === undefined) {
    throw new Error('usage: bench profile-summary <file.cpuprofile> [--top 15] [--callers 0]');
  }
  const callers = args.includes('--callers') ? option(args, '--callers', 3) : 0;
  process.stdout.write(formatSummary(summarise(readProfile(file)), option(args, '--top', 15), callers));
}
