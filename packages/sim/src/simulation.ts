import { SimError } from './errors.js';
import { EventHeap } from './heap.js';
import { Prng } from './prng.js';

/** A node's id in the simulated cluster (a ZooKeeper sid). */
export type NodeId = number;

/**
 * What a node asks the world to do. Protocol cores have their own output types; a `Protocol`
 * adapter maps them to these (and keeps whatever else it wants to observe, e.g. decisions).
 */
export type Effect<M, P> =
  /** Send `msg` to `to` (to oneself: delivered locally, at once, never lost). */
  | { readonly kind: 'send'; readonly to: NodeId; readonly msg: M }
  /** Arm (or re-arm) the node's timer `name` to fire `afterMs` from now. */
  | { readonly kind: 'setTimer'; readonly name: string; readonly afterMs: number }
  | { readonly kind: 'cancelTimer'; readonly name: string }
  /** Durable state: survives a crash and is handed back to `boot` on restart. */
  | { readonly kind: 'persist'; readonly state: P }
  /** A line for the trace (only kept when tracing is on). */
  | { readonly kind: 'trace'; readonly text: string };

/**
 * How the simulator drives one kind of node. `N` is the node (usually a sans-I/O state machine
 * plus whatever the adapter records), `M` the message type, `P` the persisted state.
 */
export interface Protocol<N, M, P> {
  /** Creates node `id`: a first start (`persisted` undefined) or a restart after a crash. */
  boot(id: NodeId, persisted: P | undefined, nowMs: number): { node: N; effects: Effect<M, P>[] };
  receive(node: N, from: NodeId, msg: M, nowMs: number): Effect<M, P>[];
  timer(node: N, name: string, nowMs: number): Effect<M, P>[];
  /**
   * Connectivity to `peer` changed (a crash, restart, partition or heal), as a TCP connection
   * closing or opening would tell an adapter. Optional.
   */
  link?(node: N, peer: NodeId, up: boolean, nowMs: number): Effect<M, P>[];
  /** Text of a message for the trace. */
  format?(msg: M): string;
}

/** Read-only view handed to invariant checks. */
export interface SimView<N, P> {
  readonly seed: number;
  readonly nowMs: number;
  /** Every configured node id. */
  readonly ids: readonly NodeId[];
  /** The live node, or undefined when it is down or not started yet. */
  node(id: NodeId): N | undefined;
  isUp(id: NodeId): boolean;
  /** Both up and on the same side of any partition. */
  connected(a: NodeId, b: NodeId): boolean;
  persisted(id: NodeId): P | undefined;
  /** Simulated time at which the last fault (crash, partition, lossy period) ended; 0 if none. */
  readonly lastFaultMs: number;
}

/** An invariant: returns a description of the violation, or undefined when it holds. */
export type Invariant<N, P> = (view: SimView<N, P>) => string | undefined;

export interface NetworkOptions {
  /** Delivery delay of each message, uniform in [minDelayMs, maxDelayMs]. Default 1..10. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Probability a message is lost (only while faults are on). Default 0. */
  lossRate?: number;
  /** Probability a message is delivered twice (only while faults are on). Default 0. */
  duplicateRate?: number;
  /**
   * Keep per-link FIFO order, as one TCP connection does (default true). When false, random
   * delays reorder messages on a link.
   */
  fifo?: boolean;
}

export interface FaultOptions {
  /** Faults (loss, duplication, crashes, partitions) are injected only before this time. */
  untilMs: number;
  /** Mean time between crashes; 0 or absent: no crashes. */
  crashEveryMs?: number;
  /** How long a crashed node stays down, uniform in [min, max]. Default [50, 2000]. */
  downMs?: readonly [number, number];
  /** At most this many nodes down at once. Default: a minority. */
  maxDown?: number;
  /** Mean time between partitions; 0 or absent: no partitions. */
  partitionEveryMs?: number;
  /** How long a partition lasts, uniform in [min, max]. Default [50, 3000]. */
  partitionMs?: readonly [number, number];
}

export interface SimOptions<N, P> {
  seed: number;
  ids: readonly NodeId[];
  /** When each node first starts (simulated ms); default 0 for all. */
  startAtMs?: ReadonlyMap<NodeId, number> | Readonly<Record<number, number>>;
  network?: NetworkOptions;
  faults?: FaultOptions;
  invariants?: ReadonlyArray<Invariant<N, P>>;
  /** Keep the last `trace` lines of trace (0: off, the fast default). */
  trace?: number;
  /** Abort a run after this many events (default 2,000,000). */
  maxEvents?: number;
}

type Event<M> =
  | { at: number; seq: number; type: 'start'; id: NodeId }
  | { at: number; seq: number; type: 'deliver'; from: NodeId; to: NodeId; msg: M; incarnation: number }
  | { at: number; seq: number; type: 'timer'; id: NodeId; name: string; gen: number }
  | { at: number; seq: number; type: 'crash' }
  | { at: number; seq: number; type: 'restart'; id: NodeId }
  | { at: number; seq: number; type: 'partition' }
  | { at: number; seq: number; type: 'heal'; generation: number };

export interface SimStats {
  events: number;
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  crashes: number;
  partitions: number;
}

/**
 * A deterministic whole-cluster simulation: nodes are sans-I/O state machines driven through a
 * `Protocol`; a seeded PRNG decides message delay, loss, duplication, reordering, partitions,
 * crashes and restarts; a simulated clock drives timers. Invariants run after every event. The
 * same seed and options always give the same run.
 */
export class Simulation<N, M, P> {
  readonly prng: Prng;
  readonly stats: SimStats = {
    events: 0,
    sent: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    crashes: 0,
    partitions: 0,
  };
  private now = 0;
  private seq = 0;
  private readonly queue = new EventHeap<Event<M>>();
  private readonly nodes = new Map<NodeId, N>();
  private readonly store = new Map<NodeId, P>();
  private readonly timers = new Map<string, { gen: number }>();
  private readonly side = new Map<NodeId, number>();
  /** Bumped for a link (a, b) whenever it breaks: messages sent before are lost, as with TCP. */
  private readonly incarnations = new Map<string, number>();
  /** Per directed link: the latest delivery time scheduled (FIFO). */
  private readonly lastDelivery = new Map<string, number>();
  private readonly traceLines: string[] = [];
  private readonly boots = new Map<NodeId, number>();
  private readonly net: Required<NetworkOptions>;
  private readonly invariants: ReadonlyArray<Invariant<N, P>>;
  private readonly view: SimView<N, P>;
  private partitionGeneration = 0;
  private lastFault = 0;
  private timerGen = 0;

  constructor(
    readonly protocol: Protocol<N, M, P>,
    readonly options: SimOptions<N, P>,
  ) {
    if (options.ids.length === 0) throw new SimError('usage', 'a simulation needs at least one node');
    this.prng = new Prng(options.seed);
    const n = options.network ?? {};
    this.net = {
      minDelayMs: n.minDelayMs ?? 1,
      maxDelayMs: n.maxDelayMs ?? 10,
      lossRate: n.lossRate ?? 0,
      duplicateRate: n.duplicateRate ?? 0,
      fifo: n.fifo ?? true,
    };
    if (this.net.minDelayMs < 0 || this.net.maxDelayMs < this.net.minDelayMs) {
      throw new SimError('usage', 'network delays must satisfy 0 <= minDelayMs <= maxDelayMs');
    }
    this.invariants = options.invariants ?? [];
    const startAt = options.startAtMs;
    for (const id of options.ids) {
      const at =
        startAt === undefined
          ? 0
          : startAt instanceof Map
            ? (startAt.get(id) ?? 0)
            : ((startAt as Readonly<Record<number, number>>)[id] ?? 0);
      this.schedule({ at, seq: 0, type: 'start', id });
    }
    const f = options.faults;
    if (f?.crashEveryMs) this.schedule({ at: this.nextGap(f.crashEveryMs), seq: 0, type: 'crash' });
    if (f?.partitionEveryMs) {
      this.schedule({ at: this.nextGap(f.partitionEveryMs), seq: 0, type: 'partition' });
    }
    const self = this;
    this.view = {
      seed: options.seed,
      get nowMs() {
        return self.now;
      },
      ids: options.ids,
      node: (id) => self.nodes.get(id),
      isUp: (id) => self.nodes.has(id),
      connected: (a, b) => self.connected(a, b),
      persisted: (id) => self.store.get(id),
      get lastFaultMs() {
        return self.lastFault;
      },
    };
  }

  get nowMs(): number {
    return this.now;
  }

  /** The invariant view (also handy in tests). */
  get state(): SimView<N, P> {
    return this.view;
  }

  node(id: NodeId): N | undefined {
    return this.nodes.get(id);
  }

  /** The trace kept so far (empty unless `trace` > 0). */
  trace(): readonly string[] {
    return this.traceLines;
  }

  /** Processes events up to and including `untilMs`, then sets the clock to `untilMs`. */
  run(untilMs: number): void {
    this.runWhile(() => true, untilMs);
    if (this.now < untilMs) this.now = untilMs;
  }

  /**
   * Processes events until `done(view)` holds (checked after every event) or `untilMs` passes.
   * Returns whether `done` held.
   */
  runUntil(done: (view: SimView<N, P>) => boolean, untilMs: number): boolean {
    if (done(this.view)) return true;
    return this.runWhile(() => !done(this.view), untilMs);
  }

  // --- scripted faults (deterministic tests) ---

  /** Crashes a node now: it loses its timers and volatile state; links to it break. */
  crash(id: NodeId): void {
    this.mustKnow(id);
    if (!this.nodes.has(id)) return;
    const before = this.snapshotLinks();
    this.nodes.delete(id);
    this.stats.crashes++;
    this.lastFault = this.now;
    for (const key of [...this.timers.keys()]) if (key.startsWith(`${id}/`)) this.timers.delete(key);
    this.log(`${this.now}ms crash ${id}`);
    this.notifyLinkChanges(before);
  }

  /** Starts a node now, first boot or restart (with what it persisted). */
  start(id: NodeId): void {
    this.mustKnow(id);
    if (this.nodes.has(id)) return;
    const before = this.snapshotLinks();
    this.boots.set(id, (this.boots.get(id) ?? 0) + 1);
    const { node, effects } = this.protocol.boot(id, this.store.get(id), this.now);
    this.nodes.set(id, node);
    this.log(`${this.now}ms start ${id}${this.store.has(id) ? ' (restart)' : ''}`);
    this.apply(id, effects);
    this.notifyLinkChanges(before);
  }

  /** Splits the cluster: nodes in different groups cannot reach each other; unlisted nodes are alone. */
  partition(groups: ReadonlyArray<ReadonlyArray<NodeId>>): void {
    const before = this.snapshotLinks();
    this.side.clear();
    let g = 1;
    for (const group of groups) {
      for (const id of group) this.side.set(id, g);
      g++;
    }
    for (const id of this.options.ids) if (!this.side.has(id)) this.side.set(id, g++);
    this.partitionGeneration++;
    this.stats.partitions++;
    this.lastFault = this.now;
    this.log(`${this.now}ms partition ${groups.map((x) => `[${x.join(',')}]`).join(' ')}`);
    this.notifyLinkChanges(before);
  }

  heal(): void {
    const before = this.snapshotLinks();
    this.side.clear();
    this.partitionGeneration++;
    this.lastFault = this.now;
    this.log(`${this.now}ms heal`);
    this.notifyLinkChanges(before);
  }

  connected(a: NodeId, b: NodeId): boolean {
    if (!this.nodes.has(a) || !this.nodes.has(b)) return false;
    return (this.side.get(a) ?? 0) === (this.side.get(b) ?? 0);
  }

  // --- internals ---

  private runWhile(cont: () => boolean, untilMs: number): boolean {
    const max = this.options.maxEvents ?? 2_000_000;
    for (;;) {
      const next = this.queue.peek();
      if (next === undefined || next.at > untilMs) return false;
      this.queue.pop();
      this.now = next.at;
      this.stats.events++;
      if (this.stats.events > max) {
        throw new SimError(
          'budget',
          `more than ${max} events by ${this.now} ms`,
          this.options.seed,
          this.now,
          this.traceLines,
        );
      }
      this.handle(next);
      this.check();
      if (!cont()) return true;
    }
  }

  private handle(ev: Event<M>): void {
    switch (ev.type) {
      case 'start':
        this.start(ev.id);
        return;
      case 'deliver': {
        const node = this.nodes.get(ev.to);
        const current = ev.from === ev.to ? (this.boots.get(ev.to) ?? 0) : this.incarnation(ev.from, ev.to);
        if (node === undefined || ev.incarnation !== current) {
          // The connection broke (crash, partition) after the send: TCP loses what was in flight.
          this.stats.lost++;
          return;
        }
        this.stats.delivered++;
        if (this.tracing()) {
          this.log(`${this.now}ms ${ev.from}->${ev.to} ${this.fmt(ev.msg)}`);
        }
        this.apply(ev.to, this.protocol.receive(node, ev.from, ev.msg, this.now));
        return;
      }
      case 'timer': {
        const node = this.nodes.get(ev.id);
        const t = this.timers.get(`${ev.id}/${ev.name}`);
        if (node === undefined || t === undefined || t.gen !== ev.gen) return;
        this.timers.delete(`${ev.id}/${ev.name}`);
        if (this.tracing()) this.log(`${this.now}ms ${ev.id} timer ${ev.name}`);
        this.apply(ev.id, this.protocol.timer(node, ev.name, this.now));
        return;
      }
      case 'crash': {
        const f = this.options.faults;
        if (f === undefined || this.now >= f.untilMs) return;
        const up = this.options.ids.filter((id) => this.nodes.has(id));
        const down = this.options.ids.length - up.length;
        const maxDown = f.maxDown ?? Math.floor((this.options.ids.length - 1) / 2);
        if (down < maxDown && up.length > 0) {
          const victim = this.prng.pick(up);
          this.crash(victim);
          const [lo, hi] = f.downMs ?? [50, 2000];
          this.schedule({ at: this.now + this.prng.int(lo, hi), seq: 0, type: 'restart', id: victim });
        }
        if (f.crashEveryMs)
          this.schedule({ at: this.now + this.nextGap(f.crashEveryMs), seq: 0, type: 'crash' });
        return;
      }
      case 'restart':
        this.lastFault = this.now;
        this.start(ev.id);
        return;
      case 'partition': {
        const f = this.options.faults;
        if (f === undefined || this.now >= f.untilMs) return;
        const ids = this.prng.shuffle(this.options.ids);
        const cut = this.prng.int(1, ids.length - 1);
        this.partition([ids.slice(0, cut), ids.slice(cut)]);
        const [lo, hi] = f.partitionMs ?? [50, 3000];
        this.schedule({
          at: this.now + this.prng.int(lo, hi),
          seq: 0,
          type: 'heal',
          generation: this.partitionGeneration,
        });
        if (f.partitionEveryMs) {
          this.schedule({ at: this.now + this.nextGap(f.partitionEveryMs), seq: 0, type: 'partition' });
        }
        return;
      }
      case 'heal':
        if (ev.generation === this.partitionGeneration) this.heal();
        return;
      default:
        assertNever(ev);
    }
  }

  private apply(id: NodeId, effects: readonly Effect<M, P>[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case 'send':
          this.send(id, e.to, e.msg);
          break;
        case 'setTimer': {
          const gen = ++this.timerGen;
          this.timers.set(`${id}/${e.name}`, { gen });
          this.schedule({
            at: this.now + Math.max(0, e.afterMs),
            seq: 0,
            type: 'timer',
            id,
            name: e.name,
            gen,
          });
          break;
        }
        case 'cancelTimer':
          this.timers.delete(`${id}/${e.name}`);
          break;
        case 'persist':
          this.store.set(id, e.state);
          break;
        case 'trace':
          if (this.tracing()) this.log(`${this.now}ms ${id} ${e.text}`);
          break;
        default:
          assertNever(e);
      }
    }
  }

  private send(from: NodeId, to: NodeId, msg: M): void {
    this.stats.sent++;
    if (from === to) {
      const incarnation = this.boots.get(from) ?? 0;
      this.schedule({ at: this.now, seq: 0, type: 'deliver', from, to, msg, incarnation });
      return;
    }
    if (!this.options.ids.includes(to))
      throw new SimError('usage', `node ${from} sent to unknown node ${to}`);
    if (!this.connected(from, to)) {
      this.stats.lost++;
      return;
    }
    const faulty = this.options.faults !== undefined && this.now < this.options.faults.untilMs;
    if (faulty && this.prng.chance(this.net.lossRate)) {
      this.stats.lost++;
      this.lastFault = this.now;
      return;
    }
    const copies = faulty && this.prng.chance(this.net.duplicateRate) ? 2 : 1;
    if (copies === 2) {
      this.stats.duplicated++;
      this.lastFault = this.now;
    }
    const incarnation = this.incarnation(from, to);
    const link = `${from}>${to}`;
    for (let i = 0; i < copies; i++) {
      let at = this.now + this.prng.int(this.net.minDelayMs, this.net.maxDelayMs);
      if (this.net.fifo) {
        at = Math.max(at, this.lastDelivery.get(link) ?? 0);
        this.lastDelivery.set(link, at);
      }
      this.schedule({ at, seq: 0, type: 'deliver', from, to, msg, incarnation });
    }
  }

  private incarnation(a: NodeId, b: NodeId): number {
    return this.incarnations.get(a < b ? `${a}:${b}` : `${b}:${a}`) ?? 0;
  }

  private snapshotLinks(): Set<string> {
    const up = new Set<string>();
    const ids = this.options.ids;
    for (const a of ids) for (const b of ids) if (a < b && this.connected(a, b)) up.add(`${a}:${b}`);
    return up;
  }

  private notifyLinkChanges(before: Set<string>): void {
    const after = this.snapshotLinks();
    const changes: Array<[NodeId, NodeId, boolean]> = [];
    const ids = this.options.ids;
    for (const a of ids) {
      for (const b of ids) {
        if (a >= b) continue;
        const key = `${a}:${b}`;
        const was = before.has(key);
        const is = after.has(key);
        if (was && !is) {
          this.incarnations.set(key, (this.incarnations.get(key) ?? 0) + 1);
          changes.push([a, b, false]);
        } else if (!was && is) {
          changes.push([a, b, true]);
        }
      }
    }
    const link = this.protocol.link;
    if (link === undefined) return;
    for (const [a, b, up] of changes) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        const node = this.nodes.get(x);
        if (node !== undefined) this.apply(x, link.call(this.protocol, node, y, up, this.now));
      }
    }
  }

  private check(): void {
    for (const inv of this.invariants) {
      const bad = inv(this.view);
      if (bad !== undefined) {
        throw new SimError(
          'invariant',
          `seed ${this.options.seed} at ${this.now} ms: ${bad}`,
          this.options.seed,
          this.now,
          this.traceLines.slice(),
        );
      }
    }
  }

  private schedule(ev: Event<M>): void {
    (ev as { seq: number }).seq = ++this.seq;
    this.queue.push(ev);
  }

  private nextGap(mean: number): number {
    return this.prng.int(1, 2 * mean);
  }

  private tracing(): boolean {
    return (this.options.trace ?? 0) > 0;
  }

  private log(line: string): void {
    const limit = this.options.trace ?? 0;
    if (limit <= 0) return;
    this.traceLines.push(line);
    if (this.traceLines.length > limit) this.traceLines.splice(0, this.traceLines.length - limit);
  }

  private fmt(msg: M): string {
    return this.protocol.format ? this.protocol.format(msg) : JSON.stringify(msg);
  }

  private mustKnow(id: NodeId): void {
    if (!this.options.ids.includes(id)) throw new SimError('usage', `unknown node ${id}`);
  }
}

/** For exhaustive switches. */
export function assertNever(x: never): never {
  throw new SimError('usage', `unexpected value ${JSON.stringify(x)}`);
}
