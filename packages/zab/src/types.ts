/** A ZooKeeper transaction id: the epoch in the high 32 bits, a counter in the low 32 bits. */
export type Zxid = bigint;

/** The epoch part (high 32 bits) of a zxid. */
export function epochOf(zxid: Zxid): bigint {
  return zxid >> 32n;
}

/** The counter part (low 32 bits) of a zxid. */
export function counterOf(zxid: Zxid): bigint {
  return zxid & 0xffffffffn;
}

/** Builds a zxid from an epoch and a counter. */
export function makeZxid(epoch: bigint, counter: bigint): Zxid {
  return (epoch << 32n) | (counter & 0xffffffffn);
}

/** Renders a zxid as ZooKeeper logs it: `0x` and lower-case hex. */
export function hexZxid(zxid: Zxid): string {
  return `0x${BigInt.asUintN(64, zxid).toString(16)}`;
}

/** A transaction: an opaque payload (`T`, bytes by default) with its zxid. */
export interface Txn<T = Uint8Array> {
  readonly zxid: Zxid;
  readonly data: T;
}

/**
 * What a server has on disk when a role starts: its epochs, the zxid its latest snapshot covers
 * and the logged transactions after it (ascending, every zxid above `snapshotZxid`). The host
 * builds this from what it has written so far (durable or still queued: the disk is FIFO).
 */
export interface ZabDiskState<T = Uint8Array> {
  /** The newest epoch this server agreed to (LEADERINFO acknowledged, or proposed as leader). */
  readonly acceptedEpoch: bigint;
  /** The epoch of the last leader this server synchronised with (NEWLEADER acknowledged). */
  readonly currentEpoch: bigint;
  /** The zxid the latest snapshot covers (0 for an empty tree). */
  readonly snapshotZxid: Zxid;
  /** Logged transactions after the snapshot, ascending. */
  readonly log: readonly Txn<T>[];
}

/**
 * The quorum messages of Zab, named after ZooKeeper's QuorumPacket types. Plain data (numbers,
 * bigint zxids, the payload `T` and snapshot `S`) so the codec's quorum framing can carry them.
 * They travel over one FIFO connection per learner (TCP): a lost, duplicated or reordered message
 * is a broken connection, which the host reports as `disconnected`.
 */
export type ZabMessage<
  T = Uint8Array,
  S = Uint8Array,
> = /** Learner → leader, first message of a session: the learner's accepted epoch and last zxid. */
| { readonly type: 'FOLLOWERINFO'; readonly acceptedEpoch: bigint; readonly lastZxid: Zxid }
| { readonly type: 'OBSERVERINFO'; readonly acceptedEpoch: bigint; readonly lastZxid: Zxid }
/** Leader → learner: the new epoch. */
| { readonly type: 'LEADERINFO'; readonly epoch: bigint }
/**
 * Learner → leader: the epoch is accepted (and durable). `fresh` is false when the learner had
 * accepted this epoch before (it must not be counted twice). Carries the learner's summary.
 */
| {
    readonly type: 'ACKEPOCH';
    readonly epoch: bigint;
    readonly fresh: boolean;
    readonly currentEpoch: bigint;
    readonly lastZxid: Zxid;
  }
/** Leader → learner: keep your log up to `zxid`; the missing transactions follow as PROPOSALs. */
| { readonly type: 'DIFF'; readonly zxid: Zxid }
/** Leader → learner: drop every logged transaction above `zxid`; the missing ones follow. */
| { readonly type: 'TRUNC'; readonly zxid: Zxid }
/** Leader → learner: replace your state by this snapshot (state as of `zxid`); more may follow. */
| { readonly type: 'SNAP'; readonly zxid: Zxid; readonly snapshot: S }
| { readonly type: 'PROPOSAL'; readonly zxid: Zxid; readonly data: T }
/** Leader → follower: everything up to and including `zxid` is committed. */
| { readonly type: 'COMMIT'; readonly zxid: Zxid }
/** Leader → observer: a committed transaction. */
| { readonly type: 'INFORM'; readonly zxid: Zxid; readonly data: T }
/** Leader → learner: the synchronisation stream is complete; `zxid` is `epoch << 32`. */
| { readonly type: 'NEWLEADER'; readonly zxid: Zxid }
/** Learner → leader: NEWLEADER (zxid `epoch << 32`) or every proposal up to `zxid` is durable. */
| { readonly type: 'ACK'; readonly zxid: Zxid }
/** Leader → learner: serve; everything up to `zxid` is committed. */
| { readonly type: 'UPTODATE'; readonly zxid: Zxid }
/** Both ways: liveness. The leader sends its last committed zxid, a learner its last logged one. */
| { readonly type: 'PING'; readonly zxid: Zxid };

export type ZabMessageType = ZabMessage['type'];

/** A disk write. The host performs writes in order and reports completions with `diskDone`. */
export type DiskOp<T = Uint8Array, S = Uint8Array> =
  | { readonly op: 'append'; readonly txns: readonly Txn<T>[] }
  /** Remove every logged transaction above `zxid`. */
  | { readonly op: 'truncate'; readonly zxid: Zxid }
  /** Write this snapshot (state as of `zxid`) and drop the whole log (a SNAP from the leader). */
  | { readonly op: 'snapshot'; readonly zxid: Zxid; readonly snapshot: S }
  | { readonly op: 'acceptedEpoch'; readonly epoch: bigint }
  | { readonly op: 'currentEpoch'; readonly epoch: bigint };

/** Why a role ended and the server goes back to LOOKING. */
export type StopReason =
  | 'initLimit'
  | 'syncLimit'
  | 'lostQuorum'
  | 'disconnected'
  | 'epochRefused'
  | 'followerAhead'
  | 'protocol'
  | 'zxidRollover';

/** What a role asks its host to do, in order. */
export type ZabOutput<T = Uint8Array, S = Uint8Array> =
  | { readonly type: 'send'; readonly to: number; readonly msg: ZabMessage<T, S> }
  /**
   * Send `to` a SNAP message carrying a snapshot of the state this role has applied so far (as of
   * `zxid`), in this position of the stream to `to`.
   */
  | { readonly type: 'sendSnapshot'; readonly to: number; readonly zxid: Zxid }
  /** Queue a disk write; report it durable with `{ type: 'diskDone', seq }` (writes are FIFO). */
  | { readonly type: 'disk'; readonly seq: number; readonly write: DiskOp<T, S> }
  /** Apply a committed transaction to the replicated state (always in zxid order, no gaps). */
  | { readonly type: 'apply'; readonly txn: Txn<T> }
  /** Replace the replicated state by a snapshot from the leader (state as of `zxid`). */
  | { readonly type: 'restore'; readonly zxid: Zxid; readonly snapshot: S }
  /** Close the connection to `peer` (a learner the leader gave up on). */
  | { readonly type: 'disconnect'; readonly peer: number }
  /** Leader: a quorum acknowledged NEWLEADER; it serves and accepts proposals now. */
  | { readonly type: 'established'; readonly epoch: bigint }
  /** Learner: UPTODATE received; it serves now. */
  | { readonly type: 'synced'; readonly epoch: bigint }
  /** This role is over: close its connections and look for a leader again. */
  | { readonly type: 'lookForLeader'; readonly reason: StopReason; readonly detail: string };

/** What a role is told. */
export type ZabInput<
  T = Uint8Array,
  S = Uint8Array,
> = /** Begin (a learner sends FOLLOWERINFO / OBSERVERINFO; a leader starts counting). */
| { readonly type: 'start' }
| { readonly type: 'message'; readonly from: number; readonly msg: ZabMessage<T, S> }
/** One tick (ZooKeeper's tickTime) passed. */
| { readonly type: 'tick' }
/** Every disk write with a sequence number up to `seq` is durable. */
| { readonly type: 'diskDone'; readonly seq: number }
/** Leader only: a client's transaction to replicate. */
| { readonly type: 'propose'; readonly data: T }
/** The connection to `peer` closed (or broke: loss, duplication, reordering). */
| { readonly type: 'disconnected'; readonly peer: number }
/**
 * The host wrote a durable snapshot of the applied state as of `zxid` and dropped older log
 * entries: the role may forget transactions up to `zxid` (a learner further behind gets SNAP).
 */
| { readonly type: 'snapshotTaken'; readonly zxid: Zxid };

/**
 * Deliberately wrong behaviours, for tests only: each reintroduces a known class of Zab bug so the
 * simulator's checkers can be shown to catch it. Never set in a real server.
 */
export interface UnsafeVariants {
  /** Learner: ACK NEWLEADER at once, before the synced transactions and epoch are durable. */
  readonly ackNewLeaderBeforePersist?: boolean;
  /** Learner: persist currentEpoch before the synced transactions (ZOOKEEPER-4643's order). */
  readonly epochBeforeTxns?: boolean;
  /** Follower: ACK a proposal as soon as it arrives, before it is durable. */
  readonly ackBeforeDurable?: boolean;
  /** Leader: count its own ACK before its log write is durable. */
  readonly leaderCountsUndurable?: boolean;
  /** Learner: ignore TRUNC (keep transactions the new leader never had). */
  readonly ignoreTrunc?: boolean;
  /** Leader: do not step down when a learner's history is ahead of its own. */
  readonly skipAheadCheck?: boolean;
  /**
   * Learner: apply everything synced as soon as NEWLEADER is acknowledged, outstanding proposals
   * included, instead of waiting for UPTODATE and COMMIT (the ZOOKEEPER-3911 family).
   */
  readonly applySyncedEarly?: boolean;
}

export interface ZabConfig {
  /** This server's id. */
  readonly myId: number;
  /** The voting members (participants), this server included if it votes. */
  readonly voters: readonly number[];
  /** The observers. */
  readonly observers?: readonly number[];
  /** Ticks allowed for discovery and synchronisation. ZooKeeper's initLimit (default 10). */
  readonly initLimit?: number;
  /** Ticks a learner may stay silent (and a leader may go unheard). ZooKeeper's syncLimit (default 5). */
  readonly syncLimit?: number;
  /** Proposals in flight (proposed, not committed) at most; `propose` beyond throws (default 1000). */
  readonly maxOutstanding?: number;
  /**
   * A learner that would need more logged transactions than this is sent SNAP instead of DIFF
   * (once the leader has applied past its position; default 100 000).
   */
  readonly maxDiffTxns?: number;
  /** Test only: see `UnsafeVariants`. */
  readonly unsafe?: UnsafeVariants;
}

/** Normalised configuration (internal). */
export interface ResolvedConfig {
  readonly myId: number;
  readonly voters: ReadonlySet<number>;
  readonly observers: ReadonlySet<number>;
  readonly initLimit: number;
  readonly syncLimit: number;
  readonly maxOutstanding: number;
  readonly maxDiffTxns: number;
  readonly unsafe: UnsafeVariants;
}
