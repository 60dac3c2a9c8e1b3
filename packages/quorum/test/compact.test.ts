/**
 * The compact frames of the messages sent once per write: they read back as the same messages
 * (through the same validation as msgpack frames), and bad bytes end in CodecError.
 */
import { CodecError, frameQuorumBody, QuorumFrameDecoder } from '@zkts/codec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMPACT_FRAME, decodeCompact, encodeCompact, type QuorumWireMessage, toWire } from '../src/index.js';

const zxid = fc.bigInt({ min: 0n, max: (1n << 63n) - 1n });
const bytes = fc.uint8Array({ maxLength: 300 });
const id = fc.integer({ min: 0, max: 0xffffffff });
const hot: fc.Arbitrary<QuorumWireMessage> = fc.oneof(
  fc.record({
    t: fc.constant('zab' as const),
    m: fc.record({ type: fc.constant('PROPOSAL' as const), zxid, data: bytes }),
  }),
  fc.record({
    t: fc.constant('zab' as const),
    m: fc.record({ type: fc.constantFrom('ACK' as const, 'COMMIT' as const), zxid }),
  }),
  fc.record({ t: fc.constant('req' as const), id, data: bytes }),
  fc.record({ t: fc.constant('rep' as const), id, zxid }),
  fc.record({ t: fc.constant('app' as const), data: bytes }),
);

describe('compact quorum frames', () => {
  it('round-trip every hot message through a frame decoder, split anywhere', () => {
    fc.assert(
      fc.property(fc.array(hot, { minLength: 1, maxLength: 5 }), fc.nat(), (msgs, cut) => {
        const frames = msgs.map((m) => frameQuorumBody(encodeCompact(m) as Uint8Array));
        const all = Buffer.concat(frames);
        const at = cut % (all.length + 1);
        const decoder = new QuorumFrameDecoder({ decodeOther: decodeCompact });
        const out = [...decoder.push(all.subarray(0, at)), ...decoder.push(all.subarray(at))];
        expect(out.map(toWire)).toEqual(msgs);
      }),
      { numRuns: 500 },
    );
  });

  it('leave the other messages to msgpack', () => {
    expect(encodeCompact({ t: 'hello', protocol: 2, sid: 1 })).toBeUndefined();
    expect(encodeCompact({ t: 'zab', m: { type: 'PING', zxid: 1n } })).toBeUndefined();
    expect(encodeCompact({ t: 'rep', id: 1, error: 'overloaded', message: 'busy' })).toBeUndefined();
  });

  it('refuse malformed compact bodies with CodecError only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (tail) => {
        const body = new Uint8Array([COMPACT_FRAME, ...tail]);
        try {
          decodeCompact(body);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 3000 },
    );
    expect(() => decodeCompact(new Uint8Array([COMPACT_FRAME, 2, 0, 0]))).toThrow(/wrong length|truncated/);
    expect(() => decodeCompact(new Uint8Array([COMPACT_FRAME, 9]))).toThrow(/kind 9/);
    const decoder = new QuorumFrameDecoder({ decodeOther: decodeCompact });
    expect(() => decoder.push(frameQuorumBody(new Uint8Array([7, 7, 7])))).toThrow(CodecError);
  });

  it('copy payloads out of the chunk they arrived in', () => {
    const frame = frameQuorumBody(
      encodeCompact({ t: 'req', id: 3, data: new Uint8Array([1, 2, 3]) }) as Uint8Array,
    );
    const [m] = new QuorumFrameDecoder({ decodeOther: decodeCompact }).push(frame) as QuorumWireMessage[];
    expect(m?.t === 'req' && m.data.buffer !== frame.buffer).toBe(true);
  });
});
