import { describe, expect, it } from 'vitest';
import { DiskWrites } from '../src/disk.js';
import type { ZabOutput } from '../src/index.js';

describe('DiskWrites', () => {
  it('numbers writes from 1 and outputs them in order', () => {
    const writes = new DiskWrites<string, string>();
    const out: ZabOutput<string, string>[] = [];
    expect(writes.write({ op: 'acceptedEpoch', epoch: 1n }, out)).toBe(1);
    expect(writes.write({ op: 'truncate', zxid: 0n }, out)).toBe(2);
    expect(out).toEqual([
      { type: 'disk', seq: 1, write: { op: 'acceptedEpoch', epoch: 1n } },
      { type: 'disk', seq: 2, write: { op: 'truncate', zxid: 0n } },
    ]);
  });

  it('reports the highest tracked zxid a diskDone covers, once', () => {
    const writes = new DiskWrites<string, string>();
    const out: ZabOutput<string, string>[] = [];
    writes.write({ op: 'currentEpoch', epoch: 1n }, out);
    writes.track(writes.write({ op: 'append', txns: [{ zxid: 11n, data: 'a' }] }, out), 11n);
    writes.track(writes.write({ op: 'append', txns: [{ zxid: 12n, data: 'b' }] }, out), 12n);
    writes.track(writes.write({ op: 'append', txns: [{ zxid: 13n, data: 'c' }] }, out), 13n);
    expect(writes.durableUpTo(1)).toBeUndefined();
    expect(writes.durableUpTo(3)).toBe(12n);
    expect(writes.durableUpTo(3)).toBeUndefined();
    expect(writes.durableUpTo(9)).toBe(13n);
  });
});
