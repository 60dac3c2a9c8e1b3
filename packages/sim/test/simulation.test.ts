import { describe, expect, it } from 'vitest';
import { type Effect, type NodeId, type Protocol, SimError, Simulation, seedsFromEnv } from '../src/index.js';

/** A toy protocol: every node counts what it receives; `tick` timers broadcast a counter. */
interface Toy {
  id: NodeId;
  boots: number;
  got: Array<[NodeId, number]>;
  sent: number;
  links: string[];
}
type Msg = { n: number };
const PEERS = [1, 2, 3];

const toy: Protocol<Toy, Msg, number> = {
  boot(id, persisted) {
    const node: Toy = { id, boots: (persisted ?? 0) + 1, got: [], sent: 0, links: [] };
    return {
      node,
      effects: [
        { kind: 'persist', state: node.boots },
        { kind: 'setTimer', name: 'tick', afterMs: 10 },
      ],
    };
  },
  receive(node, from, msg) {
    node.got.push([from, msg.n]);
    return [];
  },
  timer(node) {
    const effects: Effect<Msg, number>[] = [];
    node.sent++;
    for (const p of PEERS) effects.push({ kind: 'send', to: p, msg: { n: node.sent } });
    if (node.sent < 20) effects.push({ kind: 'setTimer', name: 'tick', afterMs: 10 });
    return effects;
  },
  link(node, peer, up) {
    node.links.push(`${peer}:${up ? 'up' : 'down'}`);
    return [];
  },
  format: (m) => `n=${m.n}`,
};

function run(
  seed: number,
  opts: Partial<ConstructorParameters<typeof Simulation<Toy, Msg, number>>[1]> = {},
) {
  const sim = new Simulation(toy, { seed, ids: PEERS, trace: 10_000, ...opts });
  sim.run(1000);
  return sim;
}

describe('Simulation', () => {
  it('replays a seed exactly and differs across seeds', () => {
    const faults = { untilMs: 500, crashEveryMs: 60, partitionEveryMs: 80 };
    const net = { lossRate: 0.2, duplicateRate: 0.1, maxDelayMs: 30 };
    const a = run(5, { faults, network: net });
    const b = run(5, { faults, network: net });
    const c = run(6, { faults, network: net });
    expect(a.trace()).toEqual(b.trace());
    expect(a.stats).toEqual(b.stats);
    expect(a.trace()).not.toEqual(c.trace());
    expect(a.stats.lost).toBeGreaterThan(0);
    expect(a.stats.crashes).toBeGreaterThan(0);
  });

  it('delivers everything exactly once, in FIFO order per link, without faults', () => {
    const sim = run(1, { network: { minDelayMs: 1, maxDelayMs: 50 } });
    for (const id of PEERS) {
      const node = sim.node(id)!;
      expect(node.got).toHaveLength(60);
      for (const p of PEERS) {
        const fromP = node.got.filter(([f]) => f === p).map(([, n]) => n);
        expect(fromP).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      }
    }
    expect(sim.stats.lost).toBe(0);
  });

  it('reorders a link when fifo is off', () => {
    let reordered = false;
    for (const seed of [1, 2, 3]) {
      const sim = run(seed, { network: { minDelayMs: 1, maxDelayMs: 50, fifo: false } });
      const fromTwo = sim
        .node(1)!
        .got.filter(([f]) => f === 2)
        .map(([, n]) => n);
      if (fromTwo.some((n, i) => i > 0 && n < (fromTwo[i - 1] ?? 0))) reordered = true;
    }
    expect(reordered).toBe(true);
  });

  it('delivers messages to oneself at once', () => {
    const sim = new Simulation(toy, { seed: 3, ids: PEERS, network: { minDelayMs: 100, maxDelayMs: 100 } });
    sim.run(10);
    expect(sim.node(1)!.got).toEqual([[1, 1]]);
  });

  it('crashes lose volatile state and timers; restarts get the persisted state', () => {
    const sim = new Simulation(toy, { seed: 3, ids: PEERS });
    sim.run(35);
    sim.crash(2);
    expect(sim.node(2)).toBeUndefined();
    expect(sim.node(1)!.links).toEqual(['2:up', '3:up', '2:down']);
    sim.run(100);
    sim.start(2);
    expect(sim.node(2)!.boots).toBe(2);
    expect(sim.node(2)!.sent).toBe(0);
    expect(sim.node(1)!.links.slice(3)).toEqual(['2:up']);
    sim.run(1000);
    expect(sim.node(2)!.sent).toBe(20);
  });

  it('partitions drop messages across sides and tell both ends', () => {
    const sim = new Simulation(toy, { seed: 4, ids: PEERS });
    sim.run(0);
    sim.node(1)!.links.length = 0;
    sim.partition([[1], [2, 3]]);
    expect(sim.node(1)!.links.sort()).toEqual(['2:down', '3:down']);
    sim.run(1000);
    expect(sim.node(1)!.got.every(([f]) => f === 1)).toBe(true);
    expect(sim.node(2)!.got.some(([f]) => f === 3)).toBe(true);
    sim.heal();
    expect(sim.node(1)!.links.sort()).toEqual(['2:down', '2:up', '3:down', '3:up']);
  });

  it('injects no faults after faults.untilMs', () => {
    const sim = new Simulation(toy, {
      seed: 8,
      ids: PEERS,
      network: { lossRate: 0.5 },
      faults: { untilMs: 0, crashEveryMs: 10, partitionEveryMs: 10 },
    });
    sim.run(1000);
    expect(sim.stats.lost).toBe(0);
    expect(sim.stats.crashes).toBe(0);
  });

  it('throws a SimError naming the seed when an invariant breaks', () => {
    const sim = new Simulation(toy, {
      seed: 77,
      ids: PEERS,
      invariants: [(v) => ((v.node(1)?.got.length ?? 0) > 5 ? 'node 1 got more than 5 messages' : undefined)],
    });
    let err: unknown;
    try {
      sim.run(1000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SimError);
    expect((err as SimError).kind).toBe('invariant');
    expect((err as SimError).seed).toBe(77);
    expect((err as SimError).message).toContain('seed 77');
  });

  it('stops runaway runs with a budget error', () => {
    const loop: Protocol<null, null, never> = {
      boot: () => ({ node: null, effects: [{ kind: 'send', to: 1, msg: null }] }),
      receive: () => [{ kind: 'send', to: 1, msg: null }],
      timer: () => [],
    };
    const sim = new Simulation(loop, { seed: 1, ids: [1], maxEvents: 1000 });
    expect(() => sim.run(10)).toThrow(SimError);
  });

  it('runUntil stops as soon as the predicate holds', () => {
    const sim = new Simulation(toy, { seed: 2, ids: PEERS });
    expect(sim.runUntil((v) => (v.node(3)?.got.length ?? 0) >= 3, 1000)).toBe(true);
    expect(sim.node(3)!.got.length).toBe(3);
    expect(sim.nowMs).toBeLessThan(1000);
  });
});

describe('seedsFromEnv', () => {
  it('replays one seed or yields a range', () => {
    expect(seedsFromEnv(3, 10, { ZKTS_SEED: '1234' })).toEqual([1234]);
    expect(seedsFromEnv(3, 10, {})).toEqual([10, 11, 12]);
    expect(seedsFromEnv(3, 10, { ZKTS_SEED_BASE: '5', ZKTS_SEEDS: '2' })).toEqual([5, 6]);
    expect(() => seedsFromEnv(3, 10, { ZKTS_SEED: 'x' })).toThrow(RangeError);
  });
});
