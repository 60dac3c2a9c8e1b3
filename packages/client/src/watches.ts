/**
 * Client-side watch bookkeeping, as ZooKeeper's client keeps it: which registered watchers a
 * server event fires (one-shot ones are removed as they fire), and what to re-register with
 * setWatches2 after a reconnect. Pure: no I/O.
 */

import { EventType, type EventTypeValue } from '@zkts/codec';

export interface WatchedEvent {
  type: EventTypeValue;
  /** KeeperState value (SyncConnected for node events). */
  state: number;
  /** Client path (chroot stripped); undefined for connection-state events. */
  path: string | undefined;
}

export type Watcher = (event: WatchedEvent) => void;

export type WatchKind = 'data' | 'exist' | 'child' | 'persistent' | 'persistentRecursive';

/** What setWatches2 sends: client paths per kind. */
export interface WatchSet {
  data: string[];
  exist: string[];
  child: string[];
  persistent: string[];
  persistentRecursive: string[];
}

export class WatchRegistry {
  private readonly maps: Record<WatchKind, Map<string, Set<Watcher>>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
    persistent: new Map(),
    persistentRecursive: new Map(),
  };

  add(kind: WatchKind, path: string, watcher: Watcher): void {
    const map = this.maps[kind];
    let set = map.get(path);
    if (set === undefined) {
      set = new Set();
      map.set(path, set);
    }
    set.add(watcher);
  }

  has(kind: WatchKind, path: string): boolean {
    return (this.maps[kind].get(path)?.size ?? 0) > 0;
  }

  /** True when any watcher of any kind is registered on the path. */
  hasAny(path: string): boolean {
    return Object.values(this.maps).some((map) => (map.get(path)?.size ?? 0) > 0);
  }

  hasWatcher(kind: WatchKind, path: string, watcher: Watcher): boolean {
    return this.maps[kind].get(path)?.has(watcher) ?? false;
  }

  /** Removes watchers of the given kinds on a path (all, or one) and returns the removed ones. */
  take(kinds: readonly WatchKind[], path: string, watcher?: Watcher): Set<Watcher> {
    const out = new Set<Watcher>();
    for (const kind of kinds) {
      const set = this.maps[kind].get(path);
      if (set === undefined) continue;
      if (watcher === undefined) {
        for (const w of set) out.add(w);
        this.maps[kind].delete(path);
      } else if (set.delete(watcher)) {
        out.add(watcher);
        if (set.size === 0) this.maps[kind].delete(path);
      }
    }
    return out;
  }

  /** Removes watchers of the given kinds on a path (all watchers, or one). True if any was removed. */
  remove(kinds: readonly WatchKind[], path: string, watcher?: Watcher): boolean {
    let removed = false;
    for (const kind of kinds) {
      const set = this.maps[kind].get(path);
      if (set === undefined) continue;
      if (watcher === undefined) {
        removed ||= set.size > 0;
        this.maps[kind].delete(path);
      } else if (set.delete(watcher)) {
        removed = true;
        if (set.size === 0) this.maps[kind].delete(path);
      }
    }
    return removed;
  }

  private takeAll(kind: WatchKind, path: string, into: Set<Watcher>): void {
    const set = this.maps[kind].get(path);
    if (set === undefined) return;
    for (const w of set) into.add(w);
    this.maps[kind].delete(path);
  }

  private copy(kind: WatchKind, path: string, into: Set<Watcher>): void {
    const set = this.maps[kind].get(path);
    if (set !== undefined) for (const w of set) into.add(w);
  }

  /** The watchers a node event fires; one-shot watchers are removed. */
  materialize(type: EventTypeValue, path: string): Set<Watcher> {
    const out = new Set<Watcher>();
    switch (type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        this.takeAll('data', path, out);
        this.takeAll('exist', path, out);
        break;
      case EventType.NodeChildrenChanged:
        this.takeAll('child', path, out);
        break;
      case EventType.NodeDeleted:
        this.takeAll('data', path, out);
        // exists() on a node that then gets deleted: ZooKeeper fires it as a data watch.
        this.takeAll('exist', path, out);
        this.takeAll('child', path, out);
        break;
      case EventType.None:
      case EventType.DataWatchRemoved:
      case EventType.ChildWatchRemoved:
      case EventType.PersistentWatchRemoved:
        return out;
      default:
        return out;
    }
    this.copy('persistent', path, out);
    for (let p = path; ; p = parentOf(p)) {
      this.copy('persistentRecursive', p, out);
      if (p === '/') break;
    }
    return out;
  }

  /** Every registered watcher (for connection-state events). */
  all(): Set<Watcher> {
    const out = new Set<Watcher>();
    for (const map of Object.values(this.maps))
      for (const set of map.values()) for (const w of set) out.add(w);
    return out;
  }

  /** Drops every watch (the session expired or the client closed: none can fire any more). */
  clear(): void {
    for (const map of Object.values(this.maps)) map.clear();
  }

  /** Paths to re-register after a reconnect. */
  snapshot(): WatchSet {
    return {
      data: [...this.maps.data.keys()],
      exist: [...this.maps.exist.keys()],
      child: [...this.maps.child.keys()],
      persistent: [...this.maps.persistent.keys()],
      persistentRecursive: [...this.maps.persistentRecursive.keys()],
    };
  }

  get size(): number {
    let n = 0;
    for (const map of Object.values(this.maps)) n += map.size;
    return n;
  }
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
