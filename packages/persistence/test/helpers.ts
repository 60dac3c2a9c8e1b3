import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, type RecoveryResult, type StoreOptions, TxnSnapStore } from '../src/index.js';

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'zkts-persistence-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function payloadFor(zxid: bigint, size = 100): Uint8Array {
  const b = new Uint8Array(size);
  let x = Number(zxid & 0xffffffffn) * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

export interface Recovered {
  store: TxnSnapStore;
  result: RecoveryResult;
  txns: { zxid: bigint; payload: Uint8Array }[];
  snapshot: { zxid: bigint; chunks: Uint8Array[] } | undefined;
}

export class CapturingLogger implements Logger {
  readonly infos: string[] = [];
  readonly warnings: string[] = [];
  info(message: string): void {
    this.infos.push(message);
  }
  warn(message: string): void {
    this.warnings.push(message);
  }
}

/** Opens and recovers a store, collecting what recovery delivers. */
export async function openRecovered(options: StoreOptions): Promise<Recovered> {
  const store = await TxnSnapStore.open({ logger: new CapturingLogger(), ...options });
  const txns: Recovered['txns'] = [];
  let snapshot: Recovered['snapshot'];
  const result = await store.recover({
    async onSnapshot(zxid, chunks) {
      const list: Uint8Array[] = [];
      for await (const c of chunks) list.push(c.slice());
      snapshot = { zxid, chunks: list };
    },
    onTxn(zxid, payload) {
      txns.push({ zxid, payload });
    },
  });
  return { store, result, txns, snapshot };
}

export function zxid(epoch: number, counter: number): bigint {
  return (BigInt(epoch) << 32n) | BigInt(counter);
}

/** A small deterministic PRNG for seeded tests. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
