// Runs apps/server/dist/main.js: `pnpm build` first (the README test command does).
import { describe, expect, it } from 'vitest';
import { ZktsCluster } from '../src/index.js';
import { expectSafeSeededRun } from './seeded-run.js';

describe('ZktsCluster: three zkts members with proxied peer links', () => {
  it('a leader cut off from its peers stops serving; the others elect a new one; healing brings it back', async () => {
    const cluster = await ZktsCluster.start();
    const eventually = async (probe: () => Promise<boolean>, what: string) => {
      const deadline = Date.now() + 30_000;
      while (!(await probe())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      const old = (await cluster.leader())!;
      expect(old).toBeDefined();
      for (const o of cluster.members.filter((m) => m !== old)) {
        await cluster.cut(old, o);
        await cluster.cut(o, old);
      }
      await eventually(async () => (await cluster.mode(old)) === undefined, `member ${old} to stop serving`);
      await eventually(async () => ![undefined, old].includes(await cluster.leader()), 'a new leader');
      await cluster.healAll();
      await cluster.waitServing(old, 30_000);
      expect(await cluster.mode(old)).toBe('follower');
    } finally {
      await cluster.close();
    }
  }, 120_000);
});

describe('Jepsen: zkts, three members', () => {
  it('stays linearizable and loses no acknowledged write under kills, pauses and partitions', async () => {
    await expectSafeSeededRun(() => ZktsCluster.start(), 'test/zkts.jepsen.test.ts');
  }, 120_000);
});
