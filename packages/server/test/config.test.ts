import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { negotiateSessionTimeout, parseConfig, readMyId } from '../src/config.js';
import { ServerError } from '../src/errors.js';

// The user's three-server zoo.cfg, as written in their notes.
const SEED_CFG = `
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/var/lib/zookeeper
clientPort=2181
maxClientCnxns=60
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
server.1=localhost:2880:2888
server.2=localhost:3880:3888
server.3=localhost:4880:4888
`;

function errorOf(fn: () => unknown): ServerError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ServerError) return e;
    throw e;
  }
  throw new Error('expected a ServerError');
}

describe('parseConfig', () => {
  it('reads every key of the three-server zoo.cfg', () => {
    const { config, warnings } = parseConfig(SEED_CFG);
    expect(warnings).toEqual([]);
    expect(config.tickTime).toBe(2000);
    expect(config.initLimit).toBe(10);
    expect(config.syncLimit).toBe(5);
    expect(config.dataDir).toBe('/var/lib/zookeeper');
    expect(config.dataLogDir).toBe('/var/lib/zookeeper');
    expect(config.clientPort).toBe(2181);
    expect(config.maxClientCnxns).toBe(60);
    expect(config.snapRetainCount).toBe(3);
    expect(config.purgeIntervalHours).toBe(1);
    expect(config.servers).toEqual([
      { id: 1, host: 'localhost', quorumPort: 2880, electionPort: 2888, role: 'participant' },
      { id: 2, host: 'localhost', quorumPort: 3880, electionPort: 3888, role: 'participant' },
      { id: 3, host: 'localhost', quorumPort: 4880, electionPort: 4888, role: 'participant' },
    ]);
  });

  it('derives session timeout bounds from tickTime as ZooKeeper does', () => {
    const { config } = parseConfig('dataDir=/d\ntickTime=2000\n');
    expect(config.minSessionTimeout).toBe(4000);
    expect(config.maxSessionTimeout).toBe(40000);
    expect(negotiateSessionTimeout(config, 1000)).toBe(4000);
    expect(negotiateSessionTimeout(config, 30000)).toBe(30000);
    expect(negotiateSessionTimeout(config, 90000)).toBe(40000);
  });

  it('reads observer roles and client addresses of server lines', () => {
    const { config } = parseConfig(
      'dataDir=/d\nserver.1=h1:2888:3888;2181\nserver.2=h2:2888:3888:observer;127.0.0.1:2182\n',
    );
    expect(config.servers[0]).toEqual({
      id: 1,
      host: 'h1',
      quorumPort: 2888,
      electionPort: 3888,
      role: 'participant',
      clientPort: 2181,
    });
    expect(config.servers[1]).toMatchObject({
      role: 'observer',
      clientAddress: '127.0.0.1',
      clientPort: 2182,
    });
  });

  it('accepts system-property names and the zookeeper. prefix', () => {
    const { config, warnings } = parseConfig(
      [
        'dataDir=/d',
        'zookeeper.snapCount=5000',
        'jute.maxbuffer=2097152',
        '4lw.commands.whitelist=ruok, mntr',
        'zookeeper.extendedTypesEnabled=true',
        'znode.container.checkIntervalMs=1000',
        'zookeeper.enforceQuota=true',
      ].join('\n'),
    );
    expect(warnings).toEqual([]);
    expect(config.snapCount).toBe(5000);
    expect(config.juteMaxBuffer).toBe(2097152);
    expect([...config.fourLetterWords].sort()).toEqual(['mntr', 'ruok', 'srvr']);
    expect(config.extendedTypesEnabled).toBe(true);
    expect(config.containerCheckIntervalMs).toBe(1000);
    expect(config.enforceQuota).toBe(true);
  });

  it('reads forceSync (fsync after txn log writes unless no)', () => {
    expect(parseConfig('dataDir=/d').config.forceSync).toBe(true);
    expect(parseConfig('dataDir=/d\nforceSync=no').config.forceSync).toBe(false);
    expect(parseConfig('dataDir=/d\nzookeeper.forceSync=yes').config.forceSync).toBe(true);
    expect(parseConfig('dataDir=/d\nforceSync=no').warnings).toEqual([]);
  });

  it('enables every four-letter word with *, and only srvr by default', () => {
    expect(parseConfig('dataDir=/d\n4lw.commands.whitelist=*').config.fourLetterWords.size).toBe(15);
    expect([...parseConfig('dataDir=/d').config.fourLetterWords]).toEqual(['srvr']);
  });

  it('warns about an unknown key with its line', () => {
    const { warnings } = parseConfig('dataDir=/d\n\n# comment\nfrobnicate=1\n');
    expect(warnings).toEqual([{ key: 'frobnicate', line: 4, message: 'unknown key; ignored' }]);
  });

  it.each([
    ['tickTime=fast', 'tickTime', 2],
    ['clientPort=70000', 'clientPort', 2],
    ['server.1=localhost:2888', 'server.1', 2],
    ['server.x=localhost:2888:3888', 'server.x', 2],
    ['server.1=localhost:2888:3888:witness', 'server.1', 2],
    ['extendedTypesEnabled=maybe', 'extendedTypesEnabled', 2],
    ['peerType=boss', 'peerType', 2],
    ['forceSync=sometimes', 'forceSync', 2],
  ])('rejects %s naming the key and the line', (line, key, lineNo) => {
    const err = errorOf(() => parseConfig(`dataDir=/d\n${line}\n`, 'my.cfg'));
    expect(err.kind).toBe('config');
    expect(err.key).toBe(key);
    expect(err.line).toBe(lineNo);
    expect(err.message).toContain(`my.cfg:${lineNo}: ${key}`);
  });

  it('requires dataDir and consistent timeouts', () => {
    expect(errorOf(() => parseConfig('clientPort=2181')).key).toBe('dataDir');
    expect(errorOf(() => parseConfig('dataDir=/d\nminSessionTimeout=9000\nmaxSessionTimeout=5000')).key).toBe(
      'minSessionTimeout',
    );
    expect(errorOf(() => parseConfig('dataDir=/d\nserver.1=a:1:2\nserver.1=b:1:2')).key).toBe('server.1');
  });
});

describe('readMyId', () => {
  it('reads the server id and rejects garbage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zkts-myid-'));
    writeFileSync(join(dir, 'myid'), '3\n');
    expect(readMyId(dir)).toBe(3);
    writeFileSync(join(dir, 'myid'), 'three');
    expect(errorOf(() => readMyId(dir)).key).toBe('myid');
    expect(errorOf(() => readMyId(join(dir, 'missing'))).key).toBe('myid');
  });
});
