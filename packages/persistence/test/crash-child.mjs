// Child process of crash.test.ts: appends under load until it is killed, printing one line per
// append whose promise resolved. Usage: node crash-child.mjs <libDir> <dataDir> <seed>
import { pathToFileURL } from 'node:url';

const [libDir, dataDir, seedText] = process.argv.slice(2);
const { TxnSnapStore } = await import(pathToFileURL(`${libDir}/index.js`).href);

let state = Number(seedText) >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Same bytes as payloadFor() in helpers.ts. */
function payloadFor(zxid, size) {
  const b = new Uint8Array(size);
  let x = Number(zxid & 0xffffffffn) * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const sizeOf = (zxid) => 1 + (Number(zxid % 997n) % 400);

const store = await TxnSnapStore.open({
  dataDir,
  maxBatchBytes: 16 * 1024,
  rollTxns: 50 + Math.floor(random() * 400),
  preallocateBytes: random() < 0.5 ? 0 : 64 * 1024,
  snapCount: 200,
  random,
  logger: { info() {}, warn() {} },
});
const { lastZxid } = await store.recover({
  async onSnapshot(_zxid, chunks) {
    for await (const _ of chunks) {
      // drain
    }
  },
});
store.onSnapshotDue((zxid) => {
  const chunks = Array.from({ length: 500 }, (_, i) => payloadFor(zxid + BigInt(i), 150));
  store.writeSnapshot(zxid, chunks).catch(() => {});
});
process.stdout.write(`READY ${lastZxid.toString(16)}\n`);

let next = lastZxid + 1n;
const appenders = 1 + Math.floor(random() * 64);
async function appender() {
  for (;;) {
    const zxid = next++;
    await store.append(zxid, payloadFor(zxid, sizeOf(zxid)));
    process.stdout.write(`A ${zxid.toString(16)}\n`);
  }
}
for (let i = 0; i < appenders; i++) {
  appender().catch((err) => {
    process.stderr.write(`append failed: ${err}\n`);
    process.exit(3);
  });
}
