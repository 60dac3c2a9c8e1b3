/**
 * `zkts-server --local-cluster N`: a development ensemble of N members on this host, each its own
 * process with its own data directory under one folder, started from generated zoo.cfg files.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface LocalClusterOptions {
  readonly size: number;
  /** Folder holding server1..N (created if missing). */
  readonly dir: string;
  /** Client ports are basePort..basePort+N-1; quorum and election ports follow from them. */
  readonly basePort: number;
  /** The zkts-server entry point each member runs. */
  readonly entry: string;
}

export interface LocalClusterMember {
  readonly id: number;
  readonly clientPort: number;
  readonly config: string;
  readonly log: string;
}

/** Writes each member's zoo.cfg and myid (existing data is kept) and returns the members. */
export function prepareLocalCluster(o: LocalClusterOptions): LocalClusterMember[] {
  const ids = Array.from({ length: o.size }, (_, i) => i + 1);
  const clientPort = (id: number) => o.basePort + id - 1;
  // As ZooKeeper's examples: 2888/3888 style quorum and election ports, one pair per member.
  const lines = ids.map(
    (id) =>
      `server.${id}=127.0.0.1:${clientPort(id) + 700 + id * 10}:${clientPort(id) + 1700 + id * 10};127.0.0.1:${clientPort(id)}`,
  );
  return ids.map((id) => {
    const dataDir = resolve(o.dir, `server${id}`);
    mkdirSync(dataDir, { recursive: true });
    const myid = join(dataDir, 'myid');
    if (!existsSync(myid)) writeFileSync(myid, `${id}\n`);
    const config = join(dataDir, 'zoo.cfg');
    writeFileSync(
      config,
      [
        'tickTime=2000',
        'initLimit=10',
        'syncLimit=5',
        `dataDir=${dataDir}`,
        '4lw.commands.whitelist=*',
        'extendedTypesEnabled=true',
        'admin.enableServer=false',
        ...lines,
        '',
      ].join('\n'),
    );
    return { id, clientPort: clientPort(id), config, log: join(dataDir, 'server.log') };
  });
}

/** Starts the members as child processes; resolves when one exits unexpectedly or on a signal. */
export async function runLocalCluster(o: LocalClusterOptions): Promise<number> {
  const members = prepareLocalCluster(o);
  const children = new Map<number, ChildProcess>();
  let stopping = false;
  const start = (m: LocalClusterMember) => {
    const out = createWriteStream(m.log, { flags: 'a' });
    const child = spawn(process.execPath, [...process.execArgv, o.entry, m.config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    children.set(m.id, child);
    return child;
  };
  const connect = members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
  return new Promise<number>((done) => {
    const stop = (code: number) => {
      if (stopping) return;
      stopping = true;
      let left = children.size;
      if (left === 0) done(code);
      for (const child of children.values()) {
        child.once('exit', () => {
          if (--left === 0) done(code);
        });
        child.kill('SIGTERM');
      }
    };
    for (const m of members) {
      const child = start(m);
      child.once('exit', (code, signal) => {
        children.delete(m.id);
        if (stopping) return;
        process.stderr.write(
          `zkts-server: member ${m.id} exited (${signal ?? `code ${code}`}); see ${m.log}. Stopping the cluster.\n`,
        );
        stop(1);
      });
    }
    process.stdout.write(
      `zkts-server: local cluster of ${o.size} in ${resolve(o.dir)}\n` +
        members
          .map(
            (m) =>
              `  server.${m.id}: pid ${children.get(m.id)?.pid}, client port ${m.clientPort}, log ${m.log}\n`,
          )
          .join('') +
        `connect string: ${connect}\n`,
    );
    process.on('SIGINT', () => stop(0));
    process.on('SIGTERM', () => stop(0));
  });
}
