/**
 * Frames captured between Apache ZooKeeper 3.8's Java client and server (scripts/capture-fixtures.ts):
 * every frame decodes, re-encodes to the very same bytes, and the decoded fields are what the
 * client's script (scripts/FixtureClient.java) asked for.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AddWatchMode,
  CreateMode,
  type DecodedRequest,
  type DecodedResponse,
  decodeConnectRequest,
  decodeConnectResponse,
  decodeRequest,
  decodeResponse,
  ErrorCode,
  EventType,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeRequest,
  encodeResponse,
  KeeperState,
  OpCode,
  Perms,
  type Request,
  type RequestOf,
  type RequestType,
  type ResponseOf,
  type ResponseType,
  requestTypeOf,
  WatcherType,
  Xid,
} from '../src/index.js';

interface Frame {
  conn: number;
  dir: 'client' | 'server';
  step: string;
  kind: 'connectRequest' | 'connectResponse' | 'request' | 'response';
  type?: string;
  hex: string;
}

const session = JSON.parse(readFileSync(new URL('./fixtures/session.json', import.meta.url), 'utf8')) as {
  zookeeperVersion: string;
  frames: Frame[];
  oldClient: { request: string; response: string };
};
const frames = session.frames;
const bytes = (f: Frame) => Buffer.from(f.hex, 'hex');
const text = (b: Uint8Array | null | undefined) => (b == null ? null : Buffer.from(b).toString('utf8'));

const responseTypes = new Set<string>([
  'notification',
  ...Object.keys(OpCode).filter((n) => requestTypeOf(OpCode[n as keyof typeof OpCode]) !== undefined),
]);
function isResponseType(t: string | undefined): t is ResponseType {
  return t !== undefined && responseTypes.has(t);
}

/** The session a connection belongs to, from its ConnectResponse. */
function sessionOf(conn: number): bigint {
  const f = frames.find((g) => g.conn === conn && g.kind === 'connectResponse');
  if (f === undefined) throw new Error(`no connect response on connection ${conn}`);
  return decodeConnectResponse(bytes(f)).sessionId;
}
/** Connections of the first session, in order. */
const firstSession = sessionOf(1);
const connsOf = (id: bigint) =>
  [...new Set(frames.map((f) => f.conn))].filter((c) => sessionOf(c) === id).sort((a, b) => a - b);

interface Exchange {
  conn: number;
  req: DecodedRequest;
  res: DecodedResponse | undefined;
}

/** Requests paired with their replies (by connection and xid). */
function exchanges(): Exchange[] {
  const out: Exchange[] = [];
  for (const f of frames) {
    if (f.kind !== 'request') continue;
    const req = decodeRequest(bytes(f));
    const reply = frames.find((g) => {
      if (
        g.kind !== 'response' ||
        g.conn !== f.conn ||
        g.type === 'notification' ||
        !isResponseType(g.type)
      ) {
        return false;
      }
      return decodeResponse(bytes(g), g.type).header.xid === req.header.xid;
    });
    const res = reply && isResponseType(reply.type) ? decodeResponse(bytes(reply), reply.type) : undefined;
    out.push({ conn: f.conn, req, res });
  }
  return out;
}
const all = exchanges();

function find<T extends RequestType>(
  type: T,
  pred: (r: RequestOf<T>) => boolean = () => true,
): { req: RequestOf<T>; xid: number; res: ResponseOf<T> | null; err: number; conn: number } {
  for (const e of all) {
    if (e.req.request.type !== type) continue;
    const r = e.req.request as RequestOf<T>;
    if (!pred(r)) continue;
    if (e.res === undefined) throw new Error(`no reply captured for ${type} xid ${e.req.header.xid}`);
    return {
      req: r,
      xid: e.req.header.xid,
      res: e.res.response as ResponseOf<T> | null,
      err: e.res.header.err,
      conn: e.conn,
    };
  }
  throw new Error(`no ${type} request in the fixtures`);
}

describe(`fixtures captured from Apache ZooKeeper ${session.zookeeperVersion}`, () => {
  it('holds two sessions, each reconnected once, and every required exchange', () => {
    const ids = frames.filter((f) => f.kind === 'connectResponse').map((f) => sessionOf(f.conn));
    expect(ids.length).toBe(4);
    expect(new Set(ids).size).toBe(2);
    const types = new Set(all.map((e) => e.req.request.type));
    for (const t of [
      'create',
      'create2',
      'createContainer',
      'createTTL',
      'getData',
      'setData',
      'getChildren2',
      'multi',
      'multiRead',
      'setWatches',
      'setWatches2',
      'addWatch',
      'ping',
      'auth',
      'closeSession',
    ] as const) {
      expect(types.has(t), t).toBe(true);
    }
    expect(frames.some((f) => f.type === 'notification')).toBe(true);
  });

  it('re-encodes every captured frame to the same bytes', () => {
    let checked = 0;
    for (const f of frames) {
      const b = bytes(f);
      let again: Buffer;
      switch (f.kind) {
        case 'connectRequest':
          again = encodeConnectRequest(decodeConnectRequest(b));
          break;
        case 'connectResponse':
          again = encodeConnectResponse(decodeConnectResponse(b));
          break;
        case 'request': {
          const d = decodeRequest(b);
          expect(d.request.type).toBe(f.type);
          again = encodeRequest(d.header.xid, d.request);
          break;
        }
        case 'response': {
          if (!isResponseType(f.type)) throw new Error(`unpaired reply ${f.hex}`);
          const d = decodeResponse(b, f.type);
          again = encodeResponse(d.header, d.response);
          break;
        }
      }
      expect(again.toString('hex'), `${f.conn} ${f.dir} ${f.kind} ${f.type ?? ''}`).toBe(f.hex);
      checked++;
    }
    expect(checked).toBe(frames.length);
    expect(checked).toBeGreaterThan(50);
  });

  it('connect: request with the readOnly byte, response with session id and password, reconnect reuses them', () => {
    const [c1, c2] = connsOf(firstSession);
    const connect = (conn: number | undefined, kind: Frame['kind']) => {
      const f = frames.find((g) => g.conn === conn && g.kind === kind);
      if (f === undefined) throw new Error(`no ${kind} on connection ${conn}`);
      return bytes(f);
    };
    const req1 = decodeConnectRequest(connect(c1, 'connectRequest'));
    const res1 = decodeConnectResponse(connect(c1, 'connectResponse'));
    const req2 = decodeConnectRequest(connect(c2, 'connectRequest'));
    const res2 = decodeConnectResponse(connect(c2, 'connectResponse'));
    expect(req1).toMatchObject({
      protocolVersion: 0,
      lastZxidSeen: 0n,
      timeOut: 4000,
      sessionId: 0n,
      readOnly: false,
    });
    expect(Buffer.from(req1.passwd)).toEqual(Buffer.alloc(16));
    expect(res1).toMatchObject({ protocolVersion: 0, timeOut: 4000, readOnly: false });
    expect(res1.sessionId).not.toBe(0n);
    expect(res1.passwd.length).toBe(16);
    expect(req2.sessionId).toBe(res1.sessionId);
    expect(Buffer.from(req2.passwd)).toEqual(Buffer.from(res1.passwd));
    expect(req2.lastZxidSeen).toBeGreaterThan(0n);
    expect(req2.readOnly).toBe(false);
    expect(res2.sessionId).toBe(res1.sessionId);
  });

  it('connect from an old client: no readOnly byte either way', () => {
    const req = Buffer.from(session.oldClient.request, 'hex');
    const res = Buffer.from(session.oldClient.response, 'hex');
    expect(decodeConnectRequest(req).readOnly).toBeUndefined();
    const decoded = decodeConnectResponse(res);
    expect(res.length).toBe(36);
    expect(decoded.readOnly).toBeUndefined();
    expect(decoded).toMatchObject({ protocolVersion: 0, timeOut: 4000 });
    expect(decoded.sessionId).not.toBe(0n);
    expect(encodeConnectResponse(decoded).toString('hex')).toBe(session.oldClient.response);
    expect(encodeConnectRequest(decodeConnectRequest(req)).toString('hex')).toBe(session.oldClient.request);
  });

  it('create in every mode', () => {
    const openAcl = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
    const persistent = find('create', (r) => r.path === '/fx');
    expect(persistent.req).toMatchObject({ flags: CreateMode.PERSISTENT, acl: openAcl });
    expect(text(persistent.req.data)).toBe('root');
    expect(persistent.res).toEqual({ type: 'create', path: '/fx' });

    const eph = find('create', (r) => r.path === '/fx/eph');
    expect(eph.req.flags).toBe(CreateMode.EPHEMERAL);
    expect(eph.res?.path).toBe('/fx/eph');

    const seq = find('create', (r) => r.path === '/fx/seq-');
    expect(seq.req.flags).toBe(CreateMode.PERSISTENT_SEQUENTIAL);
    expect(seq.res?.path).toMatch(/^\/fx\/seq-\d{10}$/);

    const eseq = find('create2', (r) => r.path === '/fx/eseq-');
    expect(eseq.req.flags).toBe(CreateMode.EPHEMERAL_SEQUENTIAL);
    expect(eseq.req.data).toBeNull();
    expect(eseq.res?.path).toMatch(/^\/fx\/eseq-\d{10}$/);
    const sessionId = decodeConnectResponse(
      bytes(frames.find((f) => f.kind === 'connectResponse') as Frame),
    ).sessionId;
    expect(eseq.res?.stat.ephemeralOwner).toBe(sessionId);
    expect(eseq.res?.stat.dataLength).toBe(0);

    const container = find('createContainer');
    expect(container.req).toMatchObject({ path: '/fx/container', flags: CreateMode.CONTAINER });
    expect(container.res).toMatchObject({ type: 'createContainer', path: '/fx/container' });

    const ttl = find('createTTL');
    expect(ttl.req).toMatchObject({ path: '/fx/ttl', flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 60000n });
    expect(ttl.res?.path).toBe('/fx/ttl');
    expect(ttl.res?.stat.czxid).toBe(ttl.res?.stat.mzxid);
  });

  it('getData with a watch, setData and the notification it fires', () => {
    const get = find('getData', (r) => r.path === '/fx' && r.watch);
    expect(text(get.res?.data)).toBe('root');
    expect(get.res?.stat).toMatchObject({ version: 0, dataLength: 4 });

    const set = find('setData', (r) => r.path === '/fx');
    expect(set.req.version).toBe(-1);
    expect(text(set.req.data)).toBe('root-v2');
    expect(set.res?.stat).toMatchObject({ version: 1, dataLength: 7 });

    const notes = frames
      .filter((f) => f.type === 'notification')
      .map((f) => decodeResponse(bytes(f), 'notification'));
    const changed = notes.find((n) => n.response?.event.path === '/fx');
    expect(changed?.header).toEqual({ xid: Xid.notification, zxid: -1n, err: 0 });
    expect(changed?.response?.event).toEqual({
      type: EventType.NodeDataChanged,
      state: KeeperState.SyncConnected,
      path: '/fx',
    });
    // The ephemerals deleted by closeSession reach the recursive watch on /fx.
    expect(notes.filter((n) => n.response?.event.type === EventType.NodeDeleted).length).toBeGreaterThan(0);
  });

  it('getChildren2', () => {
    const gc = find('getChildren2', (r) => r.path === '/fx');
    expect(gc.req.watch).toBe(false);
    const children = gc.res?.children ?? [];
    expect(children).toEqual(expect.arrayContaining(['eph', 'container', 'ttl']));
    expect(gc.res?.stat.numChildren).toBe(children.length);
  });

  it('multi: ops and results, including ErrorResult', () => {
    const ok = find('multi', (r) => r.ops.some((o) => o.path === '/fx/m1'));
    expect(ok.req.ops.map((o) => o.type)).toEqual(['create', 'setData', 'check', 'delete']);
    expect(ok.req.ops[2]).toEqual({ type: 'check', path: '/fx', version: 1 });
    expect(ok.err).toBe(ErrorCode.OK);
    expect(ok.res?.results.map((r) => r.type)).toEqual(['create', 'setData', 'check', 'delete']);
    expect(ok.res?.results[0]).toEqual({ type: 'create', path: '/fx/m1' });

    const failed = find('multi', (r) => r.ops.some((o) => o.path === '/fx/m2'));
    expect(failed.err).toBe(ErrorCode.OK);
    expect(failed.res?.results).toEqual([
      { type: 'error', err: ErrorCode.OK },
      { type: 'error', err: ErrorCode.NoNode },
    ]);

    const read = find('multiRead');
    expect(read.req.ops).toEqual([
      { type: 'getData', path: '/fx', watch: false },
      { type: 'getChildren', path: '/fx', watch: false },
    ]);
    const [data, kids] = read.res?.results ?? [];
    expect(data?.type === 'getData' && text(data.data)).toBe('root-v2');
    expect(kids?.type === 'getChildren' && kids.children.includes('eph')).toBe(true);
  });

  it('setWatches2 on reconnect carries every kind of watch', () => {
    const sw = find('setWatches2');
    expect(sw.conn).toBe(connsOf(firstSession)[1]);
    expect(sw.req).toMatchObject({
      dataWatches: ['/fx/w'],
      existWatches: ['/fx/not-yet'],
      childWatches: ['/fx'],
      persistentWatches: ['/fx/p'],
      persistentRecursiveWatches: ['/fx'],
    });
    const reconnect = frames.find((f) => f.conn === sw.conn && f.kind === 'connectRequest') as Frame;
    expect(sw.req.relativeZxid).toBe(decodeConnectRequest(bytes(reconnect)).lastZxidSeen);
    expect(sw.err).toBe(ErrorCode.OK);
    expect(sw.res).toEqual({ type: 'setWatches2' });
  });

  it('setWatches (the original) from a session without persistent watches', () => {
    const sw = find('setWatches');
    expect(sessionOf(sw.conn)).not.toBe(firstSession);
    expect(sw.req).toMatchObject({
      dataWatches: ['/fx/w'],
      existWatches: ['/fx/not-there'],
      childWatches: ['/fx/w'],
    });
    expect(sw.err).toBe(ErrorCode.OK);
    expect(sw.res).toEqual({ type: 'setWatches' });
  });

  it('addWatch in both modes, answered with an ErrorResponse body', () => {
    const persistent = find('addWatch', (r) => r.path === '/fx/p');
    expect(persistent.req.mode).toBe(AddWatchMode.PERSISTENT);
    expect(persistent.res).toEqual({ type: 'addWatch', err: 0 });
    const recursive = find('addWatch', (r) => r.path === '/fx');
    expect(recursive.req.mode).toBe(AddWatchMode.PERSISTENT_RECURSIVE);
  });

  it('error replies carry the code and no body', () => {
    const missing = find('getData', (r) => r.path === '/fx/missing');
    expect(missing.err).toBe(ErrorCode.NoNode);
    expect(missing.res).toBeNull();
    const exists = find('exists', (r) => r.path === '/fx/not-yet');
    expect(exists.err).toBe(ErrorCode.NoNode);
    const reconfig = find('reconfig');
    expect(reconfig.req).toMatchObject({ joiningServers: null, leavingServers: null, curConfigId: -1n });
    expect(reconfig.req.newMembers).toContain('server.1=');
    expect(reconfig.err).toBe(ErrorCode.ReconfigDisabled);
  });

  it('ping, auth, whoAmI, ACLs, watch removal and closeSession', () => {
    const ping = find('ping');
    expect(ping.xid).toBe(Xid.ping);
    expect(ping.res).toEqual({ type: 'ping' });

    const auth = find('auth');
    expect(auth.xid).toBe(Xid.auth);
    expect(auth.req).toMatchObject({ authType: 0, scheme: 'digest' });
    expect(text(auth.req.auth)).toBe('user:secret');

    const who = find('whoAmI');
    expect(who.res?.clientInfo).toEqual(
      expect.arrayContaining([
        { authScheme: 'ip', user: '127.0.0.1' },
        { authScheme: 'digest', user: 'user' },
      ]),
    );

    const setAcl = find('setACL');
    expect(setAcl.req.acl).toEqual([
      { perms: Perms.READ | Perms.WRITE, id: { scheme: 'world', id: 'anyone' } },
      { perms: Perms.ALL, id: { scheme: 'ip', id: '127.0.0.1' } },
    ]);
    const getAcl = find('getACL');
    expect(getAcl.res?.acl).toEqual(setAcl.req.acl);
    expect(getAcl.res?.stat.aversion).toBe(1);

    expect(find('checkWatches').req).toEqual({
      type: 'checkWatches',
      path: '/fx/r',
      watcherType: WatcherType.Data,
    });
    expect(find('removeWatches').req).toEqual({
      type: 'removeWatches',
      path: '/fx/r',
      watcherType: WatcherType.Any,
    });
    expect(find('sync').res).toEqual({ type: 'sync', path: '/fx' });
    expect(find('getAllChildrenNumber').res?.totalNumber).toBeGreaterThan(3);
    expect(find('getEphemerals').res?.ephemerals).toEqual(expect.arrayContaining(['/fx/eph']));

    const close = find('closeSession');
    expect(close.req).toEqual({ type: 'closeSession' } satisfies Request);
    expect(close.err).toBe(ErrorCode.OK);
  });
});
