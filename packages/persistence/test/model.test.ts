import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, PersistenceError, type StoreOptions, type TxnSnapStore } from '../src/index.js';
import { openRecovered, payloadFor } from './helpers.js';

const DIR = '/d';

type Op =
  | { op: 'append'; count: number }
  | { op: 'snapshot' }
  | { op: 'truncate'; back: number }
  | { op: 'purge' }
  | { op: 'restart' }
  | { op: 'crash' }
  | { op: 'read'; back: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('append' as const), count: fc.integer({ min: 1, max: 30 }) }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('snapshot' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 40 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('purge' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('restart' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('crash' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('read' as const), back: fc.integer({ min: 0, max: 60 }) }),
  },
);

/** A snapshot's content in this test: the zxids it covers, 8 bytes each. */
function encodeZxids(zxids: bigint[]): Uint8Array {
  const b = new Uint8Array(zxids.length * 8);
  const v = new DataView(b.buffer);
  for (const [i, z] of zxids.entries()) v.setBigUint64(i * 8, z);
  return b;
}

describe('the store against a model', () => {
  it('recovers, reads and truncates exactly as a list of txns would', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 2, max: 40 }),
        fc.constantFrom(0, 256, 4096),
        async (ops, rollTxns, prealloc) => {
          let fs = new MemoryFileSystem([DIR]);
          const options = (): StoreOptions => ({
            dataDir: DIR,
            fs,
            rollTxns,
            snapRetainCount: 3,
            preallocateBytes: prealloc,
          });
          let store: TxnSnapStore = (await openRecovered(options())).store;
          let model: bigint[] = [];
          let next = 1n;
          const reopen = async (): Promise<void> => {
            const r = await openRecovered(options());
            store = r.store;
            const base = r.snapshot === undefined ? [] : decode(r.snapshot.chunks);
            expect([...base, ...r.txns.map((t) => t.zxid)]).toEqual(model);
            for (const t of r.txns) expect(t.payload).toEqual(payloadFor(t.zxid, 20));
          };
          for (const op of ops) {
            switch (op.op) {
              case 'append': {
                const zs = Array.from({ length: op.count }, () => next++);
                await Promise.all(zs.map((z) => store.append(z, payloadFor(z, 20))));
                model.push(...zs);
                break;
              }
              case 'snapshot': {
                const at = model[model.length - 1] ?? 0n;
                await store.writeSnapshot(at, [encodeZxids(model.slice(0, 3)), encodeZxids(model.slice(3))]);
                break;
              }
              case 'truncate': {
                const keep = Math.max(0, model.length - op.back);
                const z = keep === 0 ? 0n : model[keep - 1]!;
                try {
                  await store.truncate(z);
                  model = model.filter((m) => m <= z);
                  next = z + 1n;
                } catch (err) {
                  expect(err).toBeInstanceOf(PersistenceError);
                  expect((err as PersistenceError).kind).toBe('unavailable');
                }
                break;
              }
              case 'purge':
                await store.purge();
                break;
              case 'restart':
                await store.close();
                await reopen();
                break;
              case 'crash':
                fs = fs.crash();
                await reopen();
                break;
              case 'read': {
                const from = BigInt(Math.max(1, Number(next) - op.back));
                const expected = model.filter((m) => m >= from);
                try {
                  const got: bigint[] = [];
                  for await (const t of store.readFrom(from)) got.push(t.zxid);
                  expect(got).toEqual(expected);
                } catch (err) {
                  expect((err as PersistenceError).kind).toBe('unavailable');
                  const first = store.firstLogZxid;
                  expect(first === undefined || from < first).toBe(true);
                }
                break;
              }
            }
          }
          await store.close();
          await reopen();
          await store.close();
        },
      ),
      { numRuns: 120 },
    );
  });
});

function decode(chunks: Uint8Array[]): bigint[] {
  const out: bigint[] = [];
  for (const c of chunks) {
    const v = new DataView(c.buffer, c.byteOffset, c.byteLength);
    for (let i = 0; i < c.length; i += 8) out.push(v.getBigUint64(i));
  }
  return out;
}
