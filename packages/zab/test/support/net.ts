import { hexZxid, type Txn } from '../../src/index.js';
import {
  copyDisk,
  type Disk,
  type EnsembleConfig,
  emptyDisk,
  formatMsg,
  formatOut,
  Host,
  type Msg,
  type Out,
} from './host.js';

interface InFlight {
  from: number;
  to: number;
  msg: Msg;
}

/**
 * A hand-driven ensemble for unit tests and golden transcripts: messages wait in a queue until a
 * command delivers them, disk writes stay pending until a command completes them. Every output is
 * written to `lines`.
 */
export class Net {
  readonly hosts = new Map<number, Host>();
  queue: InFlight[] = [];
  lines: string[] = [];
  private groups: number[][] | undefined;
  /** Connection closes to report once the current step's outputs are printed. */
  private notices: Array<{ to: number; peer: number }> = [];
  private flushing = false;
  cfg: EnsembleConfig = { voters: [1, 2, 3], observers: [], initLimit: 10, syncLimit: 5 };

  host(id: number): Host {
    let h = this.hosts.get(id);
    if (h === undefined) {
      h = this.makeHost(id, emptyDisk());
      this.hosts.set(id, h);
    }
    return h;
  }

  private makeHost(id: number, disk: Disk): Host {
    return new Host(id, disk, this.cfg, {
      send: (from, to, msg) => {
        this.queue.push({ from, to, msg });
      },
      disconnect: (from, peer) => {
        // The connection closes: the other side hears of it at once, what was in flight is lost.
        this.queue = this.queue.filter(
          (m) => !((m.from === from && m.to === peer) || (m.from === peer && m.to === from)),
        );
        this.notices.push({ to: peer, peer: from });
      },
      stopped: (h) => {
        // A role that ends closes its connections: what it had in flight is lost, peers hear of it.
        this.queue = this.queue.filter((m) => m.from !== h.id && m.to !== h.id);
        for (const other of this.hosts.values()) {
          const linked = h.leaderId === h.id || other.id === h.leaderId;
          if (other.id !== h.id && linked && other.core !== undefined && this.reachable(h.id, other.id)) {
            this.notices.push({ to: other.id, peer: h.id });
          }
        }
      },
    });
  }

  /** Sets a server's disk (both written and durable). */
  setDisk(id: number, disk: Disk): void {
    this.hosts.set(id, this.makeHost(id, disk));
  }

  print(id: number, outs: readonly Out[], indent = ''): void {
    for (const o of outs) this.lines.push(`${indent}${id}: ${formatOut(o)}`);
    if (this.flushing) return;
    this.flushing = true;
    while (this.notices.length > 0) {
      const n = this.notices.shift() as { to: number; peer: number };
      const h = this.hosts.get(n.to);
      if (h?.core === undefined) continue;
      this.lines.push(`${indent}${n.to}: connection to ${n.peer} closed`);
      this.print(n.to, h.step({ type: 'disconnected', peer: n.peer }), `${indent}  `);
    }
    this.flushing = false;
  }

  reachable(a: number, b: number): boolean {
    if (this.groups === undefined) return true;
    const ga = this.groups.findIndex((g) => g.includes(a));
    const gb = this.groups.findIndex((g) => g.includes(b));
    return ga === gb;
  }

  partition(groups: number[][]): void {
    this.groups = groups;
  }

  heal(): void {
    this.groups = undefined;
  }

  /** Delivers the messages queued now (not the ones they cause), optionally only some links. */
  deliver(filter?: { from?: number; to?: number }): number {
    const now = this.queue;
    const keep: InFlight[] = [];
    const take: InFlight[] = [];
    for (const m of now) {
      if (
        (filter?.from === undefined || m.from === filter.from) &&
        (filter?.to === undefined || m.to === filter.to)
      ) {
        take.push(m);
      } else keep.push(m);
    }
    this.queue = keep;
    for (const m of take) {
      if (!this.reachable(m.from, m.to)) {
        this.lines.push(`${m.from}->${m.to} ${formatMsg(m.msg)} (lost: partition)`);
        continue;
      }
      const h = this.hosts.get(m.to);
      if (h?.core === undefined) {
        this.lines.push(`${m.from}->${m.to} ${formatMsg(m.msg)} (dropped: no role)`);
        continue;
      }
      this.lines.push(`${m.from}->${m.to} ${formatMsg(m.msg)}`);
      this.print(m.to, h.step({ type: 'message', from: m.from, msg: m.msg }), '  ');
    }
    return take.length;
  }

  /** Drops queued messages (optionally on some links). */
  drop(filter?: { from?: number; to?: number }): void {
    this.queue = this.queue.filter(
      (m) =>
        !(
          (filter?.from === undefined || m.from === filter.from) &&
          (filter?.to === undefined || m.to === filter.to)
        ),
    );
  }

  /** Completes pending disk writes of one server or all. */
  sync(id?: number): number {
    let n = 0;
    for (const h of this.hosts.values()) {
      if (id !== undefined && h.id !== id) continue;
      if (h.pending.length === 0) continue;
      n += h.pending.length;
      this.lines.push(`${h.id}: disk done (${h.pending.length} writes)`);
      this.print(h.id, h.completeDisk(), '  ');
    }
    return n;
  }

  tick(id?: number, times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const h of this.hosts.values()) {
        if (id !== undefined && h.id !== id) continue;
        if (h.core === undefined) continue;
        this.print(h.id, h.step({ type: 'tick' }));
      }
    }
  }

  /** Completes disk writes and delivers messages until nothing is left. */
  stabilize(): void {
    for (let round = 0; round < 1000; round++) {
      const n = this.sync() + this.deliver();
      if (n === 0) return;
    }
    throw new Error('stabilize did not settle');
  }

  /** Crash: the role, the applied state and unsynced writes are gone; the disk keeps what was durable. */
  crash(id: number): void {
    const h = this.host(id);
    const lost = h.pending.length;
    this.queue = this.queue.filter((m) => m.from !== id && m.to !== id);
    this.hosts.set(id, this.makeHost(id, copyDisk(h.durable)));
    this.lines.push(`${id}: crashed (${lost} unsynced writes lost)`);
    for (const other of this.hosts.values()) {
      // Peers that had a connection to it: its learners if it led, its leader if it learned.
      const linked = other.leaderId === id || (h.core !== undefined && h.leaderId === other.id);
      if (other.id !== id && other.core !== undefined && linked)
        this.notices.push({ to: other.id, peer: id });
    }
    this.print(id, []);
  }

  status(): void {
    for (const h of [...this.hosts.values()].sort((a, b) => a.id - b.id)) {
      const log = h.written.log.map((t) => `${hexZxid(t.zxid)}:${t.data}`).join(' ');
      const applied = h.applied.map((t: Txn<string>) => t.data).join(' ');
      this.lines.push(
        `${h.id}: ${h.role}${h.serving ? ' serving' : ''} accepted=${h.written.acceptedEpoch} current=${h.written.currentEpoch} ` +
          `snap=${hexZxid(h.written.snapshot.zxid)} log=[${log}] applied=[${applied}]`,
      );
    }
  }

  take(): string[] {
    const l = this.lines;
    this.lines = [];
    return l;
  }
}
