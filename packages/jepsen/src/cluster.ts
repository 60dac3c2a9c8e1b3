import type { CutMode } from './link-proxy.js';

/**
 * An ensemble under test, whatever implements it: member ids, where clients connect, and the
 * faults a nemesis injects. Every method resolves once the action is done (a killed member's
 * process has exited, a restarted one has been spawned).
 */
export interface Cluster {
  /** Voting members' ids. */
  readonly members: readonly string[];
  /** The connect string of one member only (`host:port`). */
  connectString(id: string): string;
  /** SIGKILL the member's process group. */
  kill(id: string): Promise<void>;
  /** Start a killed member again, with its data. */
  restart(id: string): Promise<void>;
  /** SIGSTOP the member's process group. */
  pause(id: string): Promise<void>;
  /** SIGCONT the member's process group. */
  resume(id: string): Promise<void>;
  /**
   * Cut traffic `from` a member `to` another (one direction of the link): connections are refused,
   * or accepted and silently dropped (`blackhole`); the cluster picks when `mode` is not given.
   */
  cut(from: string, to: string, mode?: CutMode): Promise<void>;
  heal(from: string, to: string): Promise<void>;
  /** Heal every link. */
  healAll(): Promise<void>;
  /** Stop every member and release everything. */
  close(): Promise<void>;
  /** The current leader's id, when the cluster can tell (for logs only). */
  leader?(): Promise<string | undefined>;
  /** Recent output of a member's process, for a failure report. */
  output?(id: string): string;
}
