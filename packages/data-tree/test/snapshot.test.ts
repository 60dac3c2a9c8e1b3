import { CreateMode, ErrorCode } from '@zkts/codec';
import { describe, expect, it } from 'vitest';
import { Writer } from '../src/bytes.js';
import {
  DataTree,
  loadSnapshot,
  OPEN_ACL_UNSAFE,
  quotaLimitPath,
  quotaStatPath,
  SnapshotLoader,
  snapshotTree,
  TreeError,
} from '../src/index.js';
import { writeAcl } from '../src/txn-codec.js';
import { Harness } from './harness.js';

function dump(t: DataTree<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of t.paths().sort()) {
    out[p] = {
      stat: t.statNode(p),
      acl: t.aclOf(p),
      data: Buffer.from(t.getData(p, { authIds: [{ scheme: 'super', id: '' }] }).data ?? []).toString('hex'),
      children: t.getChildren(p, { authIds: [{ scheme: 'super', id: '' }] }).children.sort(),
    };
  }
  return out;
}

function populated(): Harness {
  const h = new Harness();
  h.session(1n);
  h.session(2n);
  h.create('/app', 'x'.repeat(50));
  for (let i = 0; i < 200; i++) h.create(`/app/n${i}`, `data-${i}`);
  h.create('/app/e', '', CreateMode.EPHEMERAL, { session: 2n });
  h.create('/c', '', CreateMode.CONTAINER);
  h.create('/t', '', CreateMode.PERSISTENT_WITH_TTL, { ttl: 50 });
  h.create('/acl', '', 0, { acl: [{ perms: 1, id: { scheme: 'ip', id: '10.0.0.0/8' } }] });
  h.create('/zookeeper/quota/app');
  h.create(quotaLimitPath('/app'), 'count=1000,bytes=-1');
  h.create(quotaStatPath('/app'), 'count=0,bytes=0');
  h.delete('/app/n7');
  h.setData('/app/n8', 'changed');
  h.create('/utf8-é', '\u0000\u00ff');
  return h;
}

describe('snapshots', () => {
  it('round-trip the whole tree: stats, data, ACLs, digest, sessions, ephemerals, containers, TTLs, quotas', () => {
    const h = populated();
    const chunks = [...snapshotTree(h.tree, { chunkBytes: 1024 })];
    expect(chunks.length).toBeGreaterThan(3);
    const back = loadSnapshot<string>(chunks);
    expect(dump(back)).toEqual(dump(h.tree));
    expect(back.digest).toBe(h.tree.digest);
    expect(back.lastZxid).toBe(h.tree.lastZxid);
    expect(back.getSessions()).toEqual(h.tree.getSessions());
    expect(back.getEphemerals(2n)).toEqual(['/app/e']);
    expect(back.maxPrefixWithQuota('/app/n1')).toBe('/app');
    back.apply({ sessionId: 0n, cxid: 0, body: { type: 'delete', path: '/app/n1' } }, h.zxid + 1n, 0n);
    expect(back.listQuota('/app')?.usage.count).toBe(200);
    h.create('/c/x');
    h.delete('/c/x');
    expect(h.tree.expiredNodes(h.time + 100n)).toEqual(['/c', '/t']);
    expect(back.expiredNodes(h.time + 100n)).toEqual(['/t']);
  });

  it('lend one buffer for every chunk when asked to', () => {
    const h = populated();
    const copies: Uint8Array[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for (const c of snapshotTree(h.tree, { chunkBytes: 512, lendChunks: true })) {
      buffers.add(c.buffer);
      copies.push(c.slice());
    }
    expect(copies.length).toBeGreaterThan(3);
    expect(buffers.size).toBeLessThanOrEqual(2);
    expect(loadSnapshot(copies).digest).toBe(h.tree.digest);
  });

  it('keep producing bounded chunks', () => {
    const h = populated();
    for (const c of snapshotTree(h.tree, { chunkBytes: 512 })) expect(c.length).toBeLessThan(512 + 600);
  });

  it('are a point-in-time view: txns applied while streaming do not show', () => {
    const h = populated();
    const before = dump(h.tree);
    const digest = h.tree.digest;
    const stream = snapshotTree(h.tree, { chunkBytes: 256, nodesPerChunk: 5 });
    const chunks: Uint8Array[] = [];
    let i = 0;
    for (const c of stream) {
      chunks.push(c);
      // mutate nodes ahead of and behind the cursor, create new ones, reuse freed slots
      h.setData(`/app/n${(i * 13) % 200}`, `during-${i}`);
      h.delete(`/app/n${(i * 17 + 3) % 200}`);
      h.create(`/new${i}`, 'n');
      h.run({
        type: 'setACL',
        path: '/app',
        acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
        version: -1,
      });
      i++;
    }
    expect(i).toBeGreaterThan(10);
    expect(stream.digest).toBe(digest);
    const back = loadSnapshot(chunks);
    expect(back.digest).toBe(digest);
    expect(dump(back)).toEqual(before);
    expect(h.tree.touchHooks.size).toBe(0);
  });

  it('release their hook when abandoned', () => {
    const h = populated();
    const s = snapshotTree(h.tree, { chunkBytes: 128 });
    s.next();
    expect(h.tree.touchHooks.size).toBe(1);
    s.return();
    expect(h.tree.touchHooks.size).toBe(0);
  });

  it('load from Buffers at any offset (as a SNAP arrives off the network)', () => {
    const h = populated();
    const odd = [...snapshotTree(h.tree, { chunkBytes: 700 })].map((c) =>
      Buffer.concat([Buffer.alloc(3), c]).subarray(3),
    );
    expect(odd.some((c) => c.byteOffset % 8 !== 0)).toBe(true);
    expect(dump(loadSnapshot(odd))).toEqual(dump(h.tree));
    const l = new SnapshotLoader();
    const all = Buffer.concat([Buffer.alloc(5), ...odd]).subarray(5);
    for (let off = 0; off < all.length; off += 333) l.push(all.subarray(off, off + 333));
    expect(l.finish().digest).toBe(h.tree.digest);
  });

  it('load when fed in arbitrary pieces', () => {
    const h = populated();
    const all = Buffer.concat([...snapshotTree(h.tree)]);
    const l = new SnapshotLoader();
    for (let off = 0; off < all.length; off += 7) l.push(all.subarray(off, off + 7));
    expect(l.finish().digest).toBe(h.tree.digest);
  });

  it('refuse truncated or corrupted input', () => {
    const h = populated();
    const all = new Uint8Array(Buffer.concat([...snapshotTree(h.tree)]));
    expect(() => loadSnapshot([all.subarray(0, all.length - 3)])).toThrow(
      expect.objectContaining({ code: ErrorCode.MarshallingError }),
    );
    const flipped = all.slice();
    const at = Buffer.from(all).indexOf('data-42');
    expect(at).toBeGreaterThan(0);
    flipped[at] = 0x44; // "Data-42": caught by the digest
    expect(() => loadSnapshot([flipped])).toThrow(/digest mismatch/);
    expect(() => loadSnapshot([flipped])).toThrow(
      expect.objectContaining({ code: ErrorCode.MarshallingError }),
    );
    expect(() => loadSnapshot([new Uint8Array([1, 2, 3, 4, 5])])).toThrow(
      expect.objectContaining({ code: ErrorCode.MarshallingError }),
    );
  });

  it('turn every flipped or missing byte into a TreeError or a tree, never another error', () => {
    const h = new Harness();
    h.session(3n);
    h.create('/a', 'abc');
    h.create('/a/b', '', CreateMode.EPHEMERAL, { session: 3n });
    h.run({ type: 'create', path: '/n', data: null, acl: OPEN_ACL_UNSAFE, flags: 0 });
    h.create('/u-é', 'x');
    const all = new Uint8Array(Buffer.concat([...snapshotTree(h.tree)]));
    let refused = 0;
    const tryLoad = (bytes: Uint8Array) => {
      try {
        loadSnapshot([bytes]);
      } catch (e) {
        expect(e).toBeInstanceOf(TreeError);
        refused++;
      }
    };
    for (let i = 0; i < all.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = all.slice();
        bad[i]! ^= mask;
        tryLoad(bad);
      }
      tryLoad(all.subarray(0, i));
    }
    // Every truncation is refused, and most flips (the digest covers paths, data and stats).
    expect(refused).toBeGreaterThan(all.length * 3);
  });

  it('load snapshots written in format 1 (a record per node)', () => {
    const tree = new DataTree<unknown>();
    tree.apply(
      {
        sessionId: 0n,
        cxid: 0,
        body: {
          type: 'create',
          path: '/v1',
          data: new Uint8Array([1, 2]),
          acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
          ephemeral: false,
          parentCVersion: 1,
        },
      },
      5n,
      99n,
    );
    const w = new Writer();
    for (const b of [0x5a, 0x4b, 0x54, 0x53, 1]) w.u8(b);
    w.i64(tree.lastZxid);
    w.i64(tree.digest);
    w.u32(0);
    const acls = new Map<unknown, number>();
    const paths = tree.paths().sort();
    for (const path of paths) {
      const acl = tree.aclOf(path)!;
      let ref = [...acls].find(([a]) => JSON.stringify(a) === JSON.stringify(acl))?.[1];
      if (ref === undefined) {
        ref = acls.size;
        acls.set(acl, ref);
        w.u8(1);
        w.u32(ref);
        writeAcl(w, acl);
      }
      const id = tree.store.index.get(path)!;
      const p = tree.pstatOf(id);
      w.u8(2);
      w.str(path);
      w.nullableLatin1(tree.store.data[id] ?? null);
      w.u32(ref);
      for (const v of [p.czxid, p.mzxid, p.pzxid, p.ctime, p.mtime]) w.num64(v);
      for (const v of [p.version, p.cversion, p.aversion]) w.i32(v);
      w.i64(p.ephemeralOwner);
    }
    w.u8(0);
    w.u32(paths.length);
    const back = loadSnapshot([w.take()]);
    expect(dump(back)).toEqual(dump(tree));
    expect(back.digest).toBe(tree.digest);
  });
});
