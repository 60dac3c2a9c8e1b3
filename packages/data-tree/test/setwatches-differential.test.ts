/**
 * Watch re-registration after a reconnect, against Apache ZooKeeper 3.8: a client with watches is
 * frozen while the server restarts and another client changes things; when it resumes, its Java
 * client reconnects and sends setWatches with its last zxid. The events ZooKeeper fires at once
 * must be the ones `setWatches` here computes, and the watches it re-registers must fire later
 * exactly as here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddWatchMode, type Id } from '@zkts/codec';
import {
  type ApacheZooKeeper,
  type DriverEvent,
  type JavaDriver,
  startApacheZooKeeper,
  startJavaDriver,
} from '@zkts/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { DataTree, OPEN_ACL_UNSAFE, type TreeRequest } from '../src/index.js';

describe('setWatches after a reconnect, against Apache ZooKeeper 3.8', () => {
  let zk: ApacheZooKeeper | undefined;
  let watcher: JavaDriver | undefined;
  let writer: JavaDriver | undefined;
  let dataDir: string | undefined;
  afterAll(async () => {
    watcher?.process.kill('SIGCONT');
    await watcher?.close();
    await writer?.close();
    await zk?.stop();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  it('fires what the client missed and re-registers the rest', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'zkts-setwatches-'));
    zk = await startApacheZooKeeper({ dataDir });
    const port = zk.port;
    watcher = await startJavaDriver(zk.connectString, { connect: false });
    writer = await startJavaDriver(zk.connectString, { connect: false });
    const tree = new DataTree<string>();
    const ip: Id[] = [{ scheme: 'ip', id: '127.0.0.1' }];
    let zxid = 0n;
    const ours: string[] = [];
    const write = (req: TreeRequest, session: bigint) => {
      zxid += 1n;
      const { txn } = tree.prep(req, { sessionId: session, authIds: ip, zxid, time: 0n });
      const r = tree.apply(txn, zxid, 0n);
      for (const n of r.notifications) if (n.watcher === 'w') ours.push(`${n.type} ${n.path}`);
      expect(r.err).toBe(0);
    };
    const w = (await watcher.must({ op: 'connect', client: 'w' })).sessionId;
    write({ type: 'createSession', timeout: 30_000 }, w);
    const s = (await writer.must({ op: 'connect', client: 's' })).sessionId;
    write({ type: 'createSession', timeout: 30_000 }, s);
    const create = async (path: string) => {
      await writer!.must({ op: 'create', client: 's', path, data: null });
      write({ type: 'create', path, data: new Uint8Array(), acl: OPEN_ACL_UNSAFE, flags: 0 }, s);
    };
    for (const p of ['/same', '/chg', '/kids', '/gone', '/calm']) await create(p);

    const watches = {
      dataWatches: ['/same', '/chg', '/gone'],
      existWatches: ['/born', '/unborn'],
      childWatches: ['/kids', '/calm'],
      persistentRecursiveWatches: ['/rec'],
    };
    for (const p of watches.dataWatches)
      await watcher.must({ op: 'getData', client: 'w', path: p, watch: true });
    for (const p of watches.existWatches)
      await watcher.must({ op: 'exists', client: 'w', path: p, watch: true });
    for (const p of watches.childWatches)
      await watcher.must({ op: 'getChildren', client: 'w', path: p, watch: true });
    await watcher.must({
      op: 'addWatch',
      client: 'w',
      path: '/rec',
      mode: AddWatchMode.PERSISTENT_RECURSIVE,
    });
    const lastSeen = zxid;

    // Freeze the watching client, restart the server, change things through the other client.
    watcher.process.kill('SIGSTOP');
    await zk.stop();
    const mark = writer.events.length;
    zk = await startApacheZooKeeper({ dataDir, port });
    await writer.waitForEvent(
      (e) => writer!.events.indexOf(e) >= mark && e.state === 'SyncConnected',
      30_000,
    );
    const set = async (path: string) => {
      await writer!.must({ op: 'setData', client: 's', path, data: 'x' });
      write({ type: 'setData', path, data: new TextEncoder().encode('x'), version: -1 }, s);
    };
    await set('/chg');
    await create('/kids/k');
    await writer.must({ op: 'delete', client: 's', path: '/gone' });
    write({ type: 'delete', path: '/gone', version: -1 }, s);
    await create('/born');
    await create('/rec');

    // What the server owes the client on setWatches, computed here.
    const owed = tree.setWatches(lastSeen, watches, 'w').map((n) => `${n.type} ${n.path}`);
    expect(owed.sort()).toEqual(['1 /born', '2 /gone', '3 /chg', '4 /kids']);

    const before = watcher.events.length;
    watcher.process.kill('SIGCONT');
    const got = (): DriverEvent[] => watcher!.events.slice(before).filter((e) => e.typeCode !== -1);
    const deadline = Date.now() + 20_000;
    while (got().length < owed.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(
      got()
        .map((e) => `${e.typeCode} ${e.path}`)
        .sort(),
    ).toEqual([...owed].sort());

    // The watches it re-registered fire later exactly as here.
    ours.length = 0;
    const after = watcher.events.length;
    await set('/same');
    await create('/unborn');
    await create('/calm/c');
    await create('/rec/deep');
    await set('/chg');
    await watcher.must({ op: 'sync', client: 'w', path: '/' });
    const expected = ['3 /same', '1 /unborn', '4 /calm', '1 /rec/deep'];
    expect(ours).toEqual(expected);
    const deadline2 = Date.now() + 10_000;
    const later = () =>
      watcher!.events
        .slice(after)
        .filter((e) => e.typeCode !== -1)
        .map((e) => `${e.typeCode} ${e.path}`);
    while (later().length < expected.length && Date.now() < deadline2)
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    expect(later()).toEqual(ours);
  }, 90_000);
});
