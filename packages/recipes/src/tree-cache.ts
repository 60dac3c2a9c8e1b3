import { EventEmitter } from 'node:events';
import { EventType, type Stat, type WatchedEvent, type Watcher, type ZooKeeperClient } from '@zkts/client';
import { isCode, join } from './util.js';

export interface CachedNode {
  path: string;
  /** The node's data; null when it holds ZooKeeper's null data (created or set without data). */
  data: Buffer | null;
  stat: Stat;
}

export interface TreeCacheEvents {
  nodeAdded: [node: CachedNode];
  nodeUpdated: [node: CachedNode];
  nodeRemoved: [node: CachedNode];
  /** The first full load is in the cache. */
  initialized: [];
  error: [error: unknown];
}

export interface TreeCacheOptions {
  /** Most nodes cached; beyond it the cache stops adding and emits an error. Default 100000. */
  maxNodes?: number;
}

/**
 * Curator's TreeCache: a local copy of a subtree (data and Stat of every node) kept current with
 * one persistent recursive watch (ZooKeeper 3.6+); after a reconnect the subtree is read again
 * and the differences reported.
 */
export class TreeCache extends EventEmitter<TreeCacheEvents> {
  private readonly nodes = new Map<string, CachedNode>();
  private chain: Promise<void> = Promise.resolve();
  private started = false;
  private readonly maxNodes: number;
  private readonly listener: Watcher = (e) => this.onEvent(e);
  private readonly onReconnect = () => this.enqueue(() => this.resync());
  private wasDisconnected = false;
  private readonly onDisconnect = () => {
    this.wasDisconnected = true;
  };
  private readonly onConnected = () => {
    if (this.wasDisconnected) {
      this.wasDisconnected = false;
      this.onReconnect();
    }
  };

  constructor(
    readonly zk: ZooKeeperClient,
    readonly root: string,
    options: TreeCacheOptions = {},
  ) {
    super();
    this.maxNodes = options.maxNodes ?? 100_000;
  }

  /** Watches and loads the subtree; resolves once `initialized` was emitted. */
  async start(): Promise<void> {
    this.started = true;
    await this.zk.addWatch(this.root, 'PERSISTENT_RECURSIVE', this.listener);
    this.zk.on('disconnected', this.onDisconnect);
    this.zk.on('connected', this.onConnected);
    await this.enqueue(async () => {
      await this.resync();
      this.emit('initialized');
    });
  }

  /** The cached node at `path`. */
  get(path: string): CachedNode | undefined {
    return this.nodes.get(path);
  }

  /** Names of the cached children of `path`, sorted. */
  children(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    const out: string[] = [];
    for (const p of this.nodes.keys()) {
      if (p !== path && p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
        out.push(p.slice(prefix.length));
    }
    return out.sort();
  }

  /** Every cached path. */
  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  async close(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.zk.off('disconnected', this.onDisconnect);
    this.zk.off('connected', this.onConnected);
    await this.zk.removeWatches(this.root, 'any', { watcher: this.listener }).catch(() => undefined);
    await this.chain;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.chain.then(task).catch((e: unknown) => {
      if (this.started) this.emit('error', e);
    });
    this.chain = next;
    return next;
  }

  private onEvent(e: WatchedEvent): void {
    if (!this.started || e.path === undefined) return;
    const path = e.path;
    switch (e.type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        void this.enqueue(() => this.refresh(path));
        break;
      case EventType.NodeDeleted:
        void this.enqueue(async () => this.removeSubtree(path));
        break;
      default:
        break;
    }
  }

  private put(node: CachedNode): void {
    const old = this.nodes.get(node.path);
    if (old === undefined) {
      if (this.nodes.size >= this.maxNodes) {
        this.emit('error', new Error(`tree cache of ${this.root} is full (${this.maxNodes} nodes)`));
        return;
      }
      this.nodes.set(node.path, node);
      this.emit('nodeAdded', node);
    } else if (old.stat.mzxid !== node.stat.mzxid || old.stat.czxid !== node.stat.czxid) {
      this.nodes.set(node.path, node);
      this.emit('nodeUpdated', node);
    } else {
      // Only the children changed: keep the fresher Stat without an event (as the live path does).
      this.nodes.set(node.path, node);
    }
  }

  private removeSubtree(path: string): void {
    const prefix = `${path}/`;
    for (const [p, node] of [...this.nodes]) {
      if (p === path || p.startsWith(prefix)) {
        this.nodes.delete(p);
        this.emit('nodeRemoved', node);
      }
    }
  }

  /** Reads one node (and, when it is new, its subtree). */
  private async refresh(path: string): Promise<void> {
    const fresh = new Map<string, CachedNode>();
    await this.read(path, fresh, !this.nodes.has(path));
    if (fresh.size === 0) this.removeSubtree(path);
    for (const n of fresh.values()) this.put(n);
  }

  private async read(path: string, into: Map<string, CachedNode>, deep: boolean): Promise<void> {
    try {
      const { data, stat } = await this.zk.getData(path);
      into.set(path, { path, data, stat });
      if (!deep || stat.numChildren === 0) return;
      for (const c of await this.zk.getChildren(path)) await this.read(join(path, c), into, true);
    } catch (e) {
      if (!isCode(e, 'NoNode')) throw e;
    }
  }

  /** Reads the whole subtree and reports what differs from the cache. */
  private async resync(): Promise<void> {
    const fresh = new Map<string, CachedNode>();
    await this.read(this.root, fresh, true);
    for (const [p, node] of [...this.nodes]) {
      if (!fresh.has(p)) {
        this.nodes.delete(p);
        this.emit('nodeRemoved', node);
      }
    }
    for (const n of fresh.values()) this.put(n);
  }
}
