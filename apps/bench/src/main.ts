#!/usr/bin/env node
/**
 * Benchmark runner: `pnpm --filter @zkts/bench run bench <name> [args]`.
 * Each benchmark is a module in this folder exporting `run(args)`; results print as a table.
 */
const benches: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  client: () => import('./client.js'),
  codec: () => import('./codec.js'),
  election: () => import('./election.js'),
  ensemble: () => import('./ensemble.js'),
  persistence: () => import('./persistence.js'),
  'profile-summary': () => import('./profile-summary.js'),
  server: () => import('./server.js'),
  tree: () => import('./tree.js'),
  zab: () => import('./zab.js'),
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const load = name === undefined ? undefined : benches[name];
  if (load === undefined) {
    process.stdout.write(
      `usage: bench <name> [args]\nbenchmarks: ${Object.keys(benches).join(', ') || '(none yet)'}\n`,
    );
    process.exitCode = name === undefined || name === '--help' ? 0 : 2;
    return;
  }
  const mod = await load();
  await mod.run(args);
}

await main();
