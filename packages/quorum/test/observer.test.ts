import { afterAll, expect, it } from 'vitest';
import {
  type Member,
  quorumTestPort,
  settledOn,
  startMember,
  stopMember,
  tempDir,
  waitUntil,
} from './helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);
const members: Member[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

it('an observer learns every commit and forwards writes, without counting for the quorum', async () => {
  const lines = ['tickTime=200', 'initLimit=25', 'syncLimit=10'];
  for (let i = 1; i <= 4; i++) {
    lines.push(
      `server.${i}=127.0.0.1:${await quorumTestPort()}:${await quorumTestPort()}${i === 4 ? ':observer' : ''}`,
    );
  }
  const cfg = `${lines.join('\n')}\n`;
  const dirs = await Promise.all([1, 2, 3, 4].map(() => tempDir()));
  cleanups.push(async () => {
    for (const m of members) await stopMember(m).catch(() => {});
    for (const d of dirs) await d.remove();
  });
  for (const id of [1, 2, 3, 4])
    members.push(await startMember(cfg, id, (dirs[id - 1] as { path: string }).path));
  await waitUntil('settled with the observer', () => settledOn(members) !== undefined);
  const observer = members[3] as Member;
  expect(observer.peer.state).toBe('OBSERVING');
  const zs = await Promise.all(
    Array.from({ length: 100 }, (_, i) => (members[i % 4] as Member).peer.submit(enc(`o-${i}`))),
  );
  const top = zs.reduce((a, b) => (b > a ? b : a));
  await waitUntil('applied everywhere', () => members.every((m) => m.peer.appliedZxid >= top));
  for (const m of members) expect(m.sm.history()).toEqual((members[0] as Member).sm.history());
  expect(observer.sm.history()).toHaveLength(100);

  // Two voters down: the observer does not make a quorum; the survivor stops serving.
  const leader = settledOn(members) as number;
  const voters = members.filter((m) => m.id !== 4 && m.id !== leader);
  for (const v of voters) await stopMember(v);
  const leaderMember = members.find((m) => m.id === leader) as Member;
  await waitUntil('the leader gives up without a quorum', () => leaderMember.peer.state === 'LOOKING');
  await expect(leaderMember.peer.propose(enc('x'))).rejects.toMatchObject({ kind: 'not-leader' });
}, 60_000);
