/**
 * Fuzz: random and mutated frames through every decoder. The only error allowed out of a decoder is
 * CodecError; whatever decodes must re-encode to bytes that decode to the same thing.
 *
 *   ZKTS_CODEC_FUZZ_FRAMES  number of frames (default 100000; the full run is 1000000)
 *   ZKTS_CODEC_FUZZ_SEED    PRNG seed (default 0x5eed); printed with any failure
 *
 *   ZKTS_CODEC_FUZZ_FRAMES=1000000 pnpm exec vitest run --project codec test/fuzz.test.ts
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  decodeConnectRequest,
  decodeConnectResponse,
  decodeRequest,
  decodeResponse,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeRequest,
  encodeResponse,
  FrameReader,
  OpCode,
  type ResponseType,
} from '../src/index.js';
import { connectRequest, connectResponse, request, response, responseByType } from './arbitraries.js';

const FRAMES = Number(process.env.ZKTS_CODEC_FUZZ_FRAMES ?? 100_000);
const SEED = Number(process.env.ZKTS_CODEC_FUZZ_SEED ?? 0x5eed);

/** mulberry32: small, fast, seeded. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const responseTypes = Object.keys(responseByType) as ResponseType[];
const opcodes = Object.values(OpCode) as number[];
const INTERESTING = [0, 1, -1, -2, 4, 8, 16, 68, 0x7fffffff, -0x80000000, 0xfffff, 0x100000, 255, 256];

function corpus(): Buffer[] {
  const session = JSON.parse(readFileSync(new URL('./fixtures/session.json', import.meta.url), 'utf8')) as {
    frames: { hex: string }[];
  };
  const seeds: Buffer[] = session.frames.map((f) => Buffer.from(f.hex, 'hex'));
  const opts = { seed: SEED, numRuns: 150 };
  for (const r of fc.sample(request, opts)) seeds.push(encodeRequest(7, r));
  for (const r of fc.sample(response, opts)) seeds.push(encodeResponse({ xid: 7, zxid: 9n, err: 0 }, r));
  for (const c of fc.sample(connectRequest, { seed: SEED, numRuns: 20 })) seeds.push(encodeConnectRequest(c));
  for (const c of fc.sample(connectResponse, { seed: SEED, numRuns: 20 }))
    seeds.push(encodeConnectResponse(c));
  return seeds;
}

function mutate(rand: () => number, seeds: Buffer[]): Buffer {
  const pick = (n: number) => Math.floor(rand() * n);
  const randomBytes = (n: number) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = pick(256);
    return b;
  };
  const base = seeds[pick(seeds.length)] as Buffer;
  switch (pick(8)) {
    case 0:
      return randomBytes(pick(48));
    case 1: {
      // A plausible header (known or unknown opcode) and a random body.
      const b = Buffer.concat([Buffer.alloc(8), randomBytes(pick(64))]);
      b.writeInt32BE(pick(100) - 10, 0);
      b.writeInt32BE(pick(10) === 0 ? pick(300) - 20 : (opcodes[pick(opcodes.length)] as number), 4);
      return b;
    }
    case 2: {
      const b = Buffer.from(base);
      for (let k = 1 + pick(4); k > 0 && b.length > 0; k--) {
        const i = pick(b.length);
        b[i] = (b[i] as number) ^ (1 << pick(8));
      }
      return b;
    }
    case 3: {
      // An interesting 32-bit value over a length or count field.
      const b = Buffer.from(base);
      if (b.length >= 4) {
        const v = pick(3) === 0 ? pick(2 ** 32) | 0 : (INTERESTING[pick(INTERESTING.length)] as number);
        b.writeInt32BE(v | 0, pick(b.length - 3));
      }
      return b;
    }
    case 4:
      return base.subarray(0, pick(base.length + 1));
    case 5:
      return Buffer.concat([base, randomBytes(1 + pick(16))]);
    case 6: {
      const other = seeds[pick(seeds.length)] as Buffer;
      return Buffer.concat([base.subarray(0, pick(base.length + 1)), other.subarray(pick(other.length + 1))]);
    }
    default: {
      const b = Buffer.from(base);
      for (let k = 1 + pick(8); k > 0 && b.length > 0; k--) b[pick(b.length)] = pick(256);
      return b;
    }
  }
}

interface Failure {
  decoder: string;
  hex: string;
  error: unknown;
}

function attempt(decoder: string, frame: Buffer, fn: () => void, failures: Failure[]): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (!(e instanceof CodecError)) failures.push({ decoder, hex: frame.toString('hex'), error: e });
    return false;
  }
}

function fuzz(count: number, seed: number): { failures: Failure[]; decoded: number; rejected: number } {
  const rand = prng(seed);
  const seeds = corpus();
  const failures: Failure[] = [];
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < count && failures.length < 5; i++) {
    const f = mutate(rand, seeds);
    const type = responseTypes[i % responseTypes.length] as ResponseType;
    const results = [
      attempt(
        'decodeRequest',
        f,
        () => {
          const d = decodeRequest(f);
          const again = encodeRequest(d.header.xid, d.request);
          const d2 = decodeRequest(again);
          if (!encodeRequest(d2.header.xid, d2.request).equals(again))
            throw new Error('request re-encoding unstable');
        },
        failures,
      ),
      attempt(
        `decodeResponse(${type})`,
        f,
        () => {
          const d = decodeResponse(f, type);
          const again = encodeResponse(d.header, d.response);
          const d2 = decodeResponse(again, type);
          if (!encodeResponse(d2.header, d2.response).equals(again))
            throw new Error('response re-encoding unstable');
        },
        failures,
      ),
    ];
    if (i % 8 === 0) {
      results.push(
        attempt(
          'decodeConnectRequest',
          f,
          () => {
            encodeConnectRequest(decodeConnectRequest(f));
          },
          failures,
        ),
        attempt(
          'decodeConnectResponse',
          f,
          () => {
            encodeConnectResponse(decodeConnectResponse(f));
          },
          failures,
        ),
      );
    }
    if (i % 16 === 0) {
      // The frame bytes as a stream: lengths are arbitrary, splits random.
      results.push(
        attempt(
          'FrameReader',
          f,
          () => {
            const reader = new FrameReader({ maxFrameSize: 64 });
            let off = 0;
            while (off < f.length) {
              const n = 1 + Math.floor(rand() * 8);
              reader.push(f.subarray(off, off + n));
              off += n;
            }
          },
          failures,
        ),
      );
    }
    for (const ok of results) {
      if (ok) decoded++;
      else rejected++;
    }
  }
  return { failures, decoded, rejected };
}

describe('fuzz', () => {
  it(
    `${FRAMES} random and mutated frames: decoders throw nothing but CodecError`,
    { timeout: 600_000 },
    () => {
      const started = performance.now();
      const { failures, decoded, rejected } = fuzz(FRAMES, SEED);
      const ms = performance.now() - started;
      if (process.env.ZKTS_CODEC_FUZZ_FRAMES !== undefined) {
        process.stdout.write(
          `fuzz: ${FRAMES} frames, seed ${SEED}, ${decoded} decodes accepted, ${rejected} rejected with CodecError, ` +
            `${failures.length} other errors, ${Math.round(ms)} ms\n`,
        );
      }
      expect(
        failures.map((f) => `${f.decoder} on ${f.hex}: ${String(f.error)} (seed ${SEED})`),
        'decoders threw something other than CodecError',
      ).toEqual([]);
      // The mutations must reach both outcomes, or the fuzzer is not exercising the decoders.
      expect(decoded).toBeGreaterThan(FRAMES / 50);
      expect(rejected).toBeGreaterThan(FRAMES / 2);
    },
  );

  it('the harness catches a decoder that throws something else', () => {
    const failures: Failure[] = [];
    attempt(
      'broken',
      Buffer.alloc(1),
      () => {
        throw new RangeError('index out of range');
      },
      failures,
    );
    attempt(
      'fine',
      Buffer.alloc(1),
      () => {
        throw new CodecError('truncated', 'short');
      },
      failures,
    );
    expect(failures.map((f) => f.decoder)).toEqual(['broken']);
  });
});
