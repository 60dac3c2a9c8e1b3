/**
 * What operators' scripts read from ensemble members: srvr, mntr and conf of a leader and of a
 * follower, on a three-member Apache ZooKeeper 3.8 ensemble and on a three-member zkts ensemble.
 */
import { type ApacheEnsemble, fourLetterWord, startApacheEnsemble, startJavaDriver } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEnsemble, type TestEnsemble } from '../ensemble-helpers.js';

type Kind = 'apache' | 'zkts';
type Role = 'leader' | 'follower';
const answers = new Map<string, string>();
const answer = (kind: Kind, role: Role, word: string) => answers.get(`${kind} ${role} ${word}`) ?? '';
let apache: ApacheEnsemble | undefined;
let zkts: TestEnsemble | undefined;

/** Ports, directories, sizes, times and counters differ between runs: digits and paths masked. */
const mask = (text: string) => text.replace(/\/[^\s;]*/g, '<path>').replace(/\d+(\.\d+)?/g, 'N');

const keysOf = (text: string, sep: string) =>
  text
    .split('\n')
    .filter((l) => l.includes(sep))
    .map((l) => l.slice(0, l.indexOf(sep)));

beforeAll(async () => {
  const [a, z] = await Promise.all([
    startApacheEnsemble(3, { config: { tickTime: '2000' } }),
    startTestEnsemble(3, {
      extra: { tickTime: '2000', minSessionTimeout: '4000', maxSessionTimeout: '40000' },
    }),
  ]);
  apache = a;
  zkts = z;
  const zLeader = await z.ready(60_000);
  const aLeader = (await a.leader()) as number;
  // One write through a follower on each, so that the leader has made a proposal.
  const ports: Record<Kind, Record<Role, number>> = {
    apache: {
      leader: (a.members.get(aLeader) as { port: number }).port,
      follower: (a.members.get(aLeader === 1 ? 2 : 1) as { port: number }).port,
    },
    zkts: {
      leader: z.member(zLeader).clientPort,
      follower: z.member(zLeader === 1 ? 2 : 1).clientPort,
    },
  };
  for (const kind of ['apache', 'zkts'] as const) {
    const zk = await startJavaDriver(`127.0.0.1:${ports[kind].follower}`);
    await zk.must({ op: 'create', path: '/p', data: 'x' });
    await zk.close();
    for (const role of ['leader', 'follower'] as const) {
      for (const word of ['srvr', 'mntr', 'conf']) {
        answers.set(`${kind} ${role} ${word}`, await fourLetterWord(ports[kind][role], word));
      }
    }
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([apache?.stop(), zkts?.close()]);
});

describe.each(['leader', 'follower'] as const)('an ensemble %s: zkts vs Apache ZooKeeper', (role) => {
  it('srvr: the same lines, the role as Mode, proposal sizes on the leader only', () => {
    expect(keysOf(answer('zkts', role, 'srvr'), ': ')).toEqual(keysOf(answer('apache', role, 'srvr'), ': '));
    expect(answer('zkts', role, 'srvr')).toMatch(new RegExp(`^Mode: ${role}$`, 'm'));
    expect(answer('apache', role, 'srvr')).toMatch(new RegExp(`^Mode: ${role}$`, 'm'));
    const sizes = /^Proposal sizes last\/min\/max: (-?\d+)\/(-?\d+)\/(-?\d+)$/m;
    if (role === 'leader') {
      expect(answer('apache', role, 'srvr')).toMatch(sizes);
      expect(Number(sizes.exec(answer('zkts', role, 'srvr'))?.[1])).toBeGreaterThan(0);
    } else expect(answer('zkts', role, 'srvr')).not.toMatch(/Proposal sizes/);
  });

  it('conf: the same keys in the same order, then the membership lines', () => {
    expect(mask(answer('zkts', role, 'conf'))).toBe(mask(answer('apache', role, 'conf')));
    expect(answer('zkts', role, 'conf')).toMatch(/^peerType=0$/m);
    expect(answer('zkts', role, 'conf').endsWith('\nversion=0')).toBe(true);
  });

  it('mntr: the role and every quorum figure Apache ZooKeeper prints for it', () => {
    const quorumKeys =
      /^zk_(server_state|peer_state|quorum_size|learners|synced_\w+|pending_syncs|leader_uptime|\w+_proposal_size)$/;
    const a = keysOf(answer('apache', role, 'mntr'), '\t').filter((k) => quorumKeys.test(k));
    const z = keysOf(answer('zkts', role, 'mntr'), '\t').filter((k) => quorumKeys.test(k));
    expect([...z].sort()).toEqual([...a].sort());
    const value = (kind: Kind, key: string) =>
      new RegExp(`^${key}\\t(.*)$`, 'm').exec(answer(kind, role, 'mntr'))?.[1];
    for (const key of [
      'zk_server_state',
      'zk_peer_state',
      'zk_quorum_size',
      'zk_synced_followers',
      'zk_learners',
    ]) {
      expect([key, value('zkts', key)]).toEqual([key, value('apache', key)]);
    }
  });
});
