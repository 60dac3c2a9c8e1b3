import { CreateMode } from '@zkts/codec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DataTree,
  decodeTxn,
  encodeTxn,
  loadSnapshot,
  OPEN_ACL_UNSAFE,
  snapshotTree,
  type TreeRequest,
  type Txn,
  type TxnBody,
} from '../src/index.js';
import { enc, Harness } from './harness.js';

const PATHS = ['/a', '/b', '/a/x', '/b/y'];
/** null is ZooKeeper's null data; it must stay apart from empty data. */
const dataArb = fc.oneof(fc.constant(null), fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 8 }));
const requestArb: fc.Arbitrary<TreeRequest> = fc.oneof(
  fc.record({
    type: fc.constant('create' as const),
    path: fc.constantFrom(...PATHS),
    data: dataArb,
    acl: fc.constant(OPEN_ACL_UNSAFE),
    flags: fc.constantFrom(CreateMode.PERSISTENT, CreateMode.CONTAINER),
  }),
  fc.record({
    type: fc.constant('setData' as const),
    path: fc.constantFrom(...PATHS),
    data: dataArb,
    version: fc.constant(-1),
  }),
  fc.record({
    type: fc.constant('delete' as const),
    path: fc.constantFrom(...PATHS),
    version: fc.constant(-1),
  }),
);

function run(requests: TreeRequest[]): { tree: DataTree<string>; txns: { txn: Txn; zxid: bigint }[] } {
  const tree = new DataTree<string>();
  const txns: { txn: Txn; zxid: bigint }[] = [];
  let zxid = 0n;
  for (const req of requests) {
    zxid += 1n;
    const { txn } = tree.prep(req, { sessionId: 1n, authIds: [], zxid, time: zxid });
    tree.apply(txn, zxid, zxid);
    txns.push({ txn, zxid });
  }
  return { tree, txns };
}

function contents(t: DataTree<unknown>): [string, Uint8Array | null, number][] {
  return t
    .paths()
    .sort()
    .map((p) => {
      const { data, stat } = t.getData(p, { authIds: [] });
      return [p, data, stat.dataLength];
    });
}

describe('null data', () => {
  it('survives the txn encoding (length -1), apart from empty data', () => {
    fc.assert(
      fc.property(fc.array(requestArb, { maxLength: 30 }), (requests) => {
        const { txns } = run(requests);
        for (const { txn } of txns) expect(decodeTxn(encodeTxn(txn))).toEqual(txn);
      }),
      { numRuns: 200 },
    );
  });

  it('replaying decoded txns and loading a snapshot give the same data, null or empty, and digest', () => {
    fc.assert(
      fc.property(fc.array(requestArb, { maxLength: 30 }), (requests) => {
        const { tree, txns } = run(requests);
        const replayed = new DataTree<string>();
        for (const { txn, zxid } of txns) replayed.apply(decodeTxn(encodeTxn(txn)), zxid, zxid);
        const loaded = loadSnapshot<string>(snapshotTree(tree, { chunkBytes: 16 }));
        for (const other of [replayed, loaded]) {
          expect(other.digest).toBe(tree.digest);
          expect(contents(other)).toEqual(contents(tree));
          expect(other.approximateDataSize()).toBe(tree.approximateDataSize());
        }
      }),
      { numRuns: 150 },
    );
  });

  it('encodes null data as the length -1', () => {
    const body: TxnBody = { type: 'setData', path: '/a', data: null, version: 1 };
    const bytes = encodeTxn({ sessionId: 0n, cxid: 0, body });
    // version, session, cxid, tag, path (length 2 + '/a'), then the data length.
    const off = 1 + 8 + 4 + 1 + 4 + 2;
    expect([...bytes.subarray(off, off + 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(bytes.length).toBe(off + 4 + 4);
  });

  it('reads back null for null data and an empty array for empty data', () => {
    const h = new Harness();
    h.run({ type: 'create', path: '/n', data: null, acl: OPEN_ACL_UNSAFE, flags: 0 });
    h.run({ type: 'create', path: '/e', data: new Uint8Array(0), acl: OPEN_ACL_UNSAFE, flags: 0 });
    const ctx = { authIds: [] };
    expect(h.tree.getData('/n', ctx).data).toBeNull();
    expect(h.tree.getData('/e', ctx).data).toEqual(new Uint8Array(0));
    expect(h.tree.getData('/n', ctx).stat.dataLength).toBe(0);
    // The digest skips null data as it skips empty data (DigestCalculator).
    const a = new Harness();
    a.run({ type: 'create', path: '/n', data: enc(''), acl: OPEN_ACL_UNSAFE, flags: 0 });
    const b = new Harness();
    b.run({ type: 'create', path: '/n', data: null, acl: OPEN_ACL_UNSAFE, flags: 0 });
    expect(b.tree.digest).toBe(a.tree.digest);
    // setData back and forth.
    h.run({ type: 'setData', path: '/e', data: null, version: -1 });
    expect(h.tree.getData('/e', ctx).data).toBeNull();
    h.run({ type: 'setData', path: '/n', data: enc('xy'), version: -1 });
    expect(h.tree.getData('/n', ctx).data).toEqual(enc('xy'));
  });

  it('counts null data as 0 bytes in quotas and the data size', () => {
    const h = new Harness({ enforceQuota: true });
    h.create('/q');
    h.create('/zookeeper/quota/q');
    h.create('/zookeeper/quota/q/zookeeper_limits', 'count=-1,bytes=-1;byteHardLimit=2');
    h.create('/zookeeper/quota/q/zookeeper_stats', 'count=0,bytes=0');
    const size = h.tree.approximateDataSize();
    expect(h.run({ type: 'create', path: '/q/n', data: null, acl: OPEN_ACL_UNSAFE, flags: 0 }).err).toBe(0);
    expect(h.tree.approximateDataSize()).toBe(size + '/q/n'.length);
    expect(h.tree.listQuota('/q')?.usage.bytes).toBe(0);
    expect(h.tree.listQuota('/q')?.usage.count).toBe(2);
    expect(h.run({ type: 'setData', path: '/q/n', data: enc('ab'), version: -1 }).err).toBe(0);
    expect(h.tree.listQuota('/q')?.usage.bytes).toBe(2);
    expect(h.run({ type: 'setData', path: '/q/n', data: null, version: -1 }).err).toBe(0);
    expect(h.tree.listQuota('/q')?.usage.bytes).toBe(0);
    h.run({ type: 'delete', path: '/q/n', version: -1 });
    expect(h.tree.listQuota('/q')?.usage.count).toBe(1);
  });
});
