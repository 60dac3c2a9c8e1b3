import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnsembleConfig } from '@zkts/election';
import { TxnSnapStore } from '@zkts/persistence';
import { expect, it } from 'vitest';
import { QuorumPeer, type ReplicatedStateMachine } from '../src/index.js';
import { quorumTestPort } from './helpers.js';

// The README example, with free ports instead of fixed ones.
it('runs the README example', async () => {
  const ports = await Promise.all(Array.from({ length: 6 }, () => quorumTestPort()));
  const config = parseEnsembleConfig(`
tickTime=200
initLimit=25
syncLimit=10
server.1=127.0.0.1:${ports[0]}:${ports[1]}
server.2=127.0.0.1:${ports[2]}:${ports[3]}
server.3=127.0.0.1:${ports[4]}:${ports[5]}
`);

  class ListMachine implements ReplicatedStateMachine {
    entries: string[] = [];
    apply(zxid: bigint, payload: Uint8Array) {
      this.entries.push(`${zxid.toString(16)} ${new TextDecoder().decode(payload)}`);
    }
    snapshot() {
      return [new TextEncoder().encode(JSON.stringify(this.entries))];
    }
    restore(_zxid: bigint, chunks: readonly Uint8Array[]) {
      this.entries = JSON.parse(new TextDecoder().decode(Buffer.concat(chunks)));
    }
  }

  const dirs: string[] = [];
  const stores: TxnSnapStore[] = [];
  const machines: ListMachine[] = [];
  const roles: string[] = [];
  const peers = await Promise.all(
    [1, 2, 3].map(async (myId) => {
      const dataDir = await mkdtemp(join(tmpdir(), `zk${myId}-`));
      dirs.push(dataDir);
      const store = await TxnSnapStore.open({ dataDir });
      stores.push(store);
      const stateMachine = new ListMachine();
      machines[myId - 1] = stateMachine; // by id: the members start concurrently
      const peer = new QuorumPeer({ config, myId, store, stateMachine });
      peer.onRoleChange((c) => roles.push(`${myId}: ${c.role} leader=${c.leaderId} serving=${c.serving}`));
      await peer.start();
      return peer;
    }),
  );
  try {
    while (!peers.every((p) => p.serving)) await new Promise((r) => setTimeout(r, 50));
    const zxid = await (peers[0] as QuorumPeer).submit(new TextEncoder().encode('hello'));
    expect((machines[0] as ListMachine).entries).toEqual([`${zxid.toString(16)} hello`]);
    while (!peers.every((p) => p.appliedZxid >= zxid)) await new Promise((r) => setTimeout(r, 20));
    for (const m of machines) expect(m.entries).toEqual([`${zxid.toString(16)} hello`]);
    expect(roles.filter((r) => r.includes('LEADING') && r.endsWith('serving=true'))).toHaveLength(1);
  } finally {
    for (const p of peers) await p.close();
    for (const s of stores) await s.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
});
