import { ErrorCode } from '@zkts/codec';
import { describe, expect, it } from 'vitest';
import { Harness } from './harness.js';

describe('smoke', () => {
  it('creates and reads', () => {
    const h = new Harness();
    const r = h.create('/a', 'x');
    expect(r.err).toBe(0);
    expect(h.stat('/a').dataLength).toBe(1);
    expect(h.create('/a').err).toBe(ErrorCode.NodeExists);
    expect(h.stat('/').cversion).toBe(0);
  });
});
