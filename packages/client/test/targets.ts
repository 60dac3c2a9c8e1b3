/**
 * The servers the client suite runs against: a throwaway Apache ZooKeeper 3.8 and the zkts
 * standalone server, both on 127.0.0.1 with a port and data directory that survive a restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeConnectResponse,
  decodeReplyHeader,
  encodeConnectRequest,
  encodeRequestFrame,
  FrameReader,
  frame,
  type Request,
} from '@zkts/codec';
import { parseConfig, ZkServer } from '@zkts/server';
import { freePort, startApacheZooKeeper } from '@zkts/testkit';

export type TargetName = 'apache' | 'zkts';

export interface RunningServer {
  readonly connectString: string;
  readonly port: number;
  /** Stops the server process (or the in-process server); the data directory stays. */
  stop(): Promise<void>;
}

export interface ServerHandle {
  readonly target: TargetName;
  readonly port: number;
  readonly dataDir: string;
  readonly connectString: string;
  /** Stops the running server. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data directory. */
  restart(): Promise<void>;
  /** Stops it and removes the data directory. */
  destroy(): Promise<void>;
}

export const TARGETS: readonly TargetName[] = ['apache', 'zkts'];

async function startOnce(
  target: TargetName,
  port: number,
  dataDir: string,
  config: Record<string, string>,
): Promise<RunningServer> {
  if (target === 'apache') {
    const zk = await startApacheZooKeeper({ port, dataDir, config });
    return { connectString: zk.connectString, port, stop: () => zk.stop() };
  }
  const cfg: Record<string, string> = {
    tickTime: '2000',
    dataDir,
    clientPort: String(port),
    clientPortAddress: '127.0.0.1',
    '4lw.commands.whitelist': '*',
    extendedTypesEnabled: 'true',
    ...config,
  };
  const text = Object.entries(cfg)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  const server = await ZkServer.start({ config: parseConfig(text).config });
  return { connectString: `127.0.0.1:${port}`, port, stop: () => server.close() };
}

/** Starts a server of the target; extra zoo.cfg keys in `config`. */
export async function startServer(
  target: TargetName,
  config: Record<string, string> = {},
): Promise<ServerHandle> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), `zkts-client-${target}-`));
  let running: RunningServer | undefined = await startOnce(target, port, dataDir, config);
  return {
    target,
    port,
    dataDir,
    connectString: `127.0.0.1:${port}`,
    stop: async () => {
      const r = running;
      running = undefined;
      await r?.stop();
    },
    restart: async () => {
      if (running !== undefined) await running.stop();
      running = await startOnce(target, port, dataDir, config);
    },
    destroy: async () => {
      const r = running;
      running = undefined;
      await r?.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP proxy in front of a server, to cut connections, blackhole traffic or refuse connections:
 * what a network partition looks like to the client.
 */
export class TcpProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  /** 'pass' forwards; 'hold' drops server-to-client bytes; 'refuse' closes new connections at once. */
  mode: 'pass' | 'hold' | 'refuse' = 'pass';
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  get connections(): number {
    return this.pairs.size;
  }

  static async start(upstreamPort: number): Promise<TcpProxy> {
    const server = createServer();
    const port = await freePort();
    const proxy = new TcpProxy(server, port);
    server.on('connection', (client) => proxy.accept(client, upstreamPort));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return proxy;
  }

  private accept(client: Socket, upstreamPort: number): void {
    if (this.mode === 'refuse') {
      client.destroy();
      return;
    }
    const upstream = netConnect({ host: '127.0.0.1', port: upstreamPort });
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (this.mode === 'pass') client.write(d);
    });
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  }

  /** Cuts every proxied connection (both sides see a reset). */
  dropAll(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Opens a bare connection that takes over a session (as a client resuming it elsewhere would), runs
 * `ops` with it one by one, then drops the socket without closing the session. The server closes the
 * session's previous connection when this one connects: a server-side kill of that connection.
 */
export async function hijackSession(
  port: number,
  sessionId: bigint,
  password: Uint8Array,
  ops: Request[] = [],
): Promise<{ timeout: number; errs: number[] }> {
  const socket = netConnect({ host: '127.0.0.1', port });
  const reader = new FrameReader();
  const frames: Buffer[] = [];
  let wake: (() => void) | undefined;
  socket.on('data', (c) => {
    frames.push(...reader.push(c));
    wake?.();
  });
  const next = async (): Promise<Buffer> => {
    while (frames.length === 0) {
      await new Promise<void>((resolve, reject) => {
        wake = resolve;
        socket.once('close', () => reject(new Error('hijack connection closed')));
      });
    }
    return frames.shift() as Buffer;
  };
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    frame(
      encodeConnectRequest({
        protocolVersion: 0,
        lastZxidSeen: 0n,
        timeOut: 30_000,
        sessionId,
        passwd: password,
        readOnly: false,
      }),
    ),
  );
  const res = decodeConnectResponse(await next());
  const errs: number[] = [];
  if (res.timeOut > 0) {
    for (const [i, op] of ops.entries()) {
      socket.write(encodeRequestFrame(i + 1, op));
      errs.push(decodeReplyHeader(await next()).err);
    }
  }
  socket.destroy();
  return { timeout: res.timeOut, errs };
}
