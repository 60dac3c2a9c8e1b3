import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeZxid, type Txn, ZabError, ZabFollower, ZabObserver, type ZabOutput } from '../src/index.js';
import type { Disk } from './support/host.js';
import { Net } from './support/net.js';

type Out = ZabOutput<string, string[]>;
const empty = { acceptedEpoch: 0n, currentEpoch: 0n, snapshotZxid: 0n, log: [] as Txn<string>[] };
const cfg = { myId: 2, voters: [1, 2, 3], observers: [4], leaderId: 1, initLimit: 3, syncLimit: 2 };
const z = (e: number, c: number) => makeZxid(BigInt(e), BigInt(c));
const disk = (outs: Out[]) => outs.filter((o): o is Extract<Out, { type: 'disk' }> => o.type === 'disk');
const sent = (outs: Out[]) => outs.flatMap((o) => (o.type === 'send' ? [o.msg] : []));
const lastSeq = (outs: Out[]) => Math.max(0, ...disk(outs).map((d) => d.seq));

function follower(d = empty) {
  const f = new ZabFollower<string, string[]>(cfg, d);
  expect(sent(f.step({ type: 'start' }))).toEqual([
    { type: 'FOLLOWERINFO', acceptedEpoch: d.acceptedEpoch, lastZxid: d.log.at(-1)?.zxid ?? d.snapshotZxid },
  ]);
  return f;
}

/** A follower past discovery, waiting for the synchronisation stream of epoch 2. */
function awaitingSync(d = empty) {
  const f = follower(d);
  const o = f.step({ type: 'message', from: 1, msg: { type: 'LEADERINFO', epoch: 2n } });
  f.step({ type: 'diskDone', seq: lastSeq(o) });
  expect(f.state).toBe('awaitingSync');
  return f;
}

describe('ZabLearner configuration', () => {
  it('checks its role and leader', () => {
    expect(() => new ZabObserver(cfg, empty)).toThrow(ZabError);
    expect(() => new ZabFollower({ ...cfg, myId: 4 }, empty)).toThrow(/observer/);
    expect(() => new ZabFollower({ ...cfg, leaderId: 4 }, empty)).toThrow(/leader/);
    expect(() => new ZabFollower({ ...cfg, leaderId: 2 }, empty)).toThrow(/leader/);
  });
});

describe('ZabLearner discovery', () => {
  it('acknowledges a new epoch only once it is durable', () => {
    const f = follower();
    const o = f.step({ type: 'message', from: 1, msg: { type: 'LEADERINFO', epoch: 2n } });
    expect(disk(o).map((d) => d.write)).toEqual([{ op: 'acceptedEpoch', epoch: 2n }]);
    expect(sent(o)).toEqual([]);
    expect(sent(f.step({ type: 'diskDone', seq: lastSeq(o) }))).toEqual([
      { type: 'ACKEPOCH', epoch: 2n, fresh: true, currentEpoch: 0n, lastZxid: 0n },
    ]);
  });

  it('answers an epoch it accepted before without counting, and refuses an older one', () => {
    const f = follower({ ...empty, acceptedEpoch: 2n });
    expect(sent(f.step({ type: 'message', from: 1, msg: { type: 'LEADERINFO', epoch: 2n } }))).toEqual([
      { type: 'ACKEPOCH', epoch: 2n, fresh: false, currentEpoch: 0n, lastZxid: 0n },
    ]);
    const g = follower({ ...empty, acceptedEpoch: 5n });
    expect(g.step({ type: 'message', from: 1, msg: { type: 'LEADERINFO', epoch: 2n } })).toEqual([
      expect.objectContaining({ type: 'lookForLeader', reason: 'epochRefused' }),
    ]);
  });

  it('ignores messages from servers other than its leader', () => {
    const f = follower();
    expect(f.step({ type: 'message', from: 3, msg: { type: 'LEADERINFO', epoch: 2n } })).toEqual([]);
    expect(f.state).toBe('discovery');
  });
});

describe('ZabLearner synchronisation', () => {
  it('persists the synced txns, then currentEpoch, and only then acknowledges NEWLEADER', () => {
    const f = awaitingSync({
      ...empty,
      acceptedEpoch: 1n,
      currentEpoch: 1n,
      log: [{ zxid: z(1, 1), data: 'a' }],
    });
    const outs: Out[] = [];
    outs.push(...f.step({ type: 'message', from: 1, msg: { type: 'DIFF', zxid: z(1, 1) } }));
    outs.push(...f.step({ type: 'message', from: 1, msg: { type: 'PROPOSAL', zxid: z(1, 2), data: 'b' } }));
    outs.push(...f.step({ type: 'message', from: 1, msg: { type: 'NEWLEADER', zxid: z(2, 0) } }));
    expect(disk(outs).map((d) => d.write.op)).toEqual(['append', 'currentEpoch']);
    expect(sent(outs)).toEqual([]);
    const writes = disk(outs);
    // The txn write being durable is not enough: the epoch write must be too.
    expect(sent(f.step({ type: 'diskDone', seq: (writes[0] as { seq: number }).seq }))).toEqual([]);
    expect(sent(f.step({ type: 'diskDone', seq: (writes[1] as { seq: number }).seq }))).toEqual([
      { type: 'ACK', zxid: z(2, 0) },
    ]);
    // Nothing is applied before UPTODATE, then everything committed, in order.
    const up = f.step({ type: 'message', from: 1, msg: { type: 'UPTODATE', zxid: z(1, 2) } });
    expect(up.filter((o) => o.type === 'apply').map((o) => (o.type === 'apply' ? o.txn.data : ''))).toEqual([
      'a',
      'b',
    ]);
    expect(up.at(-1)).toEqual({ type: 'synced', epoch: 2n });
  });

  it('truncates on TRUNC and refuses to truncate below what it applied', () => {
    const log = [1, 2, 3].map((c) => ({ zxid: z(1, c), data: `${c}` }));
    const f = awaitingSync({ ...empty, acceptedEpoch: 1n, currentEpoch: 1n, log });
    const o = f.step({ type: 'message', from: 1, msg: { type: 'TRUNC', zxid: z(1, 1) } });
    expect(disk(o).map((d) => d.write)).toEqual([{ op: 'truncate', zxid: z(1, 1) }]);
    expect(f.lastLogged).toBe(z(1, 1));
    const g = awaitingSync({ ...empty, acceptedEpoch: 1n, currentEpoch: 1n, snapshotZxid: z(1, 3) });
    expect(g.step({ type: 'message', from: 1, msg: { type: 'TRUNC', zxid: z(1, 1) } })).toEqual([
      expect.objectContaining({ type: 'lookForLeader', reason: 'protocol' }),
    ]);
  });

  it('restores a SNAP before logging what follows it', () => {
    const f = awaitingSync();
    const o = f.step({
      type: 'message',
      from: 1,
      msg: { type: 'SNAP', zxid: z(1, 3), snapshot: ['x', 'y', 'z'] },
    });
    expect(o.map((x) => x.type)).toEqual(['restore', 'disk']);
    expect(f.lastApplied).toBe(z(1, 3));
  });

  it('treats an out-of-order stream as a broken session', () => {
    const f = awaitingSync();
    expect(f.step({ type: 'message', from: 1, msg: { type: 'NEWLEADER', zxid: z(2, 0) } })).toEqual([
      expect.objectContaining({ type: 'lookForLeader', reason: 'protocol' }),
    ]);
    const g = awaitingSync();
    g.step({ type: 'message', from: 1, msg: { type: 'DIFF', zxid: 0n } });
    g.step({ type: 'message', from: 1, msg: { type: 'PROPOSAL', zxid: z(1, 2), data: 'b' } });
    expect(g.step({ type: 'message', from: 1, msg: { type: 'PROPOSAL', zxid: z(1, 1), data: 'a' } })).toEqual(
      [expect.objectContaining({ type: 'lookForLeader', reason: 'protocol' })],
    );
  });
});

describe('ZabLearner broadcast and liveness', () => {
  function serving() {
    const f = awaitingSync();
    f.step({ type: 'message', from: 1, msg: { type: 'DIFF', zxid: 0n } });
    const o = f.step({ type: 'message', from: 1, msg: { type: 'NEWLEADER', zxid: z(2, 0) } });
    f.step({ type: 'diskDone', seq: lastSeq(o) });
    f.step({ type: 'message', from: 1, msg: { type: 'UPTODATE', zxid: 0n } });
    expect(f.state).toBe('broadcast');
    return f;
  }

  it('acknowledges proposals once durable and applies only what is committed, in order', () => {
    const f = serving();
    const a = f.step({ type: 'message', from: 1, msg: { type: 'PROPOSAL', zxid: z(2, 1), data: 'a' } });
    const b = f.step({ type: 'message', from: 1, msg: { type: 'PROPOSAL', zxid: z(2, 2), data: 'b' } });
    expect(sent([...a, ...b])).toEqual([]);
    expect(sent(f.step({ type: 'diskDone', seq: lastSeq(b) }))).toEqual([{ type: 'ACK', zxid: z(2, 2) }]);
    expect(f.step({ type: 'message', from: 1, msg: { type: 'COMMIT', zxid: z(2, 1) } })).toEqual([
      { type: 'apply', txn: { zxid: z(2, 1), data: 'a' } },
    ]);
    expect(f.step({ type: 'message', from: 1, msg: { type: 'COMMIT', zxid: z(2, 3) } })).toEqual([
      expect.objectContaining({ type: 'lookForLeader', reason: 'protocol' }),
    ]);
  });

  it('answers pings and gives up on a silent or disconnected leader', () => {
    const f = serving();
    expect(sent(f.step({ type: 'message', from: 1, msg: { type: 'PING', zxid: 0n } }))).toEqual([
      { type: 'PING', zxid: 0n },
    ]);
    expect(f.step({ type: 'tick' })).toEqual([]);
    expect(f.step({ type: 'tick' })).toEqual([]);
    expect(f.step({ type: 'tick' })).toEqual([
      expect.objectContaining({ type: 'lookForLeader', reason: 'syncLimit' }),
    ]);
    const g = serving();
    expect(g.step({ type: 'disconnected', peer: 3 })).toEqual([]);
    expect(g.step({ type: 'disconnected', peer: 1 })).toEqual([
      expect.objectContaining({ type: 'lookForLeader', reason: 'disconnected' }),
    ]);
  });

  it('an observer takes INFORMs and never acknowledges them', () => {
    const o = new ZabObserver<string, string[]>({ ...cfg, myId: 4 }, empty);
    expect(sent(o.step({ type: 'start' }))[0]?.type).toBe('OBSERVERINFO');
    const w = o.step({ type: 'message', from: 1, msg: { type: 'LEADERINFO', epoch: 1n } });
    o.step({ type: 'diskDone', seq: lastSeq(w) });
    o.step({ type: 'message', from: 1, msg: { type: 'DIFF', zxid: 0n } });
    const n = o.step({ type: 'message', from: 1, msg: { type: 'NEWLEADER', zxid: z(1, 0) } });
    o.step({ type: 'diskDone', seq: lastSeq(n) });
    o.step({ type: 'message', from: 1, msg: { type: 'UPTODATE', zxid: 0n } });
    const i = o.step({ type: 'message', from: 1, msg: { type: 'INFORM', zxid: z(1, 1), data: 'a' } });
    expect(i.filter((x) => x.type === 'apply')).toHaveLength(1);
    expect(sent(o.step({ type: 'diskDone', seq: lastSeq(i) }))).toEqual([]);
    expect(o.step({ type: 'message', from: 1, msg: { type: 'PROPOSAL', zxid: z(1, 2), data: 'b' } })).toEqual(
      [expect.objectContaining({ type: 'lookForLeader', reason: 'protocol' })],
    );
  });
});

describe('synchronisation property: DIFF / TRUNC / SNAP make the learner hold exactly the leader history', () => {
  const txns = (epoch: number, from: number, to: number) =>
    Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => ({
      zxid: z(epoch, from + i),
      data: `${epoch}.${from + i}`,
    }));

  it('for any common prefix, divergent suffixes and leader snapshot point', () => {
    fc.assert(
      fc.property(
        fc.record({
          shared: fc.integer({ min: 0, max: 8 }),
          leaderMore: fc.integer({ min: 0, max: 4 }),
          leaderNew: fc.integer({ min: 0, max: 3 }),
          learnerMore: fc.integer({ min: 0, max: 4 }),
          learnerStale: fc.integer({ min: 0, max: 3 }),
          snapAt: fc.integer({ min: 0, max: 12 }),
          observer: fc.boolean(),
        }),
        (p) => {
          // Epoch 1 is shared history; the leader went on through epoch 3, the learner logged
          // proposals of epoch 2 that were never committed.
          // Reachable states only: a learner that logged epoch-2 proposals synced with the epoch-2
          // leader, whose history the epoch-3 leader then holds too (their epoch-1 parts agree).
          const learnerMore = p.learnerStale > 0 ? p.leaderMore : p.learnerMore;
          const lead1 = txns(1, 1, p.shared + p.leaderMore);
          const leaderHistory = [...lead1, ...txns(3, 1, p.leaderNew)];
          const learnerLog = [...txns(1, 1, p.shared + learnerMore), ...txns(2, 1, p.learnerStale)];
          const cut = Math.min(p.snapAt, leaderHistory.length);
          const leaderDisk: Disk = {
            acceptedEpoch: 3n,
            currentEpoch: 3n,
            snapshot: {
              zxid: cut > 0 ? (leaderHistory[cut - 1] as Txn<string>).zxid : 0n,
              state: leaderHistory.slice(0, cut),
            },
            log: leaderHistory.slice(cut),
          };
          const net = new Net();
          net.cfg = { voters: [1, 2, 3], observers: [4], initLimit: 10, syncLimit: 5 };
          net.setDisk(1, leaderDisk);
          net.setDisk(3, { ...leaderDisk, log: leaderDisk.log.slice() });
          const learner = p.observer ? 4 : 2;
          net.setDisk(learner, {
            acceptedEpoch: 2n,
            currentEpoch: p.learnerStale > 0 ? 2n : 1n,
            snapshot: { zxid: 0n, state: [] },
            log: learnerLog,
          });
          net.host(1).become('leading', 1);
          net.host(3).become('following', 1);
          net.host(learner).become(p.observer ? 'observing' : 'following', 1);
          net.stabilize();
          const l = net.host(learner);
          const want = leaderHistory.map((t) => `${t.zxid}:${t.data}`);
          expect(l.history().map((t) => `${t.zxid}:${t.data}`)).toEqual(want);
          expect(l.applied.map((t) => `${t.zxid}:${t.data}`)).toEqual(want);
          expect(l.serving).toBe(true);
          expect(l.durable.currentEpoch).toBe(4n);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('ZabLearner refuses a TRUNC point it does not hold', () => {
  it('stops instead of silently missing history', () => {
    const f = new ZabFollower<string, string[]>(cfg, {
      ...empty,
      acceptedEpoch: 2n,
      currentEpoch: 2n,
      log: [{ zxid: z(2, 1), data: 'x' }],
    });
    f.step({ type: 'start' });
    const o = f.step({ type: 'message', from: 1, msg: { type: 'LEADERINFO', epoch: 3n } });
    f.step({ type: 'diskDone', seq: lastSeq(o) });
    expect(f.step({ type: 'message', from: 1, msg: { type: 'TRUNC', zxid: z(1, 1) } })).toEqual([
      expect.objectContaining({ type: 'lookForLeader', reason: 'protocol' }),
    ]);
  });
});
