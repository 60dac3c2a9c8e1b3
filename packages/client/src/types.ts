/** Public value types of the client: options, results, multi operations. */
import type { ACL, CreateModeName, Stat } from '@zkts/codec';
import type { KeeperError } from './errors.js';
import type { WatchedEvent, Watcher } from './watches.js';

export type { ACL, ClientInfo, CreateModeName, Id, Stat } from '@zkts/codec';

/**
 * The client's connection state.
 * - `connecting`: no session yet (before the first connection is established).
 * - `connected` / `connectedReadOnly`: a session is established (on a read-only server for the latter).
 * - `disconnected`: the connection was lost; the client is reconnecting and will resume the session
 *   if it reaches a server before the session times out.
 * - `expired`, `authFailed`, `closed`: terminal; every later request fails.
 */
export type ConnectionState =
  | 'connecting'
  | 'connected'
  | 'connectedReadOnly'
  | 'disconnected'
  | 'expired'
  | 'authFailed'
  | 'closed';

export interface ClientOptions {
  /** Requested session timeout in ms (the server negotiates it into its min/max). Default 30000. */
  sessionTimeout?: number;
  /** Accept read-only servers (sends the "can be read-only" flag). Default false. */
  readOnly?: boolean;
  /** Credentials added (and re-sent on every reconnect) before any request. */
  authInfo?: ReadonlyArray<{ scheme: string; auth: string | Uint8Array }>;
  /** Most requests queued or in flight at once; one more fails with APIError. Default 10000. */
  maxPendingRequests?: number;
  /**
   * Most payload bytes (data, paths) held by requests queued or in flight; one more request fails
   * with APIError (a single request is always accepted when nothing is pending). Default 64 MiB.
   */
  maxPendingBytes?: number;
  /** Largest frame accepted from or sent to a server, in bytes. Default 0xfffff (jute.maxbuffer). */
  maxFrameSize?: number;
  /** Time allowed for TCP connect plus session handshake, per attempt. Default sessionTimeout / hosts. */
  connectTimeout?: number;
  /**
   * Base delay before a reconnect attempt, in ms; each attempt waits a random time below it (as
   * ZooKeeper's client does with 1000 ms). It doubles after each full pass over the host list
   * without success, up to `maxRetryDelay`. Default 1000.
   */
  retryDelay?: number;
  /** Ceiling of the reconnect delay. Default 8 * retryDelay. */
  maxRetryDelay?: number;
  /**
   * How long a request issued while disconnected waits for a connection before it fails with
   * ConnectionLoss, in ms. Default: the session timeout. 0 fails such requests at once.
   */
  connectionWaitTimeout?: number;
  /**
   * Resume an existing session (as ZooKeeper's constructor taking a session id and password):
   * the first handshake sends them instead of asking for a new session.
   */
  sessionId?: bigint;
  sessionPassword?: Uint8Array;
  /** Random source in [0, 1) for host shuffling and jitter (tests pass a seeded one). */
  random?: () => number;
}

/** Options of reads that can leave a one-shot watch. */
export interface WatchOptions {
  /** Called once when the watch fires (see `oneShotWatch()` for a promise). */
  watch?: Watcher | undefined;
}

export interface ChildrenOptions extends WatchOptions {
  /** Also return the parent's Stat (getChildren2). */
  withStat?: boolean;
}

export interface CreateOptions {
  /** A CreateMode name. Default 'PERSISTENT'. */
  mode?: CreateModeName;
  /** Default OPEN_ACL_UNSAFE (world:anyone, all permissions). */
  acl?: ACL[];
  /** Time to live in ms, required for the *_WITH_TTL modes and refused for others. */
  ttl?: number;
}

export interface DataResult {
  /**
   * The node's data as the server sends it: null when the node was created or last set with null
   * data (no data given, as zkCli's `create /a`), an empty buffer when with empty data.
   */
  data: Buffer | null;
  stat: Stat;
}

export interface ChildrenResult {
  children: string[];
  stat: Stat;
}

export interface ACLResult {
  acl: ACL[];
  stat: Stat;
}

export interface CreateResult {
  path: string;
  stat: Stat;
}

/** One operation of a multi (transaction). */
export type Op =
  | ({ type: 'create'; path: string; data?: Uint8Array | string | null } & CreateOptions)
  | { type: 'delete'; path: string; version?: number }
  | { type: 'setData'; path: string; data: Uint8Array | string | null; version?: number }
  | { type: 'check'; path: string; version: number };

/** The result of one operation of a multi. */
export type OpResult =
  | { type: 'create'; path: string; stat?: Stat }
  | { type: 'delete' }
  | { type: 'setData'; stat: Stat }
  | { type: 'check' }
  /** In a failed multi: the failing op's code, RuntimeInconsistency for the others (OK before it). */
  | { type: 'error'; code: number };

/** One operation of a multiRead. */
export type ReadOp = { type: 'getData'; path: string } | { type: 'getChildren'; path: string };

/** The result of one operation of a multiRead: each succeeds or fails on its own. */
export type ReadOpResult =
  | { type: 'getData'; data: Buffer | null; stat: Stat }
  | { type: 'getChildren'; children: string[] }
  | { type: 'error'; error: KeeperError };

export type AddWatchModeName = 'PERSISTENT' | 'PERSISTENT_RECURSIVE';

/** Watch kinds of removeWatches: 'any' also removes persistent watches, as ZooKeeper 3.8 does. */
export type WatcherTypeName = 'data' | 'children' | 'any';

export interface RemoveWatchesOptions {
  /** Remove only this watcher (the server keeps the watch; a checkWatches request is sent). */
  watcher?: Watcher;
  /** Remove locally whatever the server answers, or without asking it while disconnected. */
  local?: boolean;
}

export interface WatchStreamOptions {
  /** Events held for a slow consumer before the stream fails with APIError. Default 1000. */
  maxBuffered?: number;
}

/** A persistent watch as an async iterator of events; `close()` removes the watch. */
export interface WatchStream extends AsyncIterable<WatchedEvent> {
  close(): Promise<void>;
}
