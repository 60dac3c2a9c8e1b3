import { describe, expect, it } from 'vitest';
import {
  ElectionError,
  type ElectionOutput,
  FastLeaderElection,
  hex,
  makeZxid,
  type Notification,
  ranksAbove,
  type ServerState,
} from '../src/index.js';

function note(
  leader: number,
  round: bigint,
  state: ServerState = 'LOOKING',
  zxid = 0n,
  peerEpoch = 0n,
): Notification {
  return { version: 1, leader, zxid, electionEpoch: round, peerEpoch, state };
}
const sends = (out: ElectionOutput[]) =>
  out.flatMap((o) =>
    o.type === 'send' ? [{ to: o.to, leader: o.n.leader, round: o.n.electionEpoch, state: o.n.state }] : [],
  );
const logs = (out: ElectionOutput[]) => out.flatMap((o) => (o.type === 'log' ? [o.message] : []));
const decided = (out: ElectionOutput[]) => out.find((o) => o.type === 'decided');
const timers = (out: ElectionOutput[]) =>
  out.flatMap((o) =>
    o.type === 'setTimer' ? [`${o.timer}:${o.afterMs}`] : o.type === 'cancelTimer' ? [`-${o.timer}`] : [],
  );

function started(
  myId: number,
  voters = [1, 2, 3],
  extra: Partial<ConstructorParameters<typeof FastLeaderElection>[0]> = {},
) {
  const fle = new FastLeaderElection({ myId, voters, ...extra });
  const out = fle.step({ type: 'start', currentEpoch: 0n, lastZxid: 0n });
  return { fle, out };
}

describe('vote order', () => {
  it('ranks by peerEpoch, then zxid, then sid', () => {
    expect(ranksAbove({ leader: 1, zxid: 0n, peerEpoch: 2n }, { leader: 3, zxid: 99n, peerEpoch: 1n })).toBe(
      true,
    );
    expect(ranksAbove({ leader: 1, zxid: 5n, peerEpoch: 1n }, { leader: 3, zxid: 4n, peerEpoch: 1n })).toBe(
      true,
    );
    expect(ranksAbove({ leader: 3, zxid: 5n, peerEpoch: 1n }, { leader: 1, zxid: 5n, peerEpoch: 1n })).toBe(
      true,
    );
    expect(ranksAbove({ leader: 1, zxid: 5n, peerEpoch: 1n }, { leader: 1, zxid: 5n, peerEpoch: 1n })).toBe(
      false,
    );
    expect(hex(makeZxid(1n, 2n))).toBe('0x100000002');
    expect(hex(-1n)).toBe('0xffffffffffffffff');
  });
});

describe('FastLeaderElection', () => {
  it('starts a round proposing itself to every voter, itself included', () => {
    const { fle, out } = started(3);
    expect(fle.state).toBe('LOOKING');
    expect(fle.logicalClock).toBe(1n);
    expect(logs(out)).toContain('New election. My id = 3, proposed zxid=0x0');
    expect(sends(out)).toEqual([1, 2, 3].map((to) => ({ to, leader: 3, round: 1n, state: 'LOOKING' })));
    expect(timers(out)).toContain('notification:200');
  });

  it('logs notifications with the fields of ZooKeeper', () => {
    const { fle } = started(3);
    const out = fle.step({ type: 'notification', from: 3, n: note(3, 1n) });
    expect(logs(out)).toContain(
      'Notification: 1 (message format version), 3 (n.leader), 0x0 (n.zxid), 0x1 (n.round), LOOKING (n.state), 3 (n.sid), 0x0 (n.peerEpoch) LOOKING (my state)',
    );
  });

  it('doubles the notification time-out up to the maximum, re-sending its vote each time', () => {
    const { fle } = started(3, [1, 2, 3], { maxNotificationIntervalMs: 3000 });
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const out = fle.step({ type: 'timeout', timer: 'notification' });
      seen.push(...logs(out));
      expect(sends(out)).toHaveLength(3);
    }
    expect(seen).toEqual([400, 800, 1600, 3000, 3000, 3000].map((t) => `Notification time out: ${t}`));
    expect(fle.notificationTimeoutMs).toBe(3000);
  });

  it('adopts a better vote in the same round and re-broadcasts it', () => {
    const { fle } = started(1);
    const out = fle.step({ type: 'notification', from: 2, n: note(2, 1n) });
    expect(sends(out)).toEqual([1, 2, 3].map((to) => ({ to, leader: 2, round: 1n, state: 'LOOKING' })));
    expect(fle.currentVote.leader).toBe(2);
  });

  it('keeps its vote against a worse one in the same round', () => {
    const { fle } = started(3);
    const out = fle.step({ type: 'notification', from: 1, n: note(1, 1n) });
    expect(sends(out)).toEqual([]);
    expect(fle.currentVote.leader).toBe(3);
  });

  it('prefers a higher zxid and a higher peerEpoch over a higher sid', () => {
    const { fle } = started(3);
    fle.step({ type: 'notification', from: 1, n: note(1, 1n, 'LOOKING', 7n) });
    expect(fle.currentVote.leader).toBe(1);
    fle.step({ type: 'notification', from: 2, n: note(2, 1n, 'LOOKING', 0n, 1n) });
    expect(fle.currentVote.leader).toBe(2);
  });

  it('joins a higher round: clears the received votes and compares against its own initial vote', () => {
    const { fle } = started(2);
    fle.step({ type: 'notification', from: 2, n: note(2, 1n) });
    fle.step({ type: 'notification', from: 3, n: note(3, 1n) });
    expect(fle.currentVote.leader).toBe(3);
    const out = fle.step({ type: 'notification', from: 1, n: note(1, 5n) });
    expect(fle.logicalClock).toBe(5n);
    // 1 < 2: back to its own vote, not 3 from the forgotten round
    expect(fle.currentVote.leader).toBe(2);
    expect(sends(out).map((s) => [s.leader, s.round])).toEqual([
      [2, 5n],
      [2, 5n],
      [2, 5n],
    ]);
  });

  it('answers a server in a lower round with its vote and ignores that vote', () => {
    const { fle } = started(1);
    fle.step({ type: 'notification', from: 2, n: note(2, 4n) }); // now round 4, voting 2
    const out = fle.step({ type: 'notification', from: 3, n: note(3, 2n) });
    expect(sends(out)).toEqual([{ to: 3, leader: 2, round: 4n, state: 'LOOKING' }]);
    expect(fle.currentVote.leader).toBe(2);
  });

  it('waits finalizeWait once a quorum agrees, then leads', () => {
    const { fle } = started(3);
    fle.step({ type: 'notification', from: 3, n: note(3, 1n) });
    const out = fle.step({ type: 'notification', from: 1, n: note(3, 1n) });
    expect(timers(out)).toEqual(['-notification', 'finalize:200']);
    expect(fle.isFinalizing).toBe(true);
    const end = fle.step({ type: 'timeout', timer: 'finalize' });
    const d = decided(end);
    expect(d).toMatchObject({ type: 'decided', state: 'LEADING', path: 'quorum', supporters: [1, 3] });
    expect(logs(end)).toContain('LEADING');
    expect(fle.state).toBe('LEADING');
  });

  it('drops a worse notification during finalizeWait and restarts the wait (early decisions off)', () => {
    const { fle } = started(3, [1, 2, 3], { decideEarly: false });
    fle.step({ type: 'notification', from: 3, n: note(3, 1n) });
    fle.step({ type: 'notification', from: 2, n: note(3, 1n) });
    const out = fle.step({ type: 'notification', from: 1, n: note(1, 1n) });
    expect(timers(out)).toEqual(['finalize:200']);
    expect(fle.isFinalizing).toBe(true);
  });

  it('abandons finalizing when a better vote arrives', () => {
    const { fle } = started(2);
    fle.step({ type: 'notification', from: 2, n: note(2, 1n) });
    fle.step({ type: 'notification', from: 1, n: note(2, 1n) });
    expect(fle.isFinalizing).toBe(true);
    const out = fle.step({ type: 'notification', from: 3, n: note(3, 1n) });
    expect(fle.isFinalizing).toBe(false);
    expect(fle.currentVote.leader).toBe(3);
    expect(timers(out)[0]).toBe('-finalize');
    expect(fle.step({ type: 'timeout', timer: 'finalize' })).toEqual([]);
    expect(fle.state).toBe('LOOKING');
  });

  it('follows when a quorum of same-round notifications backs a leader that says it leads', () => {
    const { fle } = started(3);
    let out = fle.step({ type: 'notification', from: 1, n: note(2, 1n, 'FOLLOWING', 0n, 1n) });
    expect(decided(out)).toBeUndefined();
    out = fle.step({ type: 'notification', from: 2, n: note(2, 1n, 'LEADING', 0n, 1n) });
    expect(decided(out)).toMatchObject({ state: 'FOLLOWING', path: 'recvset', supporters: [1, 2] });
    expect(fle.currentVote).toMatchObject({ leader: 2, electionEpoch: 1n, peerEpoch: 1n });
  });

  it('does not follow a quorum whose leader has not said it leads (checkLeader)', () => {
    const { fle } = started(1, [1, 2, 3, 4, 5]);
    fle.step({ type: 'notification', from: 3, n: note(5, 1n, 'FOLLOWING') });
    fle.step({ type: 'notification', from: 4, n: note(5, 1n, 'FOLLOWING') });
    const out = fle.step({ type: 'notification', from: 2, n: note(5, 1n, 'FOLLOWING') });
    expect(decided(out)).toBeUndefined();
    expect(decided(fle.step({ type: 'notification', from: 5, n: note(5, 1n, 'LEADING') }))).toMatchObject({
      state: 'FOLLOWING',
    });
  });

  it('follows an established leader of an older round through outofelection and adopts its round', () => {
    const { fle } = started(3);
    fle.step({ type: 'notification', from: 2, n: note(2, 7n) }); // round 7
    fle.step({ type: 'notification', from: 1, n: note(2, 4n, 'FOLLOWING') });
    const out = fle.step({ type: 'notification', from: 2, n: note(2, 4n, 'LEADING') });
    expect(decided(out)).toMatchObject({ state: 'FOLLOWING', path: 'outofelection' });
    expect(fle.logicalClock).toBe(4n);
  });

  it('once decided, answers LOOKING servers with its final vote and ignores the rest', () => {
    const { fle } = started(1);
    fle.step({ type: 'notification', from: 1, n: note(2, 1n, 'FOLLOWING') });
    fle.step({ type: 'notification', from: 2, n: note(2, 1n, 'LEADING') });
    expect(fle.state).toBe('FOLLOWING');
    const out = fle.step({ type: 'notification', from: 3, n: note(3, 1n) });
    expect(sends(out)).toEqual([{ to: 3, leader: 2, round: 1n, state: 'FOLLOWING' }]);
    expect(sends(fle.step({ type: 'notification', from: 2, n: note(2, 1n, 'LEADING') }))).toEqual([]);
    expect(fle.step({ type: 'timeout', timer: 'notification' })).toEqual([]);
  });

  it('replays votes of servers that started looking while it was still decided', () => {
    const { fle } = started(1);
    fle.step({ type: 'notification', from: 1, n: note(3, 1n, 'FOLLOWING') });
    fle.step({ type: 'notification', from: 3, n: note(3, 1n, 'LEADING') });
    expect(fle.state).toBe('FOLLOWING');
    // 2 noticed the leader's death first and started round 2 before we did
    fle.step({ type: 'notification', from: 2, n: note(2, 2n) });
    const out = fle.step({ type: 'start', currentEpoch: 0n, lastZxid: 0n });
    expect(fle.logicalClock).toBe(2n);
    expect(fle.currentVote.leader).toBe(2);
    expect(sends(out).filter((s) => s.leader === 2)).toHaveLength(3);
  });

  it('a new start goes back to LOOKING in the next round', () => {
    const { fle } = started(1);
    fle.step({ type: 'notification', from: 1, n: note(2, 1n, 'FOLLOWING') });
    fle.step({ type: 'notification', from: 2, n: note(2, 1n, 'LEADING') });
    const out = fle.step({ type: 'start', currentEpoch: 1n, lastZxid: makeZxid(1n, 3n) });
    expect(fle.state).toBe('LOOKING');
    expect(fle.logicalClock).toBe(2n);
    expect(logs(out)).toContain('New election. My id = 1, proposed zxid=0x100000003');
  });

  it('observers never vote for themselves, never count, and end OBSERVING', () => {
    const fle = new FastLeaderElection({ myId: 4, voters: [1, 2, 3], observers: [4] });
    const out = fle.step({ type: 'start', currentEpoch: 0n, lastZxid: 0n });
    expect(sends(out).map((s) => s.to)).toEqual([1, 2, 3]);
    expect(sends(out)[0]?.leader).toBe(-1);
    fle.step({ type: 'notification', from: 1, n: note(3, 1n) });
    fle.step({ type: 'notification', from: 2, n: note(3, 1n) });
    expect(fle.isFinalizing).toBe(true);
    expect(decided(fle.step({ type: 'timeout', timer: 'finalize' }))).toMatchObject({ state: 'OBSERVING' });
  });

  it('voters answer an observer at once and do not count it', () => {
    const fle = new FastLeaderElection({ myId: 1, voters: [1, 2, 3], observers: [4] });
    fle.step({ type: 'start', currentEpoch: 0n, lastZxid: 0n });
    const out = fle.step({ type: 'notification', from: 4, n: note(3, 1n) });
    expect(sends(out)).toEqual([{ to: 4, leader: 1, round: 1n, state: 'LOOKING' }]);
    expect(fle.currentVote.leader).toBe(1);
    expect(fle.isQuorum([1, 4])).toBe(false);
    expect(fle.isQuorum([1, 2, 4])).toBe(true);
  });

  it('ignores votes for servers outside the ensemble', () => {
    const { fle } = started(1);
    const out = fle.step({ type: 'notification', from: 2, n: note(9, 1n) });
    expect(fle.currentVote.leader).toBe(1);
    expect(out.some((o) => o.type === 'log' && o.level === 'warn')).toBe(true);
  });

  it('a single-voter ensemble elects itself, at once (nobody else to hear)', () => {
    const { fle, out } = started(1, [1]);
    expect(sends(out)).toEqual([{ to: 1, leader: 1, round: 1n, state: 'LOOKING' }]);
    expect(decided(fle.step({ type: 'notification', from: 1, n: note(1, 1n) }))).toMatchObject({
      state: 'LEADING',
      finalize: 'all-heard',
    });
    const zk = started(1, [1], { decideEarly: false }).fle;
    expect(decided(zk.step({ type: 'notification', from: 1, n: note(1, 1n) }))).toBeUndefined();
    expect(decided(zk.step({ type: 'timeout', timer: 'finalize' }))).toMatchObject({
      state: 'LEADING',
      finalize: 'waited',
    });
  });

  it('refuses bad configurations and inputs before start', () => {
    expect(() =>
      new FastLeaderElection({ myId: 1, voters: [1] }).step({
        type: 'peerReachability',
        sid: 9,
        reachable: false,
      }),
    ).toThrow(ElectionError);
    expect(() => new FastLeaderElection({ myId: 1, voters: [] })).toThrow(ElectionError);
    expect(() => new FastLeaderElection({ myId: 9, voters: [1, 2] })).toThrow(ElectionError);
    expect(() => new FastLeaderElection({ myId: 1, voters: [1], observers: [1] })).toThrow(ElectionError);
    expect(() => new FastLeaderElection({ myId: 1, voters: [1], minNotificationIntervalMs: 0 })).toThrow(
      ElectionError,
    );
    const fle = new FastLeaderElection({ myId: 1, voters: [1] });
    expect(() => fle.step({ type: 'timeout', timer: 'notification' })).toThrow(ElectionError);
  });
});

describe('deciding without the finalize wait', () => {
  const reach = (fle: FastLeaderElection, sid: number, reachable: boolean) =>
    fle.step({ type: 'peerReachability', sid, reachable });

  it('decides at once when every voter has been heard in the round', () => {
    const { fle } = started(3);
    fle.step({ type: 'notification', from: 3, n: note(3, 1n) });
    fle.step({ type: 'notification', from: 1, n: note(1, 1n) });
    expect(fle.state).toBe('LOOKING');
    const out = fle.step({ type: 'notification', from: 2, n: note(3, 1n) });
    expect(timers(out)).not.toContain('finalize:200');
    expect(decided(out)).toMatchObject({
      state: 'LEADING',
      path: 'quorum',
      finalize: 'all-heard',
      supporters: [2, 3],
    });
    expect(logs(out)).toContain(
      'Every voter has been heard in round 0x1: deciding without the finalize wait',
    );
  });

  it('decides as soon as the last voter is heard during the wait (a worse vote)', () => {
    const { fle } = started(3);
    fle.step({ type: 'notification', from: 3, n: note(3, 1n) });
    expect(timers(fle.step({ type: 'notification', from: 2, n: note(3, 1n) }))).toContain('finalize:200');
    const out = fle.step({ type: 'notification', from: 1, n: note(1, 1n) });
    expect(decided(out)).toMatchObject({ state: 'LEADING', finalize: 'all-heard', supporters: [2, 3] });
  });

  it('decides at once when the only voter not heard is unreachable (a dead leader)', () => {
    // 3 led and was killed: its election connection closed before we looked again.
    const fle = new FastLeaderElection({ myId: 2, voters: [1, 2, 3] });
    reach(fle, 3, false);
    expect(fle.unreachablePeers).toEqual([3]);
    fle.step({ type: 'start', currentEpoch: 1n, lastZxid: makeZxid(1n, 7n) });
    fle.step({ type: 'notification', from: 2, n: note(2, 1n, 'LOOKING', makeZxid(1n, 7n), 1n) });
    const out = fle.step({ type: 'notification', from: 1, n: note(2, 1n, 'LOOKING', makeZxid(1n, 7n), 1n) });
    expect(decided(out)).toMatchObject({
      state: 'LEADING',
      path: 'quorum',
      finalize: 'unreachable',
      supporters: [1, 2],
    });
    expect(logs(out)).toContain(
      'Every voter has been heard in round 0x1 or is unreachable (3): deciding without the finalize wait',
    );
  });

  it('decides during the wait when the last silent voter becomes unreachable', () => {
    const { fle } = started(2);
    fle.step({ type: 'notification', from: 2, n: note(2, 1n) });
    fle.step({ type: 'notification', from: 1, n: note(2, 1n) });
    expect(fle.isFinalizing).toBe(true);
    expect(decided(reach(fle, 3, false))).toMatchObject({ state: 'LEADING', finalize: 'unreachable' });
  });

  it('does not decide early while a reachable voter is silent', () => {
    const { fle } = started(2, [1, 2, 3, 4, 5]);
    reach(fle, 5, false);
    fle.step({ type: 'notification', from: 2, n: note(2, 1n) });
    fle.step({ type: 'notification', from: 1, n: note(2, 1n) });
    const out = fle.step({ type: 'notification', from: 3, n: note(2, 1n) });
    expect(decided(out)).toBeUndefined();
    expect(timers(out)).toEqual(['-notification', 'finalize:200']);
    // 4 is silent and reachable: notifications from the others only restart the wait
    expect(decided(fle.step({ type: 'notification', from: 3, n: note(2, 1n) }))).toBeUndefined();
    expect(decided(reach(fle, 5, false))).toBeUndefined();
    expect(fle.isFinalizing).toBe(true);
    // the wait running out still decides, as in ZooKeeper
    expect(decided(fle.step({ type: 'timeout', timer: 'finalize' }))).toMatchObject({
      state: 'LEADING',
      finalize: 'waited',
      supporters: [1, 2, 3],
    });
  });

  it('a heard voter that went away and came back must be heard again; its better vote ends the wait', () => {
    const { fle } = started(2, [1, 2, 3, 4, 5]);
    fle.step({ type: 'notification', from: 4, n: note(2, 1n) });
    reach(fle, 4, false);
    reach(fle, 4, true);
    expect(fle.unreachablePeers).toEqual([]);
    fle.step({ type: 'notification', from: 2, n: note(2, 1n) });
    fle.step({ type: 'notification', from: 1, n: note(2, 1n) });
    fle.step({ type: 'notification', from: 3, n: note(2, 1n) });
    expect(fle.isFinalizing).toBe(true);
    // 5 goes away; 4 was heard before it went away, which no longer counts
    expect(decided(reach(fle, 5, false))).toBeUndefined();
    const out = fle.step({ type: 'notification', from: 4, n: note(4, 1n, 'LOOKING', 1n) });
    expect(decided(out)).toBeUndefined();
    expect(timers(out)[0]).toBe('-finalize');
    expect(fle.isFinalizing).toBe(false);
    expect(fle.currentVote.leader).toBe(4);
  });

  it('anything from an unreachable voter makes it reachable again', () => {
    const { fle } = started(2, [1, 2, 3, 4, 5]);
    reach(fle, 4, false);
    reach(fle, 5, false);
    fle.step({ type: 'notification', from: 5, n: note(5, 0n) }); // an older round
    expect(fle.unreachablePeers).toEqual([4]);
    fle.step({ type: 'notification', from: 2, n: note(2, 1n) });
    fle.step({ type: 'notification', from: 1, n: note(2, 1n) });
    // 5 spoke (not in this round): it is reachable and not heard, so wait
    expect(decided(fle.step({ type: 'notification', from: 3, n: note(2, 1n) }))).toBeUndefined();
    expect(fle.isFinalizing).toBe(true);
  });

  it('votes replayed from before the last round do not make their senders reachable', () => {
    const { fle } = started(1);
    fle.step({ type: 'notification', from: 1, n: note(3, 1n, 'FOLLOWING') });
    fle.step({ type: 'notification', from: 3, n: note(3, 1n, 'LEADING') });
    fle.step({ type: 'notification', from: 2, n: note(2, 2n) }); // held while FOLLOWING
    reach(fle, 2, false);
    fle.step({ type: 'start', currentEpoch: 0n, lastZxid: 0n });
    expect(fle.unreachablePeers).toEqual([2]);
  });

  it('waits when the server it would follow is the unreachable one', () => {
    const { fle } = started(1, [1, 2, 3, 4, 5]);
    fle.step({ type: 'notification', from: 5, n: note(5, 1n) });
    fle.step({ type: 'notification', from: 2, n: note(5, 1n) });
    fle.step({ type: 'notification', from: 3, n: note(5, 1n) });
    expect(decided(reach(fle, 5, false))).toBeUndefined();
    expect(decided(reach(fle, 4, false))).toBeUndefined();
    expect(decided(fle.step({ type: 'timeout', timer: 'finalize' }))).toMatchObject({ finalize: 'waited' });
  });

  it('decided and observer votes count as heard only when no better than ours', () => {
    const { fle } = started(3, [1, 2, 3, 4, 5], { observers: [6] });
    reach(fle, 5, false);
    fle.step({ type: 'notification', from: 6, n: note(3, 1n, 'OBSERVING') }); // an observer: never counts
    fle.step({ type: 'notification', from: 4, n: note(4, 1n, 'FOLLOWING') }); // better: not heard
    fle.step({ type: 'notification', from: 3, n: note(3, 1n) });
    fle.step({ type: 'notification', from: 1, n: note(3, 1n) });
    const out = fle.step({ type: 'notification', from: 2, n: note(3, 1n) });
    expect(decided(out)).toBeUndefined();
    expect(fle.isFinalizing).toBe(true);
    // 4 says it follows 2 (no better than us) in our round: heard
    expect(decided(fle.step({ type: 'notification', from: 4, n: note(2, 1n, 'FOLLOWING') }))).toMatchObject({
      finalize: 'unreachable',
    });
  });

  it('early decisions can be turned off (ZooKeeper behaviour)', () => {
    const { fle } = started(3, [1, 2, 3], { decideEarly: false });
    reach(fle, 1, false);
    fle.step({ type: 'notification', from: 3, n: note(3, 1n) });
    expect(decided(fle.step({ type: 'notification', from: 2, n: note(3, 1n) }))).toBeUndefined();
    expect(decided(fle.step({ type: 'timeout', timer: 'finalize' }))).toMatchObject({ finalize: 'waited' });
  });

  it('ignores reachability of itself and of observers, and takes it before start', () => {
    const fle = new FastLeaderElection({ myId: 1, voters: [1, 2, 3], observers: [4] });
    expect(reach(fle, 1, false)).toEqual([]);
    expect(reach(fle, 4, false)).toEqual([]);
    expect(logs(reach(fle, 2, false))).toEqual(['Server 2 is unreachable']);
    expect(reach(fle, 2, false)).toEqual([]);
    expect(fle.unreachablePeers).toEqual([2]);
  });
});
