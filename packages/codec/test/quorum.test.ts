import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  DEFAULT_MAX_QUORUM_FRAME,
  decodeQuorumFrame,
  encodeQuorumFrame,
  QUORUM_FRAME_HEADER,
  QUORUM_PROTOCOL_VERSION,
  QuorumFrameDecoder,
} from '../src/index.js';

const notification = {
  t: 'n',
  leader: 3,
  zxid: 0x100000002n,
  electionEpoch: 1n,
  peerEpoch: -(2n ** 63n),
  state: 'LOOKING',
  version: 1,
};

function kindOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof CodecError) return e.kind;
    throw e;
  }
  return undefined;
}

describe('quorum framing', () => {
  it('frames a message with a big-endian length and the protocol version', () => {
    const frame = encodeQuorumFrame(notification);
    const length = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
    expect(length).toBe(frame.length - QUORUM_FRAME_HEADER);
    expect(frame[QUORUM_FRAME_HEADER]).toBe(QUORUM_PROTOCOL_VERSION);
    expect(decodeQuorumFrame(frame)).toEqual(notification);
  });

  it('round-trips arbitrary records, 64-bit integers included', () => {
    const value = fc.record({
      t: fc.constantFrom('n', 'hello', 'ping'),
      sid: fc.integer({ min: 0, max: 2 ** 31 }),
      zxid: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      state: fc.constantFrom('LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING'),
      data: fc.uint8Array({ maxLength: 64 }),
      list: fc.array(fc.string(), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 17 }),
        (msgs, step) => {
          const bytes = Buffer.concat(msgs.map((m) => encodeQuorumFrame(m)));
          const dec = new QuorumFrameDecoder();
          const got: unknown[] = [];
          for (let i = 0; i < bytes.length; i += step) got.push(...dec.push(bytes.subarray(i, i + step)));
          expect(got.length).toBe(msgs.length);
          got.forEach((g, i) => {
            const m = msgs[i]!;
            expect(g).toMatchObject({ t: m.t, sid: m.sid, zxid: m.zxid, state: m.state, list: m.list });
            expect(Buffer.from((g as { data: Uint8Array }).data)).toEqual(Buffer.from(m.data));
          });
          expect(dec.buffered).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses frames over the maximum on both sides', () => {
    expect(kindOf(() => encodeQuorumFrame({ s: 'x'.repeat(100) }, { maxFrameSize: 50 }))).toBe(
      'frame-too-large',
    );
    const big = encodeQuorumFrame({ s: 'x'.repeat(100) });
    expect(kindOf(() => new QuorumFrameDecoder({ maxFrameSize: 50 }).push(big.subarray(0, 4)))).toBe(
      'frame-too-large',
    );
    const huge = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
    expect(kindOf(() => new QuorumFrameDecoder().push(huge))).toBe('frame-too-large');
    expect(DEFAULT_MAX_QUORUM_FRAME).toBe(1024 * 1024);
  });

  it('refuses another protocol version', () => {
    const frame = encodeQuorumFrame(notification);
    frame[QUORUM_FRAME_HEADER] = 9;
    expect(kindOf(() => decodeQuorumFrame(frame))).toBe('unsupported-version');
    expect(kindOf(() => new QuorumFrameDecoder().push(frame))).toBe('unsupported-version');
  });

  it('refuses empty, truncated, trailing and malformed frames', () => {
    expect(kindOf(() => new QuorumFrameDecoder().push(new Uint8Array([0, 0, 0, 0])))).toBe('bad-length');
    const frame = encodeQuorumFrame(notification);
    expect(kindOf(() => decodeQuorumFrame(frame.subarray(0, 2)))).toBe('truncated');
    expect(kindOf(() => decodeQuorumFrame(frame.subarray(0, frame.length - 1)))).toBe('truncated');
    expect(kindOf(() => decodeQuorumFrame(Buffer.concat([frame, Buffer.from([1])])))).toBe('bad-length');
    expect(kindOf(() => decodeQuorumFrame(new Uint8Array([0, 0, 0, 1, 1])))).toBe('truncated');
    // a fixarray of two elements with one present
    expect(kindOf(() => decodeQuorumFrame(new Uint8Array([0, 0, 0, 3, 1, 0x92, 0x01])))).toBe('bad-value');
    // two values in one frame
    expect(kindOf(() => decodeQuorumFrame(new Uint8Array([0, 0, 0, 3, 1, 0x01, 0x02])))).toBe('bad-value');
    // the reserved byte 0xc1
    expect(kindOf(() => decodeQuorumFrame(new Uint8Array([0, 0, 0, 2, 1, 0xc1])))).toBe('bad-value');
  });

  it('stays failed after an error and holds back a partial frame', () => {
    const dec = new QuorumFrameDecoder();
    const frame = encodeQuorumFrame(notification);
    expect(dec.push(frame.subarray(0, 7))).toEqual([]);
    expect(dec.buffered).toBe(7);
    expect(dec.push(frame.subarray(7))).toEqual([notification]);
    expect(kindOf(() => dec.push(new Uint8Array([0, 0, 0, 0])))).toBe('bad-length');
    expect(kindOf(() => dec.push(frame))).toBe('bad-length');
  });

  it('never throws anything but CodecError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const dec = new QuorumFrameDecoder({ maxFrameSize: 1024 });
        try {
          dec.push(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
        try {
          decodeQuorumFrame(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
