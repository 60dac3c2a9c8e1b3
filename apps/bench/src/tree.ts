/**
 * Data tree: memory per znode and txns applied per second, on one core.
 *
 *   pnpm --filter @zkts/bench run bench tree [--nodes 1000000] [--size 100] [--ops 300000] [--java]
 *
 * Builds a tree of `--nodes` znodes with `--size` bytes of data each (1000 children per parent), by
 * applying create txns, then reports heap, typed-array and RSS bytes per znode after a full GC, and
 * the rates of applying setData and create txns, of prep + apply, and of serializing and loading
 * a snapshot of the whole tree. With `--java`, also builds the
 * same tree in Apache ZooKeeper's own DataTree (packages/testkit/java/TreeMemory.java) and reports
 * its heap bytes per znode.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DataTree, loadSnapshot, OPEN_ACL_UNSAFE, snapshotTree, type Txn } from '@zkts/data-tree';
import { APACHE_ZK_CONF_DIR, APACHE_ZK_JAR, assertApacheZooKeeperInstalled } from '@zkts/testkit';

const TREE_MEMORY_JAVA = fileURLToPath(
  new URL('../../../packages/testkit/java/TreeMemory.java', import.meta.url),
);

function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (err, out, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${stderr || err.message}`));
      else resolve(out);
    });
  });
}

/** Heap bytes per znode of Apache ZooKeeper's DataTree holding the same tree. */
async function javaBytesPerZnode(
  nodes: number,
  size: number,
): Promise<{ bytesPerNode: number; createsPerSecond: number }> {
  assertApacheZooKeeperInstalled();
  const dir = await mkdtemp(join(tmpdir(), 'zkts-tree-memory-'));
  try {
    const cp = `${APACHE_ZK_CONF_DIR}:${APACHE_ZK_JAR}`;
    await exec('javac', ['-nowarn', '-cp', cp, '-d', dir, TREE_MEMORY_JAVA]);
    const out = await exec('java', [
      '-Xmx4g',
      '-XX:+UseSerialGC',
      '-cp',
      `${cp}:${dir}`,
      'TreeMemory',
      String(nodes),
      String(size),
    ]);
    return JSON.parse(out.trim().split('\n').pop()!) as { bytesPerNode: number; createsPerSecond: number };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settle(): NodeJS.MemoryUsage {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage();
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Runs `fn`, returning `count` per wall second and per CPU second (the machine may be shared). */
function timed(count: number, fn: () => void): string {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  return `${fmt(count / wall)} (${fmt(count / cpuSecs)} per CPU second)`;
}

export async function run(args: string[]): Promise<void> {
  const nodes = option(args, '--nodes', 1_000_000);
  const size = option(args, '--size', 100);
  const ops = option(args, '--ops', 300_000);
  const fanout = 1000;
  const parents = Math.ceil(nodes / fanout);
  const data = new Uint8Array(size).fill(0x61);
  const empty = new Uint8Array(0);
  const acl = OPEN_ACL_UNSAFE;
  const parentPath = (p: number) => `/bench/p${String(p).padStart(6, '0')}`;
  const childPath = (p: number, c: number) => `${parentPath(p)}/n${String(c).padStart(6, '0')}`;

  const before = settle();
  const tree = new DataTree<number>();
  let zxid = 0n;
  const create = (path: string, d: Uint8Array, cv: number): Txn => ({
    sessionId: 0n,
    cxid: 0,
    body: { type: 'create', path, data: d, acl, ephemeral: false, parentCVersion: cv },
  });
  tree.apply(create('/bench', empty, -1), ++zxid, 0n);
  for (let p = 0; p < parents; p++) tree.apply(create(parentPath(p), empty, -1), ++zxid, 0n);
  let made = 0;
  const createRate = timed(nodes, () => {
    for (let c = 0; c < fanout && made < nodes; c++) {
      for (let p = 0; p < parents && made < nodes; p++) {
        tree.apply(create(childPath(p, c), data, -1), ++zxid, BigInt(made));
        made++;
      }
    }
  });
  const after = settle();
  const heap = after.heapUsed - before.heapUsed;
  const buffers = after.arrayBuffers - before.arrayBuffers;
  const rss = after.rss - before.rss;

  const rows: [string, string][] = [
    ['znodes', fmt(tree.nodeCount)],
    ['data bytes per znode', fmt(size)],
    ['heap bytes per znode', fmt(heap / made)],
    ['typed-array bytes per znode', fmt(buffers / made)],
    ['heap + typed arrays per znode', fmt((heap + buffers) / made)],
    ['RSS bytes per znode', fmt(rss / made)],
    ['process RSS (MB)', fmt(after.rss / 1e6)],
    ['create txns/s (building the tree)', createRate],
  ];

  // setData txns on random existing nodes.
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  const targets: string[] = [];
  for (let i = 0; i < 4096; i++) {
    const k = rnd() % made;
    targets.push(childPath(k % parents, Math.floor(k / parents)));
  }
  const setTxns: Txn[] = targets.map((path) => ({
    sessionId: 0n,
    cxid: 0,
    body: { type: 'setData', path, data, version: 1 },
  }));
  const setRate = timed(ops, () => {
    for (let i = 0; i < ops; i++) tree.apply(setTxns[i & 4095]!, ++zxid, 1n);
  });
  rows.push(['setData txns/s (apply)', setRate]);

  // Create then delete under a fresh parent (keeps the tree size constant).
  tree.apply(create('/churn', empty, -1), ++zxid, 0n);
  const churn = Math.min(ops, 200_000);
  const churnRate = timed(churn, () => {
    for (let i = 0; i < churn; i++) tree.apply(create(`/churn/c${i}`, data, -1), ++zxid, 2n);
  });
  rows.push([`create txns/s (apply, under one parent)`, churnRate]);

  // Leader path: prep + apply of setData requests.
  const ctx = { sessionId: 1n, authIds: [{ scheme: 'ip', id: '127.0.0.1' }], zxid: 0n, time: 3n };
  const prepRate = timed(ops, () => {
    for (let i = 0; i < ops; i++) {
      ctx.zxid = ++zxid;
      const { txn } = tree.prep({ type: 'setData', path: targets[i & 4095]!, data, version: -1 }, ctx);
      tree.apply(txn, zxid, 3n);
    }
  });
  rows.push(['setData prep+apply/s', prepRate]);

  // Snapshot: serialize the whole tree (as a server does every snapCount txns), then load it back.
  const live = tree.nodeCount;
  const chunks: Uint8Array[] = [];
  const snapRate = timed(live, () => {
    for (const c of snapshotTree(tree)) chunks.push(c);
  });
  const snapBytes = chunks.reduce((n, c) => n + c.length, 0);
  rows.push(['snapshot nodes/s (serialize)', snapRate]);
  rows.push(['snapshot bytes per znode', fmt(snapBytes / live)]);
  let loaded = 0;
  const loadRate = timed(live, () => {
    loaded = loadSnapshot(chunks).nodeCount;
  });
  if (loaded !== live) throw new Error(`snapshot loaded ${loaded} of ${live} nodes`);
  rows.push(['snapshot nodes/s (load)', loadRate]);
  rows.push(['digest', tree.digest.toString(16)]);
  if (args.includes('--java')) {
    const j = await javaBytesPerZnode(made, size);
    rows.push(['Apache ZooKeeper DataTree heap bytes per znode', fmt(j.bytesPerNode)]);
    rows.push(['Apache ZooKeeper DataTree creates/s', fmt(j.createsPerSecond)]);
  }

  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
}
