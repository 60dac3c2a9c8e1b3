#!/usr/bin/env node
/**
 * Runs one election member from a zoo.cfg-like file and prints ZooKeeper-shaped log lines, plus
 * one `DECIDED <state> leader=<sid> round=<hex> elapsedMs=<ms>` line per decision.
 *
 *   zkts-election zoo.cfg [--myid N] [--finalize-wait MS]
 *
 * myid, currentEpoch and lastZxid come from dataDir (files `myid`, `currentEpoch`, `lastZxid`;
 * missing ones mean 0), unless --myid is given. The config key `zkts.finalizeWaitMs` also sets the
 * finalize wait.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnsembleConfig } from './config.js';
import { ElectionError } from './errors.js';
import { ElectionMember } from './member.js';
import { hex } from './vote.js';

function readNumberFile(dir: string | undefined, name: string): string | undefined {
  if (dir === undefined) return undefined;
  try {
    return readFileSync(join(dir, name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function main(argv: string[]): Promise<void> {
  const args = [...argv];
  let cfgPath: string | undefined;
  let myIdArg: string | undefined;
  let finalizeArg: string | undefined;
  while (args.length > 0) {
    const a = args.shift() as string;
    if (a === '--myid') myIdArg = args.shift();
    else if (a === '--finalize-wait') finalizeArg = args.shift();
    else if (cfgPath === undefined) cfgPath = a;
    else throw new ElectionError('config', `unexpected argument ${a}`);
  }
  if (cfgPath === undefined) {
    process.stderr.write('usage: zkts-election zoo.cfg [--myid N] [--finalize-wait MS]\n');
    process.exitCode = 2;
    return;
  }
  const config = parseEnsembleConfig(readFileSync(cfgPath, 'utf8'));
  const myIdText = myIdArg ?? readNumberFile(config.dataDir, 'myid');
  const myId = Number(myIdText);
  if (myIdText === undefined || !Number.isInteger(myId)) {
    throw new ElectionError('config', 'no myid: pass --myid or put a myid file in dataDir');
  }
  const finalize = finalizeArg ?? config.raw.get('zkts.finalizeWaitMs');
  const t0 = performance.now();
  const member = new ElectionMember({
    config,
    myId,
    currentEpoch: BigInt(readNumberFile(config.dataDir, 'currentEpoch') ?? '0'),
    lastZxid: BigInt(readNumberFile(config.dataDir, 'lastZxid') ?? '0'),
    finalizeWaitMs: finalize === undefined ? undefined : Number(finalize),
    log: (line) => process.stdout.write(`${line}\n`),
    onDecided: (d) =>
      process.stdout.write(
        `DECIDED ${d.state} leader=${d.vote.leader} round=${hex(d.vote.electionEpoch)} elapsedMs=${Math.round(performance.now() - t0)}\n`,
      ),
  });
  const shutdown = () => {
    void member.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  await member.start();
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
