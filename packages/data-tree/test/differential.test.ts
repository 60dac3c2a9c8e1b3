/**
 * Differential test: the same seeded random stream of client operations is run against Apache
 * ZooKeeper 3.8 (through its Java client) and through prep + apply of @zkts/data-tree (fed the txn
 * times ZooKeeper stamped); every result code and every Stat field must agree, op by op, the whole
 * trees must agree at the end, and our tree digest must equal ZooKeeper's own.
 */

import { dirname, join } from 'node:path';
import { type ACL, type Id, Perms } from '@zkts/codec';
import {
  APACHE_ZK_JAR,
  type ApacheZooKeeper,
  type DriverACL,
  type DriverMultiOp,
  type DriverOpResult,
  type DriverStat,
  freePort,
  type JavaDriver,
  startApacheZooKeeper,
  startJavaDriver,
} from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataTree,
  generateDigest,
  type MultiOp,
  StatsTrack,
  type TreeError,
  type TreeRequest,
  type TxnResult,
} from '../src/index.js';

const SEED = Number(process.env.ZKTS_DIFF_SEED ?? 20261126);
const OPS = Number(process.env.ZKTS_DIFF_OPS ?? 400);

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BOB = generateDigest('bob:pw');
const ACLS: Record<string, DriverACL[]> = {
  open: [{ perms: Perms.ALL, scheme: 'world', id: 'anyone' }],
  readOnly: [{ perms: Perms.READ, scheme: 'world', id: 'anyone' }],
  bob: [{ perms: Perms.ALL, scheme: 'digest', id: BOB }],
  auth: [{ perms: Perms.ALL, scheme: 'auth', id: '' }],
  ipLocal: [{ perms: Perms.ALL, scheme: 'ip', id: '127.0.0.1' }],
  ipOther: [
    { perms: Perms.ALL, scheme: 'ip', id: '10.0.0.0/8' },
    { perms: Perms.READ | Perms.CREATE, scheme: 'world', id: 'anyone' },
  ],
  mixed: [
    { perms: Perms.READ, scheme: 'world', id: 'anyone' },
    { perms: Perms.ALL & ~Perms.READ, scheme: 'digest', id: BOB },
  ],
  invalid: [{ perms: Perms.ALL, scheme: 'world', id: 'nobody' }],
  badDigest: [{ perms: Perms.ALL, scheme: 'digest', id: 'nocolon' }],
  subnet: [{ perms: Perms.ALL, scheme: 'ip', id: '127.0.0.0/24' }],
};
const ACL_WEIGHTS: [string, number][] = [
  ['open', 12],
  ['readOnly', 1],
  ['bob', 1],
  ['auth', 1],
  ['ipLocal', 1],
  ['ipOther', 1],
  ['mixed', 1],
  ['invalid', 1],
  ['badDigest', 1],
  ['subnet', 1],
];

const toAcl = (a: DriverACL[]): ACL[] =>
  a.map((x) => ({ perms: x.perms, id: { scheme: x.scheme, id: x.id } }));
const enc = (s: string | null): Uint8Array | null => (s === null ? null : new TextEncoder().encode(s));
/** Data as compared: null data (ZooKeeper keeps it apart from empty data) shows as `<null>`. */
const shown = (d: Uint8Array | null | undefined): string =>
  d === null || d === undefined ? '<null>' : new TextDecoder().decode(d);

interface Client {
  name: string;
  sessionId: bigint;
  authIds: Id[];
}

type Outcome = { code: number; path?: string; stat?: Record<string, unknown> | null; results?: unknown[] };

function statView(
  s: DriverStat | Record<string, unknown> | null | undefined,
): Record<string, unknown> | null {
  if (s === null || s === undefined) return null;
  const { ctime: _c, mtime: _m, ...rest } = s as Record<string, unknown>;
  return rest;
}

function ourResults(results: TxnResult[] | undefined): unknown[] {
  return (results ?? []).map((r) => {
    if (r.type === 'error') return { type: 'error', code: r.err };
    if (r.type === 'create' || r.type === 'createContainer' || r.type === 'createTTL') {
      return { type: 'create', path: r.path };
    }
    return { type: r.type };
  });
}

function theirResults(results: DriverOpResult[] | undefined): unknown[] {
  return (results ?? []).map((r) => {
    if (r.type === 'error') return { type: 'error', code: r.code };
    if (r.type === 'create') return { type: 'create', path: r.path };
    return { type: r.type };
  });
}

describe('differential against Apache ZooKeeper 3.8', () => {
  let zk: ApacheZooKeeper;
  let d: JavaDriver;
  let adminPort: number;
  beforeAll(async () => {
    adminPort = await freePort();
    zk = await startApacheZooKeeper({
      // The AdminServer's "hash" command shows ZooKeeper's own tree digest every 128 zxids. Debian's
      // zookeeper.jar manifest leaves the servlet API out, without which the AdminServer is silently
      // replaced by a dummy; it sits next to zookeeper.jar.
      config: {
        'admin.enableServer': 'true',
        'admin.serverAddress': '127.0.0.1',
        'admin.serverPort': String(adminPort),
      },
      jvmOptions: [
        '-Xmx512m',
        '-XX:+UseSerialGC',
        `-Xbootclasspath/a:${join(dirname(APACHE_ZK_JAR), 'servlet-api.jar')}`,
      ],
      systemProperties: { 'znode.container.checkIntervalMs': '3600000', 'zookeeper.enforceQuota': 'true' },
    });
    d = await startJavaDriver(zk.connectString, { connect: false });
  });
  afterAll(async () => {
    await d?.close();
    await zk?.stop();
  });

  it(`agrees on every result and Stat over ${OPS} random operations (seed ${SEED})`, async () => {
    const rand = rng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const chance = (p: number) => rand() < p;
    const tree = new DataTree<string>({ enforceQuota: true });
    let zxid = 0n;
    const log: string[] = [];
    const digests = new Map<bigint, bigint>();

    // `time` is the txn time Apache ZooKeeper stamped (read back from a Stat it returned), so that
    // ctime, mtime and the digest can be compared too.
    const write = (req: TreeRequest, c: Client, time = 0n): { r: TxnResult; error?: TreeError } => {
      zxid += 1n;
      const { txn, error } = tree.prep(req, { sessionId: c.sessionId, authIds: c.authIds, zxid, time });
      const r = tree.apply(txn, zxid, time);
      digests.set(zxid, tree.digest);
      return error === undefined ? { r } : { r, error };
    };

    const clients: Client[] = [];
    const connect = async (name: string): Promise<Client> => {
      const r = await d.must({ op: 'connect', client: name, sessionTimeout: 30_000 });
      const c: Client = { name, sessionId: r.sessionId, authIds: [{ scheme: 'ip', id: '127.0.0.1' }] };
      write({ type: 'createSession', timeout: 30_000 }, c);
      return c;
    };
    const addBob = async (c: Client) => {
      await d.must({ op: 'addAuth', client: c.name, scheme: 'digest', auth: 'bob:pw' });
      c.authIds.push({ scheme: 'digest', id: BOB });
    };
    clients.push(await connect('c0'));
    clients.push(await connect('c1'));
    await addBob(clients[1]!);

    // Quotas as zkCli's setquota writes them: a soft limit on /e, hard limits on /d.
    const hard = new StatsTrack();
    hard.countHardLimit = 12;
    hard.byteHardLimit = 60;
    for (const [path, text] of [
      ['/zookeeper/quota/d', null],
      ['/zookeeper/quota/d/zookeeper_limits', hard.toString()],
      ['/zookeeper/quota/d/zookeeper_stats', 'count=0,bytes=0'],
      ['/zookeeper/quota/e', null],
      ['/zookeeper/quota/e/zookeeper_limits', 'count=3,bytes=10'],
      ['/zookeeper/quota/e/zookeeper_stats', 'count=0,bytes=0'],
    ] as const) {
      const made = await d.must({ op: 'create', client: 'c0', path, data: text });
      expect(
        write(
          { type: 'create', path, data: enc(text), acl: toAcl(ACLS.open!), flags: 0 },
          clients[0]!,
          made.stat.ctime,
        ).r.err,
      ).toBe(0);
    }

    const universe = ['/d', '/e', '/d/a', '/d/b', '/e/a', '/d/a/x', '/d/c', '/e/b/y', '/f'];
    const seqBases = ['/d/s-', '/e/q', '/d/a/s-'];
    const livePaths = () => tree.paths().filter((p) => p !== '/' && !p.startsWith('/zookeeper'));
    const anyPath = () => {
      const live = livePaths();
      return live.length > 0 && chance(0.6) ? pick(live) : pick(universe);
    };
    const version = (path: string, field: 'version' | 'aversion' = 'version') => {
      const s = tree.statNode(path);
      const cur = s === undefined ? 0 : s[field];
      return pick([-1, -1, -1, cur, cur, cur + 1, 0]);
    };
    const data = () => (chance(0.1) ? null : 'x'.repeat(Math.floor(rand() * 12)));
    const aclName = () => {
      let total = 0;
      for (const [, w] of ACL_WEIGHTS) total += w;
      let x = rand() * total;
      for (const [n, w] of ACL_WEIGHTS) {
        x -= w;
        if (x < 0) return n;
      }
      return 'open';
    };
    const createSpec = () => {
      const mode = pick([0, 0, 0, 1, 2, 3, 4, 5, 6]);
      const sequential = mode === 2 || mode === 3 || mode === 6;
      const path = sequential ? pick(seqBases) : pick(universe);
      const ttl = mode === 5 || mode === 6 ? 1 + Math.floor(rand() * 100_000) : undefined;
      return { path, mode, ttl, data: data(), acl: ACLS[aclName()]! };
    };

    const compare = (what: string, ours: Outcome, theirs: Outcome) => {
      log.push(`${what} -> ${JSON.stringify(theirs, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
      try {
        expect(ours).toEqual(theirs);
      } catch (e) {
        throw new Error(`mismatch at ${what}\n${log.slice(-15).join('\n')}\n${(e as Error).message}`);
      }
    };

    for (let i = 0; i < OPS; i++) {
      const c = pick(clients);
      const kind = pick([
        'create',
        'create',
        'create',
        'delete',
        'setData',
        'setData',
        'setACL',
        'multi',
        'multi',
        'getData',
        'exists',
        'getChildren2',
        'getACL',
        'check-count',
        'reconnect',
      ]);
      const label = `#${i} ${c.name} ${kind}`;
      switch (kind) {
        case 'create': {
          const s = createSpec();
          const theirs = await d.request({
            op: 'create',
            client: c.name,
            path: s.path,
            data: s.data,
            acl: s.acl,
            mode: s.mode,
            ...(s.ttl === undefined ? {} : { ttl: s.ttl }),
          });
          const { r } = write(
            { type: 'create', path: s.path, data: enc(s.data), acl: toAcl(s.acl), flags: s.mode, ttl: s.ttl },
            c,
            theirs.ok ? theirs.stat.ctime : 0n,
          );
          compare(
            `${label} ${s.path} mode=${s.mode}`,
            r.err === 0 ? { code: 0, path: r.path, stat: statView(r.stat) } : { code: r.err },
            theirs.ok
              ? { code: 0, path: theirs.path, stat: statView(theirs.stat) }
              : { code: theirs.code ?? 999 },
          );
          break;
        }
        case 'delete': {
          const path = anyPath();
          const v = version(path);
          const theirs = await d.request({ op: 'delete', client: c.name, path, version: v });
          const { r } = write({ type: 'delete', path, version: v }, c);
          compare(`${label} ${path} v=${v}`, { code: r.err }, { code: theirs.ok ? 0 : (theirs.code ?? 999) });
          break;
        }
        case 'setData': {
          const path = anyPath();
          const v = version(path);
          const x = data();
          const theirs = await d.request({ op: 'setData', client: c.name, path, data: x, version: v });
          const { r } = write(
            { type: 'setData', path, data: enc(x), version: v },
            c,
            theirs.ok ? theirs.stat.mtime : 0n,
          );
          compare(
            `${label} ${path} v=${v}`,
            r.err === 0 ? { code: 0, stat: statView(r.stat) } : { code: r.err },
            theirs.ok ? { code: 0, stat: statView(theirs.stat) } : { code: theirs.code ?? 999 },
          );
          break;
        }
        case 'setACL': {
          const path = anyPath();
          const v = version(path, 'aversion');
          const acl = ACLS[aclName()]!;
          const theirs = await d.request({ op: 'setACL', client: c.name, path, acl, version: v });
          const { r } = write({ type: 'setACL', path, acl: toAcl(acl), version: v }, c);
          compare(
            `${label} ${path} v=${v} ${JSON.stringify(acl)}`,
            r.err === 0 ? { code: 0, stat: statView(r.stat) } : { code: r.err },
            theirs.ok ? { code: 0, stat: statView(theirs.stat) } : { code: theirs.code ?? 999 },
          );
          break;
        }
        case 'multi': {
          const n = 1 + Math.floor(rand() * 4);
          const dops: DriverMultiOp[] = [];
          const ops: MultiOp[] = [];
          for (let k = 0; k < n; k++) {
            const t = pick(['create', 'create', 'delete', 'setData', 'check']);
            if (t === 'create') {
              const s = createSpec();
              dops.push({
                op: 'create',
                path: s.path,
                data: s.data,
                acl: s.acl,
                mode: s.mode,
                ...(s.ttl === undefined ? {} : { ttl: s.ttl }),
              });
              ops.push({
                type: 'create',
                path: s.path,
                data: enc(s.data),
                acl: toAcl(s.acl),
                flags: s.mode,
                ttl: s.ttl,
              });
            } else {
              const path = anyPath();
              const v = version(path);
              if (t === 'delete') {
                dops.push({ op: 'delete', path, version: v });
                ops.push({ type: 'delete', path, version: v });
              } else if (t === 'check') {
                dops.push({ op: 'check', path, version: v });
                ops.push({ type: 'check', path, version: v });
              } else {
                const x = data();
                dops.push({ op: 'setData', path, data: x, version: v });
                ops.push({ type: 'setData', path, data: enc(x), version: v });
              }
            }
          }
          const theirs = await d.request({ op: 'multi', client: c.name, ops: dops });
          let time = 0n;
          if (theirs.ok) {
            for (const x of theirs.results) {
              if (x.type === 'setData' && x.stat !== null) time = x.stat.mtime;
              else if (x.type === 'create' && x.stat !== null) time = x.stat.ctime;
            }
            const created = theirs.results.find((x) => x.type === 'create');
            if (time === 0n && created !== undefined && created.type === 'create') {
              const e = await d.must({ op: 'exists', client: c.name, path: created.path });
              if (e.stat !== null) time = e.stat.ctime;
            }
          }
          const { r } = write({ type: 'multi', ops }, c, time);
          compare(
            `${label} ${JSON.stringify(dops)}`,
            { code: r.err, results: ourResults(r.results) },
            theirs.ok
              ? { code: 0, results: theirResults(theirs.results) }
              : { code: theirs.code ?? 999, results: theirResults(theirs.results) },
          );
          break;
        }
        case 'getData': {
          const path = anyPath();
          const theirs = await d.request({ op: 'getData', client: c.name, path });
          let ours: Outcome;
          try {
            const g = tree.getData(path, { authIds: c.authIds });
            ours = { code: 0, path: shown(g.data), stat: statView(g.stat) };
          } catch (e) {
            ours = { code: (e as TreeError).code };
          }
          compare(
            `${label} ${path}`,
            ours,
            theirs.ok
              ? {
                  code: 0,
                  path: shown(theirs.data),
                  stat: statView(theirs.stat),
                }
              : { code: theirs.code ?? 999 },
          );
          break;
        }
        case 'exists': {
          const path = anyPath();
          const theirs = await d.request({ op: 'exists', client: c.name, path });
          let ours: Outcome;
          try {
            ours = { code: 0, stat: statView(tree.exists(path, { authIds: c.authIds })) };
          } catch (e) {
            ours = { code: (e as TreeError).code };
          }
          compare(
            `${label} ${path}`,
            ours,
            theirs.ok ? { code: 0, stat: statView(theirs.stat) } : { code: theirs.code ?? 999 },
          );
          break;
        }
        case 'getChildren2': {
          const path = pick(['/', '/d', '/e', '/d/a', ...livePaths().slice(0, 3)]);
          const theirs = await d.request({ op: 'getChildren2', client: c.name, path });
          let ours: Outcome;
          try {
            const g = tree.getChildren(path, { authIds: c.authIds });
            ours = { code: 0, path: [...g.children].sort().join(','), stat: statView(g.stat) };
          } catch (e) {
            ours = { code: (e as TreeError).code };
          }
          compare(
            `${label} ${path}`,
            ours,
            theirs.ok
              ? { code: 0, path: [...theirs.children].sort().join(','), stat: statView(theirs.stat) }
              : { code: theirs.code ?? 999 },
          );
          break;
        }
        case 'getACL': {
          const path = anyPath();
          const theirs = await d.request({ op: 'getACL', client: c.name, path });
          let ours: Outcome;
          try {
            const g = tree.getACL(path, { authIds: c.authIds });
            ours = {
              code: 0,
              results: g.acl.map((a) => `${a.perms}:${a.id.scheme}:${a.id.id}`),
              stat: statView(g.stat),
            };
          } catch (e) {
            ours = { code: (e as TreeError).code };
          }
          compare(
            `${label} ${path}`,
            ours,
            theirs.ok
              ? {
                  code: 0,
                  results: theirs.acl.map((a) => `${a.perms}:${a.scheme}:${a.id}`),
                  stat: statView(theirs.stat),
                }
              : { code: theirs.code ?? 999 },
          );
          break;
        }
        case 'check-count': {
          const path = pick(['/', '/d', '/e']);
          const theirs = await d.request({ op: 'getAllChildrenNumber', client: c.name, path });
          let ours: Outcome;
          try {
            ours = { code: 0, path: String(tree.getAllChildrenNumber(path, { authIds: c.authIds })) };
          } catch (e) {
            ours = { code: (e as TreeError).code };
          }
          compare(
            `${label} ${path}`,
            ours,
            theirs.ok ? { code: 0, path: String(theirs.count) } : { code: theirs.code ?? 999 },
          );
          const eph = await d.must({ op: 'getEphemerals', client: c.name });
          compare(
            `${label} getEphemerals`,
            { code: 0, results: tree.getEphemerals(c.sessionId) },
            { code: 0, results: [...eph.paths].sort() },
          );
          break;
        }
        case 'reconnect': {
          if (!chance(0.5)) break;
          await d.must({ op: 'close', client: c.name });
          zxid += 1n;
          const { txn } = tree.prep(
            { type: 'closeSession' },
            { sessionId: c.sessionId, authIds: c.authIds, zxid, time: 0n },
          );
          tree.apply(txn, zxid, 0n);
          digests.set(zxid, tree.digest);
          log.push(`${label} closed session, deleted ${JSON.stringify(txn.body)}`);
          const fresh = await connect(c.name);
          c.sessionId = fresh.sessionId;
          c.authIds = fresh.authIds;
          if (c.name === 'c1') await addBob(c);
          break;
        }
      }
    }

    // Whole-tree comparison (children, Stat and data of every node), read as c1.
    const c1 = clients[1]!;
    const queue = ['/'];
    let compared = 0;
    while (queue.length > 0) {
      const path = queue.shift()!;
      const theirs = await d.request({ op: 'getChildren2', client: c1.name, path });
      let ours: Outcome;
      let children: string[] = [];
      try {
        const g = tree.getChildren(path, { authIds: c1.authIds });
        children = [...g.children].sort();
        ours = { code: 0, path: children.join(','), stat: statView(g.stat) };
      } catch (e) {
        ours = { code: (e as TreeError).code };
      }
      compare(
        `final ${path}`,
        ours,
        theirs.ok
          ? { code: 0, path: [...theirs.children].sort().join(','), stat: statView(theirs.stat) }
          : { code: theirs.code ?? 999 },
      );
      const theirData = await d.request({ op: 'getData', client: c1.name, path });
      let ourData: Outcome;
      try {
        ourData = {
          code: 0,
          path: shown(tree.getData(path, { authIds: c1.authIds }).data),
        };
      } catch (e) {
        ourData = { code: (e as TreeError).code };
      }
      compare(
        `final data ${path}`,
        ourData,
        theirData.ok ? { code: 0, path: shown(theirData.data) } : { code: theirData.code ?? 999 },
      );
      compared++;
      for (const ch of children) queue.push(path === '/' ? `/${ch}` : `${path}/${ch}`);
    }
    expect(compared).toBeGreaterThan(5);
    // Our digest is ZooKeeper's digest: compare at every zxid ZooKeeper logged one.
    const hash = await (await fetch(`http://127.0.0.1:${adminPort}/commands/hash`)).text();
    const logged = [...hash.matchAll(/"zxid"\s*:\s*(\d+)[^}]*?"digest"\s*:\s*(-?\d+)/g)].map(
      (m) => [BigInt(m[1]!), BigInt(m[2]!)] as const,
    );
    expect(logged.length, hash).toBeGreaterThan(0);
    for (const [z, digest] of logged)
      expect({ zxid: z, digest: digests.get(z) }).toEqual({ zxid: z, digest });
    // The run must have reached the hard quota, or it proved nothing about it.
    expect(log.some((l) => l.includes('"code":-125'))).toBe(true);
  }, 90_000);
});
