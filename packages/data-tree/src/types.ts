import type { ACL, Id, Stat } from '@zkts/codec';

/** A write request as prep sees it (names follow zookeeper.jute). */
export type TreeRequest =
  | CreateRequest
  | { type: 'delete'; path: string; version: number }
  | { type: 'deleteContainer'; path: string }
  | { type: 'setData'; path: string; data: Uint8Array | null; version: number }
  | { type: 'setACL'; path: string; acl: readonly ACL[]; version: number }
  | { type: 'check'; path: string; version: number }
  | { type: 'multi'; ops: readonly MultiOp[] }
  | { type: 'createSession'; timeout: number }
  | { type: 'closeSession' };

/**
 * create / create2 / createContainer / createTTL. `flags` is the CreateMode value; `ttl` is -1 when
 * the mode has none (as CreateRequest carries no ttl). `data` null is ZooKeeper's null data (a
 * create without data): the tree keeps it apart from empty data and reads it back as null.
 */
export interface CreateRequest {
  type: 'create';
  path: string;
  data: Uint8Array | null;
  acl: readonly ACL[];
  flags: number;
  ttl?: bigint | number;
}

export type MultiOp =
  | CreateRequest
  | { type: 'delete'; path: string; version: number }
  | { type: 'setData'; path: string; data: Uint8Array | null; version: number }
  | { type: 'check'; path: string; version: number };

/** The caller of a request: its session, the ids it authenticated as, and the txn slot it gets. */
export interface PrepContext {
  sessionId: bigint;
  /** Ids of the connection: ip:<address>, digest:..., super:. */
  authIds: readonly Id[];
  /** The zxid the resulting txn will be applied at. */
  zxid: bigint;
  /** Wall time (ms) stamped on the txn. */
  time: bigint;
  cxid?: number;
}

/** A txn body: the deterministic change a request turns into (zookeeper.jute's txn records). */
export type TxnBody =
  | {
      type: 'create';
      path: string;
      data: Uint8Array | null;
      acl: readonly ACL[];
      ephemeral: boolean;
      parentCVersion: number;
    }
  | {
      type: 'createContainer';
      path: string;
      data: Uint8Array | null;
      acl: readonly ACL[];
      parentCVersion: number;
    }
  | {
      type: 'createTTL';
      path: string;
      data: Uint8Array | null;
      acl: readonly ACL[];
      parentCVersion: number;
      ttl: bigint;
    }
  | { type: 'delete'; path: string }
  | { type: 'deleteContainer'; path: string }
  | { type: 'setData'; path: string; data: Uint8Array | null; version: number }
  | { type: 'setACL'; path: string; acl: readonly ACL[]; version: number }
  | { type: 'check'; path: string; version: number }
  | { type: 'multi'; txns: readonly TxnBody[] }
  | { type: 'createSession'; timeout: number }
  | { type: 'closeSession'; paths2Delete: readonly string[] }
  | { type: 'error'; err: number };

/** A txn with its header fields but zxid and time, which `apply` takes. */
export interface Txn {
  sessionId: bigint;
  cxid: number;
  body: TxnBody;
}

/** Result of one (sub-)txn, as ZooKeeper's ProcessTxnResult. `err` is 0 on success. */
export interface TxnResult {
  type: TxnBody['type'];
  err: number;
  path?: string;
  stat?: Stat;
  /** For multi: one result per op (errors become { type: 'error', err }). */
  results?: TxnResult[];
}

/** A watch notification: which watcher gets which event. */
export interface WatchNotification<W> {
  watcher: W;
  type: number;
  path: string;
}

export interface ApplyResult<W> extends TxnResult {
  zxid: bigint;
  notifications: WatchNotification<W>[];
}
