import { describe, expect, it } from 'vitest';
import { ApacheCluster, runJepsen, seedFromEnv } from '../src/index.js';

describe('Jepsen: Apache ZooKeeper 3.8, three members', () => {
  it('stays linearizable and loses no acknowledged write under kills, pauses and partitions', async () => {
    const seed = seedFromEnv();
    console.log(`Jepsen seed ${seed} (replay: ZKTS_JEPSEN_SEED=${seed})`);
    const cluster = await ApacheCluster.start();
    try {
      const result = await runJepsen({
        cluster,
        seed,
        durationMs: 20_000,
        clients: 6,
        keys: 4,
        replayCommand: 'pnpm exec vitest run --project jepsen test/apache.jepsen.test.ts',
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
  }, 120_000);
});
