import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crcBytes, crcLatin1 } from '../src/crc32.js';

const finish = (state: number) => ~state >>> 0;

describe('CRC-32 of the tree digest', () => {
  it('agrees with zlib over bytes and over latin1 strings, split anywhere', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (bytes, cut) => {
        const at = Math.min(cut, bytes.length);
        const expected = crc32(bytes);
        expect(finish(crcBytes(crcBytes(~0, bytes.subarray(0, at)), bytes.subarray(at)))).toBe(expected);
        const text = Buffer.from(bytes).toString('latin1');
        expect(finish(crcLatin1(crcLatin1(~0, text.slice(0, at)), text.slice(at)))).toBe(expected);
        expect(finish(crcLatin1(crcBytes(~0, bytes.subarray(0, at)), text.slice(at)))).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('gives the known check value', () => {
    expect(finish(crcBytes(~0, new TextEncoder().encode('123456789')))).toBe(0xcbf43926);
    expect(finish(crcLatin1(~0, ''))).toBe(0);
  });
});
