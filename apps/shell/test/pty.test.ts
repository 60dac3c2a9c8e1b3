import { spawn } from 'node:child_process';
import { type ApacheZooKeeper, startApacheZooKeeper } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, SHELL_DIR } from './helpers.js';

let zk: ApacheZooKeeper;
beforeAll(async () => {
  zk = await startApacheZooKeeper();
});
afterAll(async () => {
  await zk?.stop();
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('zkts-shell on a terminal', () => {
  it('completes commands and paths with Tab and recalls the history with the up arrow', async () => {
    // util-linux `script` gives the shell a pseudo-terminal; keys are sent one group at a time
    // (node:readline treats a Tab inside a pasted chunk as text).
    const cmd = `pnpm exec tsx --conditions=@zkts/source ${MAIN} -server ${zk.connectString}`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      cwd: SHELL_DIR,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TERM: 'xterm' },
    });
    let raw = '';
    child.stdout.on('data', (c: Buffer) => {
      raw += c.toString('utf8');
    });
    const exited = new Promise<void>((r) => child.on('close', () => r()));
    /** Waits until `text` appears in the output after position `from`. */
    const waitFor = async (text: string, from = 0) => {
      for (let i = 0; i < 200 && !raw.includes(text, from); i++) await sleep(50);
      if (!raw.includes(text, from)) throw new Error(`no "${text}" in ${JSON.stringify(raw.slice(from))}`);
    };
    /** Sends one key group and waits for the terminal to show `echo` (so groups never merge). */
    const key = async (k: string, echo: string) => {
      const from = raw.length;
      child.stdin.write(k);
      await waitFor(echo, from);
    };
    try {
      await waitFor('0] ');
      await key('create /ptynode data', 'data');
      await key('\r', '(CONNECTED) 1] ');
      await key('get /ptyn', 'ptyn');
      await key('\t', 'ode'); // readline writes only the completed rest
      await key('\r', '(CONNECTED) 2] ');
      await key('\x1b[A', 'get /ptynode');
      await key('\r', '(CONNECTED) 3] ');
      await key('getAl', 'getAl');
      await key('\t', 'lChildrenNumber ');
      await key('/', '/');
      await key('\r', '(CONNECTED) 4] ');
      await key('history', 'history');
      await key('\r', '(CONNECTED) 5] ');
      await key('delete /ptynode', 'ptynode');
      await key('\r', '(CONNECTED) 6] ');
      await key('quit', 'quit');
      child.stdin.write('\r');
      await exited;
    } finally {
      child.kill();
    }
    const lines = raw
      .replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g'), '')
      .split(/\r?\n/)
      .map((l) => l.replace(/\r/g, ''))
      // readline redraws the prompt on the same line: keep the last drawing.
      .map((l) => (l.includes('[zk: ') ? l.slice(l.lastIndexOf('[zk: ')) : l));
    expect(lines).toContain(`[zk: ${zk.connectString}(CONNECTED) 1] get /ptynode`);
    expect(lines).toContain(`[zk: ${zk.connectString}(CONNECTED) 2] get /ptynode`);
    expect(lines).toContain(`[zk: ${zk.connectString}(CONNECTED) 3] getAllChildrenNumber /`);
    expect(lines.filter((l) => l === 'data')).toHaveLength(2);
    expect(lines).toContain('2 - get /ptynode');
    expect(lines).toContain('3 - getAllChildrenNumber /');
  });
});
