import { afterAll, describe, expect, it } from 'vitest';
import { QuorumError } from '../src/index.js';
import {
  ensembleConfigText,
  type Member,
  settledOn,
  startMember,
  stopMember,
  tempDir,
  waitUntil,
} from './helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** Writes `count` txns, `parallel` at a time, round-robin through every member (leader: propose, others: forward). */
async function writeThrough(members: readonly Member[], prefix: string, count: number, parallel = 50) {
  const acked: Array<{ zxid: bigint; payload: string }> = [];
  for (let i = 0; i < count; i += parallel) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(count, i + parallel); j++) {
      const m = members[j % members.length] as Member;
      const payload = `${prefix}-${j}`;
      batch.push(m.peer.submit(enc(payload)).then((zxid) => void acked.push({ zxid, payload })));
    }
    await Promise.all(batch);
  }
  return acked;
}

describe('three members over TCP on 127.0.0.1', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it('elect, replicate 1,000 txns through leader and followers, fail over, rejoin with identical history', async () => {
    const cfg = await ensembleConfigText(3);
    const dirs = await Promise.all([1, 2, 3].map(() => tempDir()));
    for (const d of dirs) cleanups.push(d.remove);
    const members: Member[] = await Promise.all(
      [1, 2, 3].map((id) => startMember(cfg, id, (dirs[id - 1] as { path: string }).path)),
    );
    cleanups.push(async () => {
      for (const m of members) await stopMember(m).catch(() => {});
    });

    await waitUntil('a leader and two synced followers', () => settledOn(members) !== undefined);
    const leader1 = settledOn(members) as number;
    const leaderMember = members.find((m) => m.id === leader1) as Member;
    const follower = members.find((m) => m.id !== leader1) as Member;

    // The API refuses what a role cannot do.
    await expect(follower.peer.propose(enc('x'))).rejects.toMatchObject({ kind: 'not-leader' });
    await expect(leaderMember.peer.forward(enc('x'))).rejects.toBeInstanceOf(QuorumError);

    const acked = await writeThrough(members, 'a', 1000);
    expect(acked).toHaveLength(1000);
    const maxZxid = acked.reduce((a, b) => (b.zxid > a ? b.zxid : a), 0n);
    await waitUntil('every member applied everything', () =>
      members.every((m) => m.peer.appliedZxid >= maxZxid),
    );
    const h1 = (members[0] as Member).sm.history();
    expect(h1).toHaveLength(1000);
    for (const m of members) expect(m.sm.history()).toEqual(h1);
    // Zxids strictly ascending, one epoch, and every acknowledged write is there with its zxid.
    const zxids = (members[0] as Member).sm.entries.map((e) => e.zxid);
    for (let i = 1; i < zxids.length; i++) expect(zxids[i] as bigint).toBeGreaterThan(zxids[i - 1] as bigint);
    const byZxid = new Map((members[0] as Member).sm.entries.map((e) => [e.zxid, e.payload]));
    for (const a of acked) expect(byZxid.get(a.zxid)).toBe(a.payload);
    const epoch1 = leaderMember.peer.epoch;

    // Kill the leader; the survivors elect a new one and continue.
    await stopMember(leaderMember);
    const survivors = members.filter((m) => m !== leaderMember);
    await waitUntil('the survivors settle on a new leader', () => settledOn(survivors) !== undefined);
    const leader2 = settledOn(survivors) as number;
    expect(leader2).not.toBe(leader1);
    const newLeader = survivors.find((m) => m.id === leader2) as Member;
    expect(newLeader.peer.epoch).toBeGreaterThan(epoch1);
    const acked2 = await writeThrough(survivors, 'b', 200);

    // Restart the old leader from its data directory: it rejoins as a follower, synced.
    const idx = members.indexOf(leaderMember);
    const restarted = await startMember(cfg, leader1, leaderMember.dir);
    members[idx] = restarted;
    await waitUntil('the old leader rejoins as a synced follower', () => settledOn(members) === leader2);
    expect(restarted.peer.state).toBe('FOLLOWING');
    const acked3 = await writeThrough(members, 'c', 100);

    const all = [...acked, ...acked2, ...acked3];
    const top = all.reduce((a, b) => (b.zxid > a ? b.zxid : a), 0n);
    await waitUntil('every member applied everything', () => members.every((m) => m.peer.appliedZxid >= top));
    const h = newLeader.sm.history();
    expect(h).toHaveLength(1300);
    for (const m of members) expect(m.sm.history()).toEqual(h);
    const final = new Map(newLeader.sm.entries.map((e) => [e.zxid, e.payload]));
    for (const a of all) expect(final.get(a.zxid)).toBe(a.payload);
  }, 90_000);
});
