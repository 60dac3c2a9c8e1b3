/**
 * Timers by name, for the adapters that carry out a state machine's `setTimer` and `cancelTimer`
 * outputs with real timers. Setting a name replaces that name's running timer; a timer that fires
 * forgets its name before its callback runs, so the callback may set the same name again.
 */
export class NamedTimers<K> {
  private readonly timers = new Map<K, NodeJS.Timeout>();

  /** Calls `fn` once after `ms` milliseconds; cancels the running timer of the same name, if any. */
  set(name: K, ms: number, fn: () => void): void {
    this.cancel(name);
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        fn();
      }, ms),
    );
  }

  /** Cancels the timer of that name; nothing happens when none is running. */
  cancel(name: K): void {
    const timer = this.timers.get(name);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.timers.delete(name);
  }

  /** Whether a timer of that name is running (set, and neither fired nor cancelled). */
  has(name: K): boolean {
    return this.timers.has(name);
  }

  /** Cancels every running timer. */
  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
