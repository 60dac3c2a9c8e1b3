/**
 * Read-only servers. A standalone server never serves read-only, so a small fake server plays one:
 * it accepts sessions with the read-only flag, answers pings, refuses writes with NotReadOnly and
 * says `ro` to `isro`. The client must find a real (read-write) server and move to it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import {
  type ConnectRequest,
  decodeConnectRequest,
  decodeRequestHeader,
  ErrorCode,
  encodeConnectResponse,
  encodeResponseFrame,
  FrameReader,
  frame,
  Xid,
} from '@zkts/codec';
import { freePort } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectionState, createClient, KeeperError, type ZooKeeperClient } from '../src/index.js';
import { type ServerHandle, startServer, TARGETS } from './targets.js';

class FakeReadOnlyServer {
  readonly connects: ConnectRequest[] = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeReadOnlyServer> {
    const port = await freePort();
    const server = createServer();
    const fake = new FakeReadOnlyServer(server, port);
    server.on('connection', (s) => fake.serve(s));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return fake;
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    const reader = new FrameReader();
    let first = true;
    let handshaken = false;
    socket.on('data', (chunk: Buffer) => {
      if (first && chunk.subarray(0, 4).toString('latin1') === 'isro') {
        socket.end('ro');
        return;
      }
      first = false;
      for (const f of reader.push(chunk)) {
        if (!handshaken) {
          const req = decodeConnectRequest(f);
          this.connects.push(req);
          handshaken = true;
          const res = {
            protocolVersion: 0,
            timeOut: req.timeOut,
            sessionId: 0x77n,
            passwd: Buffer.alloc(16, 7),
            readOnly: true,
          };
          socket.write(frame(encodeConnectResponse(res)));
          continue;
        }
        const { xid } = decodeRequestHeader(f);
        if (xid === Xid.ping) socket.write(encodeResponseFrame({ xid, zxid: 0n, err: 0 }, { type: 'ping' }));
        else socket.write(encodeResponseFrame({ xid, zxid: 0n, err: ErrorCode.NotReadOnly }, null));
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('read-only servers', () => {
  let fake: FakeReadOnlyServer;
  const clients: ZooKeeperClient[] = [];
  beforeAll(async () => {
    fake = await FakeReadOnlyServer.start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await fake.close();
  });

  it('connects read-only only when allowed, and asks for no session id until it saw a read-write one', async () => {
    const states: ConnectionState[] = [];
    const c = createClient(fake.connectString, { readOnly: true, sessionTimeout: 4000 });
    clients.push(c);
    c.on('state', (s) => states.push(s));
    await c.connect();
    expect(c.state).toBe('connectedReadOnly');
    expect(states).toEqual(['connectedReadOnly']);
    expect(fake.connects.at(-1)?.readOnly).toBe(true);
    expect(fake.connects.at(-1)?.sessionId).toBe(0n);
    const e = await c.create('/x').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(KeeperError);
    expect((e as KeeperError).codeName).toBe('NotReadOnly');
    const plain = createClient(fake.connectString, { sessionTimeout: 4000 });
    clients.push(plain);
    await plain.connect();
    expect(fake.connects.at(-1)?.readOnly).toBe(false);
  });
});

describe.each(TARGETS)('moving from a read-only server to %s', (target) => {
  let server: ServerHandle;
  let fake: FakeReadOnlyServer;
  const clients: ZooKeeperClient[] = [];
  beforeAll(async () => {
    server = await startServer(target);
    fake = await FakeReadOnlyServer.start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await fake.close();
    await server.destroy();
  });

  it('probes the other hosts with isro and moves to the read-write one', async () => {
    const states: ConnectionState[] = [];
    // random() = 0.99 keeps the hosts in order: the read-only server first.
    const c = createClient(`${fake.connectString},${server.connectString}`, {
      readOnly: true,
      sessionTimeout: 6000,
      random: () => 0.99,
    });
    clients.push(c);
    c.on('state', (s) => states.push(s));
    await c.connect();
    expect(c.currentServer).toBe(fake.connectString);
    const start = Date.now();
    while (c.state !== 'connected' && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 20));
    expect(states).toEqual(['connectedReadOnly', 'disconnected', 'connected']);
    expect(c.currentServer).toBe(server.connectString);
    expect(c.sessionId).not.toBe(0x77n);
    expect(await c.create('/rw', 'ok')).toBe('/rw');
  });
});
