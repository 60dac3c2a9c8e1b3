import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NamedTimers } from '../src/index.js';

describe('NamedTimers', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires a timer once, after its delay, and forgets it', () => {
    const timers = new NamedTimers<'a'>();
    const fired: string[] = [];
    timers.set('a', 100, () => fired.push('a'));
    expect(timers.has('a')).toBe(true);
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['a']);
    expect(timers.has('a')).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual(['a']);
  });

  it('setting a name again replaces its running timer', () => {
    const timers = new NamedTimers<string>();
    const fired: string[] = [];
    timers.set('a', 100, () => fired.push('first'));
    vi.advanceTimersByTime(60);
    timers.set('a', 100, () => fired.push('second'));
    vi.advanceTimersByTime(60);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(40);
    expect(fired).toEqual(['second']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps timers of different names apart', () => {
    const timers = new NamedTimers<'a' | 'b'>();
    const fired: string[] = [];
    timers.set('a', 50, () => fired.push('a'));
    timers.set('b', 20, () => fired.push('b'));
    timers.cancel('b');
    vi.advanceTimersByTime(100);
    expect(fired).toEqual(['a']);
  });

  it('cancel stops one timer and ignores names that are not running', () => {
    const timers = new NamedTimers<string>();
    const fired: string[] = [];
    timers.cancel('none');
    timers.set('a', 10, () => fired.push('a'));
    timers.cancel('a');
    expect(timers.has('a')).toBe(false);
    vi.advanceTimersByTime(100);
    expect(fired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clear cancels every timer', () => {
    const timers = new NamedTimers<number>();
    const fired: number[] = [];
    for (const n of [1, 2, 3]) timers.set(n, n * 10, () => fired.push(n));
    timers.clear();
    vi.advanceTimersByTime(100);
    expect(fired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a callback may set its own name again', () => {
    const timers = new NamedTimers<'tick'>();
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      if (ticks < 3) timers.set('tick', 10, tick);
    };
    timers.set('tick', 10, tick);
    vi.advanceTimersByTime(100);
    expect(ticks).toBe(3);
    expect(timers.has('tick')).toBe(false);
  });
});
