import { EventType, WatcherType } from '@zkts/codec';
import { displayPath } from './path.js';
import type { WatchNotification } from './types.js';

/** How a watch stays registered: once (standard), until removed, or until removed and for the subtree. */
export const WatchMode = { STANDARD: 0, PERSISTENT: 1, PERSISTENT_RECURSIVE: 2 } as const;
export type WatchModeValue = (typeof WatchMode)[keyof typeof WatchMode];

/** What `trigger` returns when no watch matches; never added to. */
const NO_WATCHERS: Set<never> = new Set();

/** One table of watches (ZooKeeper keeps one for data watches and one for child watches). */
class WatchTable<W> {
  readonly byPath = new Map<string, Map<W, WatchModeValue>>();
  readonly byWatcher = new Map<W, Set<string>>();
  recursive = 0;

  add(path: string, w: W, mode: WatchModeValue): void {
    let m = this.byPath.get(path);
    if (m === undefined) {
      m = new Map();
      this.byPath.set(path, m);
    }
    const old = m.get(w);
    if (old === WatchMode.PERSISTENT_RECURSIVE) this.recursive--;
    if (mode === WatchMode.PERSISTENT_RECURSIVE) this.recursive++;
    m.set(w, mode);
    let ps = this.byWatcher.get(w);
    if (ps === undefined) {
      ps = new Set();
      this.byWatcher.set(w, ps);
    }
    ps.add(path);
  }

  remove(path: string, w: W): boolean {
    const m = this.byPath.get(path);
    const mode = m?.get(w);
    if (m === undefined || mode === undefined) return false;
    m.delete(w);
    if (mode === WatchMode.PERSISTENT_RECURSIVE) this.recursive--;
    if (m.size === 0) this.byPath.delete(path);
    const ps = this.byWatcher.get(w);
    ps?.delete(path);
    if (ps !== undefined && ps.size === 0) this.byWatcher.delete(w);
    return true;
  }

  removeWatcher(w: W): void {
    const ps = this.byWatcher.get(w);
    if (ps === undefined) return;
    for (const p of [...ps]) this.remove(p, w);
  }

  has(path: string, w: W): boolean {
    return this.byPath.get(path)?.has(w) ?? false;
  }

  /**
   * The watchers an event on `path` reaches: watches on the path itself, and recursive watches on
   * it or any ancestor (those never see NodeChildrenChanged). One-shot watches are consumed.
   */
  trigger(path: string, type: number): Set<W> {
    // Most changes reach nobody: no set is made for them (the shared one stays empty).
    if (this.recursive === 0 && !this.byPath.has(path)) return NO_WATCHERS;
    const hit = new Set<W>();
    let p = path;
    let atParent = false;
    for (;;) {
      const m = this.byPath.get(p);
      if (m !== undefined) {
        for (const [w, mode] of m) {
          if (mode === WatchMode.PERSISTENT_RECURSIVE) {
            if (type !== EventType.NodeChildrenChanged) hit.add(w);
          } else if (!atParent) {
            hit.add(w);
            if (mode === WatchMode.STANDARD) this.remove(p, w);
          }
        }
      }
      if (this.recursive === 0 || p === '/') break;
      const slash = p.lastIndexOf('/');
      p = slash <= 0 ? '/' : p.slice(0, slash);
      atParent = true;
    }
    return hit;
  }

  get size(): number {
    let n = 0;
    for (const m of this.byPath.values()) n += m.size;
    return n;
  }
}

/**
 * Data and child watches keyed by opaque watcher values supplied by the caller (a session or
 * connection id). It never delivers anything: triggers return who gets which event.
 */
export class WatchManager<W> {
  private readonly data = new WatchTable<W>();
  private readonly child = new WatchTable<W>();

  /** A one-shot data watch (getData, exists). */
  addDataWatch(path: string, w: W): void {
    this.data.add(path, w, WatchMode.STANDARD);
  }
  /** A one-shot child watch (getChildren). */
  addChildWatch(path: string, w: W): void {
    this.child.add(path, w, WatchMode.STANDARD);
  }
  /** addWatch: a persistent (optionally recursive) watch, registered for data and children. */
  addPersistentWatch(path: string, w: W, recursive: boolean): void {
    const mode = recursive ? WatchMode.PERSISTENT_RECURSIVE : WatchMode.PERSISTENT;
    this.child.add(path, w, mode);
    this.data.add(path, w, mode);
  }

  /** Forgets every watch of a watcher (its connection closed). */
  removeWatcher(w: W): void {
    this.data.removeWatcher(w);
    this.child.removeWatcher(w);
  }

  /** Whether `w` watches `path` with the given WatcherType (Children, Data or Any). */
  containsWatch(path: string, type: number, w: W): boolean {
    switch (type) {
      case WatcherType.Children:
        return this.child.has(path, w);
      case WatcherType.Data:
        return this.data.has(path, w);
      case WatcherType.Any:
        return this.child.has(path, w) || this.data.has(path, w);
      default:
        return false;
    }
  }

  /** removeWatches: true when something was removed (false is ZooKeeper's NoWatcher). */
  removeWatch(path: string, type: number, w: W): boolean {
    switch (type) {
      case WatcherType.Children:
        return this.child.remove(path, w);
      case WatcherType.Data:
        return this.data.remove(path, w);
      case WatcherType.Any: {
        const c = this.child.remove(path, w);
        const d = this.data.remove(path, w);
        return c || d;
      }
      default:
        return false;
    }
  }

  /** Total registrations in both tables. */
  get size(): number {
    return this.data.size + this.child.size;
  }

  /** Watched paths per watcher, data and child watches together (the wchc report). */
  byWatcher(): Map<W, string[]> {
    const out = new Map<W, Set<string>>();
    for (const t of [this.data, this.child]) {
      for (const [w, ps] of t.byWatcher) {
        let set = out.get(w);
        if (set === undefined) {
          set = new Set();
          out.set(w, set);
        }
        for (const p of ps) set.add(p);
      }
    }
    return new Map([...out].map(([w, ps]) => [w, [...ps].sort()]));
  }

  /** Watchers per watched path (the wchp report). */
  byPath(): Map<string, W[]> {
    const out = new Map<string, Set<W>>();
    for (const t of [this.data, this.child]) {
      for (const [p, m] of t.byPath) {
        let set = out.get(p);
        if (set === undefined) {
          set = new Set();
          out.set(p, set);
        }
        for (const w of m.keys()) set.add(w);
      }
    }
    return new Map([...out].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([p, ws]) => [p, [...ws]]));
  }

  /** Counts for the wchs report: watchers (connections), watched paths, total watches. */
  summary(): { watchers: number; paths: number; total: number } {
    const ws = new Set<W>([...this.data.byWatcher.keys(), ...this.child.byWatcher.keys()]);
    const ps = new Set<string>([...this.data.byPath.keys(), ...this.child.byPath.keys()]);
    return { watchers: ws.size, paths: ps.size, total: this.size };
  }

  /** Paths watched per watcher (for wchc-style reports). */
  watchedPaths(w: W): { data: string[]; child: string[] } {
    return { data: [...(this.data.byWatcher.get(w) ?? [])], child: [...(this.child.byWatcher.get(w) ?? [])] };
  }

  /** @internal create: NodeCreated on the path, NodeChildrenChanged on the parent. */
  onCreate(path: string, parent: string, out: WatchNotification<W>[]): void {
    this.emit(this.data.trigger(path, EventType.NodeCreated), EventType.NodeCreated, path, out);
    const pp = displayPath(parent);
    this.emit(this.child.trigger(pp, EventType.NodeChildrenChanged), EventType.NodeChildrenChanged, pp, out);
  }

  /** @internal delete: NodeDeleted to data and child watchers of the path (once each), then the parent. */
  onDelete(path: string, parent: string, out: WatchNotification<W>[]): void {
    const fromData = this.data.trigger(path, EventType.NodeDeleted);
    this.emit(fromData, EventType.NodeDeleted, path, out);
    const fromChild = this.child.trigger(path, EventType.NodeDeleted);
    for (const w of fromData) fromChild.delete(w);
    this.emit(fromChild, EventType.NodeDeleted, path, out);
    const pp = displayPath(parent);
    this.emit(this.child.trigger(pp, EventType.NodeChildrenChanged), EventType.NodeChildrenChanged, pp, out);
  }

  /** @internal setData: NodeDataChanged. */
  onDataChanged(path: string, out: WatchNotification<W>[]): void {
    this.emit(this.data.trigger(path, EventType.NodeDataChanged), EventType.NodeDataChanged, path, out);
  }

  private emit(ws: Set<W>, type: number, path: string, out: WatchNotification<W>[]): void {
    for (const watcher of ws) out.push({ watcher, type, path });
  }
}
