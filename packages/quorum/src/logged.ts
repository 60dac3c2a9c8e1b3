import type { Txn } from '@zkts/zab';

/** Applied entries dropped from the front are only compacted away once at least this many. */
const COMPACT_AT = 1024;

/**
 * The logged txns above the applied state, ascending by zxid. Applying removes them from the front
 * one at a time; `Array.prototype.shift` on a large array copies what remains every time (a
 * member restarting on tens of thousands of logged txns spent most of its catch-up copying), so
 * the front is a moving index and the applied prefix is dropped in batches, each step O(1)
 * amortised.
 */
export class LoggedTxns {
  private items: Txn<Uint8Array>[];
  private head = 0;

  constructor(txns: Txn<Uint8Array>[] = []) {
    this.items = txns;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** The newest logged txn, if any. */
  get last(): Txn<Uint8Array> | undefined {
    return this.size === 0 ? undefined : this.items[this.items.length - 1];
  }

  push(txn: Txn<Uint8Array>): void {
    this.items.push(txn);
  }

  /** Drops the txns at or below `zxid` from the front (they were applied, or a snapshot covers them). */
  dropThrough(zxid: bigint): void {
    const items = this.items;
    let head = this.head;
    while (head < items.length && (items[head] as Txn<Uint8Array>).zxid <= zxid) head++;
    if (head === items.length) {
      this.items = [];
      this.head = 0;
      return;
    }
    this.head = head;
    if (head >= COMPACT_AT && head * 2 >= items.length) {
      this.items = items.slice(head);
      this.head = 0;
    }
  }

  /** Drops the txns above `zxid` (a truncation). */
  keepThrough(zxid: bigint): void {
    let end = this.items.length;
    while (end > this.head && (this.items[end - 1] as Txn<Uint8Array>).zxid > zxid) end--;
    this.items.length = end;
    if (end === this.head) {
      this.items = [];
      this.head = 0;
    }
  }

  /** A copy, ascending. */
  toArray(): Txn<Uint8Array>[] {
    return this.items.slice(this.head);
  }
}
