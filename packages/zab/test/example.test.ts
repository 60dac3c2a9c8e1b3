import { expect, it } from 'vitest';
import { type Txn, ZabFollower, ZabLeader, type ZabMessage, type ZabOutput } from '../src/index.js';

// The README's example, kept runnable: three servers in one process, messages and disk writes
// handed over in memory.
it('the README example replicates a transaction on three servers', () => {
  const voters = [1, 2, 3];
  const disk = { acceptedEpoch: 0n, currentEpoch: 0n, snapshotZxid: 0n, log: [] };
  const cores = new Map<number, ZabLeader | ZabFollower>([
    [1, new ZabLeader({ myId: 1, voters }, disk)],
    [2, new ZabFollower({ myId: 2, voters, leaderId: 1 }, disk)],
    [3, new ZabFollower({ myId: 3, voters, leaderId: 1 }, disk)],
  ]);
  const inbox: Array<{ from: number; to: number; msg: ZabMessage }> = [];
  const writes: Array<{ id: number; seq: number }> = [];
  const applied = new Map<number, Txn[]>([
    [1, []],
    [2, []],
    [3, []],
  ]);
  const handle = (id: number, outs: ZabOutput[]) => {
    for (const o of outs) {
      if (o.type === 'send') inbox.push({ from: id, to: o.to, msg: o.msg });
      else if (o.type === 'disk')
        writes.push({ id, seq: o.seq }); // a real host writes o.write, then fsyncs
      else if (o.type === 'apply') applied.get(id)?.push(o.txn);
    }
  };
  const settle = () => {
    while (inbox.length > 0 || writes.length > 0) {
      const m = inbox.shift();
      if (m !== undefined)
        handle(m.to, cores.get(m.to)?.step({ type: 'message', from: m.from, msg: m.msg }) ?? []);
      else {
        const w = writes.shift() as { id: number; seq: number };
        handle(w.id, cores.get(w.id)?.step({ type: 'diskDone', seq: w.seq }) ?? []);
      }
    }
  };
  for (const [id, core] of cores) handle(id, core.step({ type: 'start' }));
  settle();
  const leader = cores.get(1) as ZabLeader;
  handle(1, leader.step({ type: 'propose', data: new TextEncoder().encode('hello') }));
  settle();
  expect(leader.phase).toBe('broadcast');
  for (const id of voters) {
    expect(applied.get(id)?.map((t) => [t.zxid, new TextDecoder().decode(t.data)])).toEqual([
      [0x100000001n, 'hello'],
    ]);
  }
});
