#!/usr/bin/env node
/**
 * zkts-shell: a ZooKeeper shell that prints what zkCli.sh 3.8 prints.
 *   zkts-shell [-server host:port] [-timeout ms] [-r] [-interactive] [cmd args...]
 */
import { createInterface } from 'node:readline';
import { complete } from './completion.js';
import { COMMANDS, Shell } from './shell.js';

interface Cli {
  server: string;
  timeout: number;
  readOnly: boolean;
  interactive: boolean;
  command: string[] | undefined;
}

function parseArgs(argv: string[]): Cli {
  const cli: Cli = {
    server: 'localhost:2181',
    timeout: 30_000,
    readOnly: false,
    interactive: false,
    command: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) {
        process.stderr.write(`Error: no argument found for option ${a}\n`);
        process.exit(2);
      }
      return v;
    };
    if (a === '-server') cli.server = next();
    else if (a === '-timeout') cli.timeout = Number(next());
    else if (a === '-r') cli.readOnly = true;
    else if (a === '-interactive') cli.interactive = true;
    else if (a === '-waitforconnection') {
      // accepted for compatibility: requests wait for the connection anyway
    } else if (!a.startsWith('-')) {
      cli.command = argv.slice(i);
      break;
    }
  }
  return cli;
}

async function main(): Promise<void> {
  const cli = parseArgs(process.argv.slice(2));
  const shell = new Shell({
    timeout: cli.timeout,
    readOnly: cli.readOnly,
    output: { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
  });
  process.stdout.write(`Connecting to ${cli.server}\n`);
  await shell.connect(cli.server);
  const finish = async (code: number) => {
    shell.silence();
    await shell.zk?.close().catch(() => undefined);
    process.stdout.write('', () => process.exit(code));
  };
  if (cli.command !== undefined) {
    await shell.processCmd(cli.command);
    await finish(shell.exitCode);
    return;
  }
  process.stdout.write('Welcome to ZooKeeper!\n');
  const interactive = cli.interactive || process.stdin.isTTY === true;
  process.stdout.write(`JLine support is ${interactive ? 'enabled' : 'disabled'}\n`);
  const rl = createInterface({
    input: process.stdin,
    output: interactive ? process.stdout : undefined,
    terminal: process.stdin.isTTY === true && process.stdout.isTTY === true,
    historySize: 500,
    completer: interactive
      ? (line: string, callback: (err: Error | null, result: [string[], string]) => void) => {
          const zk = shell.zk;
          complete(line, COMMANDS, async (p) => (zk === undefined ? [] : zk.getChildren(p))).then(
            (r) => callback(null, r),
            (e: Error) => callback(e, [[], line]),
          );
        }
      : undefined,
  });
  // Lines are run one after another, in the order they were typed.
  const lines: string[] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  rl.on('line', (l) => {
    lines.push(l);
    wake?.();
  });
  // Ctrl-C leaves the shell (as zkCli does when JLine is off; the session is closed cleanly).
  rl.on('SIGINT', () => rl.close());
  rl.on('close', () => {
    closed = true;
    wake?.();
  });
  if (interactive) {
    rl.setPrompt(shell.prompt());
    rl.prompt();
  }
  for (;;) {
    const line = lines.shift();
    if (line === undefined) {
      if (closed) break;
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = undefined;
      continue;
    }
    await shell.executeLine(line);
    if (shell.quitRequested) break;
    if (interactive) {
      rl.setPrompt(shell.prompt());
      rl.prompt();
    }
  }
  rl.close();
  await finish(shell.exitCode);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
