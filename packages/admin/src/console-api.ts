/**
 * The web console's JSON API. Reads come from the server's tree with the caller's credentials
 * (so a node's ACL decides what the console shows); writes go through a ZooKeeper client
 * connected to the server, so they take the normal write path with its ACL and version checks.
 */

import { createClient, KeeperError, type ZooKeeperClient } from '@zkts/client';
import { type ACL, errorCodeName, Perms, type Stat } from '@zkts/codec';
import { aclAllows, digestAuthIds, ephemeralKind, parentPathOf, TreeError } from '@zkts/data-tree';
import type { ZkServer } from '@zkts/server';

export class ConsoleError extends Error {
  override readonly name = 'ConsoleError';
  constructor(
    readonly status: number,
    message: string,
    /** ZooKeeper's error name when the server refused (NoNode, BadVersion, NoAuth, ...). */
    readonly code?: string,
  ) {
    super(message);
  }
}

export type ApiValue = null | boolean | number | string | ApiValue[] | { [key: string]: ApiValue };

const hex = (v: bigint) => `0x${BigInt.asUintN(64, v).toString(16)}`;

export function statJson(s: Stat): { [key: string]: ApiValue } {
  return {
    czxid: hex(s.czxid),
    mzxid: hex(s.mzxid),
    pzxid: hex(s.pzxid),
    ctime: Number(s.ctime),
    mtime: Number(s.mtime),
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: hex(s.ephemeralOwner),
    dataLength: s.dataLength,
    numChildren: s.numChildren,
  };
}

function aclJson(acl: readonly ACL[]): ApiValue[] {
  return acl.map((a) => ({ scheme: a.id.scheme, id: a.id.id, perms: a.perms }));
}

function checkPath(path: string | null): string {
  if (path === null || path === '') throw new ConsoleError(400, 'missing parameter: path');
  if (!path.startsWith('/') || (path.length > 1 && path.endsWith('/')) || path.includes('//')) {
    throw new ConsoleError(400, `invalid path: ${path}`, 'BadArguments');
  }
  return path;
}

function treeFailure(e: unknown): ConsoleError {
  if (e instanceof TreeError) {
    const name = errorCodeName(e.code) ?? String(e.code);
    return new ConsoleError(name === 'NoNode' ? 404 : name === 'NoAuth' ? 403 : 400, e.message, name);
  }
  if (e instanceof KeeperError) {
    const name = e.codeName;
    const status = name === 'NoNode' ? 404 : name === 'NoAuth' ? 403 : name === 'BadVersion' ? 409 : 400;
    return new ConsoleError(status, e.message, name);
  }
  return e instanceof ConsoleError ? e : new ConsoleError(500, (e as Error).message);
}

const MAX_CLIENTS = 8;
const MAX_SEARCH_RESULTS = 200;

export interface ConsoleApiOptions {
  server: ZkServer;
  /** Bytes of data a write may carry (the server's jute.maxbuffer). */
  maxDataBytes: number;
}

export interface WriteRequest {
  op: 'setData' | 'create' | 'delete' | 'setACL';
  path: string;
  /** The data: text as UTF-8, or hex when `encoding` is `hex`. */
  data?: string;
  encoding?: 'text' | 'hex';
  version?: number;
  mode?: 'PERSISTENT' | 'EPHEMERAL' | 'PERSISTENT_SEQUENTIAL' | 'CONTAINER';
  acl?: Array<{ scheme: string; id: string; perms: number }>;
}

/** The console's reads and writes. `auth` is a digest `user:password` or undefined. */
export class ConsoleApi {
  private readonly clients = new Map<string, ZooKeeperClient>();
  private closed = false;

  constructor(private readonly options: ConsoleApiOptions) {}

  private get server(): ZkServer {
    return this.options.server;
  }

  private authIds(auth: string | undefined) {
    if (auth === undefined || auth === '') return [];
    return digestAuthIds(auth, this.server.config.superDigest);
  }

  node(path: string | null, auth: string | undefined): { [key: string]: ApiValue } {
    const p = checkPath(path);
    const tree = this.server.tree;
    const stat = tree.statNode(p);
    if (stat === undefined) throw new ConsoleError(404, `KeeperErrorCode = NoNode for ${p}`, 'NoNode');
    const ctx = { authIds: this.authIds(auth) };
    const out: { [key: string]: ApiValue } = { path: p, stat: statJson(stat) };
    try {
      const { data } = tree.getData(p, ctx);
      // Null data (created or set with null, zkCli prints `null`) is told apart from empty data.
      out.nullData = data === null;
      const buf = Buffer.from(data ?? new Uint8Array(0));
      out.hex = buf.toString('hex');
      const text = new TextDecoder('utf-8', { fatal: false }).decode(buf);
      out.text = Buffer.from(text, 'utf8').equals(buf) ? text : null;
      out.dataError = null;
    } catch (e) {
      if (!(e instanceof TreeError)) throw e;
      out.nullData = false;
      out.hex = null;
      out.text = null;
      out.dataError = errorCodeName(e.code) ?? String(e.code);
    }
    try {
      out.children = tree.getChildren(p, ctx).children.sort();
    } catch (e) {
      if (!(e instanceof TreeError)) throw e;
      out.children = [];
    }
    try {
      out.acl = aclJson(tree.getACL(p, ctx).acl);
    } catch (e) {
      if (!(e instanceof TreeError)) throw e;
      out.acl = aclJson(tree.aclOf(p) ?? []);
    }
    out.ephemeral = this.isEphemeral(stat.ephemeralOwner);
    return out;
  }

  private isEphemeral(owner: bigint | undefined): boolean {
    if (owner === undefined) return false;
    return ephemeralKind(owner, this.server.config.extendedTypesEnabled) === 'normal';
  }

  children(path: string | null, auth: string | undefined): { [key: string]: ApiValue } {
    const p = checkPath(path);
    const tree = this.server.tree;
    if (tree.statNode(p) === undefined) {
      throw new ConsoleError(404, `KeeperErrorCode = NoNode for ${p}`, 'NoNode');
    }
    let names: string[];
    try {
      names = tree.getChildren(p, { authIds: this.authIds(auth) }).children.sort();
    } catch (e) {
      throw treeFailure(e);
    }
    const prefix = p === '/' ? '/' : `${p}/`;
    return {
      path: p,
      children: names.map((n) => {
        const s = tree.statNode(`${prefix}${n}`);
        return { name: n, numChildren: s?.numChildren ?? 0, ephemeral: this.isEphemeral(s?.ephemeralOwner) };
      }),
    };
  }

  /**
   * Paths containing `query`. A path shows only when the caller may list its parent (READ on the
   * parent, as getChildren needs), so a search reveals no more than browsing would.
   */
  search(query: string | null, auth: string | undefined): { [key: string]: ApiValue } {
    const q = (query ?? '').trim();
    if (q === '') throw new ConsoleError(400, 'missing parameter: q');
    const tree = this.server.tree;
    const ids = this.authIds(auth);
    const listable = new Map<string, boolean>();
    const canList = (parent: string): boolean => {
      let ok = listable.get(parent);
      if (ok === undefined) {
        const acl = tree.aclOf(parent);
        ok = acl !== undefined && aclAllows(acl, Perms.READ, ids);
        listable.set(parent, ok);
      }
      return ok;
    };
    const matches: string[] = [];
    let more = false;
    for (const path of tree.paths()) {
      if (path === '' || path === '/' || !path.includes(q)) continue;
      if (!canList(parentPathOf(path) || '/')) continue;
      if (matches.length >= MAX_SEARCH_RESULTS) {
        more = true;
        break;
      }
      matches.push(path);
    }
    return { query: q, paths: matches.sort(), truncated: more };
  }

  sessions(): { [key: string]: ApiValue } {
    const tree = this.server.tree;
    const src = this.server.fourLetterSource();
    const byId = new Map<bigint, string>();
    for (const c of src.connections())
      if (c.sessionId !== 0n) byId.set(c.sessionId, c.remote.replace(/^\//, ''));
    const sessions: ApiValue[] = [];
    for (const [id, timeout] of tree.getSessions()) {
      sessions.push({
        id: hex(id),
        timeoutMs: timeout,
        remote: byId.get(id) ?? null,
        ephemerals: tree.getEphemerals(id),
      });
    }
    return { sessions };
  }

  watches(): { [key: string]: ApiValue } {
    const byPath = new Map<string, string[]>();
    for (const [id, paths] of this.server.fourLetterSource().watchesBySession()) {
      for (const p of paths) byPath.set(p, [...(byPath.get(p) ?? []), hex(id)]);
    }
    return {
      watches: [...byPath.entries()]
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .map(([path, sessions]) => ({ path, sessions })),
    };
  }

  ensemble(): { [key: string]: ApiValue } {
    const src = this.server.fourLetterSource();
    const { host, port } = this.server.address();
    return {
      mode: src.mode,
      members: [
        {
          id: this.server.serverId,
          address: `${host}:${port}`,
          mode: src.mode,
          zxid: hex(src.lastZxid),
          lag: 0,
          self: true,
        },
      ],
    };
  }

  stats(): { [key: string]: ApiValue } {
    const src = this.server.fourLetterSource();
    const c = this.server.counters;
    return {
      time: Date.now(),
      mode: src.mode,
      packetsReceived: src.packetsReceived,
      packetsSent: src.packetsSent,
      commits: c.commitCount,
      reads: c.readLatency.count,
      writes: c.updateLatency.count,
      avgLatency: src.latency.avg,
      maxLatency: src.latency.max,
      outstanding: src.outstandingRequests,
      connections: src.connections().length,
      nodeCount: src.nodeCount,
      zxid: hex(src.lastZxid),
    };
  }

  private async client(auth: string | undefined): Promise<ZooKeeperClient> {
    if (this.closed) throw new ConsoleError(503, 'the admin server is closing');
    const key = auth ?? '';
    const existing = this.clients.get(key);
    if (existing !== undefined && (existing.state === 'connected' || existing.state === 'connecting')) {
      return existing;
    }
    if (existing !== undefined) {
      this.clients.delete(key);
      void existing.close().catch(() => {});
    }
    if (this.clients.size >= MAX_CLIENTS) {
      const [oldestKey, oldest] = this.clients.entries().next().value as [string, ZooKeeperClient];
      this.clients.delete(oldestKey);
      void oldest.close().catch(() => {});
    }
    let { host, port } = this.server.address();
    if (host === '0.0.0.0' || host === '::' || host === '') host = '127.0.0.1';
    const connectString = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const zk = createClient(connectString, {
      sessionTimeout: 30_000,
      ...(key === '' ? {} : { authInfo: [{ scheme: 'digest', auth: key }] }),
    });
    this.clients.set(key, zk);
    try {
      await zk.connect({ timeout: 10_000 });
    } catch (e) {
      this.clients.delete(key);
      void zk.close().catch(() => {});
      throw treeFailure(e);
    }
    return zk;
  }

  private data(req: WriteRequest): Buffer {
    const text = req.data ?? '';
    let buf: Buffer;
    if (req.encoding === 'hex') {
      const clean = text.replace(/\s+/g, '');
      if (!/^([0-9a-fA-F]{2})*$/.test(clean))
        throw new ConsoleError(400, 'data is not valid hex', 'BadArguments');
      buf = Buffer.from(clean, 'hex');
    } else {
      buf = Buffer.from(text, 'utf8');
    }
    if (buf.length > this.options.maxDataBytes) {
      throw new ConsoleError(400, `data of ${buf.length} bytes is over jute.maxbuffer`, 'BadArguments');
    }
    return buf;
  }

  /** Runs a write as a ZooKeeper client would, with the caller's credentials. */
  async write(req: WriteRequest, auth: string | undefined): Promise<{ [key: string]: ApiValue }> {
    const path = checkPath(typeof req.path === 'string' ? req.path : null);
    const version = req.version === undefined ? -1 : req.version;
    if (!Number.isInteger(version) || version < -1 || version > 0x7fffffff) {
      throw new ConsoleError(400, `bad version: ${String(req.version)}`, 'BadArguments');
    }
    try {
      switch (req.op) {
        case 'setData': {
          const zk = await this.client(auth);
          const stat = await zk.setData(path, this.data(req), version);
          return { path, stat: statJson(stat) };
        }
        case 'create': {
          const zk = await this.client(auth);
          const mode = req.mode ?? 'PERSISTENT';
          if (mode === 'EPHEMERAL') {
            throw new ConsoleError(400, 'the console does not create ephemeral nodes', 'BadArguments');
          }
          const acl = req.acl === undefined ? undefined : this.acl(req.acl);
          const created = await zk.createWithStat(path, this.data(req), {
            mode,
            ...(acl === undefined ? {} : { acl }),
          });
          return { path: created.path, stat: statJson(created.stat) };
        }
        case 'delete': {
          const zk = await this.client(auth);
          await zk.delete(path, version);
          return { path };
        }
        case 'setACL': {
          const zk = await this.client(auth);
          const stat = await zk.setACL(path, this.acl(req.acl ?? []), version);
          return { path, stat: statJson(stat) };
        }
        default:
          throw new ConsoleError(400, `unknown op: ${String((req as { op: unknown }).op)}`, 'BadArguments');
      }
    } catch (e) {
      throw treeFailure(e);
    }
  }

  private acl(list: unknown): ACL[] {
    if (!Array.isArray(list) || list.length === 0)
      throw new ConsoleError(400, 'acl must be a non-empty list', 'InvalidACL');
    return list.map((a: unknown) => {
      const x = a as { scheme?: unknown; id?: unknown; perms?: unknown };
      if (typeof x.scheme !== 'string' || typeof x.id !== 'string' || typeof x.perms !== 'number') {
        throw new ConsoleError(400, 'each acl entry needs scheme, id and perms', 'InvalidACL');
      }
      if (!Number.isInteger(x.perms) || x.perms < 0 || x.perms > 31) {
        throw new ConsoleError(400, `bad perms ${x.perms}`, 'InvalidACL');
      }
      return { perms: x.perms, id: { scheme: x.scheme, id: x.id } };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.close().catch(() => {})));
  }
}
