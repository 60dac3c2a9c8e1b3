import { expect } from 'vitest';
import { type Cluster, runJepsen, seedFromEnv } from '../src/index.js';

/**
 * One seeded 20 s Jepsen run against a freshly started cluster: linearizable writes, no lost
 * acknowledged write, enough writes and faults for that to mean something.
 */
export async function expectSafeSeededRun(start: () => Promise<Cluster>, testFile: string): Promise<void> {
  const seed = seedFromEnv();
  console.log(`Jepsen seed ${seed} (replay: ZKTS_JEPSEN_SEED=${seed})`);
  const cluster = await start();
  try {
    const result = await runJepsen({
      cluster,
      seed,
      durationMs: 20_000,
      clients: 6,
      keys: 4,
      replayCommand: `pnpm exec vitest run --project jepsen ${testFile}`,
      log: (line) => console.log(line),
    });
    console.log(
      `${result.ops} operations ${JSON.stringify(result.counts)}, checked in ${result.checkMs.toFixed(0)} ms: ${result.verdict.message}`,
    );
    expect(result.verdict.valid).toBe(true);
    expect(result.verdict.lostWrites.lost).toEqual([]);
    expect(result.counts['write:ok'] + result.counts['cas:ok']).toBeGreaterThan(50);
    expect(result.schedule.faults.length).toBeGreaterThan(0);
  } finally {
    await cluster.close();
  }
}
