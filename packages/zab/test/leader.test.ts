import { describe, expect, it } from 'vitest';
import { makeZxid, type Txn, ZabError, ZabLeader, type ZabOutput } from '../src/index.js';

type Out = ZabOutput<string, string[]>;
const empty = { acceptedEpoch: 0n, currentEpoch: 0n, snapshotZxid: 0n, log: [] as Txn<string>[] };
const voters = [1, 2, 3];

function leader(
  opts: { voters?: number[]; observers?: number[]; disk?: typeof empty; maxOutstanding?: number } = {},
) {
  return new ZabLeader<string, string[]>(
    {
      myId: 1,
      voters: opts.voters ?? voters,
      observers: opts.observers ?? [],
      initLimit: 4,
      syncLimit: 2,
      ...(opts.maxOutstanding === undefined ? {} : { maxOutstanding: opts.maxOutstanding }),
    },
    opts.disk ?? empty,
  );
}

const sends = (outs: Out[], type?: string) =>
  outs.filter(
    (o): o is Extract<Out, { type: 'send' }> =>
      o.type === 'send' && (type === undefined || o.msg.type === type),
  );
const disk = (outs: Out[]) => outs.filter((o): o is Extract<Out, { type: 'disk' }> => o.type === 'disk');
const lastSeq = (outs: Out[]) => Math.max(0, ...disk(outs).map((d) => d.seq));

/** Drives a leader of a 3-voter ensemble to `broadcast` with followers 2 and 3 synced. */
function established() {
  const l = leader();
  const seqs: number[] = [];
  l.step({ type: 'start' });
  let o = l.step({
    type: 'message',
    from: 2,
    msg: { type: 'FOLLOWERINFO', acceptedEpoch: 0n, lastZxid: 0n },
  });
  seqs.push(lastSeq(o));
  l.step({ type: 'message', from: 3, msg: { type: 'FOLLOWERINFO', acceptedEpoch: 0n, lastZxid: 0n } });
  l.step({ type: 'diskDone', seq: seqs[0] as number });
  const ack = { type: 'ACKEPOCH', epoch: 1n, fresh: true, currentEpoch: 0n, lastZxid: 0n } as const;
  o = l.step({ type: 'message', from: 2, msg: ack });
  l.step({ type: 'message', from: 3, msg: ack });
  l.step({ type: 'diskDone', seq: lastSeq(o) });
  l.step({ type: 'message', from: 2, msg: { type: 'ACK', zxid: makeZxid(1n, 0n) } });
  l.step({ type: 'message', from: 3, msg: { type: 'ACK', zxid: makeZxid(1n, 0n) } });
  expect(l.phase).toBe('broadcast');
  return l;
}

describe('ZabLeader configuration', () => {
  it('refuses ensembles it cannot lead', () => {
    expect(() => leader({ voters: [] })).toThrow(ZabError);
    expect(() => new ZabLeader({ myId: 4, voters, observers: [4] }, empty)).toThrow(/not a voter/);
    expect(() => new ZabLeader({ myId: 9, voters }, empty)).toThrow(/not in the ensemble/);
    expect(() =>
      leader({
        disk: {
          ...empty,
          log: [
            { zxid: 2n, data: 'a' },
            { zxid: 1n, data: 'b' },
          ],
        },
      }),
    ).toThrow(/ascend/);
  });
});

describe('ZabLeader discovery', () => {
  it('chooses an epoch above every accepted epoch of a quorum, and persists it', () => {
    const l = leader({ disk: { ...empty, acceptedEpoch: 4n, currentEpoch: 4n } });
    expect(l.step({ type: 'start' })).toEqual([]);
    const o = l.step({
      type: 'message',
      from: 3,
      msg: { type: 'FOLLOWERINFO', acceptedEpoch: 7n, lastZxid: 0n },
    });
    expect(l.epoch).toBe(8n);
    expect(disk(o).map((d) => d.write)).toEqual([{ op: 'acceptedEpoch', epoch: 8n }]);
    expect(sends(o, 'LEADERINFO').map((s) => [s.to, s.msg])).toEqual([
      [3, { type: 'LEADERINFO', epoch: 8n }],
    ]);
  });

  it('does not count observers towards the epoch quorum', () => {
    const l = leader({ observers: [4] });
    l.step({ type: 'start' });
    const o = l.step({
      type: 'message',
      from: 4,
      msg: { type: 'OBSERVERINFO', acceptedEpoch: 9n, lastZxid: 0n },
    });
    expect(o).toEqual([]);
    expect(l.epoch).toBe(-1n);
    const o2 = l.step({
      type: 'message',
      from: 2,
      msg: { type: 'FOLLOWERINFO', acceptedEpoch: 0n, lastZxid: 0n },
    });
    expect(l.epoch).toBe(1n);
    expect(
      sends(o2, 'LEADERINFO')
        .map((s) => s.to)
        .sort(),
    ).toEqual([2, 4]);
  });

  it('drops a learner whose role does not match the configuration', () => {
    const l = leader({ observers: [4] });
    expect(
      l.step({ type: 'message', from: 4, msg: { type: 'FOLLOWERINFO', acceptedEpoch: 0n, lastZxid: 0n } }),
    ).toEqual([{ type: 'disconnect', peer: 4 }]);
    expect(
      l.step({ type: 'message', from: 2, msg: { type: 'OBSERVERINFO', acceptedEpoch: 0n, lastZxid: 0n } }),
    ).toEqual([{ type: 'disconnect', peer: 2 }]);
  });

  it('counts itself for ACKEPOCH only once its accepted epoch is durable, and never a repeated ACKEPOCH', () => {
    const l = leader();
    l.step({ type: 'start' });
    const o = l.step({
      type: 'message',
      from: 2,
      msg: { type: 'FOLLOWERINFO', acceptedEpoch: 0n, lastZxid: 0n },
    });
    const seq = lastSeq(o);
    // A repeated acknowledgement (the learner had accepted epoch 1 before) is answered but not counted.
    l.step({
      type: 'message',
      from: 2,
      msg: { type: 'ACKEPOCH', epoch: 1n, fresh: false, currentEpoch: 0n, lastZxid: 0n },
    });
    expect(l.phase).toBe('epochAck');
    l.step({ type: 'diskDone', seq });
    expect(l.phase).toBe('epochAck');
    l.step({ type: 'message', from: 3, msg: { type: 'FOLLOWERINFO', acceptedEpoch: 0n, lastZxid: 0n } });
    const o2 = l.step({
      type: 'message',
      from: 3,
      msg: { type: 'ACKEPOCH', epoch: 1n, fresh: true, currentEpoch: 0n, lastZxid: 0n },
    });
    expect(l.phase).toBe('sync');
    expect(disk(o2).map((d) => d.write)).toEqual([{ op: 'currentEpoch', epoch: 1n }]);
    // Both waiting learners are synchronised now.
    expect(
      sends(o2, 'NEWLEADER')
        .map((s) => s.to)
        .sort(),
    ).toEqual([2, 3]);
  });

  it('steps down when a learner is ahead of it', () => {
    const l = leader({
      disk: { ...empty, acceptedEpoch: 2n, currentEpoch: 2n, log: [{ zxid: makeZxid(2n, 1n), data: 'a' }] },
    });
    l.step({ type: 'start' });
    l.step({
      type: 'message',
      from: 2,
      msg: { type: 'FOLLOWERINFO', acceptedEpoch: 2n, lastZxid: makeZxid(2n, 2n) },
    });
    const o = l.step({
      type: 'message',
      from: 2,
      msg: { type: 'ACKEPOCH', epoch: 3n, fresh: true, currentEpoch: 2n, lastZxid: makeZxid(2n, 2n) },
    });
    expect(o.at(-1)).toMatchObject({ type: 'lookForLeader', reason: 'followerAhead' });
    expect(l.phase).toBe('stopped');
    expect(l.step({ type: 'tick' })).toEqual([]);
  });

  it('gives up when not established within initLimit ticks', () => {
    const l = leader();
    l.step({ type: 'start' });
    for (let i = 0; i < 3; i++) expect(l.step({ type: 'tick' })).toEqual([]);
    expect(l.step({ type: 'tick' })).toEqual([
      expect.objectContaining({ type: 'lookForLeader', reason: 'initLimit' }),
    ]);
  });

  it('a single-voter ensemble establishes itself once its own writes are durable', () => {
    const l = new ZabLeader<string, string[]>({ myId: 1, voters: [1] }, empty);
    const o = l.step({ type: 'start' });
    const o2 = l.step({ type: 'diskDone', seq: lastSeq(o) });
    const o3 = l.step({ type: 'diskDone', seq: lastSeq(o2) });
    expect(o3).toEqual([{ type: 'established', epoch: 1n }]);
    const p = l.step({ type: 'propose', data: 'x' });
    expect(p.filter((x) => x.type === 'apply')).toEqual([]);
    expect(l.step({ type: 'diskDone', seq: lastSeq(p) })).toEqual([
      { type: 'apply', txn: { zxid: makeZxid(1n, 1n), data: 'x' } },
    ]);
  });
});

describe('ZabLeader broadcast', () => {
  it('commits on a quorum of durable ACKs, its own included only once durable, in zxid order', () => {
    const l = established();
    const p1 = l.step({ type: 'propose', data: 'a' });
    const p2 = l.step({ type: 'propose', data: 'b' });
    expect(
      sends(p1, 'PROPOSAL')
        .map((s) => s.to)
        .sort(),
    ).toEqual([2, 3]);
    expect(l.inFlight).toBe(2);
    // Follower 2 acknowledges both; the leader's own write is still pending: no commit.
    expect(l.step({ type: 'message', from: 2, msg: { type: 'ACK', zxid: makeZxid(1n, 2n) } })).toEqual([]);
    // The leader's first write completes: a is committed (2 and 1), b waits for the second write.
    const c1 = l.step({ type: 'diskDone', seq: lastSeq(p1) });
    expect(c1.filter((o) => o.type === 'apply').map((o) => (o.type === 'apply' ? o.txn.data : ''))).toEqual([
      'a',
    ]);
    expect(sends(c1, 'COMMIT').map((s) => s.msg)).toEqual([
      { type: 'COMMIT', zxid: makeZxid(1n, 1n) },
      { type: 'COMMIT', zxid: makeZxid(1n, 1n) },
    ]);
    const c2 = l.step({ type: 'diskDone', seq: lastSeq(p2) });
    expect(c2.filter((o) => o.type === 'apply').map((o) => (o.type === 'apply' ? o.txn.data : ''))).toEqual([
      'b',
    ]);
    expect(l.lastCommitted).toBe(makeZxid(1n, 2n));
    expect(l.inFlight).toBe(0);
  });

  it('refuses proposals before it is established and beyond maxOutstanding', () => {
    const l = leader();
    expect(() => l.step({ type: 'propose', data: 'x' })).toThrow(/cannot propose/);
    const e = established();
    for (let i = 0; i < 1000; i++) e.step({ type: 'propose', data: `${i}` });
    expect(e.canPropose).toBe(false);
    expect(() => e.step({ type: 'propose', data: 'y' })).toThrow(
      expect.objectContaining({ kind: 'overloaded' }),
    );
  });

  it('drops a learner that acknowledges what was never proposed', () => {
    const l = established();
    expect(l.step({ type: 'message', from: 2, msg: { type: 'ACK', zxid: makeZxid(1n, 5n) } })).toEqual([
      { type: 'disconnect', peer: 2 },
    ]);
    expect(l.learners.map((s) => s.sid)).toEqual([3]);
  });

  it('pings learners, drops silent ones and steps down without a quorum', () => {
    const l = established();
    let o = l.step({ type: 'tick' });
    expect(
      sends(o, 'PING')
        .map((s) => s.to)
        .sort(),
    ).toEqual([2, 3]);
    l.step({ type: 'message', from: 2, msg: { type: 'PING', zxid: 0n } });
    l.step({ type: 'tick' });
    o = l.step({ type: 'tick' });
    expect(o).toContainEqual({ type: 'disconnect', peer: 3 });
    expect(l.phase).toBe('broadcast');
    l.step({ type: 'disconnected', peer: 2 });
    o = l.step({ type: 'tick' });
    expect(o.at(-1)).toMatchObject({ type: 'lookForLeader', reason: 'lostQuorum' });
  });
});

describe('ZabLeader synchronisation choice', () => {
  it('sends SNAP instead of a diff longer than maxDiffTxns once it has applied past the learner', () => {
    const l = new ZabLeader<string, string[]>({ myId: 1, voters: [1, 2, 3], maxDiffTxns: 2 }, empty);
    l.step({ type: 'start' });
    let o = l.step({
      type: 'message',
      from: 2,
      msg: { type: 'FOLLOWERINFO', acceptedEpoch: 0n, lastZxid: 0n },
    });
    l.step({ type: 'diskDone', seq: lastSeq(o) });
    o = l.step({
      type: 'message',
      from: 2,
      msg: { type: 'ACKEPOCH', epoch: 1n, fresh: true, currentEpoch: 0n, lastZxid: 0n },
    });
    l.step({ type: 'diskDone', seq: lastSeq(o) });
    l.step({ type: 'message', from: 2, msg: { type: 'ACK', zxid: makeZxid(1n, 0n) } });
    for (const d of ['a', 'b', 'c']) {
      const p = l.step({ type: 'propose', data: d });
      l.step({ type: 'diskDone', seq: lastSeq(p) });
    }
    l.step({ type: 'message', from: 2, msg: { type: 'ACK', zxid: makeZxid(1n, 3n) } });
    expect(l.lastCommitted).toBe(makeZxid(1n, 3n));
    // Server 3 joins empty: three transactions behind, more than maxDiffTxns.
    l.step({ type: 'message', from: 3, msg: { type: 'FOLLOWERINFO', acceptedEpoch: 0n, lastZxid: 0n } });
    const s3 = l.step({
      type: 'message',
      from: 3,
      msg: { type: 'ACKEPOCH', epoch: 1n, fresh: true, currentEpoch: 0n, lastZxid: 0n },
    });
    expect(s3[0]).toEqual({ type: 'sendSnapshot', to: 3, zxid: makeZxid(1n, 3n) });
    expect(sends(s3).map((s) => s.msg.type)).toEqual(['NEWLEADER']);
    // A learner two behind gets a DIFF.
    l.step({ type: 'disconnected', peer: 3 });
    l.step({
      type: 'message',
      from: 3,
      msg: { type: 'FOLLOWERINFO', acceptedEpoch: 1n, lastZxid: makeZxid(1n, 1n) },
    });
    const d3 = l.step({
      type: 'message',
      from: 3,
      msg: { type: 'ACKEPOCH', epoch: 1n, fresh: false, currentEpoch: 1n, lastZxid: makeZxid(1n, 1n) },
    });
    expect(sends(d3).map((s) => s.msg.type)).toEqual(['DIFF', 'PROPOSAL', 'PROPOSAL', 'NEWLEADER']);
  });
});

describe('ZabLeader memory and sessions', () => {
  it('forgets transactions covered by a snapshot, never beyond what it applied', () => {
    const l = established();
    for (const d of ['a', 'b']) {
      const p = l.step({ type: 'propose', data: d });
      l.step({ type: 'diskDone', seq: lastSeq(p) });
    }
    l.step({ type: 'message', from: 2, msg: { type: 'ACK', zxid: makeZxid(1n, 1n) } });
    expect(l.lastCommitted).toBe(makeZxid(1n, 1n));
    expect(() => l.step({ type: 'snapshotTaken', zxid: makeZxid(1n, 2n) })).toThrow(/above what was applied/);
    l.step({ type: 'snapshotTaken', zxid: makeZxid(1n, 1n) });
    expect(l.history().map((t) => t.data)).toEqual(['b']);
  });

  it('restarts a learner session on a new FOLLOWERINFO and ignores messages from unknown sessions', () => {
    const l = established();
    expect(l.step({ type: 'message', from: 3, msg: { type: 'PING', zxid: 0n } })).toEqual([]);
    l.step({ type: 'disconnected', peer: 3 });
    expect(l.step({ type: 'message', from: 3, msg: { type: 'ACK', zxid: makeZxid(1n, 0n) } })).toEqual([
      { type: 'disconnect', peer: 3 },
    ]);
    const o = l.step({
      type: 'message',
      from: 3,
      msg: { type: 'FOLLOWERINFO', acceptedEpoch: 1n, lastZxid: 0n },
    });
    expect(sends(o).map((s) => s.msg)).toEqual([{ type: 'LEADERINFO', epoch: 1n }]);
    expect(l.learners.find((s) => s.sid === 3)?.phase).toBe('leaderInfo');
  });
});
