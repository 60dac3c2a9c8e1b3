/**
 * Watch differential: a seeded random stream of writes and watch registrations runs against Apache
 * ZooKeeper 3.8 (through its Java client) and against @zkts/data-tree; every client must receive the
 * same watch events in the same order.
 */
import { AddWatchMode, CreateMode, type Id } from '@zkts/codec';
import { type ApacheZooKeeper, type JavaDriver, startApacheZooKeeper, startJavaDriver } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataTree, type MultiOp, OPEN_ACL_UNSAFE, type TreeRequest } from '../src/index.js';

const SEED = Number(process.env.ZKTS_WATCH_SEED ?? 4242);
const OPS = Number(process.env.ZKTS_WATCH_OPS ?? 250);

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('watch events against Apache ZooKeeper 3.8', () => {
  let zk: ApacheZooKeeper;
  let d: JavaDriver;
  beforeAll(async () => {
    zk = await startApacheZooKeeper({ systemProperties: { 'znode.container.checkIntervalMs': '3600000' } });
    d = await startJavaDriver(zk.connectString, { connect: false });
  });
  afterAll(async () => {
    await d?.close();
    await zk?.stop();
  });

  it(`delivers the same events to every client over ${OPS} random operations (seed ${SEED})`, async () => {
    const rand = rng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const tree = new DataTree<string>();
    const ip: Id[] = [{ scheme: 'ip', id: '127.0.0.1' }];
    const ours = new Map<string, string[]>([
      ['c0', []],
      ['c1', []],
      ['c2', []],
    ]);
    const sessions = new Map<string, bigint>();
    let zxid = 0n;
    const write = (req: TreeRequest, client: string) => {
      zxid += 1n;
      const { txn } = tree.prep(req, { sessionId: sessions.get(client)!, authIds: ip, zxid, time: 0n });
      const r = tree.apply(txn, zxid, 0n);
      for (const n of r.notifications) ours.get(n.watcher)!.push(`${n.type} ${n.path}`);
      return r;
    };
    for (const c of ['c0', 'c1', 'c2']) {
      const r = await d.must({ op: 'connect', client: c });
      sessions.set(c, r.sessionId);
      write({ type: 'createSession', timeout: 30_000 }, c);
    }
    await d.must({ op: 'create', client: 'c2', path: '/w', data: null });
    write({ type: 'create', path: '/w', data: new Uint8Array(), acl: OPEN_ACL_UNSAFE, flags: 0 }, 'c2');
    // c1 holds persistent watches only; c0 one-shot watches only (mixing both on one path is
    // tracked differently by the Java client and is not what this compares).
    for (const [path, mode] of [
      ['/w/a', AddWatchMode.PERSISTENT],
      ['/w/b', AddWatchMode.PERSISTENT_RECURSIVE],
      ['/w', AddWatchMode.PERSISTENT],
    ] as const) {
      await d.must({ op: 'addWatch', client: 'c1', path, mode });
      tree.addWatch(path, mode, 'c1');
    }

    const paths = ['/w/a', '/w/b', '/w/c', '/w/a/x', '/w/b/x', '/w/b/x/y', '/w/c/x'];
    const live = () => tree.paths().filter((p) => p.startsWith('/w/'));
    const anyPath = () => (live().length > 0 && rand() < 0.5 ? pick(live()) : pick(paths));
    for (let i = 0; i < OPS; i++) {
      const writer = pick(['c0', 'c2', 'c2']);
      const kind = pick(['create', 'create', 'delete', 'setData', 'multi', 'watch', 'watch', 'watch']);
      if (kind === 'watch') {
        const path = anyPath();
        const how = pick(['exists', 'getData', 'getChildren'] as const);
        const r = await d.request({ op: how, client: 'c0', path, watch: true });
        try {
          if (how === 'exists') tree.exists(path, { authIds: ip, watcher: 'c0' });
          else if (how === 'getData') tree.getData(path, { authIds: ip, watcher: 'c0' });
          else tree.getChildren(path, { authIds: ip, watcher: 'c0' });
          expect(r.ok).toBe(true);
        } catch {
          expect(r.ok).toBe(false);
        }
      } else if (kind === 'create') {
        const path = pick(paths);
        const mode = pick([
          CreateMode.PERSISTENT,
          CreateMode.PERSISTENT,
          CreateMode.EPHEMERAL,
          CreateMode.CONTAINER,
        ]);
        const r = await d.request({ op: 'create', client: writer, path, data: 'x', mode });
        const ours = write(
          { type: 'create', path, data: new TextEncoder().encode('x'), acl: OPEN_ACL_UNSAFE, flags: mode },
          writer,
        );
        expect(ours.err).toBe(r.ok ? 0 : r.code);
      } else if (kind === 'delete') {
        const path = anyPath();
        const r = await d.request({ op: 'delete', client: writer, path, version: -1 });
        expect(write({ type: 'delete', path, version: -1 }, writer).err).toBe(r.ok ? 0 : r.code);
      } else if (kind === 'setData') {
        const path = anyPath();
        const r = await d.request({ op: 'setData', client: writer, path, data: 'y', version: -1 });
        expect(
          write({ type: 'setData', path, data: new TextEncoder().encode('y'), version: -1 }, writer).err,
        ).toBe(r.ok ? 0 : r.code);
      } else {
        const a = pick(paths);
        const b = anyPath();
        const r = await d.request({
          op: 'multi',
          client: writer,
          ops: [
            { op: 'create', path: a, data: 'm' },
            { op: 'setData', path: b, data: 'n' },
          ],
        });
        const ops: MultiOp[] = [
          { type: 'create', path: a, data: new TextEncoder().encode('m'), acl: OPEN_ACL_UNSAFE, flags: 0 },
          { type: 'setData', path: b, data: new TextEncoder().encode('n'), version: -1 },
        ];
        expect(write({ type: 'multi', ops }, writer).err).toBe(r.ok ? 0 : r.code);
      }
      if (i === Math.floor(OPS / 2)) {
        // c2's session ends: its ephemerals go, with their events.
        await d.must({ op: 'close', client: 'c2' });
        write({ type: 'closeSession' }, 'c2');
        const r = await d.must({ op: 'connect', client: 'c2' });
        sessions.set('c2', r.sessionId);
        write({ type: 'createSession', timeout: 30_000 }, 'c2');
      }
    }

    // Let every notification reach the driver: a round trip per client, then quiet for a while.
    for (const c of ['c0', 'c1', 'c2']) await d.must({ op: 'sync', client: c, path: '/' });
    let seen = -1;
    while (seen !== d.events.length) {
      seen = d.events.length;
      await new Promise((r) => setTimeout(r, 300));
    }
    for (const c of ['c0', 'c1', 'c2']) {
      const theirs = d.events
        .filter((e) => e.client === c && e.typeCode !== -1)
        .map((e) => `${e.typeCode} ${e.path}`);
      expect({ client: c, events: ours.get(c) }).toEqual({ client: c, events: theirs });
    }
    expect(ours.get('c0')!.length + ours.get('c1')!.length).toBeGreaterThan(20);
  }, 60_000);
});
