/**
 * Regenerates test/fixtures/session.json: real frames exchanged between Apache ZooKeeper 3.8's Java
 * client and a throwaway Apache ZooKeeper server.
 *
 *   pnpm --filter @zkts/codec run capture-fixtures
 *
 * It compiles FixtureClient.java against the installed zookeeper.jar, starts a server, puts a
 * recording TCP proxy between the two, runs the client's script of requests and, when the client
 * prints DROP <session>, cuts that session's proxied connection so the client reconnects and
 * re-sends its watches (setWatches2 from a session with persistent watches, setWatches from one
 * without). Each frame is stored as hex with its connection, direction and what it carries.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { APACHE_ZK_JAR, freePort, startApacheZooKeeper } from '@zkts/testkit';
import {
  decodeConnectResponse,
  decodeReplyHeader,
  decodeRequestHeader,
  encodeConnectRequest,
  FrameReader,
  frame,
  requestTypeOf,
} from '../src/index.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
// Compiled into node_modules/.capture/scripts; the sources sit in <package>/scripts.
const packageDir = here.includes(`${join('node_modules', '.capture')}`)
  ? join(here, '..', '..', '..')
  : join(here, '..');

export interface CapturedFrame {
  /** Connections are numbered in the order the proxy accepted them. */
  conn: number;
  dir: 'client' | 'server';
  /** The FixtureClient step that was running when the frame was seen (informational). */
  step: string;
  kind: 'connectRequest' | 'connectResponse' | 'request' | 'response';
  /** Request type (requests), or what the reply answers (responses; 'notification' for xid -1). */
  type?: string;
  /** The frame body without its 4-byte length prefix. */
  hex: string;
}

/**
 * What the server answers a client that sends no readOnly byte (as pre-3.3 clients did): the
 * request is ours, encoded without the byte; the response is the server's, captured raw.
 */
async function oldClientHandshake(port: number): Promise<{ request: Buffer; response: Buffer }> {
  const request = encodeConnectRequest({
    protocolVersion: 0,
    lastZxidSeen: 0n,
    timeOut: 4000,
    sessionId: 0n,
    passwd: Buffer.alloc(16),
  });
  const response = await new Promise<Buffer>((resolve, reject) => {
    const sock = new Socket();
    const reader = new FrameReader();
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no connect response to the old-client handshake'));
    }, 10_000);
    sock.on('data', (chunk: Buffer) => {
      const [first] = reader.push(chunk);
      if (first !== undefined) {
        clearTimeout(timer);
        sock.destroy();
        resolve(Buffer.from(first));
      }
    });
    sock.on('error', reject);
    sock.connect(port, '127.0.0.1', () => sock.write(frame(request)));
  });
  return { request, response };
}

interface Conn {
  client: Socket;
  upstream: Socket;
  /** From the ConnectResponse. */
  sessionId?: bigint;
}

async function main(): Promise<void> {
  const classes = await mkdtemp(join(tmpdir(), 'zkts-fixture-client-'));
  const javaSource = join(packageDir, 'scripts', 'FixtureClient.java');
  await run('javac', ['-cp', APACHE_ZK_JAR, '-d', classes, javaSource]);

  const zk = await startApacheZooKeeper();
  const version = (await zk.fourLetterWord('srvr')).split('\n')[0]?.replace('Zookeeper version: ', '') ?? '?';
  const frames: CapturedFrame[] = [];
  let step = 'connect';
  let connCount = 0;
  const open = new Set<Conn>();
  let oldClient: { request: Buffer; response: Buffer } | undefined;

  const proxy: Server = createServer((client) => {
    const conn = ++connCount;
    const upstream = new Socket();
    const self: Conn = { client, upstream };
    open.add(self);
    const pending = new Map<number, string>();
    const fromClient = new FrameReader();
    const fromServer = new FrameReader();
    let sawConnectRequest = false;
    let sawConnectResponse = false;
    client.on('data', (chunk: Buffer) => {
      for (const f of fromClient.push(chunk)) {
        if (!sawConnectRequest) {
          sawConnectRequest = true;
          frames.push({ conn, dir: 'client', step, kind: 'connectRequest', hex: f.toString('hex') });
          continue;
        }
        const h = decodeRequestHeader(f);
        const type = requestTypeOf(h.type) ?? `opcode:${h.type}`;
        pending.set(h.xid, type);
        frames.push({ conn, dir: 'client', step, kind: 'request', type, hex: f.toString('hex') });
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      for (const f of fromServer.push(chunk)) {
        if (!sawConnectResponse) {
          sawConnectResponse = true;
          self.sessionId = decodeConnectResponse(f).sessionId;
          frames.push({ conn, dir: 'server', step, kind: 'connectResponse', hex: f.toString('hex') });
          continue;
        }
        const h = decodeReplyHeader(f);
        const type = h.xid === -1 ? 'notification' : (pending.get(h.xid) ?? `xid:${h.xid}`);
        pending.delete(h.xid);
        frames.push({ conn, dir: 'server', step, kind: 'response', type, hex: f.toString('hex') });
      }
      client.write(chunk);
    });
    const close = () => {
      open.delete(self);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    upstream.connect(zk.port, zk.host);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));

  try {
    const java = spawn(
      'java',
      [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-cp',
        `${classes}:${APACHE_ZK_JAR}`,
        'FixtureClient',
        `127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    java.stderr.on('data', (c: Buffer) => {
      log += c.toString('utf8');
    });
    let done = false;
    createInterface({ input: java.stdout }).on('line', (line) => {
      log += `${line}\n`;
      if (line.startsWith('STEP ')) step = line.slice(5);
      else if (line.startsWith('DROP ')) {
        const id = BigInt(`0x${line.slice(5)}`);
        for (const c of open) {
          if (c.sessionId === id) {
            c.client.destroy();
            c.upstream.destroy();
          }
        }
      } else if (line === 'DONE') done = true;
    });
    const code = await new Promise<number | null>((resolve) => java.on('exit', resolve));
    if (code !== 0 || !done) throw new Error(`FixtureClient failed (exit ${code}):\n${log}`);
    // Let the proxy see the last bytes (the closeSession reply).
    await new Promise((r) => setTimeout(r, 200));
    oldClient = await oldClientHandshake(zk.port);
  } finally {
    proxy.close();
    await zk.stop();
    await rm(classes, { recursive: true, force: true });
  }

  const out = join(packageDir, 'test', 'fixtures', 'session.json');
  const doc = {
    description:
      "Frames between Apache ZooKeeper's Java client and server, captured by scripts/capture-fixtures.ts " +
      'running scripts/FixtureClient.java. hex is the frame body without its 4-byte length prefix.',
    zookeeperVersion: version,
    frames,
    oldClient:
      oldClient === undefined
        ? undefined
        : {
            description:
              'A ConnectRequest without the readOnly byte (encoded by this codec, as an old client sends it) ' +
              "and the server's ConnectResponse to it.",
            request: oldClient.request.toString('hex'),
            response: oldClient.response.toString('hex'),
          },
  };
  await writeFile(out, `${JSON.stringify(doc, null, 2)}\n`);
  process.stdout.write(
    `wrote ${frames.length} frames (ZooKeeper ${version}) to test/fixtures/session.json\n`,
  );
}

await main();
