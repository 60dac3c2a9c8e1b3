import { Socket } from 'node:net';
import { encodeQuorumFrame } from '@zkts/codec';
import { parseEnsembleConfig } from '@zkts/election';
import { MemoryFileSystem, TxnSnapStore } from '@zkts/persistence';
import { afterAll, describe, expect, it } from 'vitest';
import { QuorumError, QuorumPeer, toWire } from '../src/index.js';
import { snapParts } from '../src/wire.js';
import {
  ensembleConfigText,
  ListMachine,
  type Member,
  settledOn,
  startMember,
  stopMember,
  tempDir,
  waitUntil,
} from './helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** Opens a connection to a quorum port, sends `bytes`, resolves when the other side closes it. */
function closedAfter(port: number, bytes: Uint8Array): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 5000);
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    s.connect(port, '127.0.0.1', () => s.write(bytes));
  });
}

describe('QuorumPeer API and bounds', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it('refuses a myid without a server line', async () => {
    const cfg = parseEnsembleConfig(await ensembleConfigText(3));
    const store = await TxnSnapStore.open({ dataDir: '/d', fs: new MemoryFileSystem(['/d']) });
    expect(() => new QuorumPeer({ config: cfg, myId: 9, store, stateMachine: new ListMachine() })).toThrow(
      QuorumError,
    );
    expect(
      () => new QuorumPeer({ config: cfg, myId: 1, store, stateMachine: new ListMachine(), maxFrameSize: 0 }),
    ).toThrow(/maxFrameSize/);
  });

  it('validates frames: unknown shapes are refused, small integers become bigints', () => {
    expect(toWire({ t: 'zab', m: { type: 'COMMIT', zxid: 5 } })).toEqual({
      t: 'zab',
      m: { type: 'COMMIT', zxid: 5n },
    });
    expect(toWire({ t: 'zab', m: { type: 'COMMIT' } })).toBeUndefined();
    expect(toWire({ t: 'zab', m: { type: 'PROPOSAL', zxid: 1n, data: 'text' } })).toBeUndefined();
    expect(toWire({ t: 'zab', m: { type: 'SNAP', zxid: 1n, snapshot: [1, 2] } })).toBeUndefined();
    const part = new Uint8Array([1, 2]);
    expect(toWire({ t: 'snap', zxid: 7, chunks: [part], last: false })).toEqual({
      t: 'snap',
      zxid: 7n,
      chunks: [part],
      last: false,
    });
    // A SNAP cut in parts: the pieces, in order, are the chunks' bytes; no part over its budget.
    const chunks = [new Uint8Array(5).fill(1), new Uint8Array(0), new Uint8Array(9).fill(2)];
    const parts = [...snapParts(3n, chunks, 4)];
    expect(parts.map((m) => m.last)).toEqual([...parts.slice(1).map(() => false), true]);
    for (const m of parts) expect(m.chunks.reduce((n, c) => n + c.length, 0)).toBeLessThanOrEqual(4);
    expect(Buffer.concat(parts.flatMap((m) => [...m.chunks]))).toEqual(Buffer.concat(chunks));
    for (const bad of [
      { t: 'snap', zxid: 7n, chunks: [part] },
      { t: 'snap', zxid: 7n, chunks: [1, 2], last: true },
      { t: 'snap', zxid: 7n, chunks: part, last: true },
      { t: 'snap', zxid: 'x', chunks: [part], last: true },
      { t: 'snap', zxid: 1.5, chunks: [], last: true },
    ]) {
      expect(toWire(bad)).toBeUndefined();
    }
    expect(toWire({ t: 'req', id: 1, data: new Uint8Array([1]) })).toMatchObject({ t: 'req', id: 1 });
    expect(toWire({ t: 'rep', id: 1 })).toBeUndefined();
    expect(toWire({ t: 'nope' })).toBeUndefined();
    expect(toWire(null)).toBeUndefined();
  });

  it('bounds and refusals on a running ensemble; bad connections are closed and change nothing', async () => {
    const cfgText = await ensembleConfigText(3);
    const cfg = parseEnsembleConfig(cfgText);
    const dirs = await Promise.all([1, 2, 3].map(() => tempDir()));
    for (const d of dirs) cleanups.push(d.remove);
    const members: Member[] = await Promise.all(
      [1, 2, 3].map((id) =>
        startMember(cfgText, id, (dirs[id - 1] as { path: string }).path, undefined, {
          maxPayloadBytes: 1000,
          maxPendingForwards: 1,
        }),
      ),
    );
    cleanups.push(async () => {
      for (const m of members) await stopMember(m).catch(() => {});
    });
    await waitUntil('settled', () => settledOn(members) !== undefined);
    const leaderId = settledOn(members) as number;
    const leader = members.find((m) => m.id === leaderId) as Member;
    const follower = members.find((m) => m.id !== leaderId) as Member;

    await expect(leader.peer.propose(new Uint8Array(1001))).rejects.toMatchObject({ kind: 'limit' });
    await expect(follower.peer.forward(new Uint8Array(1001))).rejects.toMatchObject({ kind: 'limit' });
    // One forward in flight at most.
    const first = follower.peer.forward(enc('one'));
    await expect(follower.peer.forward(enc('two'))).rejects.toMatchObject({ kind: 'overloaded' });
    const z = await first;
    expect(follower.peer.appliedZxid).toBeGreaterThanOrEqual(z);

    const port = (cfg.servers.get(leaderId) as { quorumPort: number }).quorumPort;
    // Not a frame; a frame that is not a hello; a hello from a server not in the ensemble; a hello
    // followed by a message a learner never sends.
    expect(await closedAfter(port, new Uint8Array([0, 0, 0, 5, 9, 9, 9, 9, 9]))).toBe(true);
    expect(await closedAfter(port, encodeQuorumFrame({ t: 'req', id: 1, data: enc('x') }))).toBe(true);
    expect(await closedAfter(port, encodeQuorumFrame({ t: 'hello', protocol: 2, sid: 42 }))).toBe(true);
    expect(await closedAfter(port, encodeQuorumFrame({ t: 'hello', protocol: 1, sid: 2 }))).toBe(true);
    expect(settledOn(members)).toBe(leaderId);
    const z2 = await leader.peer.propose(enc('after'));
    await waitUntil('applied', () => members.every((m) => m.peer.appliedZxid >= z2));
    for (const m of members) expect(m.sm.history()).toEqual(leader.sm.history());
    expect(leader.sm.history()).toHaveLength(2);

    await stopMember(follower);
    await expect(follower.peer.propose(enc('x'))).rejects.toMatchObject({ kind: 'closed' });
    await expect(follower.peer.forward(enc('x'))).rejects.toMatchObject({ kind: 'closed' });
  }, 60_000);

  it('a port in use: start rejects with a config error and leaves nothing listening', async () => {
    const cfgText = await ensembleConfigText(3);
    const cfg = parseEnsembleConfig(cfgText);
    const { createServer } = await import('node:net');
    const blocker = createServer();
    const quorumPort = (cfg.servers.get(1) as { quorumPort: number }).quorumPort;
    await new Promise<void>((r) => blocker.listen(quorumPort, '127.0.0.1', () => r()));
    const store = await TxnSnapStore.open({ dataDir: '/d', fs: new MemoryFileSystem(['/d']) });
    const peer = new QuorumPeer({ config: cfg, myId: 1, store, stateMachine: new ListMachine() });
    await expect(peer.start()).rejects.toMatchObject({ kind: 'config' });
    await new Promise<void>((r) => blocker.close(() => r()));
    // The election port was never taken (or is free again): it can be bound now.
    const electionPort = (cfg.servers.get(1) as { electionPort: number }).electionPort;
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(electionPort, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((r) => probe.close(() => r()));
    await store.close();
  });

  it('a state machine that throws stops its member (fail-stop); the others go on', async () => {
    const cfgText = await ensembleConfigText(3);
    const dirs = await Promise.all([1, 2, 3].map(() => tempDir()));
    for (const d of dirs) cleanups.push(d.remove);
    const members: Member[] = await Promise.all(
      [1, 2, 3].map((id) => startMember(cfgText, id, (dirs[id - 1] as { path: string }).path)),
    );
    cleanups.push(async () => {
      for (const m of members) await stopMember(m).catch(() => {});
    });
    await waitUntil('settled', () => settledOn(members) !== undefined);
    const leaderId = settledOn(members) as number;
    const victim = members.find((m) => m.id !== leaderId) as Member;
    const stopped: QuorumError[] = [];
    victim.peer.onStopped((e) => stopped.push(e));
    const apply = victim.sm.apply.bind(victim.sm);
    victim.sm.apply = (zxid, payload) => {
      if (Buffer.from(payload).toString() === 'poison') throw new Error('cannot apply');
      apply(zxid, payload);
    };
    const leader = members.find((m) => m.id === leaderId) as Member;
    await leader.peer.propose(enc('poison'));
    await waitUntil('the member stopped', () => stopped.length === 1);
    expect(stopped[0]?.kind).toBe('state-machine');
    await expect(victim.peer.forward(enc('x'))).rejects.toMatchObject({ kind: 'closed' });
    const z = await leader.peer.propose(enc('after'));
    const third = members.find((m) => m !== leader && m !== victim) as Member;
    await waitUntil('applied', () => third.peer.appliedZxid >= z);
    expect(third.sm.history()).toEqual(leader.sm.history());
  }, 60_000);
});
