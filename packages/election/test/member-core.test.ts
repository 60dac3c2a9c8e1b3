import { describe, expect, it } from 'vitest';
import { MemberCore, type MemberOutput, type Notification } from '../src/index.js';

const config = (myId: number) => ({
  myId,
  voters: [1, 2, 3],
  persisted: { currentEpoch: 0n, lastZxid: 0n },
  initLimitMs: 1000,
  syncLimitMs: 500,
});
const note = (leader: number, state: Notification['state'], round = 1n): Notification => ({
  version: 1,
  leader,
  zxid: 0n,
  electionEpoch: round,
  peerEpoch: 0n,
  state,
});
const sent = (out: MemberOutput[]) => out.flatMap((o) => (o.type === 'send' ? [[o.to, o.msg.kind]] : []));
const logs = (out: MemberOutput[]) => out.flatMap((o) => (o.type === 'log' ? [o.message] : []));

/** A member of {1,2,3} that decided FOLLOWING 3 (told by 2 and 3). */
function follower(): { m: MemberCore; out: MemberOutput[] } {
  const m = new MemberCore(config(1));
  m.step({ type: 'start' });
  m.step({ type: 'message', from: 2, msg: { kind: 'fle', n: note(3, 'FOLLOWING') } });
  const out = m.step({ type: 'message', from: 3, msg: { kind: 'fle', n: note(3, 'LEADING') } });
  return { m, out };
}

describe('MemberCore', () => {
  it('a new follower asks its leader to accept it and arms initLimit', () => {
    const { m, out } = follower();
    expect(m.fle.state).toBe('FOLLOWING');
    expect(sent(out)).toContainEqual([3, 'follow']);
    expect(out).toContainEqual({ type: 'setTimer', timer: 'init', afterMs: 1000 });
    m.step({ type: 'message', from: 3, msg: { kind: 'followed', ok: true, round: 1n } });
    expect(m.confirmed).toBe(true);
  });

  it('a follower refused by its leader looks again in a new round', () => {
    const { m } = follower();
    const out = m.step({ type: 'message', from: 3, msg: { kind: 'followed', ok: false, round: 1n } });
    expect(m.fle.state).toBe('LOOKING');
    expect(m.fle.logicalClock).toBe(2n);
    expect(logs(out)).toContain('Server 3 is not leading: looking again');
    expect(sent(out)).toContainEqual([3, 'leave']);
  });

  it('a follower not accepted within initLimit, or silent for syncLimit, looks again', () => {
    let { m } = follower();
    m.step({ type: 'timeout', timer: 'init' });
    expect(m.fle.state).toBe('LOOKING');
    ({ m } = follower());
    m.step({ type: 'message', from: 3, msg: { kind: 'followed', ok: true, round: 1n } });
    const ping = m.step({ type: 'timeout', timer: 'sync' });
    expect(sent(ping)).toEqual([[3, 'follow']]);
    expect(m.fle.state).toBe('FOLLOWING');
    m.step({ type: 'timeout', timer: 'sync' });
    expect(m.fle.state).toBe('LOOKING');
  });

  it('a follower whose connection to the leader closes looks again', () => {
    const { m } = follower();
    m.step({ type: 'link', peer: 2, up: false });
    expect(m.fle.state).toBe('FOLLOWING');
    m.step({ type: 'link', peer: 3, up: false });
    expect(m.fle.state).toBe('LOOKING');
  });

  it('a leader accepts learners, is established with a quorum, and defers requests while looking', () => {
    const m = new MemberCore(config(3));
    m.step({ type: 'start' });
    // asked while still looking: answered once decided
    m.step({ type: 'message', from: 1, msg: { kind: 'follow', round: 1n, peerEpoch: 0n } });
    m.step({ type: 'link', peer: 1, up: true });
    m.step({ type: 'message', from: 3, msg: { kind: 'fle', n: note(3, 'LOOKING') } });
    m.step({ type: 'message', from: 1, msg: { kind: 'fle', n: note(3, 'LOOKING') } });
    const out = m.step({ type: 'timeout', timer: 'finalize' });
    expect(m.fle.state).toBe('LEADING');
    expect(out).toContainEqual({ type: 'send', to: 1, msg: { kind: 'followed', ok: true, round: 1n } });
    expect(m.established).toBe(true);
    // losing the connection to the only learner loses the quorum
    m.step({ type: 'link', peer: 1, up: false });
    expect(m.fle.state).toBe('LOOKING');
    const deferred = m.step({ type: 'message', from: 2, msg: { kind: 'follow', round: 2n, peerEpoch: 0n } });
    expect(deferred).toEqual([]);
  });

  it('a leader without a quorum of learners within initLimit looks again', () => {
    const m = new MemberCore(config(3));
    m.step({ type: 'start' });
    m.step({ type: 'message', from: 3, msg: { kind: 'fle', n: note(3, 'LOOKING') } });
    m.step({ type: 'message', from: 2, msg: { kind: 'fle', n: note(3, 'LOOKING') } });
    m.step({ type: 'timeout', timer: 'finalize' });
    expect(m.fle.state).toBe('LEADING');
    expect(m.established).toBe(false);
    const out = m.step({ type: 'timeout', timer: 'init' });
    expect(logs(out)).toContain('No quorum of learners within initLimit: looking again');
    expect(m.fle.state).toBe('LOOKING');
  });
});
