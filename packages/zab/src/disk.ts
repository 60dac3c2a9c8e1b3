import type { DiskOp, ZabOutput, Zxid } from './types.js';

/**
 * The disk-write bookkeeping the leader and the learners share: every write gets the next sequence
 * number, and the transactions whose durability matters wait, in write order, for the `diskDone`
 * that covers them. The host performs writes in order, so `diskDone(seq)` makes every write up to
 * `seq` durable. Pure: it only numbers writes and keeps the waiting list.
 */
export class DiskWrites<T, S> {
  private seq = 0;
  /** Tracked writes not yet reported durable, ascending by sequence number. */
  private readonly pending: Array<{ readonly seq: number; readonly zxid: Zxid }> = [];

  /** Outputs `op` as the next disk write and returns its sequence number. */
  write(op: DiskOp<T, S>, out: ZabOutput<T, S>[]): number {
    this.seq++;
    out.push({ type: 'disk', seq: this.seq, write: op });
    return this.seq;
  }

  /** Waits for write `seq`, which logs `zxid`, to become durable (see `durableUpTo`). */
  track(seq: number, zxid: Zxid): void {
    this.pending.push({ seq, zxid });
  }

  /**
   * Forgets the tracked writes numbered up to `seq` (now durable) and returns the highest zxid among
   * them, or undefined when none was waiting.
   */
  durableUpTo(seq: number): Zxid | undefined {
    let zxid: Zxid | undefined;
    while (this.pending.length > 0 && (this.pending[0] as { seq: number }).seq <= seq) {
      zxid = (this.pending.shift() as { zxid: Zxid }).zxid;
    }
    return zxid;
  }
}
