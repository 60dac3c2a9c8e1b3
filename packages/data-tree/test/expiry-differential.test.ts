/**
 * Container and TTL expiry against Apache ZooKeeper 3.8: its ContainerManager deletes exactly the
 * nodes `expiredNodes(now)` lists, given the same nodes with the same modification times.
 */
import { CreateMode, type Id } from '@zkts/codec';
import { type ApacheZooKeeper, type JavaDriver, startApacheZooKeeper, startJavaDriver } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataTree, OPEN_ACL_UNSAFE, type TreeRequest } from '../src/index.js';

describe('container and TTL expiry against Apache ZooKeeper 3.8', () => {
  let zk: ApacheZooKeeper;
  let d: JavaDriver;
  beforeAll(async () => {
    zk = await startApacheZooKeeper({ systemProperties: { 'znode.container.checkIntervalMs': '100' } });
    d = await startJavaDriver(zk.connectString);
  });
  afterAll(async () => {
    await d?.close();
    await zk?.stop();
  });

  it('deletes the same containers and TTL nodes', async () => {
    const tree = new DataTree<string>();
    const ip: Id[] = [{ scheme: 'ip', id: '127.0.0.1' }];
    let zxid = 0n;
    const ours = (req: TreeRequest, time: bigint) => {
      zxid += 1n;
      const { txn } = tree.prep(req, { sessionId: 1n, authIds: ip, zxid, time });
      return tree.apply(txn, zxid, time);
    };
    const create = async (path: string, mode: number, ttl?: number) => {
      const r = await d.must({ op: 'create', path, data: null, mode, ...(ttl === undefined ? {} : { ttl }) });
      const o = ours(
        { type: 'create', path, data: new Uint8Array(), acl: OPEN_ACL_UNSAFE, flags: mode, ttl },
        r.stat.mtime,
      );
      expect(o.path).toBe(r.path);
      return r.path;
    };
    const del = async (path: string) => {
      await d.must({ op: 'delete', path });
      ours({ type: 'delete', path, version: -1 }, 0n);
    };
    await create('/used', CreateMode.CONTAINER);
    await create('/used/x', CreateMode.PERSISTENT);
    await del('/used/x');
    await create('/unused', CreateMode.CONTAINER);
    await create('/busy', CreateMode.CONTAINER);
    await create('/busy/x', CreateMode.PERSISTENT);
    await create('/ttl-short', CreateMode.PERSISTENT_WITH_TTL, 300);
    const seq = await create('/ttl-seq-', CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, 300);
    await create('/ttl-long', CreateMode.PERSISTENT_WITH_TTL, 3_600_000);
    await create('/ttl-kids', CreateMode.PERSISTENT_WITH_TTL, 300);
    await create('/ttl-kids/x', CreateMode.PERSISTENT);

    const candidates = ['/used', '/unused', '/busy', '/ttl-short', seq, '/ttl-long', '/ttl-kids'];
    const expected = [seq, '/ttl-short', '/used'].sort();
    // Wait for Apache ZooKeeper's ContainerManager to act.
    const deadline = Date.now() + 10_000;
    let gone: string[] = [];
    while (Date.now() < deadline) {
      gone = [];
      for (const p of candidates) if ((await d.must({ op: 'exists', path: p })).stat === null) gone.push(p);
      if (gone.length >= expected.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    gone.sort();
    expect(gone).toEqual(expected);
    const due = tree.expiredNodes(BigInt(Date.now()));
    expect(due).toEqual(gone);
    for (const p of due) expect(ours({ type: 'deleteContainer', path: p }, 0n).err).toBe(0);
    expect(tree.expiredNodes(BigInt(Date.now()))).toEqual([]);
  }, 30_000);
});
