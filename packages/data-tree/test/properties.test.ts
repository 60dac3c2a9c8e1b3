import { CreateMode, ErrorCode } from '@zkts/codec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DataTree,
  decodeTxn,
  encodeTxn,
  loadSnapshot,
  type MultiOp,
  OPEN_ACL_UNSAFE,
  sequenceSuffix,
  snapshotTree,
  type TreeRequest,
  type Txn,
} from '../src/index.js';
import { enc } from './harness.js';

const PATHS = ['/a', '/b', '/a/x', '/a/y', '/b/x', '/a/x/q', '/a/', '/c'];
const SESSIONS = [11n, 22n];

const pathArb = fc.constantFrom(...PATHS);
const versionArb = fc.constantFrom(-1, -1, 0, 1, 2);
const dataArb = fc.string({ maxLength: 6 });
const createArb = fc.record({
  type: fc.constant('create' as const),
  path: pathArb,
  flags: fc.constantFrom(
    CreateMode.PERSISTENT,
    CreateMode.EPHEMERAL,
    CreateMode.PERSISTENT_SEQUENTIAL,
    CreateMode.EPHEMERAL_SEQUENTIAL,
  ),
  data: dataArb,
});
const deleteArb = fc.record({ type: fc.constant('delete' as const), path: pathArb, version: versionArb });
const setDataArb = fc.record({
  type: fc.constant('setData' as const),
  path: pathArb,
  version: versionArb,
  data: dataArb,
});
const checkArb = fc.record({ type: fc.constant('check' as const), path: pathArb, version: versionArb });
const subOpArb = fc.oneof(createArb, deleteArb, setDataArb, checkArb);
type SubOp =
  typeof createArb extends fc.Arbitrary<infer T>
    ?
        | T
        | { type: 'delete'; path: string; version: number }
        | { type: 'setData'; path: string; version: number; data: string }
        | { type: 'check'; path: string; version: number }
    : never;
const opArb = fc.record({
  session: fc.constantFrom(...SESSIONS),
  op: fc.oneof(
    { weight: 4, arbitrary: subOpArb },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constant('multi' as const),
        ops: fc.array(subOpArb, { minLength: 1, maxLength: 4 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('close' as const) }) },
  ),
});
type GenOp = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

function toRequest(op: SubOp): MultiOp {
  switch (op.type) {
    case 'create':
      return { type: 'create', path: op.path, data: enc(op.data), acl: OPEN_ACL_UNSAFE, flags: op.flags };
    case 'delete':
      return { type: 'delete', path: op.path, version: op.version };
    case 'setData':
      return { type: 'setData', path: op.path, data: enc(op.data), version: op.version };
    case 'check':
      return { type: 'check', path: op.path, version: op.version };
  }
}

/** Runs a generated stream through prep+apply on a fresh tree, returning the txns and the tree. */
function runStream(ops: GenOp[]): {
  tree: DataTree<string>;
  txns: { txn: Txn; zxid: bigint }[];
  results: number[];
} {
  const tree = new DataTree<string>();
  const txns: { txn: Txn; zxid: bigint }[] = [];
  const results: number[] = [];
  let zxid = 0n;
  const step = (req: TreeRequest, session: bigint) => {
    zxid += 1n;
    const { txn } = tree.prep(req, { sessionId: session, authIds: [], zxid, time: zxid * 7n });
    txns.push({ txn, zxid });
    results.push(tree.apply(txn, zxid, zxid * 7n).err);
  };
  for (const s of SESSIONS) step({ type: 'createSession', timeout: 1000 }, s);
  for (const g of ops) {
    if (g.op.type === 'close') {
      step({ type: 'closeSession' }, g.session);
      step({ type: 'createSession', timeout: 1000 }, g.session);
    } else if (g.op.type === 'multi') step({ type: 'multi', ops: g.op.ops.map(toRequest) }, g.session);
    else step(toRequest(g.op), g.session);
  }
  return { tree, txns, results };
}

function dump(t: DataTree<unknown>): string {
  return JSON.stringify(
    t
      .paths()
      .sort()
      .map((p) => [p, t.statNode(p), t.getData(p, { authIds: [] }).data?.join(',') ?? 'null']),
    (_k, v) => (typeof v === 'bigint' ? v.toString() : v),
  );
}

describe('determinism', () => {
  it('applying the same txns (through encode/decode) to another tree gives the same digest and tree', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const { tree, txns } = runStream(ops);
        const other = new DataTree<string>();
        for (const { txn, zxid } of txns) other.apply(decodeTxn(encodeTxn(txn)), zxid, zxid * 7n);
        expect(other.digest).toBe(tree.digest);
        expect(dump(other)).toBe(dump(tree));
      }),
      { numRuns: 150 },
    );
  });

  it('a snapshot taken mid-stream plus the remaining txns gives the same digest', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.nat(), (ops, cut) => {
        const { tree, txns } = runStream(ops);
        const at = cut % txns.length;
        const partial = new DataTree<string>();
        for (const { txn, zxid } of txns.slice(0, at)) partial.apply(txn, zxid, zxid * 7n);
        const restored = loadSnapshot<string>(snapshotTree(partial, { chunkBytes: 64 }));
        for (const { txn, zxid } of txns.slice(at)) restored.apply(txn, zxid, zxid * 7n);
        expect(restored.digest).toBe(tree.digest);
        expect(dump(restored)).toBe(dump(tree));
      }),
      { numRuns: 100 },
    );
  });

  it('digests tell different trees apart', () => {
    const a = new DataTree();
    const b = new DataTree();
    const body = (data: string) =>
      ({
        type: 'create',
        path: '/x',
        data: enc(data),
        acl: OPEN_ACL_UNSAFE,
        ephemeral: false,
        parentCVersion: 1,
      }) as const;
    a.apply({ sessionId: 0n, cxid: 0, body: body('1') }, 1n, 0n);
    b.apply({ sessionId: 0n, cxid: 0, body: body('2') }, 1n, 0n);
    expect(a.digest).not.toBe(b.digest);
  });
});

/** A small reference model of the write semantics, written independently of the tree. */
interface MNode {
  data: string;
  version: number;
  /** Visible cversion: +1 per child created or deleted. */
  cversion: number;
  /** Child creations (names sequential children). */
  creates: number;
  czxid: bigint;
  mzxid: bigint;
  pzxid: bigint;
  owner: bigint;
}

class Model {
  nodes = new Map<string, MNode>();
  constructor() {
    this.nodes.set('/', {
      data: '',
      version: 0,
      cversion: -1,
      creates: 0,
      czxid: 0n,
      mzxid: 0n,
      pzxid: 0n,
      owner: 0n,
    });
  }
  clone(): Model {
    const m = new Model();
    m.nodes = new Map([...this.nodes].map(([k, v]) => [k, { ...v }]));
    return m;
  }
  parent(p: string): string {
    const i = p.lastIndexOf('/');
    return i === 0 ? '/' : p.slice(0, i);
  }
  children(p: string): string[] {
    return [...this.nodes.keys()].filter((k) => k !== '/' && k !== p && this.parent(k) === p);
  }
  /** Returns the error code (0 on success) and the created path. */
  op(o: SubOp, session: bigint, z: bigint): { err: number; path?: string } {
    const n = this.nodes;
    switch (o.type) {
      case 'create': {
        const parent = n.get(this.parent(o.path));
        if (parent === undefined) return { err: ErrorCode.NoNode };
        const seq =
          o.flags === CreateMode.PERSISTENT_SEQUENTIAL || o.flags === CreateMode.EPHEMERAL_SEQUENTIAL;
        const path = seq ? o.path + sequenceSuffix(parent.creates) : o.path;
        if (path.endsWith('/')) return { err: ErrorCode.BadArguments };
        if (n.has(path)) return { err: ErrorCode.NodeExists };
        if (parent.owner !== 0n) return { err: ErrorCode.NoChildrenForEphemerals };
        const eph = o.flags === CreateMode.EPHEMERAL || o.flags === CreateMode.EPHEMERAL_SEQUENTIAL;
        n.set(path, {
          data: o.data,
          version: 0,
          cversion: 0,
          creates: 0,
          czxid: z,
          mzxid: z,
          pzxid: z,
          owner: eph ? session : 0n,
        });
        parent.creates++;
        parent.cversion++;
        parent.pzxid = z;
        return { err: 0, path };
      }
      case 'delete': {
        if (!n.has(this.parent(o.path))) return { err: ErrorCode.NoNode };
        const node = n.get(o.path);
        if (node === undefined) return { err: ErrorCode.NoNode };
        if (o.version !== -1 && o.version !== node.version) return { err: ErrorCode.BadVersion };
        if (this.children(o.path).length > 0) return { err: ErrorCode.NotEmpty };
        this.remove(o.path, z);
        return { err: 0 };
      }
      case 'setData': {
        if (o.path.endsWith('/')) return { err: ErrorCode.BadArguments };
        const node = n.get(o.path);
        if (node === undefined) return { err: ErrorCode.NoNode };
        if (o.version !== -1 && o.version !== node.version) return { err: ErrorCode.BadVersion };
        node.data = o.data;
        node.version++;
        node.mzxid = z;
        return { err: 0 };
      }
      case 'check': {
        if (o.path.endsWith('/')) return { err: ErrorCode.BadArguments };
        const node = n.get(o.path);
        if (node === undefined) return { err: ErrorCode.NoNode };
        if (o.version !== -1 && o.version !== node.version) return { err: ErrorCode.BadVersion };
        return { err: 0 };
      }
    }
  }
  remove(path: string, z: bigint): void {
    this.nodes.delete(path);
    const parent = this.nodes.get(this.parent(path))!;
    parent.cversion++;
    parent.pzxid = z;
  }
}

describe('reference model', () => {
  it('a random request stream gives the model’s result codes, names and Stats', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 50 }), (ops) => {
        const tree = new DataTree<string>();
        let model = new Model();
        let zxid = 0n;
        const run = (req: TreeRequest, session: bigint) => {
          zxid += 1n;
          const { txn } = tree.prep(req, { sessionId: session, authIds: [], zxid, time: 0n });
          return tree.apply(txn, zxid, 0n);
        };
        for (const s of SESSIONS) run({ type: 'createSession', timeout: 1000 }, s);
        for (const g of ops) {
          if (g.op.type === 'close') {
            run({ type: 'closeSession' }, g.session);
            for (const [p, v] of [...model.nodes]) if (v.owner === g.session) model.remove(p, zxid);
            run({ type: 'createSession', timeout: 1000 }, g.session);
          } else if (g.op.type === 'multi') {
            const r = run({ type: 'multi', ops: g.op.ops.map(toRequest) }, g.session);
            const trial = model.clone();
            const expected: number[] = [];
            let failed = 0;
            for (const o of g.op.ops) {
              if (failed !== 0) expected.push(ErrorCode.RuntimeInconsistency);
              else {
                const e = trial.op(o, g.session, zxid).err;
                expected.push(e);
                failed = e;
              }
            }
            if (failed === 0) model = trial;
            else for (let i = 0; i < expected.length && expected[i] !== failed; i++) expected[i] = 0;
            expect(r.err).toBe(failed);
            expect(r.results?.map((x) => x.err)).toEqual(expected);
          } else {
            const r = run(toRequest(g.op), g.session);
            const want = model.op(g.op, g.session, zxid);
            expect(r.err).toBe(want.err);
            if (want.path !== undefined) expect(r.path).toBe(want.path);
          }
          const user = tree
            .paths()
            .filter((p) => !p.startsWith('/zookeeper'))
            .sort();
          expect(user).toEqual([...model.nodes.keys()].sort());
          for (const p of user) {
            const s = tree.statNode(p)!;
            const m = model.nodes.get(p)!;
            expect({
              v: s.version,
              cv: s.cversion,
              cz: s.czxid,
              mz: s.mzxid,
              pz: s.pzxid,
              owner: s.ephemeralOwner,
              len: s.dataLength,
              n: s.numChildren,
            }).toEqual({
              v: m.version,
              cv: m.cversion,
              cz: m.czxid,
              mz: m.mzxid,
              pz: m.pzxid,
              owner: m.owner,
              len: enc(m.data).length,
              n: p === '/' ? model.children('/').length + 1 : model.children(p).length,
            });
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
