import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApacheCluster } from '../src/index.js';

/** Polls `probe` until it returns true or `ms` pass. */
async function eventually(probe: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('ApacheCluster: three Apache ZooKeeper members with proxied peer links', () => {
  let cluster: ApacheCluster;
  beforeAll(async () => {
    cluster = await ApacheCluster.start();
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('forms a quorum through the proxies', async () => {
    const modes = await Promise.all(cluster.members.map((id) => cluster.mode(id)));
    expect(modes.filter((m) => m === 'leader')).toHaveLength(1);
    expect(modes.filter((m) => m === 'follower')).toHaveLength(2);
    const stats = cluster.linkStats();
    expect(Object.values(stats).some((s) => s.quorum.bytesForwarded > 0)).toBe(true);
  });

  it('a leader cut off from its peers stops serving; the others elect a new one; healing brings it back', async () => {
    const old = (await cluster.leader())!;
    expect(old).toBeDefined();
    const others = cluster.members.filter((m) => m !== old);
    for (const o of others) {
      await cluster.cut(old, o);
      await cluster.cut(o, old);
    }
    await eventually(
      async () => (await cluster.mode(old)) === undefined,
      60_000,
      `member ${old} to stop serving`,
    );
    await eventually(
      async () => {
        const l = await cluster.leader();
        return l !== undefined && l !== old;
      },
      60_000,
      'a new leader among the others',
    );
    await cluster.healAll();
    await cluster.waitServing(old, 60_000);
    expect(await cluster.mode(old)).toBe('follower');
  }, 200_000);

  it('kill -9 and restart, SIGSTOP and SIGCONT of a member', async () => {
    const victim = cluster.members[0]!;
    await cluster.kill(victim);
    expect(await cluster.mode(victim)).toBeUndefined();
    await cluster.restart(victim);
    await cluster.waitServing(victim, 60_000);
    await cluster.pause(victim);
    expect(await cluster.mode(victim)).toBeUndefined();
    await cluster.resume(victim);
    await cluster.waitServing(victim, 60_000);
  }, 120_000);
});
