import { describe, it } from 'vitest';
import { ApacheCluster } from '../src/index.js';
import { expectSafeSeededRun } from './seeded-run.js';

describe('Jepsen: Apache ZooKeeper 3.8, three members', () => {
  it('stays linearizable and loses no acknowledged write under kills, pauses and partitions', async () => {
    await expectSafeSeededRun(() => ApacheCluster.start(), 'test/apache.jepsen.test.ts');
  }, 120_000);
});
