/**
 * What ensemble members send each other on top of Zab: replicated records and learner messages.
 * Round trips for every shape, and bytes from a broken or hostile peer end in a typed error.
 */
import { CodecError, encodeQuorumFrame } from '@zkts/codec';
import type { Txn } from '@zkts/data-tree';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import {
  decodeLearnerMessage,
  decodeQuorumRecord,
  encodeLearnerMessage,
  encodeQuorumRecord,
  isEnsembleConfig,
  type LearnerMessage,
  MAX_TOUCHES_PER_MESSAGE,
  memberClientAddress,
} from '../src/ensemble.js';
import { ServerError } from '../src/errors.js';

const MAX = 1 << 20;
const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const path = fc.stringMatching(/^\/[a-z0-9]{1,12}(\/[a-z0-9]{1,8}){0,3}$/);
const data = fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null });
const acl = fc.array(
  fc.record({
    perms: fc.integer({ min: 0, max: 31 }),
    id: fc.record({ scheme: fc.constantFrom('world', 'digest', 'ip'), id: fc.string({ maxLength: 20 }) }),
  }),
  { maxLength: 3 },
);

const body: fc.Arbitrary<Txn['body']> = fc.oneof(
  fc.record({
    type: fc.constant('create' as const),
    path,
    data,
    acl,
    ephemeral: fc.boolean(),
    parentCVersion: int32,
  }),
  fc.record({ type: fc.constant('setData' as const), path, data, version: int32 }),
  fc.record({ type: fc.constant('delete' as const), path }),
  fc.record({ type: fc.constant('createSession' as const), timeout: fc.integer({ min: 1, max: 1 << 30 }) }),
  fc.record({ type: fc.constant('closeSession' as const), paths2Delete: fc.array(path, { maxLength: 4 }) }),
  fc.record({ type: fc.constant('error' as const), err: fc.integer({ min: -130, max: -1 }) }),
);

const learnerMessage: fc.Arbitrary<LearnerMessage> = fc.oneof(
  fc.record({
    k: fc.constant('request' as const),
    sessionId: int64,
    cxid: int32,
    authIds: fc.array(fc.record({ scheme: fc.string({ maxLength: 8 }), id: fc.string({ maxLength: 30 }) }), {
      maxLength: 3,
    }),
    frame: fc.uint8Array({ minLength: 8, maxLength: 200 }),
  }),
  fc.record({
    k: fc.constant('createSession' as const),
    sessionId: int64,
    timeout: fc.integer({ min: 1, max: 1 << 30 }),
  }),
  fc.constant({ k: 'sync' as const }),
  fc.record({ k: fc.constant('touch' as const), sessions: fc.array(int64, { maxLength: 50 }) }),
);

describe('replicated records', () => {
  it('round-trip origin, time and txn', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        int64,
        int64,
        int32,
        body,
        (origin, time, sessionId, cxid, b) => {
          const record = { origin, time, txn: { sessionId, cxid, body: b } };
          expect(decodeQuorumRecord(encodeQuorumRecord(record))).toEqual(record);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuse bytes that are not a record with ServerError (storage)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          decodeQuorumRecord(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(ServerError);
          expect((e as ServerError).kind).toBe('storage');
        }
      }),
      { numRuns: 2000 },
    );
    expect(() => decodeQuorumRecord(new Uint8Array(5))).toThrow(/too short/);
  });
});

describe('learner messages', () => {
  it('round-trip every kind', () => {
    fc.assert(
      fc.property(learnerMessage, (m) => {
        expect(decodeLearnerMessage(encodeLearnerMessage(m, MAX), MAX)).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });

  it('refuse random and mutated bytes with CodecError only', () => {
    fc.assert(
      fc.property(
        learnerMessage,
        fc.uint8Array({ maxLength: 60 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (m, noise, at, byte) => {
          const good = encodeLearnerMessage(m, MAX);
          const mutated = good.slice();
          mutated[4 + (at % Math.max(1, good.length - 4))] = byte;
          for (const bytes of [noise, mutated, good.subarray(0, good.length - 1)]) {
            try {
              decodeLearnerMessage(bytes, MAX);
            } catch (e) {
              expect(e).toBeInstanceOf(CodecError);
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuse well-formed frames of the wrong shape, naming what is wrong', () => {
    const bad = (v: unknown) => () => decodeLearnerMessage(encodeQuorumFrame(v, { maxFrameSize: MAX }), MAX);
    expect(bad({ k: 'r', s: 1n, c: 1, a: [], f: new Uint8Array(8) })).toThrow(/kind r/);
    expect(bad({ k: 'n', s: 1n, t: 0 })).toThrow(/timeout/);
    expect(bad({ k: 't', s: new Array(MAX_TOUCHES_PER_MESSAGE + 1).fill(1) })).toThrow(/touches/);
    expect(bad({ k: 'x' })).toThrow(/kind x/);
    expect(bad([1, 2, 3])).toThrow(CodecError);
  });

  it('refuse a compact forwarded request that is cut short or not UTF-8', () => {
    const good = encodeLearnerMessage(
      {
        k: 'request',
        sessionId: 5n,
        cxid: 7,
        authIds: [{ scheme: 'digest', id: 'u:p' }],
        frame: new Uint8Array(8),
      },
      MAX,
    );
    expect(() => decodeLearnerMessage(good.subarray(0, 10), MAX)).toThrow(/truncated header/);
    expect(() => decodeLearnerMessage(good.subarray(0, 20), MAX)).toThrow(/truncated auth id/);
    const notUtf8 = good.slice();
    notUtf8[17] = 0xff;
    expect(() => decodeLearnerMessage(notUtf8, MAX)).toThrow(/not UTF-8/);
    expect(() => decodeLearnerMessage(good, 16)).toThrow(CodecError);
  });

  it('refuse a frame over the bound before decoding it', () => {
    const m: LearnerMessage = { k: 'touch', sessions: [1n, 2n, 3n] };
    expect(() => decodeLearnerMessage(encodeLearnerMessage(m, MAX), 8)).toThrow(CodecError);
    expect(() => encodeLearnerMessage(m, 8)).toThrow(CodecError);
  });
});

describe('ensemble configuration', () => {
  const cfg = (lines: string[]) => parseConfig(['dataDir=/tmp/zkts-x', ...lines].join('\n')).config;

  it('is an ensemble with two or more server lines, or one with standaloneEnabled=false', () => {
    expect(isEnsembleConfig(cfg([]))).toBe(false);
    expect(isEnsembleConfig(cfg(['server.1=127.0.0.1:2888:3888']))).toBe(false);
    expect(isEnsembleConfig(cfg(['server.1=127.0.0.1:2888:3888', 'standaloneEnabled=false']))).toBe(true);
    expect(isEnsembleConfig(cfg(['server.1=127.0.0.1:2888:3888', 'server.2=127.0.0.1:2889:3889']))).toBe(
      true,
    );
  });

  it('takes the client address from the member line, and refuses a conflicting clientPort', () => {
    const lines = ['server.1=127.0.0.1:2888:3888;127.0.0.2:2191', 'server.2=127.0.0.1:2889:3889'];
    expect(memberClientAddress(cfg(lines), 1)).toEqual({ address: '127.0.0.2', port: 2191 });
    expect(memberClientAddress(cfg(['clientPort=2200', ...lines]), 2)).toEqual({
      address: '0.0.0.0',
      port: 2200,
    });
    expect(() => memberClientAddress(cfg(['clientPort=2200', ...lines]), 1)).toThrow(ServerError);
    expect(() => memberClientAddress(cfg(lines), 3)).toThrow(/no server.3 line/);
  });
});
