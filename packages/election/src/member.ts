import { type EnsembleConfig, membersOf } from './config.js';
import { assertNever } from './errors.js';
import type { Decision, FastLeaderElection, LogLevel } from './fle.js';
import { MemberCore, type MemberOutput, type MemberTimer } from './member-core.js';
import { NamedTimers } from './timers.js';
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
 * One running ensemble member: `MemberCore` (FastLeaderElection plus the learner handshake, the
 * same code the simulations prove) wired to real timers and the TCP transport. initLimit and
 * syncLimit come from the config in ticks, as in ZooKeeper.
 */
export class ElectionMember {
  readonly core: MemberCore;
  readonly transport: ElectionTransport;
  private readonly timers = new NamedTimers<MemberTimer>();
  private stopped = false;

  constructor(private readonly opts: ElectionMemberOptions) {
    const { voters, observers } = membersOf(opts.config);
    const { tickTime, initLimit, syncLimit } = opts.config;
    this.core = new MemberCore({
      myId: opts.myId,
      voters,
      observers,
      finalizeWaitMs: opts.finalizeWaitMs,
      maxNotificationIntervalMs: opts.maxNotificationIntervalMs,
      persisted: { currentEpoch: opts.currentEpoch ?? 0n, lastZxid: opts.lastZxid ?? 0n },
      initLimitMs: initLimit * tickTime,
      syncLimitMs: syncLimit * tickTime,
    });
    this.transport = new ElectionTransport({
      myId: opts.myId,
      servers: opts.config.servers,
      sendQueueCapacity: opts.sendQueueCapacity,
      onMessage: (from, msg) => this.apply(this.core.step({ type: 'message', from, msg })),
      onPeerUp: (peer) => this.apply(this.core.step({ type: 'link', peer, up: true })),
      onPeerDown: (peer) => this.apply(this.core.step({ type: 'link', peer, up: false })),
      onPeerReachability: (peer, reachable) =>
        this.apply(this.core.step({ type: 'reachability', peer, reachable })),
      log: (level, message) => this.log(level, message),
    });
  }

  get fle(): FastLeaderElection {
    return this.core.fle;
  }

  get stats(): TransportStats {
    return this.transport.stats;
  }

  /** Listens on the election port and starts looking. */
  async start(): Promise<void> {
    await this.transport.listen();
    this.apply(this.core.step({ type: 'start' }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.clear();
    await this.transport.close();
  }

  private apply(outputs: readonly MemberOutput[]): void {
    if (this.stopped) return;
    for (const o of outputs) {
      switch (o.type) {
        case 'send':
          this.transport.send(o.to, o.msg);
          break;
        case 'setTimer': {
          const timer = o.timer;
          this.timers.set(timer, o.afterMs, () => this.apply(this.core.step({ type: 'timeout', timer })));
          break;
        }
        case 'cancelTimer':
          this.timers.cancel(o.timer);
          break;
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
