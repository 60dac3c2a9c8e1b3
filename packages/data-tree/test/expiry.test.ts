import { CreateMode, ErrorCode } from '@zkts/codec';
import { describe, expect, it } from 'vitest';
import { Harness } from './harness.js';

describe('containers', () => {
  it('are not due before they ever had a child', () => {
    const h = new Harness();
    h.create('/c', '', CreateMode.CONTAINER);
    expect(h.tree.expiredNodes(h.time + 1_000_000n)).toEqual([]);
  });

  it('are due once they had a child and have none', () => {
    const h = new Harness();
    h.create('/c', '', CreateMode.CONTAINER);
    h.create('/c/x');
    expect(h.tree.expiredNodes(h.time)).toEqual([]);
    h.delete('/c/x');
    expect(h.tree.expiredNodes(h.time)).toEqual(['/c']);
  });

  it('are due unused after maxNeverUsedIntervalMs when that is set', () => {
    const h = new Harness();
    h.create('/c', '', CreateMode.CONTAINER);
    const t = h.time;
    expect(h.tree.expiredNodes(t + 500n, 1000)).toEqual([]);
    expect(h.tree.expiredNodes(t + 1001n, 1000)).toEqual(['/c']);
  });

  it('are removed by deleteContainer, which refuses a container with children (NotEmpty)', () => {
    const h = new Harness();
    h.create('/c', '', CreateMode.CONTAINER);
    h.create('/c/x');
    expect(h.run({ type: 'deleteContainer', path: '/c' }).err).toBe(ErrorCode.NotEmpty);
    h.delete('/c/x');
    const r = h.run({ type: 'deleteContainer', path: '/c' });
    expect(r.err).toBe(0);
    expect(h.tree.statNode('/c')).toBeUndefined();
    expect(h.tree.expiredNodes(h.time)).toEqual([]);
  });

  it('deleteContainer refuses session ephemerals with BadVersion, as ZooKeeper does', () => {
    const h = new Harness();
    h.session(1n);
    h.create('/e', '', CreateMode.EPHEMERAL);
    expect(h.run({ type: 'deleteContainer', path: '/e' }).err).toBe(ErrorCode.BadVersion);
  });
});

describe('TTL nodes', () => {
  it('are due when childless and unmodified for longer than their TTL', () => {
    const h = new Harness();
    h.create('/t', '', CreateMode.PERSISTENT_WITH_TTL, { ttl: 100 });
    const t = h.time;
    expect(h.tree.expiredNodes(t + 100n)).toEqual([]);
    expect(h.tree.expiredNodes(t + 101n)).toEqual(['/t']);
  });

  it('are kept alive by a setData (mtime) and by having children', () => {
    const h = new Harness();
    h.create('/t', '', CreateMode.PERSISTENT_WITH_TTL, { ttl: 100 });
    h.time += 90n;
    h.setData('/t', 'x');
    const t = h.time;
    expect(h.tree.expiredNodes(t + 50n)).toEqual([]);
    h.create('/t/child');
    expect(h.tree.expiredNodes(t + 10_000n)).toEqual([]);
  });

  it('are listed sorted with containers, sequential TTL nodes included', () => {
    const h = new Harness();
    h.create('/b', '', CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, { ttl: 1 });
    h.create('/a', '', CreateMode.CONTAINER);
    h.create('/a/x');
    h.delete('/a/x');
    expect(h.tree.expiredNodes(h.time + 10n)).toEqual(['/a', '/b0000000000']);
  });
});
