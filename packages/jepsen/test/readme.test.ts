import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { checkHistory, HistoryRecorder } from '../src/index.js';

describe('README', () => {
  it('runs its first example and prints what it says', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const body = code!.replace(/^import .*$/gm, '');
    const logs: unknown[][] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
      logs.push(a);
    });
    try {
      new Function('checkHistory', 'HistoryRecorder', body)(checkHistory, HistoryRecorder);
    } finally {
      spy.mockRestore();
    }
    expect(logs).toEqual([[false], [true]]);
  });
});
