import { describe, expect, it } from 'vitest';
import { answerFourLetterWord, type FourLetterSource, javaDate } from '../src/four-letter.js';

function source(over: Partial<FourLetterSource> = {}): FourLetterSource {
  let resets = 0;
  return {
    serving: true,
    mode: 'standalone',
    readOnly: false,
    latency: { min: 0, avg: 0, max: 3 },
    packetsReceived: 7,
    packetsSent: 6,
    outstandingRequests: 0,
    lastZxid: 0x1an,
    nodeCount: 5,
    connections: () => [
      {
        remote: '/127.0.0.1:45684',
        interest: 1,
        queued: 0,
        received: 3,
        sent: 2,
        sessionId: 0x100000abcn,
        lastOperation: 'GETD',
        establishedMs: 1700000000000,
        sessionTimeoutMs: 30000,
        lastCxid: 2,
        lastZxid: 0x1an,
        lastResponseMs: 1700000000100,
        lastLatencyMs: 1,
        minLatencyMs: 0,
        avgLatencyMs: 0.5,
        maxLatencyMs: 1,
      },
    ],
    monitor: () => [
      ['server_state', 'standalone'],
      ['znode_count', 5],
    ],
    configuration: () => [['clientPort', 2181]],
    environment: () => [['host.name', 'localhost']],
    watchesBySession: () =>
      new Map([
        [0x100000abcn, ['/a', '/b']],
        [0x100000abdn, ['/a']],
      ]),
    ephemeralsBySession: () => new Map([[0x100000abcn, ['/e2', '/e1']]]),
    sessionBuckets: () => [
      { expiresAtMs: Date.UTC(2026, 10, 26, 9, 44, 31), sessions: [{ id: 0x100000abcn, timeoutMs: 30000 }] },
    ],
    dataDirSize: 457,
    dataLogDirSize: 458,
    resetConnectionStats: () => {
      resets++;
    },
    resetServerStats: () => {
      resets += 10;
    },
    ...over,
    get resets() {
      return resets;
    },
  } as FourLetterSource;
}

const all = new Set([
  'ruok',
  'srvr',
  'stat',
  'mntr',
  'conf',
  'cons',
  'crst',
  'srst',
  'envi',
  'dump',
  'wchs',
  'wchc',
  'wchp',
  'isro',
  'dirs',
]);

describe('four-letter words', () => {
  it('answers srvr in ZooKeeper shape', () => {
    const out = answerFourLetterWord('srvr', all, source()) ?? '';
    expect(out.split('\n')).toEqual([
      expect.stringMatching(/^Zookeeper version: 3\.8\.\S+, built on /),
      'Latency min/avg/max: 0/0.0/3',
      'Received: 7',
      'Sent: 6',
      'Connections: 1',
      'Outstanding: 0',
      'Zxid: 0x1a',
      'Mode: standalone',
      'Node count: 5',
      '',
    ]);
  });

  it('lists clients in stat and details in cons', () => {
    expect(answerFourLetterWord('stat', all, source())).toContain(
      'Clients:\n /127.0.0.1:45684[1](queued=0,recved=3,sent=2)\n\n',
    );
    expect(answerFourLetterWord('cons', all, source())).toBe(
      ' /127.0.0.1:45684[1](queued=0,recved=3,sent=2,sid=0x100000abc,lop=GETD,est=1700000000000,to=30000,lcxid=0x2,lzxid=0x1a,lresp=1700000000100,llat=1,minlat=0,avglat=0.5,maxlat=1)\n\n',
    );
  });

  it('prints mntr as tab-separated zk_ lines', () => {
    expect(answerFourLetterWord('mntr', all, source())).toBe(
      'zk_server_state\tstandalone\nzk_znode_count\t5\n',
    );
  });

  it('summarises watches by session and by path', () => {
    expect(answerFourLetterWord('wchs', all, source())).toBe(
      '2 connections watching 2 paths\nTotal watches:3\n',
    );
    expect(answerFourLetterWord('wchc', all, source())).toBe(
      '0x100000abc\n\t/a\n\t/b\n0x100000abd\n\t/a\n\n',
    );
    expect(answerFourLetterWord('wchp', all, source())).toBe(
      '/a\n\t0x100000abc\n\t0x100000abd\n/b\n\t0x100000abc\n\n',
    );
  });

  it('dumps sessions and ephemerals', () => {
    const out = answerFourLetterWord('dump', all, source()) ?? '';
    expect(out).toContain(
      'Session Sets (1)/(1):\n1 expire at Thu Nov 26 09:44:31 UTC 2026:\n\t0x100000abc\n',
    );
    expect(out).toContain('Sessions with Ephemerals (1):\n0x100000abc:\n\t/e1\n\t/e2\n');
    // Connections as ZooKeeper's connection expiry queue prints them.
    expect(out).toMatch(
      /Connections dump:\nConnections Sets \(1\)\/\(1\):\n1 expire at [A-Z][a-z]{2} .*:\n\tip: \/127\.0\.0\.1:45684 sessionId: 0x[0-9a-f]+\n$/,
    );
  });

  it('refuses words outside the whitelist, as ZooKeeper words it', () => {
    expect(answerFourLetterWord('mntr', new Set(['srvr']), source())).toBe(
      'mntr is not executed because it is not in the whitelist.',
    );
  });

  it('says when it is not serving, and ignores unknown words', () => {
    expect(answerFourLetterWord('srvr', all, source({ serving: false }))).toBe(
      'This ZooKeeper instance is not currently serving requests\n',
    );
    expect(answerFourLetterWord('ruok', all, source({ serving: false }))).toBe('imok');
    expect(answerFourLetterWord('abcd', all, source())).toBeUndefined();
  });

  it('resets stats', () => {
    const s = source();
    expect(answerFourLetterWord('crst', all, s)).toBe('Connection stats reset.\n');
    expect(answerFourLetterWord('srst', all, s)).toBe('Server stats reset.\n');
    expect((s as unknown as { resets: number }).resets).toBe(11);
  });

  it('formats dates as Java does', () => {
    expect(javaDate(Date.UTC(2019, 3, 5, 2, 6, 7))).toBe('Fri Apr 05 02:06:07 UTC 2019');
  });
});
