import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@zkts/client';
import { parseConfig, ZkServer } from '@zkts/server';
import { type ApacheZooKeeper, freePort, runZkCliScript, startApacheZooKeeper } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalize, runShell } from './helpers.js';

let apache: ApacheZooKeeper;
let zkts: ZkServer;
let zktsConnect: string;
let dataDir: string;

beforeAll(async () => {
  apache = await startApacheZooKeeper();
  dataDir = await mkdtemp(join(tmpdir(), 'zkts-shell-'));
  const port = await freePort();
  zkts = await ZkServer.start({
    config: parseConfig(
      `tickTime=2000\ndataDir=${dataDir}\nclientPort=${port}\nclientPortAddress=127.0.0.1\nextendedTypesEnabled=true\n`,
    ).config,
  });
  zktsConnect = `127.0.0.1:${port}`;
});
afterAll(async () => {
  await apache?.stop();
  await zkts?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function wipe(connect: string): Promise<void> {
  const c = createClient(connect);
  await c.connect();
  const del = async (p: string): Promise<void> => {
    for (const child of await c.getChildren(p).catch(() => [] as string[])) await del(`${p}/${child}`);
    await c.delete(p).catch(() => undefined);
  };
  await del('/g');
  for (const q of await c.getChildren('/zookeeper/quota').catch(() => [] as string[]))
    await del(`/zookeeper/quota/${q}`);
  await c.close();
}

describe('zkts-shell on the zkts server prints what zkCli prints on Apache ZooKeeper', () => {
  it('a session of node, ACL, quota and watch commands', async () => {
    const lines = [
      'create /g',
      'create /g/zk mydata',
      'get -s /g/zk',
      'set -s /g/zk newData',
      'set -v 9 /g/zk x',
      'create -s /g/seq- a',
      'create -e -s /g/eph- b',
      'create -c /g/box',
      'create -t 60000 /g/ttl',
      'ls -s /g',
      'ls -R /g',
      'stat /g/none',
      'create /g/zk',
      'delete /g',
      'getAllChildrenNumber /g',
      'getEphemerals /g',
      'getAcl -s /g/zk',
      'setAcl /g/zk world:anyone:r',
      'set /g/zk y',
      'addauth digest alice:secret',
      'create /g/mine x auth::cdrwa',
      'getAcl /g/mine',
      'setquota -n 5 /g',
      'listquota /g',
      'delquota /g',
      'get -w /g/seq-0000000002',
      'set /g/seq-0000000002 changed',
      'sync /g',
      'ls -w /g/box',
      'create /g/box/child',
      'sync /g',
      'addWatch /g/box',
      'delete /g/box/child',
      'sync /g',
      'removewatches /g/box',
      'sync /g',
      'deleteall /g',
      'ls /',
    ];
    await wipe(apache.connectString);
    const reference = await runZkCliScript(apache.connectString, lines);
    await wipe(zktsConnect);
    const ours = await runShell(['-server', zktsConnect], `${lines.join('\n')}\n`);
    // Only the port in the first line differs.
    const portless = (t: string) =>
      normalize(t).map((l) => l.replace(/^Connecting to .*$/, 'Connecting to <server>'));
    expect(portless(ours.stdout)).toEqual(portless(reference.stdout));
    expect(normalize(ours.stderr)).toEqual(normalize(reference.stderr));
    expect(ours.code).toBe(reference.code);
  });
});
