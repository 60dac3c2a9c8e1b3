import { type EnsembleConfig, membersOf } from './config.js';
import { assertNever } from './errors.js';
import {
  type Decision,
  type ElectionOutput,
  type ElectionTimer,
  FastLeaderElection,
  type LogLevel,
} from './fle.js';
import { ElectionTransport, type TransportStats } from './transport.js';

export interface ElectionMemberOptions {
  readonly config: EnsembleConfig;
  readonly myId: number;
  /** Persisted state: the accepted epoch and the last logged zxid (0 on a fresh server). */
  readonly currentEpoch?: bigint;
  readonly lastZxid?: bigint;
  /** Default 200 ms, as ZooKeeper; see the package README before lowering it. */
  readonly finalizeWaitMs?: number;
  readonly maxNotificationIntervalMs?: number;
  readonly sendQueueCapacity?: number;
  /** Where log lines go (the state machine's and the transport's), already formatted. */
  readonly log?: (line: string, level: LogLevel) => void;
  /** Called on every decision. */
  readonly onDecided?: (decision: Decision) => void;
}

/**
 * One running election member: the FastLeaderElection state machine wired to real timers and the
 * TCP transport. Until Zab exists it also watches the leader the way a learner's connection
 * would: a follower whose election connection to its leader closes looks again, and a leader
 * that stays without a connected quorum for syncLimit ticks looks again.
 */
export class ElectionMember {
  readonly fle: FastLeaderElection;
  readonly transport: ElectionTransport;
  private readonly timers = new Map<ElectionTimer, NodeJS.Timeout>();
  private quorumCheck: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: ElectionMemberOptions) {
    const { voters, observers } = membersOf(opts.config);
    this.fle = new FastLeaderElection({
      myId: opts.myId,
      voters,
      observers,
      finalizeWaitMs: opts.finalizeWaitMs,
      maxNotificationIntervalMs: opts.maxNotificationIntervalMs,
    });
    this.transport = new ElectionTransport({
      myId: opts.myId,
      servers: opts.config.servers,
      sendQueueCapacity: opts.sendQueueCapacity,
      onMessage: (from, n) => this.apply(this.fle.step({ type: 'notification', from, n })),
      onPeerDown: (sid) => this.peerDown(sid),
      log: (level, message) => this.log(level, message),
    });
  }

  get stats(): TransportStats {
    return this.transport.stats;
  }

  /** Listens on the election port and starts looking. */
  async start(): Promise<void> {
    await this.transport.listen();
    this.lookAgain();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (this.quorumCheck) clearTimeout(this.quorumCheck);
    await this.transport.close();
  }

  /** Goes back to LOOKING in a new round (what the protocol above does when it loses its leader). */
  lookAgain(): void {
    if (this.stopped) return;
    this.log('info', 'LOOKING');
    this.apply(
      this.fle.step({
        type: 'start',
        currentEpoch: this.opts.currentEpoch ?? 0n,
        lastZxid: this.opts.lastZxid ?? 0n,
      }),
    );
  }

  private apply(outputs: readonly ElectionOutput[]): void {
    if (this.stopped) return;
    for (const o of outputs) {
      switch (o.type) {
        case 'send':
          this.transport.send(o.to, o.n);
          break;
        case 'setTimer': {
          const old = this.timers.get(o.timer);
          if (old) clearTimeout(old);
          const timer = o.timer;
          this.timers.set(
            timer,
            setTimeout(() => {
              this.timers.delete(timer);
              this.apply(this.fle.step({ type: 'timeout', timer }));
            }, o.afterMs),
          );
          break;
        }
        case 'cancelTimer': {
          const old = this.timers.get(o.timer);
          if (old) clearTimeout(old);
          this.timers.delete(o.timer);
          break;
        }
        case 'decided': {
          const { type: _, ...d } = o;
          this.opts.onDecided?.(d);
          break;
        }
        case 'log':
          this.log(o.level, o.message);
          break;
        default:
          assertNever(o);
      }
    }
  }

  private peerDown(sid: number): void {
    const d = this.fle.decision;
    if (d === undefined || this.stopped) return;
    if (d.state !== 'LEADING') {
      if (sid === d.vote.leader) {
        this.log('warn', `Connection to leader ${sid} closed: looking again`);
        this.lookAgain();
      }
      return;
    }
    if (this.quorumCheck !== undefined || this.hasQuorum()) return;
    const grace = this.opts.config.syncLimit * this.opts.config.tickTime;
    this.quorumCheck = setTimeout(() => {
      this.quorumCheck = undefined;
      if (this.fle.decision?.state === 'LEADING' && !this.hasQuorum()) {
        this.log('warn', `No quorum of connected voters for ${grace} ms: looking again`);
        this.lookAgain();
      }
    }, grace);
  }

  private hasQuorum(): boolean {
    const up = this.fle.peers.filter((sid) => sid === this.fle.myId || this.transport.isConnected(sid));
    return this.fle.isQuorum(up);
  }

  private log(level: LogLevel, message: string): void {
    if (level === 'debug') return;
    this.opts.log?.(formatLogLine(this.opts.myId, level, message), level);
  }
}

/** A log line shaped like ZooKeeper's: `2019-05-24 11:20:33,044 [myid:3] - INFO  - message`. */
export function formatLogLine(myId: number, level: LogLevel, message: string, now = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const ts = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())} ${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())},${p(now.getMilliseconds(), 3)}`;
  return `${ts} [myid:${myId}] - ${level.toUpperCase().padEnd(5)} - ${message}`;
}
