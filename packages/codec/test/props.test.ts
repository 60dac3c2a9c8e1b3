/** Round-trip properties for every record: decode(encode(x)) = x, and framing survives any split. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  decodeConnectRequest,
  decodeConnectResponse,
  decodeReplyHeader,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeRequest,
  encodeRequestFrame,
  encodeResponse,
  encodeResponseFrame,
  FrameReader,
  frame,
  OpCode,
  Reader,
  readACL,
  readClientInfo,
  readStat,
  readWatcherEvent,
  Writer,
  writeACL,
  writeClientInfo,
  writeRequestFrame,
  writeResponseFrame,
  writeStat,
  writeWatcherEvent,
} from '../src/index.js';
import {
  acl,
  bytes,
  clientInfo,
  connectRequest,
  connectResponse,
  int32,
  int64,
  request,
  requestByType,
  response,
  responseByType,
  stat,
  str,
  watcherEvent,
} from './arbitraries.js';

const RUNS = 300;

function roundTrip<T>(arb: fc.Arbitrary<T>, write: (w: Writer, v: T) => void, read: (r: Reader) => T): void {
  fc.assert(
    fc.property(arb, (v) => {
      const w = new Writer(8);
      write(w, v);
      const r = new Reader(w.finish());
      expect(read(r)).toEqual(v);
      expect(r.remaining).toBe(0);
    }),
    { numRuns: RUNS },
  );
}

describe('records round-trip', () => {
  it('Stat', () => roundTrip(stat, writeStat, readStat));
  it('ACL / Id', () => roundTrip(acl, writeACL, readACL));
  it('ClientInfo', () => roundTrip(clientInfo, writeClientInfo, readClientInfo));
  it('WatcherEvent', () => roundTrip(watcherEvent, writeWatcherEvent, readWatcherEvent));
  it('primitives', () => {
    fc.assert(
      fc.property(
        int32,
        int64,
        fc.boolean(),
        fc.option(str, { nil: null }),
        fc.option(bytes, { nil: null }),
        (i, l, b, s, buf) => {
          const w = new Writer(1).int(i).long(l).bool(b).ustring(s).buffer(buf);
          const r = new Reader(w.view());
          expect([r.int(), r.long(), r.bool(), r.ustring(), r.buffer()]).toEqual([i, l, b, s, buf]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('ConnectRequest and ConnectResponse, with and without the readOnly byte', () => {
    fc.assert(
      fc.property(connectRequest, (c) => {
        expect(decodeConnectRequest(encodeConnectRequest(c))).toEqual(c);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(connectResponse, (c) => {
        expect(decodeConnectResponse(encodeConnectResponse(c))).toEqual(c);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('requests round-trip', () => {
  for (const [type, arb] of Object.entries(requestByType)) {
    it(type, () => {
      fc.assert(
        fc.property(int32, arb, fc.nat(), (xid, req, cutSeed) => {
          const bytes = encodeRequest(xid, req);
          const decoded = decodeRequest(bytes);
          expect(decoded.header).toEqual({ xid, type: OpCode[req.type] });
          expect(decoded.request).toEqual(req);
          expect(decodeRequestHeader(bytes)).toEqual(decoded.header);
          expect(encodeRequest(xid, decoded.request).equals(bytes)).toBe(true);
          const framed = encodeRequestFrame(xid, req);
          expect(framed.equals(frame(bytes))).toBe(true);
          // Every strict prefix is refused (only deleteContainer's body is "the rest").
          if (req.type !== 'deleteContainer') {
            const cut = cutSeed % bytes.length;
            expect(() => decodeRequest(bytes.subarray(0, cut))).toThrow(CodecError);
          }
        }),
        { numRuns: RUNS },
      );
    });
  }
});

describe('responses round-trip', () => {
  for (const [type, arb] of Object.entries(responseByType)) {
    it(type, () => {
      fc.assert(
        fc.property(int32, int64, arb, fc.nat(), (xid, zxid, res, cutSeed) => {
          const header = { xid, zxid, err: 0 };
          const bytes = encodeResponse(header, res);
          const decoded = decodeResponse(bytes, res.type);
          expect(decoded).toEqual({ header, response: res });
          expect(decodeReplyHeader(bytes)).toEqual(header);
          expect(encodeResponse(decoded.header, decoded.response).equals(bytes)).toBe(true);
          expect(encodeResponseFrame(header, res).equals(frame(bytes))).toBe(true);
          // Every strict prefix is refused.
          const cut = cutSeed % bytes.length;
          expect(() => decodeResponse(bytes.subarray(0, cut), res.type)).toThrow(CodecError);
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('an error reply carries no body', () => {
    fc.assert(
      fc.property(
        int32,
        int64,
        int32.filter((e) => e !== 0),
        fc.constantFrom(...Object.keys(responseByType)),
        (xid, zxid, err, type) => {
          const header = { xid, zxid, err };
          const bytes = encodeResponse(header, null);
          expect(bytes.length).toBe(16);
          expect(decodeResponse(bytes, type as keyof typeof responseByType)).toEqual({
            header,
            response: null,
          });
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('batched frames', () => {
  it('writeRequestFrame / writeResponseFrame append what the encode*Frame functions return', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(int32, request, response), { maxLength: 5 }), (items) => {
        const w = new Writer(8);
        for (const [xid, req] of items) writeRequestFrame(w, xid, req);
        expect(
          w.finish().equals(Buffer.concat(items.map(([xid, req]) => encodeRequestFrame(xid, req)))),
        ).toBe(true);
        w.reset();
        for (const [xid, , res] of items) writeResponseFrame(w, { xid, zxid: 1n, err: 0 }, res);
        const expected = Buffer.concat(
          items.map(([xid, , res]) => encodeResponseFrame({ xid, zxid: 1n, err: 0 }, res)),
        );
        expect(w.view().equals(expected)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('FrameReader', () => {
  it('yields the same frames whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (bodies, cuts) => {
          const stream = Buffer.concat(bodies.map((b) => frame(b)));
          const reader = new FrameReader({ maxFrameSize: 300 });
          const out: Buffer[] = [];
          let off = 0;
          let i = 0;
          while (off < stream.length) {
            const n = cuts[i++ % cuts.length] as number;
            out.push(...reader.push(stream.subarray(off, off + n)));
            off += n;
          }
          expect(out.map((b) => b.toString('hex'))).toEqual(
            bodies.map((b) => Buffer.from(b).toString('hex')),
          );
          expect(reader.buffered).toBe(0);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('refuses any length above the maximum or below zero, whatever the split', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1 << 20 }),
        fc.oneof(fc.integer({ min: -(2 ** 31), max: -1 }), fc.integer({ min: 1, max: 2 ** 31 - 1 })),
        fc.integer({ min: 1, max: 4 }),
        (max, delta, split) => {
          const len = delta < 0 ? delta : Math.min(2 ** 31 - 1, max + delta);
          const prefix = Buffer.alloc(4);
          prefix.writeInt32BE(len, 0);
          const reader = new FrameReader({ maxFrameSize: max });
          const err = (() => {
            try {
              reader.push(prefix.subarray(0, split));
              reader.push(prefix.subarray(split));
              return undefined;
            } catch (e) {
              return e;
            }
          })();
          expect(err).toBeInstanceOf(CodecError);
          expect((err as CodecError).kind).toBe(len < 0 ? 'bad-length' : 'frame-too-large');
          expect(reader.buffered).toBeLessThanOrEqual(4);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('defaults to jute.maxbuffer (0xfffff)', () => {
    const reader = new FrameReader();
    expect(reader.maxFrameSize).toBe(0xfffff);
    const ok = Buffer.alloc(4);
    ok.writeInt32BE(0xfffff, 0);
    expect(reader.push(ok)).toEqual([]);
    const tooBig = Buffer.alloc(4);
    tooBig.writeInt32BE(0x100000, 0);
    expect(() => new FrameReader().push(tooBig)).toThrow(
      expect.objectContaining({ kind: 'frame-too-large' }),
    );
  });
});
