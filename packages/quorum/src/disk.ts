import type { TxnSnapStore } from '@zkts/persistence';
import type { DiskOp } from '@zkts/zab';
import { assertNever } from './errors.js';
import type { SnapshotChunks } from './wire.js';

/**
 * Runs Zab's disk writes on a TxnSnapStore in output order and reports each one only once it is
 * durable, in order. Appends go straight to the store, so appends issued in one event-loop turn
 * share a group commit; every other write (truncate, snapshot, epochs) is a barrier: it waits for
 * everything before it, and later appends wait for it.
 */
export class DiskAdapter {
  /** Completion of every write issued so far. */
  private tail: Promise<void> = Promise.resolve();
  /** Completion of the newest barrier (non-append) write; undefined once it is done. */
  private barrier: Promise<void> | undefined;
  private failure: unknown;
  /** The background snapshot being written, if any (barriers wait for it). */
  private snapshotRun: Promise<void> | undefined;

  constructor(
    private readonly store: TxnSnapStore,
    private readonly onFailure: (err: unknown) => void,
  ) {}

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Queues `op`; `done` runs once it (and everything before it) is durable. */
  write(op: DiskOp<Uint8Array, SnapshotChunks>, done: () => void): void {
    let p: Promise<void>;
    if (op.op === 'append') {
      const run = () => Promise.all(op.txns.map((t) => this.store.append(t.zxid, t.data))).then(() => {});
      p = this.barrier === undefined ? run() : this.barrier.then(run);
    } else {
      const snap = this.snapshotRun;
      const b = Promise.all([this.tail, snap?.catch(() => {})]).then(() => this.barrierOp(op));
      this.barrier = b;
      b.then(
        () => {
          if (this.barrier === b) this.barrier = undefined;
        },
        () => {},
      );
      p = b;
    }
    // Avoid unhandled rejections of p; the failure is reported through the chain below.
    p.catch(() => {});
    this.tail = Promise.all([this.tail, p]).then(
      () => {
        if (this.failure === undefined) done();
      },
      (err: unknown) => {
        if (this.failure === undefined) {
          this.failure = err;
          this.onFailure(err);
        }
        throw err;
      },
    );
    this.tail.catch(() => {});
  }

  /** Whether a background snapshot is being written. */
  get snapshotting(): boolean {
    return this.snapshotRun !== undefined;
  }

  /**
   * Writes a snapshot of the applied state in the background, after the writes issued so far;
   * appends go on meanwhile, barriers wait for it. Resolves once it is durable.
   */
  snapshot(zxid: bigint, chunks: Iterable<Uint8Array>): Promise<void> {
    const run = this.tail
      .catch(() => {})
      .then(() => this.store.writeSnapshot(zxid, chunks))
      .then(() => {});
    this.snapshotRun = run;
    const clear = () => {
      if (this.snapshotRun === run) this.snapshotRun = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  /** Resolves once every write issued so far completed (or failed). */
  async drain(): Promise<void> {
    await this.tail.catch(() => {});
    await this.snapshotRun?.catch(() => {});
  }

  private async barrierOp(op: Exclude<DiskOp<Uint8Array, SnapshotChunks>, { op: 'append' }>): Promise<void> {
    switch (op.op) {
      case 'truncate':
        await this.store.truncate(op.zxid);
        return;
      case 'snapshot':
        // A SNAP from the leader: the state as of op.zxid, and nothing logged after it survives.
        await this.store.writeSnapshot(op.zxid, op.snapshot);
        await this.store.truncate(op.zxid);
        return;
      case 'acceptedEpoch':
        await this.store.writeEpoch('acceptedEpoch', op.epoch);
        return;
      case 'currentEpoch':
        await this.store.writeEpoch('currentEpoch', op.epoch);
        return;
      default:
        assertNever(op);
    }
  }
}
