import { readFileSync } from 'node:fs';
import { AddWatchMode, CreateMode } from '@zkts/codec';
import { describe, expect, it, vi } from 'vitest';
import { DataTree, decodeTxn, encodeTxn, OPEN_ACL_UNSAFE } from '../src/index.js';

describe('README', () => {
  it('runs its example and prints what it says', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    // The example is TypeScript only in its imports and two annotations, stripped here.
    const body = code!
      .replace(/^import .*$/gm, '')
      .replace(': Parameters<typeof tree.prep>[0]', '')
      .replace('new DataTree<string>()', 'new DataTree()');
    const logs: unknown[][] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
      logs.push(a);
    });
    try {
      const fn = new Function(
        'AddWatchMode',
        'CreateMode',
        'DataTree',
        'decodeTxn',
        'encodeTxn',
        'OPEN_ACL_UNSAFE',
        body,
      );
      fn(AddWatchMode, CreateMode, DataTree, decodeTxn, encodeTxn, OPEN_ACL_UNSAFE);
    } finally {
      spy.mockRestore();
    }
    expect(logs[0]).toEqual(['/app/job-0000000000']);
    expect(logs[1]).toEqual([[{ watcher: 'conn-1', type: 1, path: '/app/job-0000000000' }]]);
    expect(logs[2]).toEqual([-103]);
    expect(logs[3]?.slice(0, 2)).toEqual([1, 1]);
  });
});
