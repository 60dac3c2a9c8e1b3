/**
 * Apache ZooKeeper's own zkCli, driven with the shell commands of the notes, on Apache ZooKeeper
 * 3.8 and on zkts: the output lines must be the same once times, zxids and session ids are masked.
 */
import { runZkCliScript } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  maskTimesAndSessions,
  startTarget,
  TARGETS,
  type Target,
  type TargetName,
  ZKTS_TARGETS,
} from './targets.js';

const SCRIPT = [
  'ls /',
  'create /zk mydata',
  'get /zk',
  'get -s /zk',
  'set /zk newData',
  'get /zk watch',
  'stat /zk',
  'stat /zk watch',
  'set /zk again 1',
  'set /zk stale 0',
  'ls /zk watch',
  'ls2 /zk',
  'ls -s /zk',
  'create -s /zk/seq- one',
  'create -s /zk/seq- two',
  'create -e /zk/eph tmp',
  'create -s -e /zk/eseq- x',
  'create -c /ctr',
  'create -t 60000 /ttl x',
  'create /zk/eph/child x',
  'ls -R /zk',
  'getAllChildrenNumber /zk',
  'getEphemerals /zk',
  'delete /zk/seq-0000000000',
  'delete /zk',
  'delete /zk/seq-0000000001 5',
  'create /acl x digest:user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=:cdrwa',
  'get /acl',
  'getAcl /acl',
  'addauth digest user:password',
  'get /acl',
  'setAcl /acl world:anyone:r',
  'getAcl -s /acl',
  'set /acl nope',
  'sync /zk',
  'setquota -n 5 /zk',
  'listquota /zk',
  'setquota -b 100 /zk',
  'listquota /zk',
  'delquota -n /zk',
  'listquota /zk',
  'delquota /zk',
  'listquota /zk',
  'rmr /zk',
  'deleteall /zk',
  'ls /',
  'get /nope',
  'ls /nope',
  'stat /nope',
  'create /bad/child x',
  'create nopath x',
  'history',
  'redo 0',
  'printwatches off',
  'printwatches on',
  'whoami',
  'quit',
];

/**
 * Masks the port and the epoch of zxids (a standalone server counts in epoch 0, an ensemble member
 * in its leader's epoch; the counter within the epoch is the same); sorts whoami's ids (ZooKeeper
 * keeps them in a hash set, in no meaningful order).
 */
function normalise(text: string): string {
  const lines = maskTimesAndSessions(text)
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
    .replace(
      /\b([cmp]Zxid = )0x([0-9a-fA-F]+)/g,
      (_m, key: string, hex: string) => `${key}0x${(BigInt(`0x${hex}`) & 0xffffffffn).toString(16)}`,
    )
    .split('\n')
    .filter((l) => !l.startsWith('SLF4J'));
  // zkCli prints watch events from another thread, racing the commands' output: compare the events
  // as a list of their own, after the output.
  // (state:Closed is the client's own event, printed or not depending on how fast the JVM exits.)
  const events = lines.filter((l) => l.startsWith('WatchedEvent ') && !l.includes('state:Closed')).sort();
  const rest = lines.filter((l) => l !== '' && l !== 'WATCHER::' && !l.startsWith('WatchedEvent '));
  return [...sortIds(rest), '--- events', ...events].join('\n');
}

/** Sorts runs of whoami's ids. */
function sortIds(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    let j = i;
    while (j < lines.length && /^(ip|digest|super|sasl|x509): /.test(lines[j] ?? '')) j++;
    if (j > i) {
      out.push(...lines.slice(i, j).sort());
      i = j;
    } else out.push(lines[i++] ?? '');
  }
  return out;
}

const outputs = new Map<TargetName, { stdout: string; stderr: string }>();
const targets: Target[] = [];

beforeAll(async () => {
  await Promise.all(
    TARGETS.map(async (name) => {
      const t = await startTarget(name);
      targets.push(t);
      // close and connect: the session ends (its ephemerals go) and a new one starts.
      const r = await runZkCliScript(t.connectString, [
        ...SCRIPT.slice(0, -1),
        'close',
        'ls /zk',
        `connect ${t.connectString}`,
        'ls /',
        'quit',
      ]);
      outputs.set(name, {
        stdout: normalise(r.stdout),
        stderr: normalise(r.stderr),
      });
    }),
  );
});

afterAll(async () => {
  await Promise.all(targets.map((t) => t.stop()));
});

describe('zkCli', () => {
  it('prints on zkts what it prints on Apache ZooKeeper (stdout)', () => {
    const apache = outputs.get('apache')?.stdout ?? '';
    expect(apache).toContain('mydata');
    expect(apache).toContain('numChildren = 0');
    if (process.env.SHOW_ZKCLI) console.log(apache, outputs.get('apache')?.stderr);
    for (const name of ZKTS_TARGETS)
      expect([name, outputs.get(name)?.stdout.split('\n')]).toEqual([name, apache.split('\n')]);
  });

  it('prints on zkts what it prints on Apache ZooKeeper (messages)', () => {
    const apache = outputs.get('apache')?.stderr ?? '';
    expect(apache).toContain('Created /zk');
    for (const name of ZKTS_TARGETS)
      expect([name, outputs.get(name)?.stderr.split('\n')]).toEqual([name, apache.split('\n')]);
  });
});
