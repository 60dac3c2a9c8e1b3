import {
  type DiskOp,
  hexZxid,
  type Txn,
  type UnsafeVariants,
  ZabFollower,
  ZabLeader,
  type ZabLearner,
  type ZabMessage,
  ZabObserver,
  type ZabOutput,
} from '../../src/index.js';

/** The simulated replicated state: the list of applied transactions (payloads are strings). */
export type State = Txn<string>[];
export type Msg = ZabMessage<string, State>;
export type Out = ZabOutput<string, State>;
export type Op = DiskOp<string, State>;

export interface Disk {
  acceptedEpoch: bigint;
  currentEpoch: bigint;
  snapshot: { zxid: bigint; state: State };
  log: Txn<string>[];
}

export function emptyDisk(): Disk {
  return { acceptedEpoch: 0n, currentEpoch: 0n, snapshot: { zxid: 0n, state: [] }, log: [] };
}

export function copyDisk(d: Disk): Disk {
  return {
    acceptedEpoch: d.acceptedEpoch,
    currentEpoch: d.currentEpoch,
    snapshot: d.snapshot,
    log: d.log.slice(),
  };
}

/** Applies one write to a disk image (the simulated file system). */
export function applyOp(d: Disk, op: Op): void {
  switch (op.op) {
    case 'append':
      for (const t of op.txns) {
        const last = d.log.length > 0 ? (d.log[d.log.length - 1] as Txn<string>).zxid : d.snapshot.zxid;
        if (t.zxid > last) d.log.push(t);
      }
      return;
    case 'truncate':
      while (d.log.length > 0 && (d.log[d.log.length - 1] as Txn<string>).zxid > op.zxid) d.log.pop();
      return;
    case 'snapshot':
      d.snapshot = { zxid: op.zxid, state: op.snapshot.slice() };
      d.log = [];
      return;
    case 'acceptedEpoch':
      d.acceptedEpoch = op.epoch;
      return;
    case 'currentEpoch':
      d.currentEpoch = op.epoch;
      return;
  }
}

export type Role = 'looking' | 'leading' | 'following' | 'observing';
export type Core = ZabLeader<string, State> | ZabLearner<string, State>;

/** What a host reports to the world (network, checkers, trace). */
export interface HostHooks {
  send(from: number, to: number, msg: Msg): void;
  disconnect(from: number, peer: number): void;
  applied?(host: Host, index: number, txn: Txn<string>): void;
  restored?(host: Host, state: State): void;
  established?(host: Host, epoch: bigint): void;
  synced?(host: Host, epoch: bigint): void;
  stopped?(host: Host, reason: string, detail: string): void;
}

export interface EnsembleConfig {
  voters: readonly number[];
  observers: readonly number[];
  initLimit: number;
  syncLimit: number;
  maxOutstanding?: number;
  maxDiffTxns?: number;
  unsafe?: UnsafeVariants;
}

/**
 * A server around a Zab role: its disk (what was written, and what is durable), the applied state
 * and the current role. Disk writes are FIFO; `completeDisk` makes everything written durable.
 */
export class Host {
  written: Disk;
  durable: Disk;
  pending: Array<{ gen: number; seq: number; op: Op }> = [];
  applied: State;
  core: Core | undefined;
  role: Role = 'looking';
  gen = 0;
  leaderId = -1;
  serving = false;
  epoch = -1n;

  constructor(
    readonly id: number,
    durable: Disk,
    readonly cfg: EnsembleConfig,
    readonly hooks: HostHooks,
  ) {
    this.durable = copyDisk(durable);
    this.written = copyDisk(durable);
    this.applied = durable.snapshot.state.slice();
  }

  get lastLogged(): bigint {
    const l = this.written.log;
    return l.length > 0 ? (l[l.length - 1] as Txn<string>).zxid : this.written.snapshot.zxid;
  }

  /** The full history this server holds: snapshot state then the log. */
  history(): State {
    return [...this.written.snapshot.state, ...this.written.log];
  }

  private diskState() {
    return {
      acceptedEpoch: this.written.acceptedEpoch,
      currentEpoch: this.written.currentEpoch,
      snapshotZxid: this.written.snapshot.zxid,
      log: this.written.log,
    };
  }

  private zabConfig() {
    return {
      myId: this.id,
      voters: this.cfg.voters,
      observers: this.cfg.observers,
      initLimit: this.cfg.initLimit,
      syncLimit: this.cfg.syncLimit,
      ...(this.cfg.maxOutstanding === undefined ? {} : { maxOutstanding: this.cfg.maxOutstanding }),
      ...(this.cfg.maxDiffTxns === undefined ? {} : { maxDiffTxns: this.cfg.maxDiffTxns }),
      ...(this.cfg.unsafe === undefined ? {} : { unsafe: this.cfg.unsafe }),
    };
  }

  /** Takes a role; returns the role's first outputs (already handled). */
  become(role: Exclude<Role, 'looking'>, leaderId: number): Out[] {
    this.gen++;
    this.role = role;
    this.leaderId = leaderId;
    this.serving = false;
    this.epoch = -1n;
    // A new role starts from what is on disk: the state is rebuilt from the snapshot.
    this.applied = this.written.snapshot.state.slice();
    const disk = this.diskState();
    if (role === 'leading') this.core = new ZabLeader<string, State>(this.zabConfig(), disk);
    else if (role === 'following')
      this.core = new ZabFollower<string, State>({ ...this.zabConfig(), leaderId }, disk);
    else this.core = new ZabObserver<string, State>({ ...this.zabConfig(), leaderId }, disk);
    return this.step({ type: 'start' });
  }

  step(input: Parameters<Core['step']>[0]): Out[] {
    const core = this.core;
    if (core === undefined) return [];
    const outs = core.step(input);
    this.handle(outs);
    return outs;
  }

  /** Makes the oldest `count` pending writes (default all) durable; tells the current role. */
  completeDisk(count = this.pending.length): Out[] {
    if (this.pending.length === 0) return [];
    let seq = 0;
    const done = this.pending.slice(0, count);
    for (const p of done) {
      applyOp(this.durable, p.op);
      if (p.gen === this.gen) seq = p.seq;
    }
    this.pending = this.pending.slice(count);
    return seq > 0 ? this.step({ type: 'diskDone', seq }) : [];
  }

  /** Writes a snapshot of the applied state (durable at once) and lets the role forget older txns. */
  compact(): Out[] {
    const top = this.applied.length > 0 ? (this.applied[this.applied.length - 1] as Txn<string>).zxid : 0n;
    if (top <= this.written.snapshot.zxid) return [];
    const snap = { zxid: top, state: this.applied.slice() };
    for (const d of [this.written, this.durable]) {
      if (d.snapshot.zxid >= top) continue;
      d.snapshot = snap;
      d.log = d.log.filter((t) => t.zxid > top);
    }
    return this.step({ type: 'snapshotTaken', zxid: top });
  }

  /** Drops the role (after `lookForLeader` or when the host decides to). */
  lookForLeader(): void {
    this.core = undefined;
    this.role = 'looking';
    this.serving = false;
    this.gen++;
  }

  private handle(outs: readonly Out[]): void {
    for (const o of outs) {
      switch (o.type) {
        case 'send':
          this.hooks.send(this.id, o.to, o.msg);
          break;
        case 'sendSnapshot': {
          const top =
            this.applied.length > 0 ? (this.applied[this.applied.length - 1] as Txn<string>).zxid : 0n;
          const base = this.written.snapshot.zxid;
          const at = top > base ? top : base;
          if (at !== o.zxid)
            throw new Error(`host ${this.id}: state at ${hexZxid(at)}, snapshot asked at ${hexZxid(o.zxid)}`);
          this.hooks.send(this.id, o.to, { type: 'SNAP', zxid: o.zxid, snapshot: this.applied.slice() });
          break;
        }
        case 'disk':
          applyOp(this.written, o.write);
          this.pending.push({ gen: this.gen, seq: o.seq, op: o.write });
          break;
        case 'apply': {
          const i = this.applied.length;
          this.applied.push(o.txn);
          this.hooks.applied?.(this, i, o.txn);
          break;
        }
        case 'restore':
          this.applied = o.snapshot.slice();
          this.hooks.restored?.(this, this.applied);
          break;
        case 'disconnect':
          this.hooks.disconnect(this.id, o.peer);
          break;
        case 'established':
          this.serving = true;
          this.epoch = o.epoch;
          this.hooks.established?.(this, o.epoch);
          break;
        case 'synced':
          this.serving = true;
          this.epoch = o.epoch;
          this.hooks.synced?.(this, o.epoch);
          break;
        case 'lookForLeader':
          this.lookForLeader();
          this.hooks.stopped?.(this, o.reason, o.detail);
          return;
      }
    }
  }
}

/** A compact text form of a message, for transcripts and traces. */
export function formatMsg(m: Msg): string {
  switch (m.type) {
    case 'FOLLOWERINFO':
    case 'OBSERVERINFO':
      return `${m.type} acceptedEpoch=${m.acceptedEpoch} lastZxid=${hexZxid(m.lastZxid)}`;
    case 'LEADERINFO':
      return `LEADERINFO epoch=${m.epoch}`;
    case 'ACKEPOCH':
      return `ACKEPOCH epoch=${m.epoch} fresh=${m.fresh} currentEpoch=${m.currentEpoch} lastZxid=${hexZxid(m.lastZxid)}`;
    case 'SNAP':
      return `SNAP ${hexZxid(m.zxid)} [${m.snapshot.map((t) => t.data).join(' ')}]`;
    case 'PROPOSAL':
    case 'INFORM':
      return `${m.type} ${hexZxid(m.zxid)} ${m.data}`;
    case 'DIFF':
    case 'TRUNC':
    case 'COMMIT':
    case 'NEWLEADER':
    case 'ACK':
    case 'UPTODATE':
    case 'PING':
      return `${m.type} ${hexZxid(m.zxid)}`;
  }
}

export function formatOp(op: Op): string {
  switch (op.op) {
    case 'append':
      return `append ${op.txns.map((t) => `${hexZxid(t.zxid)}:${t.data}`).join(' ')}`;
    case 'truncate':
      return `truncate ${hexZxid(op.zxid)}`;
    case 'snapshot':
      return `snapshot ${hexZxid(op.zxid)} [${op.snapshot.map((t) => t.data).join(' ')}]`;
    case 'acceptedEpoch':
      return `acceptedEpoch=${op.epoch}`;
    case 'currentEpoch':
      return `currentEpoch=${op.epoch}`;
  }
}

export function formatOut(o: Out): string {
  switch (o.type) {
    case 'send':
      return `send ${o.to} ${formatMsg(o.msg)}`;
    case 'sendSnapshot':
      return `sendSnapshot ${o.to} ${hexZxid(o.zxid)}`;
    case 'disk':
      return `disk#${o.seq} ${formatOp(o.write)}`;
    case 'apply':
      return `apply ${hexZxid(o.txn.zxid)} ${o.txn.data}`;
    case 'restore':
      return `restore ${hexZxid(o.zxid)} [${o.snapshot.map((t) => t.data).join(' ')}]`;
    case 'disconnect':
      return `disconnect ${o.peer}`;
    case 'established':
      return `established epoch=${o.epoch}`;
    case 'synced':
      return `synced epoch=${o.epoch}`;
    case 'lookForLeader':
      return `lookForLeader ${o.reason}: ${o.detail}`;
  }
}
