import { afterEach, describe, expect, it } from 'vitest';
import type { QuorumPeerOptions } from '../src/index.js';
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

async function writeAll(m: Member, prefix: string, count: number): Promise<bigint[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => m.peer.submit(enc(`${prefix}-${i}`))));
}

const byId = (members: readonly Member[], id: number) => members.find((m) => m.id === id) as Member;
const syncLines = (m: Member) =>
  m.logs.filter((l) => /Getting a diff|Truncating log|Getting a snapshot/.test(l));

describe('synchronisation of a returning member', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  async function ensemble(snapCount?: number, extra: Partial<QuorumPeerOptions> = {}) {
    const cfg = await ensembleConfigText(3);
    const dirs = await Promise.all([1, 2, 3].map(() => tempDir()));
    for (const d of dirs) cleanups.push(d.remove);
    const members = await Promise.all(
      [1, 2, 3].map((id) => startMember(cfg, id, (dirs[id - 1] as { path: string }).path, snapCount, extra)),
    );
    cleanups.push(async () => {
      for (const m of members) await stopMember(m).catch(() => {});
    });
    await waitUntil('a leader and two synced followers', () => settledOn(members) !== undefined);
    return { cfg, members };
  }

  async function restart(
    cfg: string,
    members: Member[],
    id: number,
    snapCount?: number,
    extra: Partial<QuorumPeerOptions> = {},
  ): Promise<Member> {
    const i = members.findIndex((m) => m.id === id);
    const m = await startMember(cfg, id, (members[i] as Member).dir, snapCount, extra);
    members[i] = m;
    return m;
  }

  it('DIFF: a follower back after a short absence gets the missing txns', async () => {
    const { cfg, members } = await ensemble();
    const leader = byId(members, settledOn(members) as number);
    const f = members.find((m) => m !== leader) as Member;
    await writeAll(leader, 'a', 50);
    await stopMember(f);
    const zs = await writeAll(leader, 'b', 50);
    const back = await restart(cfg, members, f.id);
    await waitUntil('everyone synced', () => settledOn(members) === leader.id);
    const top = zs.reduce((a, b) => (b > a ? b : a));
    await waitUntil('applied', () => back.peer.appliedZxid >= top);
    expect(syncLines(back).some((l) => l.includes('Getting a diff'))).toBe(true);
    expect(back.sm.restores).toEqual([]);
    expect(back.sm.history()).toEqual(leader.sm.history());
    expect(back.sm.history()).toHaveLength(100);
  }, 60_000);

  /** The SNAP scenario: f is behind everything the next leader holds; returns f once back. */
  async function snapScenario(extra: Partial<QuorumPeerOptions>, backExtra = extra, size = 1) {
    const { cfg, members } = await ensemble(undefined, extra);
    const l1 = settledOn(members) as number;
    const [f, stays] = members.filter((m) => m.id !== l1) as [Member, Member];
    await writeAll(byId(members, l1), 'a'.repeat(size), 50);
    await stopMember(f);
    const zs1 = await writeAll(byId(members, l1), 'b'.repeat(size), 50);
    const top1 = zs1.reduce((a, b) => (b > a ? b : a));
    await waitUntil('the remaining follower applied', () => stays.peer.appliedZxid >= top1);
    // The leader goes; the remaining follower leads, starting from its applied state, past f's log.
    await stopMember(byId(members, l1));
    const back = await restart(cfg, members, f.id, undefined, backExtra);
    return { back, stays };
  }

  /** The returning member got a SNAP, and then the txns written through it, in order. */
  async function expectSnapSynced(back: Member, stays: Member): Promise<void> {
    const pair = [stays, back];
    await waitUntil('the two settle', () => settledOn(pair) === stays.id);
    const zs = await writeAll(back, 'c', 10);
    const top = zs.reduce((a, b) => (b > a ? b : a));
    await waitUntil('applied', () => pair.every((m) => m.peer.appliedZxid >= top));
    expect(syncLines(back).some((l) => l.includes('Getting a snapshot'))).toBe(true);
    expect(back.sm.restores.length).toBe(1);
    expect(back.sm.history()).toEqual(stays.sm.history());
    expect(back.sm.history()).toHaveLength(110);
  }

  it('SNAP: a member behind everything the new leader holds gets its state', async () => {
    const { back, stays } = await snapScenario({});
    await expectSnapSynced(back, stays);
  }, 60_000);

  it('SNAP larger than a frame travels in parts, the txns after it in order', async () => {
    // 100 entries of about 300 bytes: a 30 KB snapshot (one chunk) in frames of at most 2 KiB.
    const { back, stays } = await snapScenario({ maxFrameSize: 2048 }, { maxFrameSize: 2048 }, 300);
    await expectSnapSynced(back, stays);
  }, 60_000);

  it('a learner refuses a SNAP larger than maxSnapshotBytes', async () => {
    const { back, stays } = await snapScenario(
      { maxFrameSize: 2048 },
      { maxFrameSize: 2048, maxSnapshotBytes: 4096 },
      300,
    );
    await waitUntil('refused', () => back.logs.some((l) => l.includes('a snapshot larger than 4096 bytes')));
    expect(back.sm.restores).toEqual([]);
    expect(back.peer.appliedZxid).toBeLessThan(stays.peer.appliedZxid);
  }, 60_000);

  it('TRUNC: an old leader drops the txn it logged but never committed', async () => {
    const { cfg, members } = await ensemble();
    const l1 = settledOn(members) as number;
    const leader = byId(members, l1);
    const [f1, f2] = members.filter((m) => m.id !== l1) as [Member, Member];
    await writeAll(leader, 'a', 20);
    await stopMember(f1);
    // The proposal leaves the leader, and the last follower closes before it can read it.
    const lost = leader.peer.propose(enc('never-committed'));
    const closing = stopMember(f2);
    await expect(lost).rejects.toMatchObject({ kind: 'outcome-unknown' });
    await closing;
    expect(leader.peer.lastZxid).toBeGreaterThan(leader.peer.appliedZxid);
    await stopMember(leader);

    const a = await restart(cfg, members, f1.id);
    const b = await restart(cfg, members, f2.id);
    await waitUntil('the two followers settle', () => settledOn([a, b]) !== undefined);
    const zs = await writeAll(a, 'b', 10);
    const old = await restart(cfg, members, l1);
    await waitUntil('the old leader rejoins', () => settledOn(members) !== undefined);
    const top = zs.reduce((x, y) => (y > x ? y : x));
    await waitUntil('applied', () => members.every((m) => m.peer.appliedZxid >= top));
    expect(syncLines(old).some((l) => l.includes('Truncating log'))).toBe(true);
    for (const m of members) expect(m.sm.history()).toEqual(a.sm.history());
    expect(a.sm.history()).toHaveLength(30);
    expect(a.sm.history().some((h) => h.endsWith(':never-committed'))).toBe(false);
    // It stays truncated on disk: restart it once more, it recovers without the txn.
    await stopMember(old);
    const again = await restart(cfg, members, l1);
    await waitUntil('rejoined again', () => settledOn(members) !== undefined);
    await waitUntil('applied again', () => again.peer.appliedZxid >= top);
    expect(again.sm.history()).toEqual(a.sm.history());
  }, 60_000);

  it("a leader snapshots once its epoch began: restarted, it replays only that epoch's txns", async () => {
    const { cfg, members } = await ensemble();
    const l1 = settledOn(members) as number;
    await writeAll(byId(members, l1), 'a', 100);
    // A new leader, established on a history of 100 txns (none snapshotted: snapCount is large).
    await stopMember(byId(members, l1));
    const old = await restart(cfg, members, l1);
    await waitUntil('a new leader', () => settledOn(members) !== undefined && settledOn(members) !== l1);
    const l2 = byId(members, settledOn(members) as number);
    const epoch = l2.peer.epoch;
    const zs = await writeAll(l2, 'b', 20);
    const top = zs.reduce((a, b) => (b > a ? b : a));
    await waitUntil('applied', () => members.every((m) => m.peer.appliedZxid >= top));
    await waitUntil('the epoch snapshot', () => l2.store.stats().snapshotsWritten > 0);
    expect(l2.logs.some((l) => /Snapshot written at 0x/.test(l))).toBe(true);
    const at = BigInt(/Snapshot written at (0x[0-9a-f]+)/.exec(l2.logs.join('\n'))?.[1] ?? '0');
    expect(at >> 32n).toBe(epoch);
    // The snapshot is not reported to the role: a member back from the previous epoch still gets a DIFF.
    expect(old.peer.serving).toBe(true);
    await stopMember(old);
    const zs1 = await writeAll(l2, 'c', 5);
    const back = await restart(cfg, members, l1);
    await waitUntil('it rejoins', () => settledOn(members) === l2.id);
    await waitUntil('applied', () => back.peer.appliedZxid >= zs1.reduce((x, y) => (y > x ? y : x)));
    expect(syncLines(back).some((l) => l.includes('Getting a diff'))).toBe(true);
    expect(back.sm.restores).toEqual([]);
    // Restarted, the leader recovers from that snapshot: only this epoch's txns are logged after it.
    await stopMember(l2);
    const again = await restart(cfg, members, l2.id);
    expect(again.sm.restores[0]).toBe(at);
    const recovered = again.logs.find((l) => l.includes('Recovered:')) ?? '';
    expect(Number(/(\d+) logged txns/.exec(recovered)?.[1])).toBeLessThanOrEqual(25);
    await waitUntil('everyone synced', () => settledOn(members) !== undefined);
    const zs2 = await writeAll(byId(members, settledOn(members) as number), 'd', 10);
    const top2 = zs2.reduce((a, b) => (b > a ? b : a));
    await waitUntil('applied', () => members.every((m) => m.peer.appliedZxid >= top2));
    for (const m of members) expect(m.sm.history()).toEqual(again.sm.history());
    expect(again.sm.history()).toHaveLength(135);
  }, 60_000);

  it('snapshots every snapCount txns; a restart recovers from the snapshot and rejoins', async () => {
    const { cfg, members } = await ensemble(20);
    const leader = byId(members, settledOn(members) as number);
    const f = members.find((m) => m !== leader) as Member;
    const zs = await writeAll(leader, 'a', 200);
    const top = zs.reduce((a, b) => (b > a ? b : a));
    await waitUntil('applied', () => members.every((m) => m.peer.appliedZxid >= top));
    await waitUntil('snapshots written', () => members.every((m) => m.store.stats().snapshotsWritten > 0));
    await stopMember(f);
    const back = await restart(cfg, members, f.id, 20);
    // Recovery restored the newest snapshot before anything else.
    expect(back.sm.restores.length).toBeGreaterThan(0);
    expect(back.sm.restores[0]).toBeGreaterThan(0n);
    await waitUntil('everyone synced', () => settledOn(members) === leader.id);
    const zs2 = await writeAll(back, 'b', 30);
    const top2 = zs2.reduce((a, b) => (b > a ? b : a));
    await waitUntil('applied', () => members.every((m) => m.peer.appliedZxid >= top2));
    for (const m of members) expect(m.sm.history()).toEqual(leader.sm.history());
    expect(leader.sm.history()).toHaveLength(230);
  }, 60_000);
});
