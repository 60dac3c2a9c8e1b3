/**
 * Three zkts members in one process: every member serves clients, writes go through the leader,
 * sessions are global (created and closed as txns, kept alive through any member, expired by the
 * leader), sync, the zxid-ahead refusal, and what srvr/mntr say about the roles.
 */
import { CreateMode, ErrorCode, EventType } from '@zkts/codec';
import { fourLetterWord, waitFor } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from './compat/raw-client.js';
import { startTestEnsemble, type TestEnsemble } from './ensemble-helpers.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b == null ? null : new TextDecoder().decode(b));

describe('a three-member zkts ensemble', () => {
  let ens: TestEnsemble;
  let leader: number;
  let followers: number[];
  const clients: RawClient[] = [];
  const connect = async (id: number, opts: Parameters<typeof RawClient.connect>[1] = {}) => {
    const c = await RawClient.connect(ens.member(id).clientPort, { timeoutMs: 10_000, ...opts });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    ens = await startTestEnsemble(3);
    leader = await ens.ready();
    followers = [1, 2, 3].filter((id) => id !== leader);
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await ens?.close();
  });

  it('reports one leader and two followers (srvr, mntr)', async () => {
    const modes = await Promise.all(ens.members.map((m) => m.mode()));
    expect(modes.filter((m) => m === 'leader')).toHaveLength(1);
    expect(modes.filter((m) => m === 'follower')).toHaveLength(2);
    const mntr = await fourLetterWord(ens.member(leader).clientPort, 'mntr');
    expect(mntr).toMatch(/^zk_server_state\tleader$/m);
    expect(mntr).toMatch(/^zk_synced_followers\t2$/m);
    expect(mntr).toMatch(/^zk_quorum_size\t3$/m);
    const fmntr = await fourLetterWord(ens.member(followers[0] as number).clientPort, 'mntr');
    expect(fmntr).toMatch(/^zk_server_state\tfollower$/m);
    expect(fmntr).toMatch(/^zk_peer_state\tfollowing - broadcast$/m);
    expect(fmntr).not.toMatch(/zk_synced_followers/);
  });

  it('takes writes through every member and shows them everywhere in one order', async () => {
    const cs = await Promise.all([1, 2, 3].map((id) => connect(id)));
    const root = await cs[0]!.request({
      type: 'create',
      path: '/w',
      data: bytes('root'),
      acl: OPEN,
      flags: 0,
    });
    expect(root.header.err).toBe(0);
    const created: string[] = [];
    for (let round = 0; round < 10; round++) {
      const replies = await Promise.all(
        cs.map((c, i) =>
          c.request({
            type: 'create',
            path: '/w/n-',
            data: bytes(`${i}:${round}`),
            acl: OPEN,
            flags: CreateMode.PERSISTENT_SEQUENTIAL,
          }),
        ),
      );
      for (const r of replies) {
        expect(r.header.err).toBe(0);
        created.push((r.response as { path: string }).path);
      }
    }
    expect(new Set(created).size).toBe(30);
    // Read-your-writes on each member; then every member converges on the same children.
    for (const c of cs) {
      const sync = await c.request({ type: 'sync', path: '/w' });
      expect(sync.header.err).toBe(0);
      const kids = await c.request({ type: 'getChildren', path: '/w', watch: false });
      expect((kids.response as { children: string[] }).children.sort()).toEqual(
        created.map((p) => p.slice('/w/'.length)).sort(),
      );
    }
  });

  it('answers conditional writes with ZooKeeper errors wherever they are sent', async () => {
    const f = await connect(followers[0] as number);
    expect(
      (await f.request({ type: 'create', path: '/cas', data: bytes('a'), acl: OPEN, flags: 0 })).header.err,
    ).toBe(0);
    const ok = await f.request({ type: 'setData', path: '/cas', data: bytes('b'), version: 0 });
    expect(ok.header.err).toBe(0);
    const stale = await f.request({ type: 'setData', path: '/cas', data: bytes('c'), version: 0 });
    expect(stale.header.err).toBe(ErrorCode.BadVersion);
    const dup = await f.request({ type: 'create', path: '/cas', data: bytes('x'), acl: OPEN, flags: 0 });
    expect(dup.header.err).toBe(ErrorCode.NodeExists);
    const l = await connect(leader);
    await l.request({ type: 'sync', path: '/' });
    const got = await l.request({ type: 'getData', path: '/cas', watch: false });
    expect(text((got.response as { data: Uint8Array | null }).data)).toBe('b');
  });

  it('fires a watch set on one member for a write made through another, before the write is seen', async () => {
    const [a, b] = followers as [number, number];
    const watcher = await connect(a);
    await watcher.request({ type: 'create', path: '/watched', data: bytes('0'), acl: OPEN, flags: 0 });
    await watcher.request({ type: 'getData', path: '/watched', watch: true });
    const writer = await connect(b);
    expect(
      (await writer.request({ type: 'setData', path: '/watched', data: bytes('1'), version: -1 })).header.err,
    ).toBe(0);
    await waitFor(async () => watcher.notifications.length > 0, 10_000, 'the watch to fire');
    expect(watcher.notifications[0]).toEqual({ type: EventType.NodeDataChanged, path: '/watched' });
  });

  it('keeps a session and its ephemerals when the client moves to another member', async () => {
    const [a, b] = followers as [number, number];
    const first = await connect(a, { timeoutMs: 4000 });
    const session = first.session!;
    expect(session.sessionId >> 56n).toBe(BigInt(a)); // the server id in the session id's high byte
    await first.request({
      type: 'create',
      path: '/eph',
      data: bytes('e'),
      acl: OPEN,
      flags: CreateMode.EPHEMERAL,
    });
    const seen = (await first.request({ type: 'exists', path: '/eph', watch: false })).header.zxid;
    first.destroy();
    const moved = await connect(b, {
      timeoutMs: 4000,
      sessionId: session.sessionId,
      passwd: session.passwd,
      lastZxidSeen: seen,
    });
    expect(moved.session!.sessionId).toBe(session.sessionId);
    expect(moved.session!.timeOut).toBeGreaterThan(0);
    // Kept alive through b for longer than its timeout: the leader hears of it.
    const until = Date.now() + 6000;
    while (Date.now() < until) {
      const r = await moved.request({ type: 'exists', path: '/eph', watch: false });
      expect(r.header.err).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
    }
    const eph = await moved.request({ type: 'getEphemerals', prefixPath: '/' });
    expect((eph.response as { ephemerals: string[] }).ephemerals).toEqual(['/eph']);
    // Closing the session deletes its ephemeral on every member.
    const close = await moved.request({ type: 'closeSession' });
    expect(close.header.err).toBe(0);
    for (const id of [1, 2, 3]) {
      const c = await connect(id);
      await c.request({ type: 'sync', path: '/' });
      expect((await c.request({ type: 'exists', path: '/eph', watch: false })).header.err).toBe(
        ErrorCode.NoNode,
      );
    }
  }, 30_000);

  it('expires a silent session at the leader and removes its ephemerals everywhere', async () => {
    const f = followers[1] as number;
    const c = await connect(f, { timeoutMs: 1000 });
    await c.request({
      type: 'create',
      path: '/gone',
      data: bytes(''),
      acl: OPEN,
      flags: CreateMode.EPHEMERAL,
    });
    const sessionId = c.session!.sessionId;
    c.socket.pause(); // no pings, no touches
    const observer = await connect(leader);
    await waitFor(
      async () =>
        (await observer.request({ type: 'exists', path: '/gone', watch: false })).header.err ===
        ErrorCode.NoNode,
      15_000,
      'the session to expire',
    );
    c.destroy();
    const again = await RawClient.open(ens.member(f).clientPort);
    clients.push(again);
    const refused = await again.handshake({ timeoutMs: 1000, sessionId, passwd: c.session!.passwd });
    expect(refused.timeOut).toBe(0); // expired: ZooKeeper answers with a zero timeout
  }, 30_000);

  it("prints the leader's proposal sizes in srvr, as ZooKeeper does, and not on followers", async () => {
    const srvr = await fourLetterWord(ens.member(leader).clientPort, 'srvr');
    const m = /^Proposal sizes last\/min\/max: (\d+)\/(\d+)\/(\d+)$/m.exec(srvr);
    expect(m).not.toBeNull();
    const [last, min, max] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
    expect(min).toBeGreaterThan(0);
    expect(min).toBeLessThanOrEqual(last);
    expect(last).toBeLessThanOrEqual(max);
    const fsrvr = await fourLetterWord(ens.member(followers[0] as number).clientPort, 'srvr');
    expect(fsrvr).toMatch(/^Mode: follower$/m);
    expect(fsrvr).not.toMatch(/Proposal sizes/);
  });

  it('refuses a client that has seen a newer zxid than the member', async () => {
    const c = await RawClient.open(ens.member(followers[0] as number).clientPort);
    clients.push(c);
    void c.handshake({ timeoutMs: 4000, lastZxidSeen: 1n << 60n }).catch(() => {});
    await c.closedPromise;
    expect(c.closed).toBe(true);
  });
});
