import { createServer, type Server, Socket } from 'node:net';
import { JepsenError } from './errors.js';

/**
 * `refuse`: new connections are reset at once (a closed port). `blackhole`: new connections are
 * accepted but nothing is forwarded and what they send is dropped (a silent network).
 */
export type CutMode = 'refuse' | 'blackhole';

export interface LinkProxyOptions {
  /** Port to listen on, on `listenHost`; 0 (default) picks a free one. */
  listenPort?: number;
  listenHost?: string;
  targetHost: string;
  targetPort: number;
  /** Bytes a socket may hold unsent before the other side is paused; default 1 MiB. */
  maxBufferedBytes?: number;
  /** Connections open at once; more are reset. Default 256. */
  maxConnections?: number;
  /**
   * Rewrites the start of what each connection sends to the target: called with the bytes so far
   * until it returns their replacement (undefined: needs more). At most 64 KiB are held for it; a
   * connection that sends more without an answer is severed.
   */
  rewriteHead?: (head: Buffer) => Buffer | undefined;
}

/** Bytes a `rewriteHead` may wait for. */
export const MAX_REWRITE_HEAD = 64 * 1024;

/**
 * A `rewriteHead` for ZooKeeper's election connections (QuorumCnxManager's initial message:
 * protocol version, sid, then the length and text of the sender's election addresses): it
 * replaces the addresses with `advertise`. A member connects back to the address a lower-id peer
 * advertises, so without this the connection back would bypass the proxies.
 */
export function rewriteElectionAddress(advertise: string): (head: Buffer) => Buffer | undefined {
  const addr = Buffer.from(advertise, 'utf8');
  return (head) => {
    if (head.length < 8) return undefined;
    // Before 3.5 the message is the sid alone (non-negative): nothing to rewrite.
    if (head.readBigInt64BE(0) >= 0n) return head;
    if (head.length < 20) return undefined;
    const len = head.readInt32BE(16);
    if (len < 0 || len > 4096) return head;
    if (head.length < 20 + len) return undefined;
    const out = Buffer.alloc(20 + addr.length);
    head.copy(out, 0, 0, 16);
    out.writeInt32BE(addr.length, 16);
    addr.copy(out, 20);
    return Buffer.concat([out, head.subarray(20 + len)]);
  };
}

export interface LinkProxyStats {
  accepted: number;
  refused: number;
  blackholed: number;
  /** Connections open now (forwarded or blackholed). */
  active: number;
  bytesForwarded: number;
  bytesDropped: number;
  /** Times a side was paused because the other's buffer was over the bound. */
  backpressure: number;
  /** Connections destroyed by `cut`, `heal` or `close`. */
  severed: number;
}

interface Pair {
  client: Socket;
  upstream?: Socket;
}

/**
 * A TCP proxy for one direction of a link between two peers: it listens on 127.0.0.1 and forwards
 * each connection to the target. `cut` severs it, `heal` restores it.
 */
export class LinkProxy {
  private readonly pairs = new Set<Pair>();
  private mode: CutMode | undefined;
  private closed = false;
  private readonly maxBuffered: number;
  private readonly maxConnections: number;
  /** See `LinkProxyOptions.rewriteHead`; applies to connections accepted after it is set. */
  rewriteHead: ((head: Buffer) => Buffer | undefined) | undefined;
  readonly stats: LinkProxyStats = {
    accepted: 0,
    refused: 0,
    blackholed: 0,
    active: 0,
    bytesForwarded: 0,
    bytesDropped: 0,
    backpressure: 0,
    severed: 0,
  };

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly options: LinkProxyOptions,
  ) {
    this.maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
    this.maxConnections = options.maxConnections ?? 256;
    this.rewriteHead = options.rewriteHead;
    server.on('connection', (s) => this.accept(s));
  }

  static start(options: LinkProxyOptions): Promise<LinkProxy> {
    const server = createServer({ pauseOnConnect: true });
    const host = options.listenHost ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      server.once('error', (e) =>
        reject(
          new JepsenError(
            'proxy',
            `link proxy cannot listen on ${host}:${options.listenPort ?? 0}: ${e.message}`,
          ),
        ),
      );
      server.listen(options.listenPort ?? 0, host, () => {
        const addr = server.address();
        if (addr === null || typeof addr === 'string') {
          server.close();
          reject(new JepsenError('proxy', 'link proxy has no port'));
          return;
        }
        server.removeAllListeners('error');
        server.on('error', () => {});
        resolve(new LinkProxy(server, addr.port, options));
      });
    });
  }

  /** Whether the link is cut, and how. */
  get cutMode(): CutMode | undefined {
    return this.mode;
  }

  /** Severs every open connection; new ones are refused or blackholed until `heal`. */
  cut(mode: CutMode): void {
    this.assertOpen();
    this.mode = mode;
    this.severAll();
  }

  /** Forwards new connections again; blackholed connections are reset so their peers reconnect. */
  heal(): void {
    this.assertOpen();
    if (this.mode === undefined) return;
    this.mode = undefined;
    for (const p of [...this.pairs]) if (p.upstream === undefined) this.sever(p);
  }

  /** Stops listening and severs every connection. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.severAll();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private assertOpen(): void {
    if (this.closed) throw new JepsenError('proxy', `link proxy on port ${this.port} is closed`);
  }

  private severAll(): void {
    for (const p of [...this.pairs]) this.sever(p);
  }

  private sever(p: Pair): void {
    if (!this.pairs.delete(p)) return;
    this.stats.active--;
    this.stats.severed++;
    p.client.resetAndDestroy();
    p.upstream?.resetAndDestroy();
  }

  private accept(client: Socket): void {
    client.on('error', () => {});
    if (this.closed || this.mode === 'refuse' || this.pairs.size >= this.maxConnections) {
      this.stats.refused++;
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client };
    this.pairs.add(pair);
    this.stats.active++;
    const drop = () => {
      if (this.pairs.delete(pair)) this.stats.active--;
      client.destroy();
      pair.upstream?.destroy();
    };
    client.on('close', drop);
    if (this.mode === 'blackhole') {
      this.stats.blackholed++;
      client.on('data', (c: Buffer) => {
        this.stats.bytesDropped += c.length;
      });
      client.resume();
      return;
    }
    this.stats.accepted++;
    const upstream = new Socket();
    pair.upstream = upstream;
    upstream.on('error', () => {});
    upstream.on('close', drop);
    upstream.connect(this.options.targetPort, this.options.targetHost, () => {
      if (!this.pairs.has(pair)) return;
      this.forward(client, upstream, this.rewriteHead, pair);
      this.forward(upstream, client);
      client.resume();
    });
  }

  /** Copies `from` to `to`, pausing `from` while `to` holds more than the bound unsent. */
  private forward(
    from: Socket,
    to: Socket,
    rewrite?: (head: Buffer) => Buffer | undefined,
    pair?: Pair,
  ): void {
    let head: Buffer | undefined = rewrite === undefined ? undefined : Buffer.alloc(0);
    from.on('data', (chunk: Buffer) => {
      if (to.destroyed) return;
      if (head !== undefined && rewrite !== undefined) {
        head = Buffer.concat([head, chunk]);
        const replaced = rewrite(head);
        if (replaced === undefined) {
          if (head.length > MAX_REWRITE_HEAD && pair !== undefined) this.sever(pair);
          return;
        }
        head = undefined;
        chunk = replaced;
      }
      this.stats.bytesForwarded += chunk.length;
      to.write(chunk);
      if (to.writableLength > this.maxBuffered) {
        this.stats.backpressure++;
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => to.end());
  }
}
