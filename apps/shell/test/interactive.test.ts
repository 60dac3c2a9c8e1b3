import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, ZkServer } from '@zkts/server';
import { type ApacheZooKeeper, freePort, startApacheZooKeeper } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenize } from '../src/args.js';
import { complete } from '../src/completion.js';
import { COMMANDS, clientConfig, Shell } from '../src/shell.js';
import { normalize, runShell } from './helpers.js';

let apache: ApacheZooKeeper;

beforeAll(async () => {
  apache = await startApacheZooKeeper();
});
afterAll(async () => {
  await apache?.stop();
});

function captured(): { shell: Shell; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const shell = new Shell({ output: { out: (t) => out.push(t), err: (t) => err.push(t) } });
  return { shell, out, err };
}

describe('the REPL', () => {
  it('prints the prompt with the command number, keeps the history and redoes a command', async () => {
    const input = [
      'create /repl first',
      'get /repl',
      '',
      'history',
      'redo 1',
      'set /repl second',
      'redo 1',
      'quit',
    ];
    const r = await runShell(['-server', apache.connectString, '-interactive'], `${input.join('\n')}\n`);
    const host = apache.connectString;
    expect(r.stdout).toContain('JLine support is enabled');
    // The first prompt may show CONNECTING; a blank line does not take a number.
    expect(r.stdout).toMatch(
      new RegExp(`\\[zk: ${host.replace(/\./g, '\\.')}\\((CONNECTING|CONNECTED)\\) 0\\] `),
    );
    for (let n = 1; n <= 6; n++) expect(r.stdout).toContain(`[zk: ${host}(CONNECTED) ${n}] `);
    expect(r.stdout).not.toContain(`(CONNECTED) 7] `);
    const lines = normalize(r.stdout).map((l) => l.replace(/^(\[zk: [^\]]+\] )+/, ''));
    const h = lines.indexOf('0 - create /repl first');
    expect(lines.slice(h, h + 3)).toEqual(['0 - create /repl first', '1 - get /repl', '2 - history']);
    expect(lines.filter((l) => l === 'first')).toHaveLength(2);
    expect(lines).toContain('second');
    expect(r.stderr).toContain('Created /repl');
    expect(r.code).toBe(0);
  });

  it('exits non-zero when the last command failed', async () => {
    const r = await runShell(['-server', apache.connectString], 'get /missing\n');
    expect(r.stderr).toContain('Node does not exist: /missing');
    expect(r.code).toBe(1);
    const ok = await runShell(['-server', apache.connectString, 'ls', '/zookeeper']);
    expect(ok.stdout).toContain('[config, quota]');
    expect(ok.code).toBe(0);
  });
});

describe('completion', () => {
  const tree: Record<string, string[]> = { '/': ['zookeeper', 'zk', 'app'], '/app': ['one', 'two'] };
  const list = async (p: string) => {
    const c = tree[p];
    if (c === undefined) throw new Error('NoNode');
    return c;
  };

  it('completes command names for the first word', async () => {
    expect(await complete('ge', COMMANDS, list)).toEqual([
      ['get ', 'getAcl ', 'getAllChildrenNumber ', 'getEphemerals '],
      'ge',
    ]);
    expect(await complete('', COMMANDS, list)).toEqual([COMMANDS.map((c) => `${c} `), '']);
    expect((await complete('rm', COMMANDS, list))[0]).toEqual(['rmr ']);
  });

  it('completes znode paths from the parent listing', async () => {
    expect(await complete('ls /z', COMMANDS, list)).toEqual([['/zk', '/zookeeper'], '/z']);
    expect(await complete('get -s /app/t', COMMANDS, list)).toEqual([['/app/two'], '/app/t']);
    expect(await complete('ls /app/', COMMANDS, list)).toEqual([['/app/one', '/app/two'], '/app/']);
    expect(await complete('ls /none/x', COMMANDS, list)).toEqual([[], '/none/x']);
    expect(await complete('ls foo', COMMANDS, list)).toEqual([[], 'foo']);
  });
});

describe('parsing', () => {
  it('reduces a dynamic configuration to the client view (config -c)', () => {
    const cfg =
      'server.1=a:2888:3888:participant;10.0.0.1:2181\nserver.2=b:2888:3888:participant;2182\nversion=10000000a\n';
    expect(clientConfig(cfg)).toBe('10000000a 10.0.0.1:2181,0.0.0.0:2182');
    expect(clientConfig('')).toBe(' ');
  });

  it('splits words and strips quotes as zkCli does', () => {
    expect(tokenize('create /a "two words" \'x y\'')).toEqual(['create', '/a', 'two words', 'x y']);
    expect(tokenize('  ls   /  ')).toEqual(['ls', '/']);
    expect(tokenize('set /a ""')).toEqual(['set', '/a', '']);
  });
});

describe('legacy commands zkCli 3.8 dropped', () => {
  it('ls2 prints children and stat as ls -s; rmr deletes a subtree as deleteall (on the zkts server)', async () => {
    const port = await freePort();
    const dataDir = await mkdtemp(join(tmpdir(), 'zkts-shell-'));
    const server = await ZkServer.start({
      config: parseConfig(
        `tickTime=2000\ndataDir=${dataDir}\nclientPort=${port}\nclientPortAddress=127.0.0.1\n`,
      ).config,
    });
    try {
      const { shell, out, err } = captured();
      await shell.connect(`127.0.0.1:${port}`);
      for (const l of [
        'create /old',
        'create /old/a',
        'create /old/a/b',
        'ls2 /old',
        'ls -s /old',
        'rmr /old',
        'ls /',
      ]) {
        await shell.executeLine(l);
      }
      const text = out.join('').split('\n');
      const first = text.indexOf('[a]');
      const second = text.indexOf('[a]', first + 1);
      expect(second).toBeGreaterThan(first);
      expect(text.slice(first, first + 12)).toEqual(text.slice(second, second + 12));
      expect(text).toContain('[zookeeper]');
      expect(err.join('')).toContain('Created /old/a/b');
      expect(shell.exitCode).toBe(0);
      await shell.zk?.close();
    } finally {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('get -b / -x and set -b (zkCli 3.8.6 options, absent from 3.8.0)', () => {
  it('prints base64 and a boxed hex dump, and decodes base64 input', async () => {
    const { shell, out } = captured();
    await shell.connect(apache.connectString);
    await shell.executeLine('create /fmt hello-world-0123456789');
    out.length = 0;
    await shell.executeLine('get -b /fmt');
    await shell.executeLine('get -x /fmt');
    await shell.executeLine('set -b /fmt aGk=');
    await shell.executeLine('get /fmt');
    await shell.executeLine('delete /fmt');
    expect(out.join('').split('\n')).toEqual([
      Buffer.from('hello-world-0123456789').toString('base64'),
      '         +-------------------------------------------------+',
      '         |  0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f |',
      '+--------+-------------------------------------------------+----------------+',
      '|00000000| 68 65 6c 6c 6f 2d 77 6f 72 6c 64 2d 30 31 32 33 |hello-world-0123|',
      '|00000010| 34 35 36 37 38 39                               |456789          |',
      '+--------+-------------------------------------------------+----------------+',
      'hi',
      '',
    ]);
    expect(shell.exitCode).toBe(0);
    await shell.zk?.close();
  });
});
