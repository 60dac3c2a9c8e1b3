import { CreateMode, ErrorCode } from '@zkts/codec';
import { describe, expect, it } from 'vitest';
import { type DataTreeOptions, quotaLimitPath, quotaStatPath, StatsTrack } from '../src/index.js';
import { dec, Harness } from './harness.js';

/** What `setquota` in zkCli does: the parent nodes under /zookeeper/quota, the limit node, then the stat node. */
function setQuota(h: Harness, path: string, limit: string) {
  let q = '/zookeeper/quota';
  for (const part of path.split('/').slice(1)) {
    q = `${q}/${part}`;
    h.create(q);
  }
  expect(h.create(quotaLimitPath(path), limit).err).toBe(0);
  expect(h.create(quotaStatPath(path), 'count=0,bytes=0').err).toBe(0);
}

function harness(options: DataTreeOptions = {}) {
  const h = new Harness(options);
  h.create('/app', '12345');
  h.create('/app/a', '123');
  return h;
}

describe('StatsTrack', () => {
  it('reads and writes ZooKeeper’s text form, extra keys after its odd "="', () => {
    const s = new StatsTrack('count=3,bytes=-1');
    expect(s.count).toBe(3);
    expect(s.bytes).toBe(-1);
    expect(s.countHardLimit).toBe(-1);
    s.countHardLimit = 10;
    s.byteHardLimit = 20;
    expect(s.toString()).toBe('count=3,bytes=-1=;byteHardLimit=20;countHardLimit=10');
    const back = new StatsTrack(s.toString());
    expect(back.countHardLimit).toBe(10);
    expect(back.byteHardLimit).toBe(20);
    expect(back.bytes).toBe(-1);
  });
});

describe('quotas (setquota / listquota / delquota)', () => {
  it('computes the usage of the subtree, the quota node included, when the stat node is created', () => {
    const h = harness();
    setQuota(h, '/app', 'count=5,bytes=100');
    const q = h.tree.listQuota('/app')!;
    expect(q.limit.count).toBe(5);
    expect(q.limit.bytes).toBe(100);
    expect(q.usage.count).toBe(2);
    expect(q.usage.bytes).toBe(8);
  });

  it('tracks creates, deletes and setData below the quota path without changing the stat node’s Stat', () => {
    const h = harness();
    setQuota(h, '/app', 'count=5,bytes=100');
    const statBefore = h.stat(quotaStatPath('/app'));
    h.create('/app/a/deep', '1234567');
    h.setData('/app/a', '1');
    h.delete('/app/a/deep');
    h.create('/app/b', '');
    const q = h.tree.listQuota('/app')!;
    expect(q.usage.count).toBe(3);
    expect(q.usage.bytes).toBe(6);
    expect(h.stat(quotaStatPath('/app'))).toEqual(statBefore);
    expect(dec(h.tree.getData(quotaStatPath('/app'), { authIds: [] }).data ?? new Uint8Array(0))).toBe(
      'count=3,bytes=6',
    );
  });

  it('uses the deepest quota on the path', () => {
    const h = harness();
    setQuota(h, '/app', 'count=50');
    setQuota(h, '/app/a', 'count=50');
    h.create('/app/a/x', 'zz');
    expect(h.tree.listQuota('/app/a')?.usage.count).toBe(2);
    expect(h.tree.listQuota('/app')?.usage.count).toBe(2);
    expect(h.tree.maxPrefixWithQuota('/app/a/x')).toBe('/app/a');
    expect(h.tree.maxPrefixWithQuota('/application')).toBeUndefined();
  });

  it('only logs soft limits (count, bytes): writes past them succeed', () => {
    const h = harness({ enforceQuota: true });
    setQuota(h, '/app', 'count=2,bytes=8');
    expect(h.create('/app/x', 'more bytes').err).toBe(0);
  });

  it('rejects writes past hard limits with QuotaExceeded when enforcement is on', () => {
    const h = harness({ enforceQuota: true });
    const limit = new StatsTrack();
    limit.countHardLimit = 3;
    limit.byteHardLimit = 12;
    setQuota(h, '/app', limit.toString());
    expect(h.create('/app/x', '1234').err).toBe(0);
    const r = h.create('/app/y');
    expect(r.err).toBe(ErrorCode.QuotaExceeded);
    expect(r.error?.path).toBe('/app');
    expect(h.setData('/app/x', '12345').err).toBe(ErrorCode.QuotaExceeded);
    expect(h.setData('/app/x', '1').err).toBe(0);
  });

  it('ignores hard limits when enforcement is off (the 3.8 default)', () => {
    const h = harness();
    const limit = new StatsTrack();
    limit.countHardLimit = 1;
    setQuota(h, '/app', limit.toString());
    expect(h.create('/app/x').err).toBe(0);
  });

  it('stops tracking when the limit node is deleted (delquota)', () => {
    const h = harness();
    setQuota(h, '/app', 'count=5');
    h.delete(quotaLimitPath('/app'));
    expect(h.tree.maxPrefixWithQuota('/app/a')).toBeUndefined();
    expect(h.tree.listQuota('/app')).toBeUndefined();
    h.create('/app/zz', 'x');
    expect(dec(h.tree.getData(quotaStatPath('/app'), { authIds: [] }).data ?? new Uint8Array(0))).toBe(
      'count=2,bytes=8',
    );
  });

  it('keeps quota nodes persistent and ordinary (ephemeral quota children are refused like any)', () => {
    const h = harness();
    h.session(1n);
    h.create('/e', '', CreateMode.EPHEMERAL);
    expect(h.create('/e/x').err).toBe(ErrorCode.NoChildrenForEphemerals);
  });
});
