/**
 * One session on the raw wire protocol sends requests no well-behaved client library lets through
 * (server-side path checks, empty ACLs, a TTL without a TTL mode, multiRead, reconfig, ...) to
 * Apache ZooKeeper 3.8 and to zkts from a fresh data directory: every reply (header zxid and error
 * included) must be the same, times and session ids aside.
 */
import type { Request } from '@zkts/codec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from './raw-client.js';
import { startTarget, TARGETS, type Target, type TargetName, ZKTS_TARGETS } from './targets.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const d = (s: string) => Buffer.from(s);

const REQUESTS: Request[] = [
  { type: 'create', path: '/t', data: d('a'), acl: OPEN, flags: 0 },
  { type: 'create2', path: '/t/c', data: d('bb'), acl: OPEN, flags: 0 },
  { type: 'create2', path: '/t/s-', data: null, acl: OPEN, flags: 2 },
  { type: 'create', path: '/t/s-', data: null, acl: OPEN, flags: 2 },
  { type: 'createContainer', path: '/ctr', data: d('c'), acl: OPEN, flags: 4 },
  { type: 'createTTL', path: '/ttl', data: d('t'), acl: OPEN, flags: 5, ttl: 100_000n },
  { type: 'createTTL', path: '/ttl2', data: d('t'), acl: OPEN, flags: 0, ttl: 100_000n },
  { type: 'createTTL', path: '/ttl3', data: d('t'), acl: OPEN, flags: 5, ttl: 0n },
  { type: 'create', path: '/e', data: null, acl: OPEN, flags: 1 },
  { type: 'create', path: '/e/child', data: null, acl: OPEN, flags: 0 },
  { type: 'create', path: '/noacl', data: null, acl: [], flags: 0 },
  {
    type: 'create',
    path: '/badscheme',
    data: null,
    acl: [{ perms: 31, id: { scheme: 'nope', id: 'x' } }],
    flags: 0,
  },
  { type: 'create', path: '/t/../x', data: null, acl: OPEN, flags: 0 },
  { type: 'create', path: 'noslash', data: null, acl: OPEN, flags: 0 },
  { type: 'create', path: '/trailing/', data: null, acl: OPEN, flags: 0 },
  { type: 'create', path: '/', data: null, acl: OPEN, flags: 0 },
  { type: 'create', path: '/t/c', data: null, acl: OPEN, flags: 0 },
  { type: 'create', path: '/nope/x', data: null, acl: OPEN, flags: 0 },
  { type: 'create', path: '/badflags', data: null, acl: OPEN, flags: 99 },
  { type: 'setData', path: '/t', data: d('aa'), version: 5 },
  { type: 'setData', path: '/t', data: d('aa'), version: 0 },
  { type: 'setData', path: '/nope', data: d('aa'), version: -1 },
  { type: 'exists', path: '/t', watch: false },
  { type: 'exists', path: '/nope', watch: false },
  { type: 'getData', path: '/t', watch: false },
  { type: 'getData', path: '/nope', watch: false },
  { type: 'getData', path: '/zookeeper/config', watch: false },
  { type: 'getChildren', path: '/t', watch: false },
  { type: 'getChildren2', path: '/t', watch: false },
  { type: 'getChildren', path: '/', watch: false },
  { type: 'getChildren', path: '/zookeeper', watch: false },
  { type: 'getACL', path: '/t' },
  { type: 'getACL', path: '/nope' },
  { type: 'setACL', path: '/t', acl: OPEN, version: 0 },
  { type: 'setACL', path: '/t', acl: OPEN, version: 0 },
  { type: 'setACL', path: '/t', acl: [], version: -1 },
  { type: 'getAllChildrenNumber', path: '/t' },
  { type: 'getAllChildrenNumber', path: '/' },
  { type: 'getEphemerals', prefixPath: '/' },
  { type: 'getEphemerals', prefixPath: '/t' },
  { type: 'sync', path: '/t' },
  { type: 'sync', path: '/nope' },
  {
    type: 'multi',
    ops: [
      { type: 'create', path: '/m', data: d('m'), acl: OPEN, flags: 0 },
      { type: 'create2', path: '/m/s-', data: null, acl: OPEN, flags: 2 },
      { type: 'setData', path: '/m', data: d('mm'), version: 0 },
      { type: 'check', path: '/m', version: 1 },
      { type: 'delete', path: '/t/c', version: -1 },
    ],
  },
  {
    type: 'multi',
    ops: [
      { type: 'create', path: '/m2', data: null, acl: OPEN, flags: 0 },
      { type: 'delete', path: '/nope', version: -1 },
      { type: 'setData', path: '/m2', data: null, version: 0 },
    ],
  },
  { type: 'multi', ops: [] },
  {
    type: 'multiRead',
    ops: [
      { type: 'getData', path: '/m', watch: false },
      { type: 'getChildren', path: '/m', watch: false },
      { type: 'getData', path: '/nope', watch: false },
      { type: 'getChildren', path: '/nope', watch: false },
    ],
  },
  { type: 'addWatch', path: '/m', mode: 0 },
  { type: 'addWatch', path: '/nope', mode: 1 },
  { type: 'checkWatches', path: '/m', watcherType: 3 },
  { type: 'removeWatches', path: '/m', watcherType: 3 },
  { type: 'removeWatches', path: '/m', watcherType: 3 },
  { type: 'getData', path: '/m', watch: true },
  { type: 'checkWatches', path: '/m', watcherType: 2 },
  { type: 'checkWatches', path: '/m', watcherType: 1 },
  { type: 'whoAmI' },
  { type: 'delete', path: '/t', version: -1 },
  { type: 'delete', path: '/m', version: 7 },
  { type: 'delete', path: '/nope', version: -1 },
  { type: 'delete', path: '/zookeeper', version: -1 },
  { type: 'delete', path: '/', version: -1 },
  { type: 'deleteContainer', path: '/ctr' },
  { type: 'check', path: '/m', version: 1 },
  { type: 'reconfig', joiningServers: null, leavingServers: null, newMembers: null, curConfigId: -1n },
];

/**
 * Apache ZooKeeper 3.8.0 (Debian's package, the reference here) answers a create2 inside a multi
 * with a plain create result; later 3.8 releases answer it with create2 and the node's stat, as
 * zkts does. The one deliberate difference: zkts's create2 results are shown as 3.8.0's.
 */
function asApache380(response: unknown): unknown {
  const r = response as { results?: Array<{ type: string; path?: string; stat?: unknown }> } | null;
  if (r?.results === undefined) return response;
  return {
    ...r,
    results: r.results.map((x) => {
      if (x.type !== 'create2') return x;
      expect(x.stat).toBeDefined();
      return { type: 'create', path: x.path };
    }),
  };
}

const transcripts = new Map<TargetName, unknown[]>();
const targets: Target[] = [];

/**
 * Zxids with their epoch (high 32 bits) masked: a standalone server counts in epoch 0, an ensemble
 * member in its leader's epoch; the counter within the epoch is the same on every target.
 */
const ZXID_KEYS = new Set(['zxid', 'czxid', 'mzxid', 'pzxid']);
const withinEpoch = (z: bigint) => z & 0xffffffffn;

function normalise(v: unknown, self: bigint): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
  if (Array.isArray(v)) return v.map((x) => normalise(x, self));
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'ctime' || k === 'mtime') o[k] = typeof x === 'bigint' && x > 0n ? 'time' : String(x);
      else if (k === 'ephemeralOwner') o[k] = x === self ? 'self' : normalise(x, self);
      else if (ZXID_KEYS.has(k) && typeof x === 'bigint') o[k] = withinEpoch(x).toString();
      // ZooKeeper keeps children in a hash set: their order means nothing.
      else if (k === 'children' && Array.isArray(x)) o[k] = [...x].sort();
      else o[k] = normalise(x, self);
    }
    return o;
  }
  return v;
}

beforeAll(async () => {
  await Promise.all(
    TARGETS.map(async (name) => {
      const t = await startTarget(name);
      targets.push(t);
      // A short session: after the last request (check, which ZooKeeper never answers) the
      // reference only drops the connection when the session expires.
      const c = await RawClient.connect(t.port, { timeoutMs: 4000 });
      const self = c.session?.sessionId ?? 0n;
      const out: unknown[] = [];
      for (const req of REQUESTS) {
        const r = await c.request(req);
        let response = normalise(r.response, self);
        if (name !== 'apache' && req.type === 'multi') response = asApache380(response);
        out.push([req.type, 'path' in req ? req.path : '', normalise(r.header, self), response]);
      }
      out.push(['connection open at the end', !c.closed]);
      c.destroy();
      transcripts.set(name, out);
    }),
  );
});
afterAll(async () => {
  await Promise.all(targets.map((t) => t.stop()));
});

describe('raw requests', () => {
  it.each(ZKTS_TARGETS)('every reply of %s equals Apache ZooKeeper’s', (name) => {
    const apache = transcripts.get('apache') ?? [];
    const zkts = transcripts.get(name) ?? [];
    expect(apache).toHaveLength(REQUESTS.length + 1);
    if (process.env.SHOW_WIRE)
      console.log(JSON.stringify({ apache, zkts }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
    for (let i = 0; i < apache.length; i++) expect([i, zkts[i]]).toEqual([i, apache[i]]);
  });
});

const WATCH_SCRIPT: Request[] = [
  { type: 'create', path: '/w', data: d('v'), acl: OPEN, flags: 0 },
  { type: 'create', path: '/w/c', data: null, acl: OPEN, flags: 0 },
  { type: 'getData', path: '/w', watch: true },
  { type: 'getChildren', path: '/w', watch: true },
  { type: 'exists', path: '/w/new', watch: true },
  { type: 'exists', path: '/w/c', watch: true },
  // The session's own writes: each notification arrives before the reply that caused it.
  { type: 'setData', path: '/w', data: d('v2'), version: -1 },
  { type: 'create', path: '/w/new', data: null, acl: OPEN, flags: 0 },
  { type: 'delete', path: '/w/c', version: -1 },
  // Re-registration after a (pretend) reconnect: anything changed since zxid 1 fires at once.
  {
    type: 'setWatches2',
    relativeZxid: 1n,
    dataWatches: ['/w'],
    existWatches: ['/w/new', '/w/absent'],
    childWatches: ['/w', '/gone'],
    persistentWatches: [],
    persistentRecursiveWatches: [],
  },
  { type: 'addWatch', path: '/w', mode: 1 },
  { type: 'create', path: '/w/new/deep', data: null, acl: OPEN, flags: 0 },
  { type: 'setData', path: '/w/new/deep', data: d('x'), version: -1 },
  { type: 'removeWatches', path: '/w', watcherType: 3 },
  { type: 'setData', path: '/w', data: d('v3'), version: -1 },
  { type: 'auth', authType: 0, scheme: 'digest', auth: d('alice:secret') },
  { type: 'whoAmI' },
  { type: 'auth', authType: 0, scheme: 'digest', auth: d('nocolon') },
  { type: 'whoAmI' },
  { type: 'auth', authType: 0, scheme: 'digest', auth: d('') },
  { type: 'whoAmI' },
  { type: 'ping' },
  { type: 'sync', path: '/' },
];

describe('watch notifications on the wire', () => {
  it('arrive in the same order relative to replies on every server', async () => {
    const seen: Record<string, string[]> = {};
    for (const name of TARGETS) {
      const t = await startTarget(name);
      try {
        const c = await RawClient.connect(t.port);
        for (const req of WATCH_SCRIPT) {
          if (req.type === 'auth') {
            // Auth replies carry xid -4; wait for it by a following request.
            c.send(req);
            continue;
          }
          const r = await c.request(req);
          if (req.type === 'whoAmI') {
            const info = r.response?.type === 'whoAmI' ? r.response.clientInfo : [];
            const ids = info.map((i) => `${i.authScheme}=${i.user}`).sort();
            c.arrivals.push(`whoAmI ${ids.join(',')}`);
          }
        }
        seen[name] = c.arrivals.map((a) =>
          a.replace(/^reply -?\d+ /, (m) => (m.startsWith('reply -') ? m : 'reply n ')),
        );
        c.destroy();
      } finally {
        await t.stop();
      }
    }
    expect(seen.apache).toContain('event 3 /w');
    for (const name of ZKTS_TARGETS) expect([name, seen[name]]).toEqual([name, seen.apache]);
  });
});

describe('the connect handshake', () => {
  it('negotiates, resumes and refuses sessions as Apache ZooKeeper does', async () => {
    const seen: Record<string, unknown[]> = {};
    for (const name of TARGETS) {
      const t = await startTarget(name);
      const out: unknown[] = [];
      const attempt = async (label: string, opts: Parameters<typeof RawClient.connect>[1]) => {
        const c = await RawClient.open(t.port);
        const r = await Promise.race([
          c.handshake(opts).then(
            (x) => ({
              timeOut: x.timeOut,
              session: x.sessionId === 0n ? 'none' : x.sessionId === opts?.sessionId ? 'resumed' : 'new',
              passwd: x.passwd.length,
              readOnly: x.readOnly,
            }),
            () => 'closed without an answer',
          ),
          new Promise((res) => setTimeout(() => res('no answer'), 5000)),
        ]);
        await new Promise((res) => setTimeout(res, 100));
        out.push([label, r, c.closed ? 'closed' : 'open']);
        return c;
      };
      try {
        const first = await RawClient.connect(t.port, { timeoutMs: 10_000 });
        const created = await first.request({ type: 'create', path: '/z', data: null, acl: OPEN, flags: 0 });
        // Newer than anything the server has seen, in its epoch (an ensemble member's is not 0).
        const newer = ((created.header.zxid >> 32n) << 32n) + 1_000_000n;
        const s = first.session;
        (await attempt('timeout below min', { timeoutMs: 1 })).destroy();
        (await attempt('timeout above max', { timeoutMs: 1_000_000 })).destroy();
        (await attempt('old client without readOnly byte', { readOnlyByte: false })).destroy();
        (
          await attempt('resume', {
            sessionId: s?.sessionId ?? 0n,
            passwd: s?.passwd ?? new Uint8Array(16),
            timeoutMs: 20_000,
          })
        ).destroy();
        (
          await attempt('resume, wrong password', {
            sessionId: s?.sessionId ?? 0n,
            passwd: new Uint8Array(16).fill(7),
          })
        ).destroy();
        (await attempt('unknown session', { sessionId: 0x1234567n, passwd: new Uint8Array(16) })).destroy();
        (await attempt('client saw a newer zxid', { lastZxidSeen: newer })).destroy();
        first.destroy();
      } finally {
        await t.stop();
      }
      seen[name] = out;
    }
    expect(seen.apache?.[0]).toEqual([
      'timeout below min',
      { timeOut: 4000, session: 'new', passwd: 16, readOnly: false },
      'open',
    ]);
    for (const name of ZKTS_TARGETS) expect([name, seen[name]]).toEqual([name, seen.apache]);
  });
});
