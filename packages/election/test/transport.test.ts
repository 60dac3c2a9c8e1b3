import { Socket } from 'node:net';
import { encodeQuorumFrame } from '@zkts/codec';
import { freePort } from '@zkts/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ELECTION_PROTOCOL_VERSION,
  ElectionError,
  ElectionTransport,
  type Notification,
  parseEnsembleConfig,
  type ServerAddress,
  toNotification,
} from '../src/index.js';

const open: ElectionTransport[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

async function ensemble(n: number): Promise<Map<number, ServerAddress>> {
  const servers = new Map<number, ServerAddress>();
  for (let sid = 1; sid <= n; sid++) {
    servers.set(sid, {
      sid,
      host: '127.0.0.1',
      quorumPort: await freePort(),
      electionPort: await freePort(),
      type: 'participant',
    });
  }
  return servers;
}

function note(leader: number, round = 1n): Notification {
  return { version: 1, leader, zxid: 0x100000001n, electionEpoch: round, peerEpoch: 1n, state: 'LOOKING' };
}

async function until(probe: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function transport(
  servers: Map<number, ServerAddress>,
  myId: number,
  got: Array<[number, Notification]>,
  extra = {},
) {
  const t = new ElectionTransport({
    myId,
    servers,
    onMessage: (from, m) => {
      if (m.kind === 'fle') got.push([from, m.n]);
    },
    ...extra,
  });
  open.push(t);
  return t;
}

describe('parseEnsembleConfig', () => {
  it('reads the second port of server.N as the election port, as ZooKeeper does', () => {
    const cfg = parseEnsembleConfig(
      'tickTime=2000\n# comment\nserver.1=localhost:2880:2888\nserver.2=localhost:3880:3888\nserver.3=localhost:4880:4888:observer;2181\n',
    );
    expect(cfg.servers.get(1)).toEqual({
      sid: 1,
      host: 'localhost',
      quorumPort: 2880,
      electionPort: 2888,
      type: 'participant',
    });
    expect(cfg.servers.get(3)?.type).toBe('observer');
    expect(cfg.tickTime).toBe(2000);
    expect(cfg.syncLimit).toBe(5);
  });

  it('refuses bad lines', () => {
    expect(() => parseEnsembleConfig('server.1=localhost:2880')).toThrow(ElectionError);
    expect(() => parseEnsembleConfig('server.1=localhost:2880:99999')).toThrow(ElectionError);
    expect(() => parseEnsembleConfig('tickTime=2000')).toThrow(ElectionError);
    expect(() => parseEnsembleConfig('server.1=a:1:2\nserver.1=a:3:4')).toThrow(ElectionError);
    expect(() => parseEnsembleConfig('nonsense')).toThrow(ElectionError);
  });
});

describe('ElectionTransport', () => {
  it('connects a pair whichever side sends first, keeping the connection the larger sid opened', async () => {
    const servers = await ensemble(2);
    const got1: Array<[number, Notification]> = [];
    const got2: Array<[number, Notification]> = [];
    const t1 = transport(servers, 1, got1);
    const t2 = transport(servers, 2, got2);
    await t1.listen();
    await t2.listen();
    t1.send(2, { kind: 'fle', n: note(1) }); // the smaller sid dials, hangs up; 2 dials back and gets the queued vote
    await until(() => got2.length === 1);
    expect(got2[0]).toEqual([1, note(1)]);
    t2.send(1, { kind: 'fle', n: note(2, 3n) });
    await until(() => got1.length === 1);
    expect(got1[0]).toEqual([2, note(2, 3n)]);
    expect(t1.stats.connects).toBe(1);
    expect(t2.stats.connects).toBe(1);
  });

  it('delivers to itself locally', async () => {
    const servers = await ensemble(1);
    const got: Array<[number, Notification]> = [];
    const t = transport(servers, 1, got);
    t.send(1, { kind: 'fle', n: note(1) });
    await until(() => got.length === 1);
    expect(got[0]?.[0]).toBe(1);
  });

  it('keeps a bounded queue per peer, dropping the oldest and counting', async () => {
    const servers = await ensemble(2);
    const got: Array<[number, Notification]> = [];
    const t2 = transport(servers, 2, [], { sendQueueCapacity: 2, backoffMinMs: 5 });
    for (let i = 1; i <= 5; i++) t2.send(1, { kind: 'fle', n: note(2, BigInt(i)) });
    expect(t2.stats.dropped).toBe(3);
    const t1 = transport(servers, 1, got);
    await t1.listen();
    await until(() => got.length === 2);
    expect(got.map(([, n]) => n.electionEpoch)).toEqual([4n, 5n]);
  });

  it('re-sends the last notification on a new connection and reports peers up and down', async () => {
    const servers = await ensemble(2);
    const got: Array<[number, Notification]> = [];
    const events: string[] = [];
    const t2 = transport(servers, 2, [], {
      backoffMinMs: 5,

      onPeerUp: (s: number) => events.push(`up ${s}`),
      onPeerDown: (s: number) => events.push(`down ${s}`),
    });
    let t1 = transport(servers, 1, got);
    await t1.listen();
    await t2.listen();
    t2.send(1, { kind: 'fle', n: note(2, 7n) });
    await until(() => got.length === 1);
    await t1.close();
    await until(() => events.includes('down 1'));
    const got2: Array<[number, Notification]> = [];
    t1 = transport(servers, 1, got2);
    await t1.listen();
    t1.send(2, { kind: 'fle', n: note(1) }); // the restarted smaller sid pokes; 2 connects back with its last vote
    await until(() => got2.length === 1);
    expect(got2[0]?.[1].electionEpoch).toBe(7n);
    expect(events).toEqual(['up 1', 'down 1', 'up 1']);
  });

  it('closes connections with a wrong handshake, version or sid, counting them', async () => {
    const servers = await ensemble(1);
    const t = transport(servers, 1, []);
    await t.listen();
    const port = servers.get(1)!.electionPort;
    const attempt = (frame: Uint8Array) =>
      new Promise<void>((resolve) => {
        const s = new Socket();
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.connect(port, '127.0.0.1', () => s.write(frame));
      });
    await attempt(encodeQuorumFrame({ t: 'hello', protocol: ELECTION_PROTOCOL_VERSION + 1, sid: 2 }));
    await attempt(encodeQuorumFrame({ t: 'hello', protocol: ELECTION_PROTOCOL_VERSION, sid: 42 }));
    await attempt(encodeQuorumFrame({ t: 'n' }));
    await attempt(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    expect(t.stats.protocolErrors).toBe(4);
  });

  it('carries the learner handshake next to notifications', async () => {
    const servers = await ensemble(2);
    const got: unknown[] = [];
    const t1 = new ElectionTransport({ myId: 1, servers, onMessage: (_f, m) => got.push(m) });
    const t2 = new ElectionTransport({ myId: 2, servers, onMessage: () => {} });
    open.push(t1, t2);
    await t1.listen();
    t2.send(1, { kind: 'follow', round: 3n, peerEpoch: 1n });
    t2.send(1, { kind: 'followed', ok: false, round: 3n });
    t2.send(1, { kind: 'leave' });
    await until(() => got.length === 3);
    expect(got).toEqual([
      { kind: 'follow', round: 3n, peerEpoch: 1n },
      { kind: 'followed', ok: false, round: 3n },
      { kind: 'leave' },
    ]);
  });

  it('validates notifications', () => {
    expect(
      toNotification({ t: 'n', version: 1, leader: 2, zxid: 0n, round: 1n, peerEpoch: 0n, state: 'LEADING' }),
    ).toEqual({
      version: 1,
      leader: 2,
      zxid: 0n,
      electionEpoch: 1n,
      peerEpoch: 0n,
      state: 'LEADING',
    });
    expect(
      toNotification({ t: 'n', version: 1, leader: 2, zxid: 0n, round: 1n, peerEpoch: 0n, state: 'BOSS' }),
    ).toBeUndefined();
    expect(
      toNotification({
        t: 'n',
        version: 1,
        leader: '2',
        zxid: 0n,
        round: 1n,
        peerEpoch: 0n,
        state: 'LOOKING',
      }),
    ).toBeUndefined();
    expect(toNotification(null)).toBeUndefined();
  });
});
