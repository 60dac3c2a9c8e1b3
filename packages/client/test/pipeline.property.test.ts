/**
 * Pipelining under arbitrary stream chunking and connection drops, against a small scripted server
 * (real servers cannot be told where to cut). Properties: every request settles exactly once, with
 * the reply to itself or with ConnectionLoss when its connection dropped before the reply; replies
 * resolve in the order the requests were issued; the session survives and later requests succeed.
 */
import { createServer, type Server, type Socket } from 'node:net';
import {
  decodeConnectRequest,
  decodeRequest,
  encodeConnectResponse,
  encodeResponseFrame,
  FrameReader,
  frame,
  Xid,
} from '@zkts/codec';
import { freePort } from '@zkts/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient, KeeperError } from '../src/index.js';

interface Script {
  /** Bytes per write of the reply stream. */
  chunk: number;
  /** Requests this connection answers before the server cuts it (undefined: never). */
  cutAfter: number | undefined;
}

class ScriptedServer {
  /** Applies to every connection, the live one included; `answered` counts under it. */
  script: Script = { chunk: 1 << 16, cutAfter: undefined };
  answered = 0;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<ScriptedServer> {
    const port = await freePort();
    const server = createServer();
    const s = new ScriptedServer(server, port);
    server.on('connection', (socket) => s.serve(socket));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return s;
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    const reader = new FrameReader();
    let handshaken = false;
    let pending: Buffer[] = [];
    const flush = () => {
      const all = Buffer.concat(pending);
      pending = [];
      const step = this.script.chunk;
      for (let off = 0; off < all.length; off += step) socket.write(all.subarray(off, off + step));
    };
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        if (!handshaken) {
          const req = decodeConnectRequest(f);
          handshaken = true;
          const sessionId = req.sessionId === 0n ? 0x42n : req.sessionId;
          pending.push(
            frame(
              encodeConnectResponse({
                protocolVersion: 0,
                timeOut: 10_000,
                sessionId,
                passwd: Buffer.alloc(16, 1),
                readOnly: false,
              }),
            ),
          );
          continue;
        }
        const { header, request } = decodeRequest(f);
        if (header.xid === Xid.ping) {
          pending.push(encodeResponseFrame({ xid: header.xid, zxid: 0n, err: 0 }, { type: 'ping' }));
          continue;
        }
        if (request.type === 'closeSession') {
          pending.push(encodeResponseFrame({ xid: header.xid, zxid: 2n, err: 0 }, { type: 'closeSession' }));
          flush();
          socket.end();
          return;
        }
        if (request.type !== 'getData') throw new Error(`unexpected ${request.type}`);
        const cutAfter = this.script.cutAfter;
        if (cutAfter !== undefined && this.answered >= cutAfter) {
          flush();
          socket.destroy();
          return;
        }
        this.answered++;
        const stat = {
          czxid: 1n,
          mzxid: 1n,
          ctime: 0n,
          mtime: 0n,
          version: 0,
          cversion: 0,
          aversion: 0,
          ephemeralOwner: 0n,
          dataLength: 0,
          numChildren: 0,
          pzxid: 1n,
        };
        pending.push(
          encodeResponseFrame(
            { xid: header.xid, zxid: 1n, err: 0 },
            { type: 'getData', data: Buffer.from(request.path), stat },
          ),
        );
      }
      flush();
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let server: ScriptedServer;
beforeAll(async () => {
  server = await ScriptedServer.start();
});
afterAll(async () => {
  await server.close();
});

it('settles every pipelined request once, in order, whatever the chunking and cuts', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          requests: fc.integer({ min: 1, max: 60 }),
          chunk: fc.integer({ min: 1, max: 300 }),
          cutAfter: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
        }),
        { minLength: 1, maxLength: 5 },
      ),
      async (rounds) => {
        server.script = { chunk: 1 << 16, cutAfter: undefined };
        const c = createClient(`127.0.0.1:${server.port}`, { retryDelay: 5, connectionWaitTimeout: 5000 });
        try {
          for (const round of rounds) {
            await c.connect();
            server.script = { chunk: round.chunk, cutAfter: round.cutAfter };
            server.answered = 0;
            const order: number[] = [];
            const outcomes = await Promise.all(
              Array.from({ length: round.requests }, (_, i) =>
                c.getData(`/n${i}`).then(
                  (r) => {
                    order.push(i);
                    return r.data?.toString();
                  },
                  (e: unknown) => e,
                ),
              ),
            );
            let lost = 0;
            outcomes.forEach((o, i) => {
              if (typeof o === 'string') expect(o).toBe(`/n${i}`);
              else {
                expect(o).toBeInstanceOf(KeeperError);
                expect((o as KeeperError).codeName).toBe('ConnectionLoss');
                lost++;
              }
            });
            // Answered requests are a prefix; the ones after the cut are lost.
            const answered =
              round.cutAfter === undefined ? round.requests : Math.min(round.cutAfter, round.requests);
            expect(lost).toBe(round.requests - answered);
            expect(order).toEqual(Array.from({ length: answered }, (_, i) => i));
          }
          server.script = { chunk: 7, cutAfter: undefined };
          // The session survived every cut.
          expect(c.sessionId).toBe(0x42n);
          expect((await c.getData('/last')).data?.toString()).toBe('/last');
        } finally {
          await c.close();
        }
      },
    ),
    { numRuns: 40 },
  );
});
