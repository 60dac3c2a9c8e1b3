/**
 * Codec throughput: frames per second encoded and decoded for create, getData and setData requests
 * and their replies (100-byte data by default), and frames per second split by FrameReader.
 *
 *   pnpm --filter @zkts/bench run bench codec [--ms 1000] [--size 100]
 */
import {
  decodeRequest,
  decodeResponse,
  encodeRequestFrame,
  encodeResponseFrame,
  FrameReader,
  Perms,
  type ReplyHeader,
  type Request,
  type Response,
  type Stat,
} from '@zkts/codec';

interface Case {
  name: string;
  request: Request;
  response: Response;
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

/** Runs `fn` in batches until `ms` have passed; returns calls per second. */
function rate(ms: number, fn: () => unknown): number {
  let sink = 0;
  const batch = 2000;
  // Warm up so the JIT has compiled the path before timing.
  for (let i = 0; i < batch * 5; i++) sink ^= fn() === undefined ? 1 : 0;
  let calls = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(ms) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < limit) {
    for (let i = 0; i < batch; i++) sink ^= fn() === undefined ? 1 : 0;
    calls += batch;
    elapsed = process.hrtime.bigint() - start;
  }
  if (sink === 42) process.stdout.write('');
  return (calls * 1e9) / Number(elapsed);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export async function run(args: string[]): Promise<void> {
  const ms = option(args, '--ms', 1000);
  const size = option(args, '--size', 100);
  const data = Buffer.alloc(size, 0x61);
  const stat: Stat = {
    czxid: 0x100000002n,
    mzxid: 0x100000007n,
    ctime: 1764150000000n,
    mtime: 1764150001234n,
    version: 3,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0n,
    dataLength: size,
    numChildren: 0,
    pzxid: 0x100000002n,
  };
  const path = '/bench/app/config/node-0000000042';
  const cases: Case[] = [
    {
      name: 'create',
      request: {
        type: 'create',
        path,
        data,
        acl: [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }],
        flags: 0,
      },
      response: { type: 'create', path },
    },
    {
      name: 'getData',
      request: { type: 'getData', path, watch: true },
      response: { type: 'getData', data, stat },
    },
    {
      name: 'setData',
      request: { type: 'setData', path, data, version: -1 },
      response: { type: 'setData', stat },
    },
  ];
  const header: ReplyHeader = { xid: 42, zxid: 0x100000007n, err: 0 };

  process.stdout.write(`codec: ${size}-byte data, ${ms} ms per figure, node ${process.version}\n\n`);
  const rows: string[][] = [
    ['op', 'request bytes', 'encode req/s', 'decode req/s', 'encode reply/s', 'decode reply/s'],
  ];
  for (const c of cases) {
    const reqFrame = encodeRequestFrame(42, c.request);
    const reqBody = reqFrame.subarray(4);
    const resBody = encodeResponseFrame(header, c.response).subarray(4);
    const type = c.request.type;
    rows.push([
      c.name,
      String(reqFrame.length),
      fmt(rate(ms, () => encodeRequestFrame(42, c.request))),
      fmt(rate(ms, () => decodeRequest(reqBody))),
      fmt(rate(ms, () => encodeResponseFrame(header, c.response))),
      fmt(rate(ms, () => decodeResponse(resBody, type))),
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of rows) {
    process.stdout.write(
      `${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ')}\n`,
    );
  }

  // Framing: a 64 KiB stream of getData requests pushed in 1460-byte (TCP segment sized) chunks.
  const one = encodeRequestFrame(1, { type: 'getData', path, watch: false });
  const perStream = Math.floor(65536 / one.length);
  const stream = Buffer.concat(Array.from({ length: perStream }, () => one));
  const chunks: Buffer[] = [];
  for (let off = 0; off < stream.length; off += 1460) chunks.push(stream.subarray(off, off + 1460));
  const reader = new FrameReader();
  const streams = rate(ms, () => {
    let n = 0;
    for (const ch of chunks) n += reader.push(ch).length;
    return n;
  });
  process.stdout.write(
    `\nFrameReader: ${fmt(streams * perStream)} frames/s (${one.length}-byte frames, 1460-byte chunks)\n`,
  );
}
