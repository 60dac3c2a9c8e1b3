import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@zkts/client';
import { parseConfig, ZkServer } from '@zkts/server';
import {
  type ApacheZooKeeper,
  freePort,
  runZkCli,
  runZkCliScript,
  startApacheZooKeeper,
} from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalize, runShell } from './helpers.js';

let zk: ApacheZooKeeper;
let zkts: ZkServer;
let zktsConnect: string;
let zktsDir: string;

beforeAll(async () => {
  zk = await startApacheZooKeeper();
  zktsDir = await mkdtemp(join(tmpdir(), 'zkts-shell-'));
  const port = await freePort();
  zkts = await ZkServer.start({
    config: parseConfig(
      `tickTime=2000\ndataDir=${zktsDir}\nclientPort=${port}\nclientPortAddress=127.0.0.1\nextendedTypesEnabled=true\n`,
    ).config,
  });
  zktsConnect = `127.0.0.1:${port}`;
});

afterAll(async () => {
  await zk?.stop();
  await zkts?.close();
  if (zktsDir) await rm(zktsDir, { recursive: true, force: true });
});

/** Removes what a script left behind so the next run starts from the same tree. */
async function cleanUp(connect = zk.connectString): Promise<void> {
  const c = createClient(connect);
  await c.connect();
  const wipe = async (p: string): Promise<void> => {
    for (const child of await c.getChildren(p).catch(() => [] as string[])) await wipe(`${p}/${child}`);
    await c.delete(p).catch(() => undefined);
  };
  await wipe('/g');
  for (const q of await c.getChildren('/zookeeper/quota')) await wipe(`/zookeeper/quota/${q}`);
  await c.close();
}

/** Runs `lines` through zkCli (one JVM reading stdin) and through zkts-shell, then compares. */
async function compareScript(lines: string[]): Promise<void> {
  await cleanUp();
  const apache = await runZkCliScript(zk.connectString, lines);
  await cleanUp();
  const ours = await runShell(['-server', zk.connectString], `${lines.join('\n')}\n`);
  await cleanUp();
  // Where zkCli's event thread prints a connection notification relative to the commands' output
  // is a race in zkCli; both must print as many, the rest must match line for line.
  expect(connectedCount(apache.stdout)).toBeGreaterThan(0);
  expect(connectedCount(ours.stdout)).toBeGreaterThan(0);
  // A session closes at `close` and at the end of the input; zkCli's event thread announces it
  // when it gets to it, and sometimes the JVM exits first: zkCli may announce fewer than we do.
  const closes = lines.filter((l) => l.trim() === 'close').length + 1;
  expect(closedCount(ours.stdout)).toBeLessThanOrEqual(closes);
  expect(closedCount(apache.stdout)).toBeLessThanOrEqual(closedCount(ours.stdout));
  expect(connectedCount(ours.stdout)).toBe(connectedCount(apache.stdout));
  expect(withoutConnected(ours.stdout)).toEqual(withoutConnected(apache.stdout));
  expect(normalize(ours.stderr)).toEqual(normalize(apache.stderr));
  expect(ours.code).toBe(apache.code);
  // The same script through zkts-shell on the zkts server must print what zkCli printed on Apache.
  const portless = (t: string) =>
    sortWhoAmI(
      withoutConnected(t).map((l) =>
        l.replace(/^Connecting to .*$/, 'Connecting to <server>').replaceAll(zktsConnect, zk.connectString),
      ),
    );
  await cleanUp(zktsConnect);
  const onZkts = await runShell(
    ['-server', zktsConnect],
    `${lines.join('\n').replaceAll(zk.connectString, zktsConnect)}\n`,
  );
  await cleanUp(zktsConnect);
  expect(portless(onZkts.stdout)).toEqual(portless(apache.stdout));
  expect(portless(onZkts.stderr)).toEqual(portless(apache.stderr));
  expect(onZkts.code).toBe(apache.code);
}

/** How often `close` was announced (zkCli's event thread prints it whenever it gets to it). */
function closedCount(text: string): number {
  return text.split(CLOSED_EVENT).length - 1;
}

/** How many connection notifications were printed (both shells must print as many). */
function connectedCount(text: string): number {
  return text.split(CONNECTED_EVENT).length - 1;
}

const CONNECTED_EVENT = '\nWatchedEvent state:SyncConnected type:None path:null\n';
const CLOSED_EVENT = '\nWatchedEvent state:Closed type:None path:null\n';
const WATCHER_HEADER = '\nWATCHER::\n';

/**
 * Takes every `event` notification out of `text`. zkCli's event thread prints a notification in
 * two writes (the header, then the event), and a command's output can land between them: such a
 * split notification goes as well.
 */
function withoutEvent(text: string, event: string): string {
  let t = text.replaceAll(`${WATCHER_HEADER}${event}`, '');
  for (let i = t.indexOf(event); i !== -1; i = t.indexOf(event)) {
    const header = t.lastIndexOf(WATCHER_HEADER, i);
    t = t.slice(0, i) + t.slice(i + event.length);
    if (header !== -1) t = t.slice(0, header) + t.slice(header + WATCHER_HEADER.length);
  }
  return t;
}

/** The output without connection notifications and `close` announcements (whole or split). */
function withoutConnected(text: string): string[] {
  return normalize(withoutEvent(withoutEvent(text, CLOSED_EVENT), CONNECTED_EVENT));
}

/**
 * Sorts the identities `whoami` prints: Apache ZooKeeper lists them in hash-set order, the zkts
 * server in the order they were added.
 */
function sortWhoAmI(lines: string[]): string[] {
  const out = [...lines];
  for (let i = out.indexOf('Auth scheme: User'); i !== -1; i = out.indexOf('Auth scheme: User', i + 1)) {
    let end = i + 1;
    while (end < out.length && /^[a-z0-9]+: /.test(out[end] as string)) end++;
    out.splice(i + 1, end - i - 1, ...out.slice(i + 1, end).sort());
  }
  return out;
}

describe('zkts-shell prints what zkCli 3.8 prints', () => {
  it('reads, writes and errors of every node command, old and new syntax', async () => {
    await compareScript([
      'ls /',
      'create /g',
      'create /g/zk mydata',
      'get /g/zk',
      'get -s /g/zk',
      'set /g/zk newData',
      'set -s /g/zk again',
      'set -v 7 /g/zk stale',
      'set /g/zk old 1',
      'get -s /g/zk',
      'stat /g/zk',
      'stat /g/none',
      'ls -s /g',
      'ls /g/none',
      'ls -R /g',
      'create -s /g/seq- one',
      'create -s /g/seq- two',
      'create -e /g/eph',
      'create -e -s /g/eph-',
      'create -c /g/box',
      'create -t 100000 /g/ttl',
      'create -c -e /g/bad',
      'create -t 5 -e /g/bad',
      'create /g/zk',
      'create /g/a/b',
      'create /g/eph/child',
      'create g/rel',
      'create /g/q "two words"',
      'get /g/q',
      'get /g/eph',
      'getEphemerals /g',
      'getAllChildrenNumber /g',
      'getAllChildrenNumber /g/none',
      'delete /g',
      'delete -v 9 /g/zk',
      'delete /g/q 0',
      'delete /g/none',
      'create /g/tree',
      'create /g/tree/x',
      'create /g/tree/x/y',
      'deleteall /g/tree',
      'deleteall /g/none',
      'ls /g',
      'get',
      'foo bar',
      'ls -z /g',
      'sync /g',
      'quit',
    ]);
  });

  it('null data (create without data) prints null, empty data an empty line', async () => {
    await compareScript([
      'create /g',
      'create /g/n',
      'get /g/n',
      'get -s /g/n',
      'create /g/e ""',
      'get /g/e',
      'get -s /g/e',
      'set /g/n ""',
      'get /g/n',
      'set /g/e again',
      'get /g/e',
      'quit',
    ]);
  });

  it('ACLs, auth, quotas, history, redo and printwatches', async () => {
    await compareScript([
      'create /g',
      'create /g/acl data',
      'getAcl /g/acl',
      'getAcl -s /g/acl',
      'setAcl /g/acl world:anyone:r',
      'getAcl /g/acl',
      'set /g/acl x',
      'setAcl -s /g/acl world:anyone:cdrwa',
      'setAcl /g/acl bad',
      'addauth digest alice:secret',
      'whoami',
      'create /g/mine x auth::cdrwa',
      'getAcl /g/mine',
      'create /g/q',
      'create /g/q/a',
      'listquota /g/q',
      'setquota -n 5 /g/q',
      'setquota -b 100 /g/q',
      'listquota /g/q',
      'setquota -n 1 /g/q',
      'setquota -n 0 /g/q',
      'setquota -n 5 /g/q/a',
      'setquota /g/q',
      'setquota -n 3 /g/none',
      'delquota -n /g/q',
      'listquota /g/q',
      'delquota /g/q',
      'listquota /g/q',
      'delquota /g/q',
      'history',
      'redo 1',
      'redo 99',
      'printwatches',
      'printwatches off',
      'printwatches',
      'printwatches on',
      'history',
      'quit',
    ]);
  });

  it('watches: get -w, ls -w, stat -w, old watch syntax, addWatch, removewatches, close', async () => {
    await compareScript([
      'create /g',
      'create /g/w v',
      'get -w /g/w',
      'set /g/w v2',
      'sync /g',
      'get /g/w watch',
      'delete /g/w',
      'sync /g',
      'ls -w /g',
      'create /g/c',
      'sync /g',
      'ls /g watch',
      'delete /g/c',
      'sync /g',
      'stat -w /g/new',
      'stat /g/none watch',
      'create /g/new',
      'sync /g',
      'stat /g/new watch',
      'set /g/new 1',
      'sync /g',
      'get -w /g/new',
      'removewatches /g/new -d',
      'sync /g',
      'removewatches /g/new',
      'addWatch /g',
      'create /g/new/deep',
      'sync /g',
      'removewatches /g -a',
      'sync /g',
      'printwatches off',
      'get -w /g/new',
      'set /g/new 2',
      'sync /g',
      'printwatches on',
      'close',
      'ls /',
      'history',
      `connect ${zk.connectString}`,
      'ls /g',
      'printwatches',
    ]);
  });

  it('less common options: recursive ACLs, batches, watch modes, missing arguments', async () => {
    await compareScript([
      'create /g',
      'create /g/d hello-world-0123456789',
      'create /g/d/x',
      'create /g/d/x/y',
      'setAcl -R /g/d world:anyone:rwa',
      'getAcl /g/d/x/y',
      'create /g/d/x/no',
      'setAcl -v 5 /g/d world:anyone:cdrwa',
      'setAcl /g/d world:anyone:cdrwz',
      'setAcl -R /g/d world:anyone:cdrwa',
      'getAcl /g/d/x',
      'create -e /g/e',
      'getEphemerals',
      'ls -R -w /g/d',
      'create /g/d/x/z',
      'sync /g',
      'removewatches /g/d -c',
      'addWatch -m PERSISTENT /g/d',
      'set /g/d again',
      'sync /g',
      'addWatch -m bogus /g/d',
      'addWatch /g/d extra',
      'removewatches /g/d -a -l',
      'removewatches /g/none',
      'deleteall -b 1 /g/d',
      'ls /g',
      'create -t abc /g/t',
      'set /g',
      'delete',
      'ls',
      'getAllChildrenNumber',
      'config',
      'config -s',
      'config -c',
      'stat',
      'quit',
    ]);
  });

  it('stat times print exactly as Java prints them, in several time zones', async () => {
    const c = createClient(zk.connectString);
    await c.connect();
    await c.create('/g', 'x').catch(() => undefined);
    await c.close();
    const saved = process.env.TZ;
    try {
      for (const tz of ['UTC', 'Asia/Shanghai', 'America/New_York', 'Europe/Berlin']) {
        process.env.TZ = tz;
        const lines = ['get -s /g', 'stat /zookeeper'];
        const apache = await runZkCliScript(zk.connectString, lines);
        const ours = await runShell(['-server', zk.connectString], `${lines.join('\n')}\n`);
        const times = (t: string) =>
          t.split('\n').filter((l) => /^(ctime|mtime|cZxid|mZxid|pZxid) = /.test(l));
        expect(times(apache.stdout)).toHaveLength(10);
        expect({ tz, lines: times(ours.stdout) }).toEqual({ tz, lines: times(apache.stdout) });
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
      await cleanUp();
    }
  });

  it('non-interactive mode: one command, its output and exit code', async () => {
    for (const cmd of [['ls', '/'], ['get', '/none'], ['stat', '/zookeeper'], ['nosuch']]) {
      const apache = await runZkCli(zk.connectString, cmd);
      const ours = await runShell(['-server', zk.connectString, ...cmd]);
      expect({ cmd, code: ours.code }).toEqual({ cmd, code: apache.code });
      // zkCli exits right after the command, so whether its event thread printed the connection
      // notification first is a race; compare without it.
      expect(withoutConnected(ours.stdout)).toEqual(withoutConnected(apache.stdout));
      expect(normalize(ours.stderr)).toEqual(normalize(apache.stderr));
    }
  });
});
