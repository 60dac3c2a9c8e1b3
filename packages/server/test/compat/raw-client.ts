/**
 * A minimal ZooKeeper client on the raw wire protocol (@zkts/codec), for tests that need to
 * misbehave: stop pinging, stop reading, send bytes no real client sends.
 */
import { Socket } from 'node:net';
import {
  type ConnectResponse,
  type DecodedResponse,
  decodeConnectResponse,
  decodeResponse,
  encodeConnectRequest,
  encodeRequestFrame,
  FrameReader,
  type Request,
  type RequestType,
} from '@zkts/codec';

export interface RawClientOptions {
  timeoutMs?: number;
  sessionId?: bigint;
  passwd?: Uint8Array;
  lastZxidSeen?: bigint;
  /** Send the trailing readOnly byte (3.3+ clients); false sends none, as older clients. */
  readOnlyByte?: boolean;
}

export class RawClient {
  private readonly reader = new FrameReader({ maxFrameSize: 64 * 1024 * 1024 });
  private readonly pending = new Map<number, { type: RequestType; resolve: (r: DecodedResponse) => void }>();
  private nextXid = 1;
  private connectWaiter: ((r: ConnectResponse) => void) | undefined;
  readonly notifications: { type: number; path: string }[] = [];
  /** Every frame after the handshake, in arrival order: `event <type> <path>` or `reply <xid> err <code>`. */
  readonly arrivals: string[] = [];
  /** Replies to requests sent with `write`/`send` (not `request`): xid and error code. */
  readonly unsolicited: { xid: number; err: number | undefined }[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;
  session: ConnectResponse | undefined;

  private constructor(readonly socket: Socket) {
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        for (const [, p] of this.pending)
          p.resolve({ header: { xid: 0, zxid: 0n, err: -4 }, response: null });
        this.pending.clear();
        resolve();
      });
    });
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.reader.push(chunk)) this.onFrame(frame);
    });
  }

  /** Opens a TCP connection without any handshake. */
  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = new Socket();
      s.once('error', reject);
      s.connect(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve(new RawClient(s));
      });
    });
  }

  /** Opens a connection and establishes (or resumes) a session. */
  static async connect(port: number, opts: RawClientOptions = {}): Promise<RawClient> {
    const c = await RawClient.open(port);
    await c.handshake(opts);
    return c;
  }

  handshake(opts: RawClientOptions = {}): Promise<ConnectResponse> {
    const body = encodeConnectRequest({
      protocolVersion: 0,
      lastZxidSeen: opts.lastZxidSeen ?? 0n,
      timeOut: opts.timeoutMs ?? 30_000,
      sessionId: opts.sessionId ?? 0n,
      passwd: opts.passwd ?? new Uint8Array(16),
      readOnly: opts.readOnlyByte === false ? undefined : false,
    });
    const frame = Buffer.alloc(4 + body.length);
    frame.writeInt32BE(body.length, 0);
    body.copy(frame, 4);
    return new Promise((resolve, reject) => {
      this.connectWaiter = (r) => {
        this.session = r;
        resolve(r);
      };
      void this.closedPromise.then(() => reject(new Error('connection closed during the handshake')));
      this.socket.write(frame);
    });
  }

  private onFrame(frame: Buffer): void {
    if (this.connectWaiter !== undefined) {
      const w = this.connectWaiter;
      this.connectWaiter = undefined;
      w(decodeConnectResponse(frame));
      return;
    }
    const xid = frame.readInt32BE(0);
    if (xid === -1) {
      const { response } = decodeResponse(frame, 'notification');
      if (response !== null) {
        this.notifications.push({ type: response.event.type, path: response.event.path });
        this.arrivals.push(`event ${response.event.type} ${response.event.path}`);
      }
      return;
    }
    this.arrivals.push(`reply ${xid} err ${frame.length >= 16 ? frame.readInt32BE(12) : '?'}`);
    const p = this.pending.get(xid);
    if (p === undefined) {
      this.unsolicited.push({ xid, err: frame.length >= 16 ? frame.readInt32BE(12) : undefined });
      return;
    }
    this.pending.delete(xid);
    p.resolve(decodeResponse(frame, p.type));
  }

  request<T extends RequestType>(req: Request & { type: T }): Promise<DecodedResponse<T>> {
    const xid = req.type === 'ping' ? -2 : this.nextXid++;
    return new Promise((resolve) => {
      if (this.closed) {
        resolve({ header: { xid, zxid: 0n, err: -4 }, response: null } as DecodedResponse<T>);
        return;
      }
      this.pending.set(xid, { type: req.type, resolve: resolve as (r: DecodedResponse) => void });
      this.socket.write(encodeRequestFrame(xid, req));
    });
  }

  /** Writes a request without waiting for its reply. */
  send(req: Request): void {
    this.socket.write(encodeRequestFrame(this.nextXid++, req));
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
