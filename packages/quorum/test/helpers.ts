import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnsembleConfig } from '@zkts/election';
import { TxnSnapStore } from '@zkts/persistence';
import { QuorumPeer, type QuorumPeerOptions, type ReplicatedStateMachine } from '../src/index.js';

/** A replicated list: every applied txn, in order. Snapshots carry the whole list. */
export class ListMachine implements ReplicatedStateMachine {
  entries: Array<{ zxid: bigint; payload: string }> = [];
  restores: bigint[] = [];

  apply(zxid: bigint, payload: Uint8Array): void {
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && last.zxid >= zxid) throw new Error(`apply ${zxid} after ${last.zxid}`);
    this.entries.push({ zxid, payload: Buffer.from(payload).toString('utf8') });
  }

  snapshot(): Uint8Array[] {
    return [Buffer.from(JSON.stringify(this.entries.map((e) => [e.zxid.toString(), e.payload])))];
  }

  restore(zxid: bigint, chunks: readonly Uint8Array[]): void {
    this.restores.push(zxid);
    const text = Buffer.concat(chunks.map((c) => Buffer.from(c))).toString('utf8');
    const list = JSON.parse(text) as Array<[string, string]>;
    this.entries = list.map(([z, p]) => ({ zxid: BigInt(z), payload: p }));
  }

  history(): string[] {
    return this.entries.map((e) => `${e.zxid.toString(16)}:${e.payload}`);
  }
}

/**
 * A free port below the ephemeral range (where outgoing connections take their local ports, so a
 * port probed free there can be taken before the member binds it), in a block of its own per
 * test worker, handed out in sequence so tests of one worker never reuse each other's ports.
 */
let nextPort =
  20_000 + (Number(process.env.VITEST_POOL_ID ?? '1') % 10) * 1_200 + Math.floor(Math.random() * 200);
const blockEnd = nextPort + 1_000;

export async function quorumTestPort(): Promise<number> {
  while (nextPort < blockEnd) {
    const port = nextPort++;
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error("no free test port left in this worker's block");
}

export async function ensembleConfigText(n: number, tickTime = 200): Promise<string> {
  const lines = [`tickTime=${tickTime}`, 'initLimit=25', 'syncLimit=10'];
  for (let i = 1; i <= n; i++)
    lines.push(`server.${i}=127.0.0.1:${await quorumTestPort()}:${await quorumTestPort()}`);
  return `${lines.join('\n')}\n`;
}

export interface Member {
  readonly id: number;
  readonly dir: string;
  peer: QuorumPeer;
  store: TxnSnapStore;
  sm: ListMachine;
  logs: string[];
}

export async function startMember(
  configText: string,
  id: number,
  dir: string,
  snapCount?: number,
  extra: Partial<QuorumPeerOptions> = {},
): Promise<Member> {
  const store = await TxnSnapStore.open({ dataDir: dir, preallocateBytes: 0, snapCount });
  const sm = new ListMachine();
  const logs: string[] = [];
  const peer = new QuorumPeer({
    config: parseEnsembleConfig(configText),
    myId: id,
    store,
    stateMachine: sm,
    finalizeWaitMs: 50,
    ...extra,
    log: (level, message) => {
      logs.push(`${level} ${message}`);
      if (process.env.ZKTS_QUORUM_LOG === '1') console.log(level, message);
    },
  });
  await peer.start();
  return { id, dir, peer, store, sm, logs };
}

export async function stopMember(m: Member): Promise<void> {
  await m.peer.close();
  await m.store.close();
}

export async function tempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'zkts-quorum-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export async function waitUntil(what: string, pred: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every running member serving under one leader (one LEADING, the others FOLLOWING or OBSERVING). */
export function settledOn(members: readonly Member[]): number | undefined {
  const leaders = members.filter((m) => m.peer.state === 'LEADING' && m.peer.serving);
  if (leaders.length !== 1) return undefined;
  const leader = (leaders[0] as Member).id;
  return members.every((m) => m.peer.serving && m.peer.leaderId === leader) ? leader : undefined;
}
