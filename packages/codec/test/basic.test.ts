import { describe, expect, it } from 'vitest';
import {
  CodecError,
  CreateMode,
  decodeConnectRequest,
  decodeRequest,
  decodeResponse,
  encodeConnectRequest,
  encodeRequest,
  encodeRequestFrame,
  encodeResponse,
  FrameReader,
  frame,
  OpCode,
  Perms,
  Reader,
  Writer,
} from '../src/index.js';

const stat = {
  czxid: 1n,
  mzxid: 2n,
  ctime: 3n,
  mtime: 4n,
  version: 5,
  cversion: 6,
  aversion: 7,
  ephemeralOwner: 0x1234n,
  dataLength: 9,
  numChildren: 10,
  pzxid: 11n,
};

describe('jute primitives', () => {
  it('writes the documented layouts', () => {
    const w = new Writer(1);
    w.int(-2)
      .long(-1n)
      .bool(true)
      .ustring('/a')
      .ustring(null)
      .buffer(null)
      .buffer(new Uint8Array([7]));
    expect(w.finish().toString('hex')).toBe(
      ['fffffffe', 'ff'.repeat(8), '01', '000000022f61', 'ffffffff', 'ffffffff', '0000000107'].join(''),
    );
  });

  it('reads them back', () => {
    const w = new Writer();
    w.int(0x7fffffff)
      .long(-(2n ** 63n))
      .bool(false)
      .ustring('zé')
      .ustring(null)
      .stringVector(['x', 'yy']);
    const r = new Reader(w.finish());
    expect(r.int()).toBe(0x7fffffff);
    expect(r.long()).toBe(-(2n ** 63n));
    expect(r.bool()).toBe(false);
    expect(r.ustring()).toBe('zé');
    expect(r.ustring()).toBeNull();
    expect(r.stringVector()).toEqual(['x', 'yy']);
    expect(r.remaining).toBe(0);
  });

  it('refuses out-of-range values with CodecError', () => {
    expect(() => new Writer().int(2 ** 31)).toThrow(CodecError);
    expect(() => new Writer().int(1.5)).toThrow(CodecError);
    expect(() => new Writer().long(2n ** 63n)).toThrow(CodecError);
  });

  it('refuses truncated input and bad lengths', () => {
    expect(() => new Reader(Buffer.from('000000', 'hex')).int()).toThrow(
      expect.objectContaining({ kind: 'truncated' }),
    );
    expect(() => new Reader(Buffer.from('fffffffe', 'hex')).ustring()).toThrow(
      expect.objectContaining({ kind: 'bad-length' }),
    );
    expect(() => new Reader(Buffer.from('0000000561', 'hex')).buffer()).toThrow(
      expect.objectContaining({ kind: 'bad-length' }),
    );
    expect(() => new Reader(Buffer.from('7fffffff', 'hex')).stringVector()).toThrow(
      expect.objectContaining({ kind: 'bad-length' }),
    );
  });
});

describe('requests and responses', () => {
  it('encodes a create request like the Java client', () => {
    const bytes = encodeRequest(1, {
      type: 'create',
      path: '/a',
      data: Buffer.from('x'),
      acl: [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }],
      flags: CreateMode.EPHEMERAL,
    });
    expect(bytes.toString('hex')).toBe(
      '00000001' + // xid
        '00000001' + // create
        '000000022f61' + // path
        '0000000178' + // data
        '00000001' + // one ACL
        '0000001f' + // perms ALL
        '00000005776f726c64' + // world
        '00000006616e796f6e65' + // anyone
        '00000001', // EPHEMERAL
    );
    const decoded = decodeRequest(bytes);
    expect(decoded.header).toEqual({ xid: 1, type: OpCode.create });
    expect(decoded.request).toMatchObject({ type: 'create', path: '/a', flags: 1 });
  });

  it('decodes a reply by the request type and skips the body of an error reply', () => {
    const ok = encodeResponse(
      { xid: 3, zxid: 9n, err: 0 },
      { type: 'getData', data: Buffer.from('hi'), stat },
    );
    const d = decodeResponse(ok, 'getData');
    expect(d.header).toEqual({ xid: 3, zxid: 9n, err: 0 });
    expect(d.response?.stat).toEqual(stat);
    expect(Buffer.from(d.response?.data ?? [])).toEqual(Buffer.from('hi'));
    const err = encodeResponse({ xid: 4, zxid: 9n, err: -101 }, null);
    expect(decodeResponse(err, 'getData')).toEqual({
      header: { xid: 4, zxid: 9n, err: -101 },
      response: null,
    });
  });

  it('rejects unknown opcodes', () => {
    expect(() => decodeRequest(Buffer.from('0000000100000063', 'hex'))).toThrow(
      expect.objectContaining({ kind: 'unknown-opcode' }),
    );
  });

  it('handles a connect request with and without the readOnly byte', () => {
    const base = {
      protocolVersion: 0,
      lastZxidSeen: 0n,
      timeOut: 30000,
      sessionId: 0n,
      passwd: new Uint8Array(16),
    };
    const withRo = encodeConnectRequest({ ...base, readOnly: false });
    const old = encodeConnectRequest(base);
    expect(withRo.length).toBe(old.length + 1);
    expect(decodeConnectRequest(withRo).readOnly).toBe(false);
    expect(decodeConnectRequest(old).readOnly).toBeUndefined();
  });
});

describe('FrameReader', () => {
  it('reassembles frames split at every byte', () => {
    const frames = [
      encodeRequestFrame(1, { type: 'ping' }),
      frame(Buffer.alloc(0)),
      encodeRequestFrame(2, { type: 'sync', path: '/' }),
    ];
    const all = Buffer.concat(frames);
    const reader = new FrameReader();
    const out: Buffer[] = [];
    for (const b of all) out.push(...reader.push(Buffer.from([b])));
    expect(out.map((f) => f.toString('hex'))).toEqual(frames.map((f) => f.subarray(4).toString('hex')));
    expect(reader.buffered).toBe(0);
  });

  it('rejects an oversized frame before allocating it and stays broken', () => {
    const reader = new FrameReader({ maxFrameSize: 10 });
    expect(() => reader.push(Buffer.from('0000000b', 'hex'))).toThrow(
      expect.objectContaining({ kind: 'frame-too-large' }),
    );
    expect(() => reader.push(Buffer.from('00', 'hex'))).toThrow(CodecError);
  });
});

describe('Writer bound', () => {
  it('refuses to grow past maxSize with CodecError frame-too-large', () => {
    const w = new Writer(4, 16);
    w.int(1).long(2n).int(3);
    expect(w.length).toBe(16);
    expect(() => w.bool(true)).toThrow(expect.objectContaining({ kind: 'frame-too-large' }));
    // An ASCII string that fits exactly is accepted although 3 bytes per char would not fit.
    expect(new Writer(4, 14).ustring('0123456789').length).toBe(14);
    expect(() => new Writer(4, 13).ustring('0123456789')).toThrow(CodecError);
  });
});
