import { afterAll, expect, it } from 'vitest';
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
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

it('writes keep going through three leader failovers; no acknowledged write is lost', async () => {
  const cfg = await ensembleConfigText(3);
  const dirs = await Promise.all([1, 2, 3].map(() => tempDir()));
  for (const d of dirs) cleanups.push(d.remove);
  const members: Member[] = await Promise.all(
    [1, 2, 3].map((id) => startMember(cfg, id, (dirs[id - 1] as { path: string }).path)),
  );
  const live = new Set<Member>(members);
  cleanups.push(async () => {
    for (const m of live) await stopMember(m).catch(() => {});
  });
  await waitUntil('settled', () => settledOn(members) !== undefined);

  const acked = new Map<bigint, string>();
  const refused: string[] = [];
  let stop = false;
  let attempt = 0;
  const writer = async (w: number) => {
    while (!stop) {
      const servers = [...live].filter((m) => m.peer.serving);
      const m = servers[attempt % Math.max(1, servers.length)];
      const payload = `w${w}-${attempt++}`;
      if (m === undefined) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      try {
        const zxid = await m.peer.submit(enc(payload));
        expect(acked.has(zxid)).toBe(false);
        acked.set(zxid, payload);
      } catch (e) {
        refused.push((e as { kind?: string }).kind ?? String(e));
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const writers = [0, 1, 2, 3].map((w) => writer(w));

  for (let round = 0; round < 3; round++) {
    const before = acked.size;
    await waitUntil('writes flow', () => acked.size >= before + 100);
    const leaderId = settledOn([...live]) ?? settledOn(members);
    const leader = [...live].find((m) => m.id === leaderId);
    if (leader === undefined) throw new Error('no leader');
    live.delete(leader);
    await stopMember(leader);
    await waitUntil('survivors settle', () => settledOn([...live]) !== undefined);
    const back = await startMember(cfg, leader.id, leader.dir);
    members[members.indexOf(leader)] = back;
    live.add(back);
    await waitUntil('the old leader rejoins', () => settledOn([...live]) !== undefined && live.size === 3);
  }
  const mid = acked.size;
  await waitUntil('writes flow after the last failover', () => acked.size >= mid + 50);
  stop = true;
  await Promise.all(writers);

  const top = [...acked.keys()].reduce((a, b) => (b > a ? b : a), 0n);
  await waitUntil('every member applied every acknowledged write', () =>
    [...live].every((m) => m.peer.appliedZxid >= top),
  );
  const ref = (members[0] as Member).sm;
  for (const m of live) expect(m.sm.history()).toEqual(ref.history());
  const byZxid = new Map(ref.entries.map((e) => [e.zxid, e.payload]));
  for (const [zxid, payload] of acked) expect(byZxid.get(zxid)).toBe(payload);
  // At least four epochs: the first leader and one per failover.
  const epochs = new Set(ref.entries.map((e) => e.zxid >> 32n));
  expect(epochs.size).toBeGreaterThanOrEqual(4);
  // Only the refusals a failover explains.
  for (const k of refused) expect(['outcome-unknown', 'not-leader', 'not-ready', 'closed']).toContain(k);
}, 90_000);
