import { once } from 'node:events';
import { createServer, type Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { JepsenError, LinkProxy, rewriteElectionAddress } from '../src/index.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function listen(onConnection: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return { server, port: addr.port };
}

async function echoProxy(): Promise<LinkProxy> {
  const open = new Set<Socket>();
  const { port } = await listen((s) => {
    open.add(s);
    s.on('error', () => {});
    s.on('close', () => open.delete(s));
    s.pipe(s);
  });
  cleanup.push(() => {
    for (const s of open) s.destroy();
  });
  const proxy = await LinkProxy.start({ targetHost: '127.0.0.1', targetPort: port });
  cleanup.push(() => proxy.close());
  return proxy;
}

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = new Socket();
    s.once('error', reject);
    s.connect(port, '127.0.0.1', () => resolve(s));
    cleanup.push(() => {
      s.destroy();
    });
  });
}

/** Sends `text` and waits up to `ms` for it to come back. */
function roundTrip(s: Socket, text: string, ms = 2000): Promise<string | undefined> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (c: Buffer) => {
      got += c.toString();
      if (got.length >= text.length) finish(got);
    };
    const finish = (r: string | undefined) => {
      clearTimeout(timer);
      s.off('data', onData);
      resolve(r);
    };
    const timer = setTimeout(() => finish(undefined), ms);
    s.on('data', onData);
    s.write(text);
  });
}

function closed(s: Socket): Promise<void> {
  return s.destroyed ? Promise.resolve() : new Promise((r) => s.once('close', () => r()));
}

describe('LinkProxy', () => {
  it('forwards both ways', async () => {
    const proxy = await echoProxy();
    const s = await connect(proxy.port);
    expect(await roundTrip(s, 'hello')).toBe('hello');
    expect(proxy.stats.accepted).toBe(1);
    expect(proxy.stats.active).toBe(1);
    expect(proxy.stats.bytesForwarded).toBe(10);
  });

  it('refuses: severs open connections and resets new ones until healed', async () => {
    const proxy = await echoProxy();
    const s = await connect(proxy.port);
    expect(await roundTrip(s, 'a')).toBe('a');
    s.on('error', () => {});
    proxy.cut('refuse');
    await closed(s);
    expect(proxy.stats.severed).toBe(1);
    const refused = await connect(proxy.port).then(
      (t) =>
        new Promise<string>((r) =>
          t
            .once('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error'))
            .once('close', () => r('closed')),
        ),
      (e: NodeJS.ErrnoException) => e.code ?? 'error',
    );
    expect(['ECONNRESET', 'closed']).toContain(refused);
    expect(proxy.stats.refused).toBe(1);
    proxy.heal();
    const again = await connect(proxy.port);
    expect(await roundTrip(again, 'back')).toBe('back');
  });

  it('blackholes: accepts, forwards nothing, drops what is sent; heal resets those connections', async () => {
    const proxy = await echoProxy();
    proxy.cut('blackhole');
    expect(proxy.cutMode).toBe('blackhole');
    const s = await connect(proxy.port);
    s.on('error', () => {});
    expect(await roundTrip(s, 'lost', 300)).toBeUndefined();
    expect(proxy.stats.bytesDropped).toBe(4);
    expect(proxy.stats.blackholed).toBe(1);
    proxy.heal();
    await closed(s);
    const t = await connect(proxy.port);
    expect(await roundTrip(t, 'ok')).toBe('ok');
  });

  it('bounds what it buffers: a reader that stops pauses the writer', async () => {
    const held: Socket[] = [];
    const { port } = await listen((s) => {
      held.push(s);
      s.on('error', () => {});
      s.pause(); // never reads
    });
    cleanup.push(() => {
      for (const s of held) s.destroy();
    });
    const proxy = await LinkProxy.start({
      targetHost: '127.0.0.1',
      targetPort: port,
      maxBufferedBytes: 64 * 1024,
    });
    cleanup.push(() => proxy.close());
    const s = await connect(proxy.port);
    s.on('error', () => {});
    const chunk = Buffer.alloc(256 * 1024, 1);
    const total = 32 * 1024 * 1024;
    for (let sent = 0; sent < total; sent += chunk.length) s.write(chunk);
    const deadline = Date.now() + 5000;
    while (proxy.stats.backpressure === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(proxy.stats.backpressure).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    const forwarded = proxy.stats.bytesForwarded;
    await new Promise((r) => setTimeout(r, 200));
    expect(proxy.stats.bytesForwarded).toBe(forwarded); // stalled, not buffering without end
    expect(forwarded).toBeLessThan(total / 2);
  });

  it('is unusable after close', async () => {
    const proxy = await echoProxy();
    await proxy.close();
    expect(() => proxy.cut('refuse')).toThrow(JepsenError);
    await proxy.close();
  });
});

describe('rewriteElectionAddress', () => {
  const message = (version: bigint, sid: bigint, addr: string) => {
    const a = Buffer.from(addr);
    const b = Buffer.alloc(20 + a.length);
    b.writeBigInt64BE(version, 0);
    b.writeBigInt64BE(sid, 8);
    b.writeInt32BE(a.length, 16);
    a.copy(b, 20);
    return b;
  };

  it("replaces the sender's election addresses in QuorumCnxManager's first message", () => {
    const rewrite = rewriteElectionAddress('127.0.0.1:4000');
    const msg = message(-65535n, 3n, '127.0.0.1:3888|10.0.0.1:3888');
    const trailing = Buffer.from('notification');
    expect(rewrite(msg.subarray(0, 10))).toBeUndefined();
    expect(rewrite(msg.subarray(0, 25))).toBeUndefined();
    const out = rewrite(Buffer.concat([msg, trailing]))!;
    expect(out.equals(Buffer.concat([message(-65535n, 3n, '127.0.0.1:4000'), trailing]))).toBe(true);
    // A pre-3.5 first message (the sid alone) passes unchanged.
    const old = Buffer.alloc(8);
    old.writeBigInt64BE(2n);
    expect(rewrite(old)).toBe(old);
  });

  it('rewrites through a proxy, once per connection', async () => {
    const got: Buffer[] = [];
    const { port } = await listen((s) => {
      s.on('data', (c: Buffer) => got.push(c));
      s.on('error', () => {});
      cleanup.push(() => {
        s.destroy();
      });
    });
    const proxy = await LinkProxy.start({ targetHost: '127.0.0.1', targetPort: port });
    cleanup.push(() => proxy.close());
    proxy.rewriteHead = rewriteElectionAddress('127.0.0.1:4000');
    const s = await connect(proxy.port);
    const msg = message(-65536n, 1n, '127.0.0.1:3888');
    s.write(msg.subarray(0, 5));
    await new Promise((r) => setTimeout(r, 20));
    s.write(Buffer.concat([msg.subarray(5), msg]));
    const expected = Buffer.concat([message(-65536n, 1n, '127.0.0.1:4000'), msg]);
    const deadline = Date.now() + 2000;
    while (Buffer.concat(got).length < expected.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(Buffer.concat(got).equals(expected)).toBe(true);
  });
});
