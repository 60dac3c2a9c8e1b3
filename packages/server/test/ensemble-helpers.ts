import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fourLetterWord, freePort, waitFor } from '@zkts/testkit';
import { parseConfig } from '../src/config.js';
import { ZkServer } from '../src/server.js';

/** Set ZKTS_TEST_LOG=1 to see every member's log lines. */
function consoleLogger(id: number) {
  const line = (level: string) => (obj: object, msg?: string) =>
    console.log(
      `[${id}] ${level} ${msg ?? ''} ${JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`,
    );
  return { info: line('info'), warn: line('warn'), error: line('error'), debug: () => {} };
}

export interface TestMember {
  readonly id: number;
  readonly clientPort: number;
  readonly connectString: string;
  readonly dataDir: string;
  server: ZkServer | undefined;
  /** `Mode:` of srvr, or undefined while it does not serve. */
  mode(): Promise<string | undefined>;
}

export interface TestEnsemble {
  readonly members: TestMember[];
  /** Every member's client address. */
  readonly connectString: string;
  member(id: number): TestMember;
  start(id: number): Promise<void>;
  stop(id: number): Promise<void>;
  /** Waits until every running member serves, one of them as leader; returns the leader's id. */
  ready(timeoutMs?: number): Promise<number>;
  leader(): Promise<number | undefined>;
  close(): Promise<void>;
}

/**
 * Starts an ensemble of zkts servers in this process, on loopback ports, each with its own data
 * directory and `myid`. `observers` lists the ids that join as observers.
 */
export async function startTestEnsemble(
  size: number,
  options: { observers?: number[]; extra?: Record<string, string>; start?: number[] } = {},
): Promise<TestEnsemble> {
  const root = await mkdtemp(join(tmpdir(), 'zkts-ensemble-'));
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const ports = new Map<number, { client: number; quorum: number; election: number }>();
  for (const id of ids)
    ports.set(id, { client: await freePort(), quorum: await freePort(), election: await freePort() });
  const lines = ids.map((id) => {
    const p = ports.get(id) as { client: number; quorum: number; election: number };
    const role = options.observers?.includes(id) ? ':observer' : '';
    return `server.${id}=127.0.0.1:${p.quorum}:${p.election}${role};127.0.0.1:${p.client}`;
  });
  const members: TestMember[] = [];
  for (const id of ids) {
    const dataDir = join(root, `server${id}`);
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'myid'), `${id}\n`);
    const clientPort = (ports.get(id) as { client: number }).client;
    const m: TestMember = {
      id,
      clientPort,
      connectString: `127.0.0.1:${clientPort}`,
      dataDir,
      server: undefined,
      mode: async () => {
        const out = await fourLetterWord(clientPort, 'srvr').catch(() => '');
        return /Mode: (\w+)/.exec(out)?.[1];
      },
    };
    members.push(m);
  }
  const configText = (id: number) =>
    [
      'tickTime=200',
      'initLimit=25',
      'syncLimit=10',
      `dataDir=${join(root, `server${id}`)}`,
      '4lw.commands.whitelist=*',
      'extendedTypesEnabled=true',
      'minSessionTimeout=400',
      'maxSessionTimeout=20000',
      ...(options.observers?.includes(id) ? ['peerType=observer'] : []),
      ...Object.entries(options.extra ?? {}).map(([k, v]) => `${k}=${v}`),
      ...lines,
    ].join('\n');
  const byId = (id: number): TestMember => {
    const m = members.find((x) => x.id === id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  };
  const ensemble: TestEnsemble = {
    members,
    connectString: members.map((m) => m.connectString).join(','),
    member: byId,
    start: async (id) => {
      const m = byId(id);
      if (m.server !== undefined) return;
      const { config } = parseConfig(configText(id));
      m.server = await ZkServer.start({
        config,
        ...(process.env.ZKTS_TEST_LOG ? { logger: consoleLogger(id) } : {}),
      });
    },
    stop: async (id) => {
      const m = byId(id);
      const s = m.server;
      m.server = undefined;
      await s?.close();
    },
    leader: async () => {
      for (const m of members) {
        if (m.server !== undefined && (await m.mode()) === 'leader') return m.id;
      }
      return undefined;
    },
    ready: async (timeoutMs = 20_000) => {
      let leader: number | undefined;
      await waitFor(
        async () => {
          const running = members.filter((m) => m.server !== undefined);
          const modes = await Promise.all(running.map((m) => m.mode()));
          if (modes.some((x) => x === undefined)) return false;
          leader = running[modes.indexOf('leader')]?.id;
          return leader !== undefined;
        },
        timeoutMs,
        'the ensemble to serve',
      );
      return leader as number;
    },
    close: async () => {
      await Promise.all(members.map((m) => ensemble.stop(m.id)));
      await rm(root, { recursive: true, force: true });
    },
  };
  for (const id of options.start ?? ids) await ensemble.start(id);
  return ensemble;
}
