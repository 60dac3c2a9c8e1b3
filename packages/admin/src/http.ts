/**
 * The AdminServer: ZooKeeper's command URL (`/commands/<name>`), Prometheus `/metrics`, and the web
 * console (`/console/`), on one HTTP listener; Prometheus also on its own port when configured
 * (ZooKeeper's `metricsProvider.httpPort`).
 */

import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerConfig, ServerLogger, ZkServer } from '@zkts/server';
import { type CommandContext, DEFAULT_TRACE_MASK, primaryNames, runCommand } from './commands.js';
import { type ApiValue, ConsoleApi, ConsoleError, type WriteRequest } from './console-api.js';
import { AdminError } from './errors.js';
import { type JsonValue, toZkJson } from './json.js';
import { Metrics } from './metrics.js';

/** Where Prometheus listens when `metricsProvider.className` names ZooKeeper's provider and no port is set. */
export const DEFAULT_METRICS_PORT = 7000;
const PROMETHEUS_PROVIDER = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';
const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'static');
const STATIC_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};
const CONSOLE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export interface AdminServerOptions {
  server: ZkServer;
  /** Defaults to `server.config`. */
  config?: ServerConfig;
  /** Overrides `admin.serverAddress` / `admin.serverPort` (0: any free port). */
  host?: string;
  port?: number;
  /**
   * Prometheus on a port of its own: a number (0: any free port), `false` for none. By default,
   * `metricsProvider.httpPort` when set, 7000 when `metricsProvider.className` names ZooKeeper's
   * Prometheus provider, none otherwise. `/metrics` is on the admin port in every case.
   */
  metricsPort?: number | false;
  /** Where that port listens; defaults to `metricsProvider.httpHost`, else 0.0.0.0 as ZooKeeper. */
  metricsHost?: string;
  /** The web console; defaults to `admin.console.enabled` (true). */
  console?: boolean;
  logger?: ServerLogger;
}

export interface AdminServer {
  /** The admin listener's address. */
  address(): { host: string; port: number };
  /** The Prometheus listener's address, when there is one. */
  metricsAddress(): { host: string; port: number } | undefined;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

const MAX_BODY_BYTES_OVER_DATA = 64 * 1024;

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function sendZkJson(res: ServerResponse, status: number, v: JsonValue): void {
  send(res, status, 'application/json', toZkJson(v));
}

function sendApi(res: ServerResponse, status: number, v: ApiValue): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(v), CONSOLE_HEADERS);
}

function listen(srv: Server, host: string, port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) =>
      reject(new AdminError('listen', `cannot listen on ${host}:${port} (${what}): ${e.message}`));
    srv.once('error', onError);
    srv.listen(port, host, () => {
      srv.off('error', onError);
      resolve();
    });
  });
}

function addressOf(srv: Server, fallbackHost: string): { host: string; port: number } {
  const a = srv.address();
  if (a === null || typeof a === 'string') return { host: fallbackHost, port: 0 };
  return { host: a.address, port: a.port };
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new ConsoleError(413, `request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The `digest` credentials a console request carries (`X-ZK-Auth: digest user:password`). */
function credentials(req: IncomingMessage): string | undefined {
  const h = req.headers['x-zk-auth'];
  const v = Array.isArray(h) ? h[0] : h;
  if (v === undefined || v.trim() === '') return undefined;
  const m = /^digest\s+(.+)$/i.exec(v.trim());
  if (m === null || !(m[1] ?? '').includes(':')) {
    throw new ConsoleError(400, 'X-ZK-Auth must be "digest user:password"', 'BadArguments');
  }
  return m[1];
}

function indexPage(commandUrl: string): string {
  return primaryNames()
    .map((n) => `<a href="${commandUrl}/${n}">${n}</a>\n<br/>\n`)
    .join('');
}

/** Starts the AdminServer for `server`. */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { server } = options;
  const config = options.config ?? server.config;
  const log = options.logger;
  const host = options.host ?? config.admin.address;
  const port = options.port ?? config.admin.port;
  const commandUrl = config.admin.commandUrl.replace(/\/+$/, '') || '/commands';
  const consoleOn = options.console ?? config.admin.consoleEnabled;
  let metricsPort: number | undefined;
  if (options.metricsPort === false) metricsPort = undefined;
  else if (options.metricsPort !== undefined) metricsPort = options.metricsPort;
  else if (config.metricsHttpPort !== undefined) metricsPort = config.metricsHttpPort;
  else if (config.raw.get('metricsProvider.className') === PROMETHEUS_PROVIDER)
    metricsPort = DEFAULT_METRICS_PORT;

  const metricsHost = options.metricsHost ?? config.metricsHttpHost ?? '0.0.0.0';
  const metrics = new Metrics(server, {
    exportProcessInfo: (config.raw.get('metricsProvider.exportJvmInfo') ?? 'true').toLowerCase() !== 'false',
  });
  const ctx: CommandContext = { server, metrics, traceMask: DEFAULT_TRACE_MASK };
  const api = new ConsoleApi({ server, maxDataBytes: config.juteMaxBuffer });

  const serveMetrics = async (res: ServerResponse) => {
    const text = await metrics.exposition();
    send(res, 200, metrics.contentType, text);
  };

  const serveStatic = async (res: ServerResponse, name: string) => {
    const type = STATIC_FILES[name];
    if (type === undefined) {
      sendApi(res, 404, { error: `Not found: /console/${name}` });
      return;
    }
    const body = await readFile(normalize(join(STATIC_DIR, name)));
    send(res, 200, type, body, CONSOLE_HEADERS);
  };

  const serveApi = async (req: IncomingMessage, res: ServerResponse, route: string, url: URL) => {
    const auth = credentials(req);
    const q = url.searchParams;
    if (req.method === 'GET') {
      switch (route) {
        case 'node':
          return sendApi(res, 200, api.node(q.get('path'), auth));
        case 'children':
          return sendApi(res, 200, api.children(q.get('path'), auth));
        case 'search':
          return sendApi(res, 200, api.search(q.get('q'), auth));
        case 'sessions':
          return sendApi(res, 200, api.sessions());
        case 'watches':
          return sendApi(res, 200, api.watches());
        case 'ensemble':
          return sendApi(res, 200, api.ensemble());
        case 'stats':
          return sendApi(res, 200, api.stats());
        default:
          throw new ConsoleError(404, `Unknown console API: ${route}`);
      }
    }
    if (req.method === 'POST' && route === 'write') {
      // A header a cross-site form cannot send: such requests never reach the write path.
      if (
        req.headers['x-zk-console'] !== '1' ||
        !(req.headers['content-type'] ?? '').startsWith('application/json')
      ) {
        throw new ConsoleError(403, 'writes need Content-Type: application/json and X-ZK-Console: 1');
      }
      const text = await readBody(req, config.juteMaxBuffer * 2 + MAX_BODY_BYTES_OVER_DATA);
      let body: WriteRequest;
      try {
        body = JSON.parse(text) as WriteRequest;
      } catch {
        throw new ConsoleError(400, 'request body is not JSON', 'BadArguments');
      }
      if (body === null || typeof body !== 'object')
        throw new ConsoleError(400, 'expected a JSON object', 'BadArguments');
      return sendApi(res, 200, await api.write(body, auth));
    }
    throw new ConsoleError(405, `${req.method ?? ''} is not supported on /console/api/${route}`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, metricsOnly: boolean) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return send(res, 405, 'text/plain', 'Method Not Allowed\n');
      return serveMetrics(res);
    }
    if (metricsOnly) return send(res, 404, 'text/plain', 'Not Found\n');
    if (path === commandUrl || path === `${commandUrl}/`) {
      return send(res, 200, 'text/html; charset=utf-8', indexPage(commandUrl));
    }
    if (path.startsWith(`${commandUrl}/`)) {
      const raw = path.slice(commandUrl.length + 1);
      let name: string;
      try {
        name = decodeURIComponent(raw);
      } catch {
        name = raw;
      }
      if (req.method !== 'GET') {
        return sendZkJson(res, 405, {
          command: name,
          error: `HTTP method ${req.method ?? ''} is not supported by this URL`,
        });
      }
      return sendZkJson(res, 200, await runCommand(name, ctx, url.searchParams));
    }
    if (consoleOn) {
      if (path === '/' || path === '/console') {
        res.writeHead(302, { location: '/console/' });
        res.end();
        return;
      }
      if (path === '/console/') return serveStatic(res, 'index.html');
      if (path.startsWith('/console/api/'))
        return serveApi(req, res, path.slice('/console/api/'.length), url);
      if (path.startsWith('/console/')) return serveStatic(res, path.slice('/console/'.length));
    }
    return sendZkJson(res, 404, { command: path, error: `Not found: ${path}` });
  };

  const handler = (metricsOnly: boolean) => (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, metricsOnly).catch((e: unknown) => {
      if (e instanceof ConsoleError) {
        sendApi(res, e.status, { error: e.message, code: e.code ?? null });
        return;
      }
      log?.warn({ err: (e as Error).message, url: req.url }, 'admin request failed');
      sendZkJson(res, 500, { command: req.url ?? '', error: (e as Error).message });
    });
  };

  const adminHttp = createServer(handler(false));
  await listen(adminHttp, host, port, 'admin.serverPort');
  let metricsHttp: Server | undefined;
  if (metricsPort !== undefined) {
    metricsHttp = createServer(handler(true));
    try {
      await listen(metricsHttp, metricsHost, metricsPort, 'metricsProvider.httpPort');
    } catch (e) {
      await new Promise<void>((r) => adminHttp.close(() => r()));
      metrics.close();
      throw e;
    }
  }
  log?.info({ ...addressOf(adminHttp, host), console: consoleOn }, 'admin server listening');
  let closed: Promise<void> | undefined;
  return {
    address: () => addressOf(adminHttp, host),
    metricsAddress: () => (metricsHttp === undefined ? undefined : addressOf(metricsHttp, metricsHost)),
    metrics,
    close: () => {
      closed ??= (async () => {
        metrics.close();
        await api.close();
        const stop = (s: Server) =>
          new Promise<void>((r) => {
            s.close(() => r());
            s.closeAllConnections();
          });
        await Promise.all([stop(adminHttp), ...(metricsHttp === undefined ? [] : [stop(metricsHttp)])]);
      })();
      return closed;
    },
  };
}
