/**
 * Bad input never crashes the server and never loses data: each misbehaving connection is closed
 * as ZooKeeper closes it, while a healthy session keeps being served. Every attack runs against
 * Apache ZooKeeper 3.8 and zkts; where the outcome is observable, both must agree.
 */
import { encodeRequestFrame } from '@zkts/codec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from './raw-client.js';
import { startTarget, TARGETS, type Target, type TargetName, ZKTS_TARGETS } from './targets.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const MAX_CNXNS = 8;
const JUTE_MAX = 0xfffff;

interface Side {
  target: Target;
  healthy: RawClient;
}
const sides = new Map<TargetName, Side>();
const side = (n: TargetName) => sides.get(n) as Side;

beforeAll(async () => {
  await Promise.all(
    TARGETS.map(async (name) => {
      const target = await startTarget(name, { config: { maxClientCnxns: String(MAX_CNXNS) } });
      const healthy = await RawClient.connect(target.port);
      const r = await healthy.request({
        type: 'create',
        path: '/keep',
        data: Buffer.from('precious'),
        acl: OPEN,
        flags: 0,
      });
      expect(r.header.err).toBe(0);
      sides.set(name, { target, healthy });
    }),
  );
});
afterAll(async () => {
  await Promise.all(
    [...sides.values()].map(async (s) => {
      s.healthy.destroy();
      await s.target.stop();
    }),
  );
});

/** The healthy session still reads its data and writes. */
async function assertServed(name: TargetName, tag: string, probe = true): Promise<void> {
  const { healthy } = side(name);
  expect([tag, healthy.closed]).toEqual([tag, false]);
  const r = await healthy.request({ type: 'getData', path: '/keep', watch: false });
  expect([tag, r.header.err, Buffer.from(r.response?.data ?? []).toString()]).toEqual([tag, 0, 'precious']);
  const w = await healthy.request({
    type: 'setData',
    path: '/keep',
    data: Buffer.from('precious'),
    version: -1,
  });
  expect([tag, w.header.err]).toEqual([tag, 0]);
  if (probe) expect((await side(name).target.fourLetterWord('ruok')).trim()).toBe('imok');
}

interface Outcome {
  closed: boolean;
  /** Replies after the handshake: xid and error code. */
  replies: { xid: number; err: number | undefined }[];
}

/** Writes `bytes` on a fresh connection (optionally after a handshake) and sees whether the server closes it. */
async function attack(port: number, bytes: Buffer, handshake: boolean, waitMs = 3000): Promise<Outcome> {
  const c = handshake ? await RawClient.connect(port) : await RawClient.open(port);
  c.write(bytes);
  const closed = await Promise.race([
    c.closedPromise.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), waitMs)),
  ]);
  c.destroy();
  return { closed, replies: c.unsolicited };
}

const frame = (len: number, body: Buffer): Buffer => {
  const b = Buffer.alloc(4 + body.length);
  b.writeInt32BE(len, 0);
  body.copy(b, 4);
  return b;
};

const ATTACKS: Array<{ name: string; handshake: boolean; bytes: () => Buffer; expectClosed: boolean }> = [
  {
    name: 'garbage bytes before the handshake',
    handshake: false,
    bytes: () => Buffer.from('\xff\xfe\x00\x01garbage!garbage!garbage!', 'latin1'),
    expectClosed: true,
  },
  {
    name: 'negative frame length after the handshake',
    handshake: true,
    bytes: () => frame(-5, Buffer.alloc(8)),
    expectClosed: true,
  },
  {
    name: 'frame over jute.maxbuffer before the handshake',
    handshake: false,
    bytes: () => frame(JUTE_MAX + 4096, Buffer.alloc(16)),
    expectClosed: true,
  },
  {
    name: 'frame over jute.maxbuffer after the handshake',
    handshake: true,
    bytes: () => frame(JUTE_MAX + 4096, Buffer.alloc(16)),
    expectClosed: true,
  },
  {
    name: 'truncated request body in a complete frame',
    handshake: true,
    // A getData header and a path length that runs past the frame's end.
    bytes: () => {
      const body = Buffer.alloc(12);
      body.writeInt32BE(7, 0);
      body.writeInt32BE(4, 4);
      body.writeInt32BE(200, 8);
      return frame(body.length, body);
    },
    // ZooKeeper answers MarshallingError and keeps the connection.
    expectClosed: false,
  },
  {
    name: 'a request instead of the handshake',
    handshake: false,
    bytes: () => encodeRequestFrame(1, { type: 'getData', path: '/keep', watch: false }),
    expectClosed: true,
  },
  {
    name: 'unknown opcode',
    handshake: true,
    bytes: () => {
      const body = Buffer.alloc(8);
      body.writeInt32BE(9, 0);
      body.writeInt32BE(9999, 4);
      return frame(8, body);
    },
    expectClosed: true,
  },
  {
    name: 'garbage after the handshake',
    handshake: true,
    bytes: () => Buffer.from('\x00\x00\x00\x08\x00\x00\x00\x01\x7f\x7f\x7f\x7f', 'latin1'),
    expectClosed: true,
  },
];

describe.each(ATTACKS)('$name', (a) => {
  it('closes the offending connection on every server; everyone else is served', async () => {
    const outcomes: Record<string, Outcome> = {};
    for (const name of TARGETS) {
      outcomes[name] = await attack(side(name).target.port, a.bytes(), a.handshake);
      await assertServed(name, a.name);
    }
    expect(outcomes.apache?.closed).toBe(a.expectClosed);
    for (const name of ZKTS_TARGETS) expect([name, outcomes[name]]).toEqual([name, outcomes.apache]);
  });
});

describe.each(TARGETS)('on %s', (name) => {
  it('a truncated frame from a client that then disconnects leaves no trace', async () => {
    const c = await RawClient.connect(side(name).target.port);
    c.write(frame(100, Buffer.alloc(10)));
    await new Promise((r) => setTimeout(r, 200));
    c.destroy();
    await assertServed(name, 'truncated frame');
  });

  it('a client that stops reading large replies does not stall others', async () => {
    const { target, healthy } = side(name);
    const big = Buffer.alloc(512 * 1024, 7);
    expect(
      (await healthy.request({ type: 'create', path: '/big', data: big, acl: OPEN, flags: 0 })).header.err,
    ).toBe(0);
    const slow = await RawClient.connect(target.port);
    slow.socket.pause();
    // 64 MB of replies it never reads.
    for (let i = 0; i < 128; i++) slow.send({ type: 'getData', path: '/big', watch: false });
    const t0 = Date.now();
    await assertServed(name, 'slow reader');
    expect(Date.now() - t0).toBeLessThan(5000);
    if (name !== 'apache') {
      // zkts bounds what it queues for a client (maxResponseBufferBytes) and closes it past that.
      await Promise.race([slow.closedPromise, new Promise((r) => setTimeout(r, 10_000))]);
      slow.socket.resume();
      await Promise.race([slow.closedPromise, new Promise((r) => setTimeout(r, 5_000))]);
      expect(slow.closed).toBe(true);
    }
    slow.destroy();
    await assertServed(name, 'after slow reader');
    expect((await healthy.request({ type: 'delete', path: '/big', version: -1 })).header.err).toBe(0);
  });

  it(`closes connections over maxClientCnxns=${MAX_CNXNS} from one address and serves the rest`, async () => {
    const { target } = side(name);
    // Wait until only the healthy session (and the probe itself) is connected.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const cons = (await target.fourLetterWord('cons')).split('\n').filter((l) => l.startsWith(' /'));
      if (cons.length <= 2 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const extra: RawClient[] = [];
    // The server may still be letting go of earlier test connections: retry a refused one.
    const connectRetrying = async (): Promise<RawClient> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await RawClient.connect(target.port);
        } catch (e) {
          if (attempt >= 30) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    for (let i = 0; i < MAX_CNXNS - 1; i++) extra.push(await connectRetrying());
    // Refused: closed at once (the connect itself may already fail), never a session.
    const over = await RawClient.open(target.port).catch(() => undefined);
    const refused =
      over === undefined ||
      (await Promise.race([
        over.closedPromise.then(() => true),
        over.handshake().then(
          () => false,
          () => true,
        ),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
      ]));
    expect(refused).toBe(true);
    over?.destroy();
    for (const c of extra) {
      const r = await c.request({ type: 'exists', path: '/keep', watch: false });
      expect(r.header.err).toBe(0);
    }
    // (a four-letter word would be one connection too many here)
    await assertServed(name, 'max connections', false);
    // One leaves, another gets in.
    const leaving = extra.pop() as RawClient;
    leaving.destroy();
    await leaving.closedPromise;
    let admitted: RawClient | undefined;
    for (let i = 0; i < 50 && admitted === undefined; i++) {
      admitted = await RawClient.connect(target.port).catch(() => undefined);
      if (admitted === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(admitted).toBeDefined();
    admitted?.destroy();
    for (const c of extra) c.destroy();
  });
});
