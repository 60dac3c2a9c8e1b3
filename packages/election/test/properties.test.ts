import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ElectionInput,
  FastLeaderElection,
  type Notification,
  ranksAbove,
  SERVER_STATES,
  type ServerState,
} from '../src/index.js';

const VOTERS = [1, 2, 3, 4, 5];

const notification = fc.record({
  from: fc.integer({ min: 1, max: 6 }), // 6 is an observer
  leader: fc.integer({ min: 0, max: 7 }), // 0 and 7 are not in the ensemble
  zxid: fc.bigInt({ min: 0n, max: 4n }),
  round: fc.bigInt({ min: 0n, max: 4n }),
  peerEpoch: fc.bigInt({ min: 0n, max: 2n }),
  state: fc.constantFrom<ServerState>(...SERVER_STATES),
});

const input: fc.Arbitrary<ElectionInput> = fc.oneof(
  { weight: 8, arbitrary: notification.map((n) => toInput(n)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<ElectionInput>(
      { type: 'timeout', timer: 'notification' },
      { type: 'timeout', timer: 'finalize' },
    ),
  },
  { weight: 1, arbitrary: fc.constant<ElectionInput>({ type: 'start', currentEpoch: 1n, lastZxid: 2n }) },
  {
    weight: 2,
    arbitrary: fc
      .record({ sid: fc.integer({ min: 1, max: 6 }), reachable: fc.boolean() })
      .map(({ sid, reachable }): ElectionInput => ({ type: 'peerReachability', sid, reachable })),
  },
);

function toInput(n: {
  from: number;
  leader: number;
  zxid: bigint;
  round: bigint;
  peerEpoch: bigint;
  state: ServerState;
}): ElectionInput {
  const note: Notification = {
    version: 1,
    leader: n.leader,
    zxid: n.zxid,
    electionEpoch: n.round,
    peerEpoch: n.peerEpoch,
    state: n.state,
  };
  return { type: 'notification', from: n.from, n: note };
}

describe('FastLeaderElection properties', () => {
  it('keeps its local invariants under any sequence of inputs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(input, { maxLength: 60 }), (myId, inputs) => {
        const fle = new FastLeaderElection({ myId, voters: VOTERS, observers: [6] });
        const own = { leader: myId, zxid: 2n, peerEpoch: 1n };
        fle.step({ type: 'start', currentEpoch: 1n, lastZxid: 2n });
        let round = fle.logicalClock;
        let vote = fle.currentVote;
        for (const i of inputs) {
          const wasLooking = fle.state === 'LOOKING';
          const out = fle.step(i);
          for (const o of out) {
            if (o.type === 'send') {
              // notifications go to voters, or straight back to whoever asked
              if (!VOTERS.includes(o.to)) expect(i.type === 'notification' && i.from === o.to).toBe(true);
            }
            if (o.type === 'decided') {
              expect(VOTERS).toContain(o.vote.leader);
              expect(fle.isQuorum(o.supporters)).toBe(true);
              expect(o.state).toBe(o.vote.leader === myId ? 'LEADING' : 'FOLLOWING');
              // the finalize wait is skipped only with a quorum behind a leader we can reach,
              // never on a time-out, and 'all-heard' only with nobody unreachable left out
              expect(o.finalize !== undefined).toBe(o.path === 'quorum');
              if (o.finalize === 'waited') expect(i).toEqual({ type: 'timeout', timer: 'finalize' });
              if (o.finalize === 'all-heard' || o.finalize === 'unreachable') {
                expect(i.type === 'notification' || i.type === 'peerReachability').toBe(true);
                expect(fle.unreachablePeers).not.toContain(o.vote.leader);
              }
              if (o.finalize === 'unreachable') expect(fle.unreachablePeers.length).toBeGreaterThan(0);
            }
          }
          expect(fle.state === 'LOOKING').toBe(fle.decision === undefined);
          if (fle.state === 'LOOKING') {
            const v = fle.currentVote;
            // our proposal never ranks below our own credentials
            expect(ranksAbove(own, v)).toBe(false);
            // within one round of looking, the proposal only moves up
            if (i.type !== 'start' && wasLooking && fle.logicalClock === round)
              expect(ranksAbove(vote, v)).toBe(false);
            expect(VOTERS).toContain(v.leader);
          }
          if (i.type === 'start') expect(fle.logicalClock).toBe(round + 1n);
          round = fle.logicalClock;
          vote = fle.currentVote;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: the same inputs give the same outputs', () => {
    fc.assert(
      fc.property(fc.array(input, { maxLength: 40 }), (inputs) => {
        const run = () => {
          const fle = new FastLeaderElection({ myId: 3, voters: VOTERS, observers: [6] });
          const all = [fle.step({ type: 'start', currentEpoch: 0n, lastZxid: 0n })];
          for (const i of inputs) all.push(fle.step(i));
          return all;
        };
        expect(run()).toEqual(run());
      }),
      { numRuns: 100 },
    );
  });
});
