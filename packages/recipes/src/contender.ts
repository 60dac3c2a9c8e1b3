import type { EventEmitter } from 'node:events';
import { oneShotWatch, type ZooKeeperClient } from '@zkts/client';
import { RecipeError } from './errors.js';
import { ensurePath, isCode, join, randomId, sessionLost, sortBySequence, waitFor } from './util.js';

/** What a contender does next, given every participant sorted by sequence and its own index. */
export type Decision =
  | { kind: 'proceed' }
  /** Wait until this one node (a child name) is gone: only that node is watched, no herd. */
  | { kind: 'watchNode'; node: string }
  /** Wait for any change of the participant list (used where no single node decides). */
  | { kind: 'watchChildren' };

export type Decide = (sorted: readonly string[], index: number) => Decision;

/** Session events of a held recipe. */
export interface HolderEvents {
  /** The connection dropped: the hold is in doubt until `reconnected` or `lost`. */
  suspended: [];
  /** The connection came back within the session: the hold is still valid. */
  reconnected: [];
  /** The session ended (expired or closed): the hold is gone, the node with it. */
  lost: [];
}

/**
 * One participant: an EPHEMERAL_SEQUENTIAL node under `dir`, created with a random marker so
 * that a create whose reply was lost can be found again (Curator's protected mode).
 */
export class Contender {
  /** The node's full path once created. */
  path: string | undefined;

  constructor(
    readonly zk: ZooKeeperClient,
    readonly dir: string,
    readonly prefix: string,
    readonly data: string | Uint8Array | null,
    readonly decide: Decide,
  ) {}

  get name(): string | undefined {
    return this.path === undefined ? undefined : this.path.slice(this.path.lastIndexOf('/') + 1);
  }

  private async create(): Promise<string> {
    const marker = `_c_${randomId()}-`;
    await ensurePath(this.zk, this.dir);
    for (;;) {
      try {
        return await this.zk.create(join(this.dir, `${marker}${this.prefix}`), this.data, {
          mode: 'EPHEMERAL_SEQUENTIAL',
        });
      } catch (e) {
        if (!isCode(e, 'ConnectionLoss')) throw e;
        const found = (await this.zk.getChildren(this.dir)).find((c) => c.startsWith(marker));
        if (found !== undefined) return join(this.dir, found);
      }
    }
  }

  /**
   * Creates the node (once) and waits until `decide` says proceed. Returns false after
   * `timeoutMs` (the node is deleted then); throws RecipeError('SessionLost') if the session ends.
   */
  async attempt(timeoutMs?: number): Promise<boolean> {
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    if (this.path === undefined) this.path = await this.create();
    const name = this.name as string;
    for (;;) {
      try {
        if (await this.step(name, deadline)) return true;
        if (this.path === undefined) return false;
      } catch (e) {
        // A dropped connection: the client resumes the session (or reports its expiry) first.
        if (!isCode(e, 'ConnectionLoss')) throw e;
        if (deadline !== undefined && Date.now() > deadline) {
          await this.remove();
          return false;
        }
      }
    }
  }

  /** One check: true to proceed, false to wait again (path cleared when timed out). */
  private async step(name: string, deadline: number | undefined): Promise<boolean> {
    const sorted = sortBySequence(await this.zk.getChildren(this.dir));
    const index = sorted.indexOf(name);
    if (index < 0) throw new RecipeError('SessionLost', `${this.path} is gone: the session ended`);
    const decision = this.decide(sorted, index);
    if (decision.kind === 'proceed') return true;
    const w = oneShotWatch();
    if (decision.kind === 'watchNode') {
      const stat = await this.zk.exists(join(this.dir, decision.node), { watch: w.watcher });
      if (stat === null) return false;
    } else {
      const now = await this.zk.getChildren(this.dir, { watch: w.watcher });
      if (now.length !== sorted.length || now.some((c) => !sorted.includes(c))) return false;
    }
    const r = await waitFor(this.zk, w.event, deadline === undefined ? undefined : deadline - Date.now());
    if (r === 'lost') throw sessionLost();
    if (r === 'timeout') await this.remove();
    return false;
  }

  /** Deletes the node (a missing node is fine); retries on connection loss. */
  async remove(): Promise<void> {
    const path = this.path;
    this.path = undefined;
    if (path === undefined) return;
    for (;;) {
      try {
        await this.zk.delete(path);
        return;
      } catch (e) {
        if (isCode(e, 'NoNode') || isCode(e, 'SessionExpired')) return;
        if (!isCode(e, 'ConnectionLoss')) throw e;
      }
    }
  }
}

/** Forwards the client's session events to a holder while it holds something. */
export class SessionWatch {
  private readonly handlers: Array<[string, () => void]> = [];

  constructor(
    private readonly zk: ZooKeeperClient,
    target: EventEmitter<HolderEvents>,
    onLost: () => void,
  ) {
    const add = (
      event: 'disconnected' | 'connected' | 'expired' | 'closed' | 'authFailed',
      fn: () => void,
    ) => {
      this.zk.on(event, fn);
      this.handlers.push([event, fn]);
    };
    add('disconnected', () => target.emit('suspended'));
    add('connected', () => target.emit('reconnected'));
    const lost = () => {
      this.stop();
      onLost();
      target.emit('lost');
    };
    add('expired', lost);
    add('closed', lost);
    add('authFailed', lost);
  }

  stop(): void {
    for (const [event, fn] of this.handlers.splice(0)) this.zk.off(event as 'connected', fn);
  }
}
