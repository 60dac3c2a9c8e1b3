import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { APACHE_ZK_CONF_DIR, APACHE_ZK_JAR, assertApacheZooKeeperInstalled } from './apache.js';

/** The Java source of the driver (packages/testkit/java/ZkDriver.java). */
export const JAVA_DRIVER_SOURCE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'java',
  'ZkDriver.java',
);

/** A Stat as the Java client reports it; 64-bit fields are bigint. */
export interface DriverStat {
  czxid: bigint;
  mzxid: bigint;
  ctime: bigint;
  mtime: bigint;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}

export interface DriverACL {
  perms: number;
  scheme: string;
  id: string;
}

/** Data as bytes, or a string sent as UTF-8; null sends a null byte array. */
export type DriverData = Uint8Array | string | null;

export type DriverMultiOp =
  | { op: 'create'; path: string; data?: DriverData; acl?: DriverACL[]; mode?: number; ttl?: number }
  | { op: 'delete'; path: string; version?: number }
  | { op: 'setData'; path: string; data?: DriverData; version?: number }
  | { op: 'check'; path: string; version?: number };

export type DriverOpResult =
  | { type: 'create'; path: string; stat: DriverStat | null }
  | { type: 'delete' }
  | { type: 'setData'; stat: DriverStat | null }
  | { type: 'check' }
  | { type: 'error'; code: number };

/** `client` names one of the driver's ZooKeeper handles ("default" when omitted). */
interface Base {
  client?: string;
}

export type DriverRequest =
  | (Base & { op: 'connect'; connectString?: string; sessionTimeout?: number; connectTimeoutMs?: number })
  | (Base & { op: 'close' })
  | (Base & { op: 'create'; path: string; data?: DriverData; acl?: DriverACL[]; mode?: number; ttl?: number })
  | (Base & { op: 'delete'; path: string; version?: number })
  | (Base & { op: 'exists'; path: string; watch?: boolean })
  | (Base & { op: 'getData'; path: string; watch?: boolean })
  | (Base & { op: 'setData'; path: string; data?: DriverData; version?: number })
  | (Base & { op: 'getChildren'; path: string; watch?: boolean })
  | (Base & { op: 'getChildren2'; path: string; watch?: boolean })
  | (Base & { op: 'getACL'; path: string })
  | (Base & { op: 'setACL'; path: string; acl: DriverACL[]; version?: number })
  | (Base & { op: 'multi'; ops: DriverMultiOp[] })
  | (Base & { op: 'sync'; path: string })
  | (Base & { op: 'addAuth'; scheme: string; auth: string })
  | (Base & { op: 'addWatch'; path: string; mode: 0 | 1 })
  | (Base & { op: 'removeWatches'; path: string; watcherType: number; local?: boolean })
  | (Base & { op: 'getEphemerals'; prefix?: string })
  | (Base & { op: 'getAllChildrenNumber'; path: string })
  | (Base & { op: 'whoAmI' })
  | (Base & { op: 'sessionId' });

export type DriverOp = DriverRequest['op'];

/** What a successful request returns, per op. */
export interface DriverResults {
  connect: { sessionId: bigint; sessionTimeout: number };
  close: Record<string, never>;
  create: { path: string; stat: DriverStat };
  delete: Record<string, never>;
  exists: { stat: DriverStat | null };
  getData: { data: Uint8Array | null; stat: DriverStat };
  setData: { stat: DriverStat };
  getChildren: { children: string[] };
  getChildren2: { children: string[]; stat: DriverStat };
  getACL: { acl: DriverACL[]; stat: DriverStat };
  setACL: { stat: DriverStat };
  multi: { results: DriverOpResult[] };
  sync: Record<string, never>;
  addAuth: Record<string, never>;
  addWatch: Record<string, never>;
  removeWatches: Record<string, never>;
  getEphemerals: { paths: string[] };
  getAllChildrenNumber: { count: number };
  whoAmI: { clientInfo: { authScheme: string; user: string }[] };
  sessionId: { sessionId: bigint };
}

/**
 * A failed request: `code` is the KeeperException code the server answered; `clientError` is set
 * instead when the Java client refused the call itself (e.g. IllegalArgument for a bad path).
 * For a failed multi, `results` holds the per-op results.
 */
export interface DriverFailure {
  ok: false;
  code?: number;
  codeName?: string;
  clientError?: string;
  message: string;
  results?: DriverOpResult[];
}

export type DriverResponse<O extends DriverOp> = ({ ok: true } & DriverResults[O]) | DriverFailure;

export interface DriverEvent {
  client: string;
  type: string;
  typeCode: number;
  state: string;
  path: string | null;
}

export interface JavaDriver {
  /** Sends one request and resolves with its result line. Requests run one after another. */
  request<R extends DriverRequest>(req: R): Promise<DriverResponse<R['op']>>;
  /** Like request, but throws unless it succeeded. */
  must<R extends DriverRequest>(req: R): Promise<{ ok: true } & DriverResults[R['op']]>;
  /** Every watch/state event received so far, in order. */
  readonly events: DriverEvent[];
  /** Resolves with the first event (already received or future) matching `pred`. */
  waitForEvent(pred: (e: DriverEvent) => boolean, timeoutMs?: number): Promise<DriverEvent>;
  /** Closes every client and ends the JVM. */
  close(): Promise<void>;
  readonly process: ChildProcessWithoutNullStreams;
  /** What the JVM wrote to stderr (for failing tests). */
  stderr(): string;
}

function javac(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('javac', args, { maxBuffer: 4 * 1024 * 1024 }, (err, _out, stderr) => {
      if (err) reject(new Error(`javac failed: ${stderr || err.message}`));
      else resolve();
    });
  });
}

/** Compiles ZkDriver.java once per source version into a cache directory and returns it. */
export async function compileJavaDriver(): Promise<string> {
  assertApacheZooKeeperInstalled();
  const src = await readFile(JAVA_DRIVER_SOURCE);
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `zkts-java-driver-${hash}`);
  if (existsSync(join(dir, 'ZkDriver.class'))) return dir;
  const work = await mkdtemp(join(tmpdir(), 'zkts-java-driver-build-'));
  try {
    await javac(['-nowarn', '-cp', `${APACHE_ZK_CONF_DIR}:${APACHE_ZK_JAR}`, '-d', work, JAVA_DRIVER_SOURCE]);
    await mkdir(dirname(dir), { recursive: true });
    try {
      await rename(work, dir);
    } catch {
      // Another process compiled it first.
      if (!existsSync(join(dir, 'ZkDriver.class'))) throw new Error(`could not install the driver in ${dir}`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return dir;
}

const LONG_STAT_FIELDS = ['czxid', 'mzxid', 'ctime', 'mtime', 'ephemeralOwner', 'pzxid'] as const;

function toStat(j: unknown): DriverStat | null {
  if (j === null || j === undefined) return null;
  const o = j as Record<string, string | number>;
  const s = { ...o } as Record<string, unknown>;
  for (const k of LONG_STAT_FIELDS) s[k] = BigInt(o[k] as string);
  return s as unknown as DriverStat;
}

function toOpResults(j: unknown): DriverOpResult[] {
  return (j as Record<string, unknown>[]).map(
    (r) => ('stat' in r ? { ...r, stat: toStat(r.stat) } : r) as DriverOpResult,
  );
}

function encodeData(d: DriverData | undefined): string | null {
  if (d === undefined || d === null) return null;
  const bytes =
    typeof d === 'string' ? Buffer.from(d, 'utf8') : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return bytes.toString('base64');
}

function toWire(req: DriverRequest, id: number): Record<string, unknown> {
  const out: Record<string, unknown> = { ...req, id };
  if ('data' in req) out.data = encodeData(req.data);
  if (req.op === 'multi') {
    out.ops = req.ops.map((o) => ('data' in o ? { ...o, data: encodeData(o.data) } : o));
  }
  return out;
}

function fromWire(op: DriverOp, j: Record<string, unknown>): Record<string, unknown> {
  const r: Record<string, unknown> = { ...j };
  delete r.id;
  if ('stat' in r) r.stat = toStat(r.stat);
  if ('results' in r && Array.isArray(r.results)) r.results = toOpResults(r.results);
  if ('sessionId' in r) r.sessionId = BigInt(r.sessionId as string);
  if (op === 'getData' && r.ok === true) {
    r.data =
      r.data === null || r.data === undefined
        ? null
        : new Uint8Array(Buffer.from(r.data as string, 'base64'));
  }
  return r;
}

/**
 * Starts the JSON-lines Java driver (Apache ZooKeeper's own Java client) against `connectString`,
 * and connects a client named "default" unless `connect` is false. A request not answered within
 * `requestTimeoutMs` (60 s) resolves as a failure with clientError "Timeout".
 */
export async function startJavaDriver(
  connectString: string,
  options: { connect?: boolean; sessionTimeout?: number; requestTimeoutMs?: number } = {},
): Promise<JavaDriver> {
  const requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
  const dir = await compileJavaDriver();
  const child = spawn(
    'java',
    [
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Xshare:auto',
      '-Dzookeeper.extendedTypesEnabled=true',
      '-cp',
      `${APACHE_ZK_CONF_DIR}:${APACHE_ZK_JAR}:${dir}`,
      'ZkDriver',
      connectString,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr.on('data', (c: Buffer) => {
    err = (err + c.toString('utf8')).slice(-64 * 1024);
  });
  const events: DriverEvent[] = [];
  const eventWaiters: { pred: (e: DriverEvent) => boolean; resolve: (e: DriverEvent) => void }[] = [];
  const pending = new Map<number, { op: DriverOp; resolve: (r: Record<string, unknown>) => void }>();
  let nextId = 1;
  let exited = false;
  let readyResolve: () => void = () => {};
  const ready = new Promise<void>((r) => {
    readyResolve = r;
  });
  const exit = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      for (const [, p] of pending)
        p.resolve({ ok: false, clientError: 'DriverExited', message: err.slice(-2000) });
      pending.clear();
      readyResolve();
      resolve();
    }),
  );
  const rl = createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (j.ready === true) {
      readyResolve();
      return;
    }
    if (j.event === true) {
      const e: DriverEvent = {
        client: j.client as string,
        type: j.type as string,
        typeCode: j.typeCode as number,
        state: j.state as string,
        path: (j.path as string | null | undefined) ?? null,
      };
      events.push(e);
      for (let i = eventWaiters.length - 1; i >= 0; i--) {
        const w = eventWaiters[i]!;
        if (w.pred(e)) {
          eventWaiters.splice(i, 1);
          w.resolve(e);
        }
      }
      return;
    }
    const id = j.id as number;
    const p = pending.get(id);
    if (p === undefined) return;
    pending.delete(id);
    p.resolve(fromWire(p.op, j));
  });
  await ready;
  if (exited) throw new Error(`the Java driver exited at start:\n${err}`);

  const request = <R extends DriverRequest>(req: R): Promise<DriverResponse<R['op']>> => {
    if (exited) {
      return Promise.resolve({ ok: false, clientError: 'DriverExited', message: err.slice(-2000) });
    }
    const id = nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve({
          ok: false,
          clientError: 'Timeout',
          message: `no answer to ${req.op} within ${requestTimeoutMs} ms`,
        });
      }, requestTimeoutMs);
      pending.set(id, {
        op: req.op,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as unknown as DriverResponse<R['op']>);
        },
      });
      child.stdin.write(`${JSON.stringify(toWire(req, id))}\n`);
    });
  };
  const driver: JavaDriver = {
    request,
    async must(req) {
      const r = await request(req);
      if (!r.ok) throw new Error(`${req.op} ${'path' in req ? req.path : ''} failed: ${JSON.stringify(r)}`);
      return r;
    },
    events,
    waitForEvent(pred, timeoutMs = 10_000) {
      const hit = events.find(pred);
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (e: DriverEvent) => {
            clearTimeout(t);
            resolve(e);
          },
        };
        const t = setTimeout(() => {
          const i = eventWaiters.indexOf(w);
          if (i >= 0) eventWaiters.splice(i, 1);
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}`));
        }, timeoutMs);
        eventWaiters.push(w);
      });
    },
    async close() {
      if (!exited) {
        await request({ op: 'exit' } as unknown as DriverRequest).catch(() => undefined);
        child.stdin.end();
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(t);
      }
    },
    process: child,
    stderr: () => err,
  };
  if (options.connect !== false) {
    const r = await request({ op: 'connect', sessionTimeout: options.sessionTimeout ?? 30_000 });
    if (!r.ok) {
      await driver.close();
      throw new Error(`the Java driver could not connect to ${connectString}: ${JSON.stringify(r)}\n${err}`);
    }
  }
  return driver;
}
