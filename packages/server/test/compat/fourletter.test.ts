/**
 * Four-letter words on Apache ZooKeeper 3.8 and on zkts after the same client activity: the same
 * shapes (keys, line structure) and the same values wherever the value is not a clock, a counter of
 * the implementation or a session id.
 */
import { type JavaDriver, startJavaDriver } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskVolatile, startTarget, TARGETS, type Target, type TargetName, ZKTS_TARGETS } from './targets.js';

const WORDS = [
  'ruok',
  'isro',
  'srvr',
  'stat',
  'mntr',
  'conf',
  'cons',
  'wchs',
  'wchc',
  'wchp',
  'dump',
  'dirs',
  'envi',
  'srst',
  'crst',
  'xyzw',
];
const answers = new Map<TargetName, Map<string, string>>();
const started: Array<{ t: Target; zk: JavaDriver }> = [];
const word = (t: TargetName, w: string): string => answers.get(t)?.get(w) ?? '';

beforeAll(async () => {
  await Promise.all(
    TARGETS.map(async (name) => {
      const t = await startTarget(name);
      const zk = await startJavaDriver(t.connectString);
      started.push({ t, zk });
      await zk.must({ op: 'create', path: '/a', data: 'x' });
      await zk.must({ op: 'create', path: '/a/e', data: 'x', mode: 1 });
      await zk.must({ op: 'getData', path: '/a', watch: true });
      await zk.must({ op: 'getChildren', path: '/a', watch: true });
      await zk.must({ op: 'exists', path: '/b', watch: true });
      // A child watch alone: ZooKeeper's wchs/wchc/wchp list data watches only.
      await zk.must({ op: 'create', path: '/c', data: 'x' });
      await zk.must({ op: 'getChildren', path: '/c', watch: true });
      const m = new Map<string, string>();
      for (const w of WORDS) m.set(w, await t.fourLetterWord(w).catch((e: Error) => `ERROR ${e.message}`));
      answers.set(name, m);
    }),
  );
});
afterAll(async () => {
  await Promise.all(
    started.map(async ({ t, zk }) => {
      await zk.close();
      await t.stop();
    }),
  );
});

const keyValues = (text: string, sep: RegExp): Map<string, string> =>
  new Map(
    text
      .split('\n')
      .filter((l) => sep.test(l))
      .map((l) => {
        const m = sep.exec(l);
        const i = m?.index ?? 0;
        return [l.slice(0, i), l.slice(i + (m?.[0].length ?? 0))] as [string, string];
      }),
  );

describe('four-letter words: zkts (standalone and follower) vs Apache ZooKeeper', () => {
  it('ruok, isro, srst, crst, wchs and unknown words answer the same', () => {
    for (const t of ZKTS_TARGETS)
      for (const w of ['ruok', 'isro', 'srst', 'crst', 'wchs', 'xyzw'])
        expect([t, w, word(t, w)]).toEqual([t, w, word('apache', w)]);
    expect(word('apache', 'ruok')).toBe('imok');
    expect(word('apache', 'wchs')).toBe('1 connections watching 2 paths\nTotal watches:2\n');
  });

  it.each(ZKTS_TARGETS)('srvr and stat on %s: same lines and keys, same zxid, mode and node count', (t) => {
    for (const w of ['srvr', 'stat']) {
      const a = keyValues(word('apache', w), /: /);
      const z = keyValues(word(t, w), /: /);
      expect([t, w, [...z.keys()]]).toEqual([t, w, [...a.keys()]]);
      for (const k of ['Outstanding', 'Node count', 'Connections'])
        expect([t, w, k, z.get(k)]).toEqual([t, w, k, a.get(k)]);
      if (t === 'zkts') {
        for (const k of ['Zxid', 'Mode']) expect([t, w, k, z.get(k)]).toEqual([t, w, k, a.get(k)]);
      } else {
        // A member: its role, and zxids in its leader's epoch (the same count within the epoch).
        expect(z.get('Mode')).toBe('follower');
        expect(BigInt(z.get('Zxid') ?? '') >> 32n).toBeGreaterThan(0n);
        expect(BigInt(z.get('Zxid') ?? '') & 0xffffffffn).toBe(BigInt(a.get('Zxid') ?? ''));
      }
      expect(z.get('Latency min/avg/max')).toMatch(/^\d+\/[\d.]+\/\d+$/);
    }
    const clients = (n: TargetName) =>
      word(n, 'stat')
        .split('\n')
        .filter((l) => l.startsWith(' /'));
    expect(clients(t).length).toBe(clients('apache').length);
    for (const l of clients(t))
      expect(l).toMatch(/^ \/127\.0\.0\.1:\d+\[[01]\]\(queued=\d+,recved=\d+,sent=\d+\)$/);
    // The connection asking is listed as ZooKeeper lists it: not reading, one packet received.
    const asking = (n: TargetName) =>
      clients(n)
        .map((l) => l.replace(/:\d+\[/, ':<port>['))
        .filter((l) => l.includes('[0]'));
    expect(asking('apache')).toEqual([' /127.0.0.1:<port>[0](queued=0,recved=1,sent=0)']);
    expect(asking(t)).toEqual(asking('apache'));
  });

  it.each(
    ZKTS_TARGETS,
  )('mntr on %s: tab-separated zk_ keys that Apache ZooKeeper also prints, same values where deterministic', (t) => {
    const a = keyValues(word('apache', 'mntr'), /\t/);
    const z = keyValues(word(t, 'mntr'), /\t/);
    expect(z.size).toBeGreaterThan(20);
    // A member's own keys (Apache ZooKeeper's members print them too; a standalone server does not).
    const memberKeys = t === 'zkts' ? [] : ['zk_peer_state', 'zk_quorum_size'];
    for (const k of z.keys()) expect([k, a.has(k) || memberKeys.includes(k)]).toEqual([k, true]);
    if (t !== 'zkts') expect(z.get('zk_server_state')).toBe('follower');
    for (const k of [
      ...(t === 'zkts' ? ['zk_server_state'] : []),
      'zk_ephemerals_count',
      'zk_num_alive_connections',
      'zk_outstanding_requests',
      'zk_znode_count',
      'zk_global_sessions',
      'zk_watch_count',
      'zk_auth_failed_count',
      'zk_local_sessions',
      'zk_approximate_data_size',
    ]) {
      expect([t, k, z.get(k)]).toEqual([t, k, a.get(k)]);
    }
  });

  // conf is left out for the follower: the reference is a standalone server, and Apache
  // ZooKeeper's ensemble members print their quorum settings there too (initLimit, syncLimit,
  // electionAlg, ports, peerType, membership), so a standalone server's keys are not what a member
  // should print.
  it('conf: the same keys in the same order, same settings', () => {
    const a = keyValues(word('apache', 'conf'), /=/);
    const z = keyValues(word('zkts', 'conf'), /=/);
    expect([...z.keys()]).toEqual([...a.keys()]);
    for (const k of [
      'secureClientPort',
      'tickTime',
      'maxClientCnxns',
      'minSessionTimeout',
      'maxSessionTimeout',
      'serverId',
    ]) {
      expect([k, z.get(k)]).toEqual([k, a.get(k)]);
    }
    expect(Number(z.get('dataDirSize'))).toBeGreaterThan(0);
  });

  it.each(ZKTS_TARGETS)('cons on %s: one line per connection with the same fields', (t) => {
    const fields = (n: TargetName) =>
      word(n, 'cons')
        .split('\n')
        .filter((l) => l.startsWith(' /'))
        .map((l) => [...l.matchAll(/([a-z]+)=/g)].map((m) => m[1]).join(','))
        .sort();
    expect(fields(t)).toEqual(fields('apache'));
    expect(fields('apache')[1]).toContain('sid,lop,est,to,lcxid,lzxid,lresp,llat,minlat,avglat,maxlat');
  });

  it.each(ZKTS_TARGETS)('wchc, wchp and dump on %s: the same text with session ids and times masked', (t) => {
    const mask = (s: string) =>
      maskVolatile(s)
        .replace(/expire at .*:/g, 'expire at <date>:')
        // ZooKeeper's session and connection queues can hold an emptied bucket for a moment (its
        // line is dropped above; the counts in the headers include it).
        .replace(/^0 expire at <date>:\n/gm, '')
        .replace(/Session Sets \(\d+\)/, 'Session Sets (n)')
        .replace(/Connections Sets \(\d+\)/, 'Connections Sets (n)')
        .replace(/:\d+ sessionId/g, ':<port> sessionId');
    for (const w of ['wchc', 'wchp', 'dump'])
      expect([w, mask(word(t, w))]).toEqual([w, mask(word('apache', w))]);
  });

  it('dirs and envi: same shape', () => {
    for (const t of TARGETS) {
      expect(word(t, 'dirs')).toMatch(/^datadir_size: [1-9]\d*\nlogdir_size: [1-9]\d*\n$/);
      const env = keyValues(word(t, 'envi'), /=/);
      expect(word(t, 'envi').startsWith('Environment:\n')).toBe(true);
      for (const k of [
        'zookeeper.version',
        'host.name',
        'os.name',
        'os.arch',
        'user.dir',
        'os.memory.free',
        'os.memory.total',
      ]) {
        expect([t, k, env.has(k)]).toEqual([t, k, true]);
      }
    }
  });
});
