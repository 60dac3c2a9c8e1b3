import type { ACL } from '@zkts/codec';
import { ErrorCode } from '@zkts/codec';
import { Incomplete, Reader, Writer } from './bytes.js';
import { assertNever, TreeError } from './errors.js';
import type { Txn, TxnBody } from './types.js';

/**
 * Version byte of the txn encoding. Data is a u32 length and its bytes, or the length -1
 * (0xffffffff) for null data, as jute encodes a null buffer.
 */
export const TXN_FORMAT_VERSION = 1;

const TAG = {
  create: 1,
  createContainer: 2,
  createTTL: 3,
  delete: 4,
  deleteContainer: 5,
  setData: 6,
  setACL: 7,
  check: 8,
  multi: 9,
  createSession: 10,
  closeSession: 11,
  error: 12,
} as const satisfies Record<TxnBody['type'], number>;

/** @internal */
export function writeAcl(w: Writer, acl: readonly ACL[]): void {
  w.u32(acl.length);
  for (const a of acl) {
    w.i32(a.perms);
    w.str(a.id.scheme);
    w.str(a.id.id);
  }
}

/** @internal */
export function readAcl(r: Reader): ACL[] {
  const n = r.u32();
  if (n > r.remaining) throw new Incomplete('acl count');
  const out: ACL[] = [];
  for (let i = 0; i < n; i++) {
    const perms = r.i32();
    const scheme = r.str();
    const id = r.str();
    out.push({ perms, id: { scheme, id } });
  }
  return out;
}

function writeBody(w: Writer, b: TxnBody): void {
  w.u8(TAG[b.type]);
  switch (b.type) {
    case 'create':
      w.str(b.path);
      w.nullableBytes(b.data);
      writeAcl(w, b.acl);
      w.u8(b.ephemeral ? 1 : 0);
      w.i32(b.parentCVersion);
      return;
    case 'createContainer':
      w.str(b.path);
      w.nullableBytes(b.data);
      writeAcl(w, b.acl);
      w.i32(b.parentCVersion);
      return;
    case 'createTTL':
      w.str(b.path);
      w.nullableBytes(b.data);
      writeAcl(w, b.acl);
      w.i32(b.parentCVersion);
      w.i64(b.ttl);
      return;
    case 'delete':
    case 'deleteContainer':
      w.str(b.path);
      return;
    case 'setData':
      w.str(b.path);
      w.nullableBytes(b.data);
      w.i32(b.version);
      return;
    case 'setACL':
      w.str(b.path);
      writeAcl(w, b.acl);
      w.i32(b.version);
      return;
    case 'check':
      w.str(b.path);
      w.i32(b.version);
      return;
    case 'multi':
      w.u32(b.txns.length);
      for (const t of b.txns) writeBody(w, t);
      return;
    case 'createSession':
      w.i32(b.timeout);
      return;
    case 'closeSession':
      w.u32(b.paths2Delete.length);
      for (const p of b.paths2Delete) w.str(p);
      return;
    case 'error':
      w.i32(b.err);
      return;
    default:
      assertNever(b);
  }
}

function readBody(r: Reader, depth: number): TxnBody {
  const tag = r.u8();
  switch (tag) {
    case TAG.create: {
      const path = r.str();
      const data = r.nullableBytes();
      const acl = readAcl(r);
      const ephemeral = r.u8() !== 0;
      return { type: 'create', path, data, acl, ephemeral, parentCVersion: r.i32() };
    }
    case TAG.createContainer: {
      const path = r.str();
      const data = r.nullableBytes();
      const acl = readAcl(r);
      return { type: 'createContainer', path, data, acl, parentCVersion: r.i32() };
    }
    case TAG.createTTL: {
      const path = r.str();
      const data = r.nullableBytes();
      const acl = readAcl(r);
      const parentCVersion = r.i32();
      return { type: 'createTTL', path, data, acl, parentCVersion, ttl: r.i64() };
    }
    case TAG.delete:
      return { type: 'delete', path: r.str() };
    case TAG.deleteContainer:
      return { type: 'deleteContainer', path: r.str() };
    case TAG.setData: {
      const path = r.str();
      const data = r.nullableBytes();
      return { type: 'setData', path, data, version: r.i32() };
    }
    case TAG.setACL: {
      const path = r.str();
      const acl = readAcl(r);
      return { type: 'setACL', path, acl, version: r.i32() };
    }
    case TAG.check: {
      const path = r.str();
      return { type: 'check', path, version: r.i32() };
    }
    case TAG.multi: {
      if (depth > 0) throw new TreeError(ErrorCode.MarshallingError, undefined, 'nested multi txn');
      const n = r.u32();
      if (n > r.remaining) throw new Incomplete('multi count');
      const txns: TxnBody[] = [];
      for (let i = 0; i < n; i++) txns.push(readBody(r, depth + 1));
      return { type: 'multi', txns };
    }
    case TAG.createSession:
      return { type: 'createSession', timeout: r.i32() };
    case TAG.closeSession: {
      const n = r.u32();
      if (n > r.remaining) throw new Incomplete('path count');
      const paths2Delete: string[] = [];
      for (let i = 0; i < n; i++) paths2Delete.push(r.str());
      return { type: 'closeSession', paths2Delete };
    }
    case TAG.error:
      return { type: 'error', err: r.i32() };
    default:
      throw new TreeError(ErrorCode.MarshallingError, undefined, `unknown txn tag ${tag}`);
  }
}

/** One writer for every txn (encoding is synchronous); `take` copies its bytes out. */
const scratch = new Writer(1024);

/**
 * Encodes a txn as compact binary: a version byte, the session, the cxid and the body. With
 * `headerBytes`, that many zero bytes come first, for the caller to fill in (a record header
 * without a second copy).
 */
export function encodeTxn(txn: Txn, headerBytes = 0): Uint8Array {
  const w = scratch;
  w.pos = 0;
  for (let i = 0; i < headerBytes; i++) w.u8(0);
  w.u8(TXN_FORMAT_VERSION);
  w.i64(txn.sessionId);
  w.i32(txn.cxid);
  writeBody(w, txn.body);
  return w.take();
}

/** Decodes what encodeTxn produced; a malformed payload is a TreeError with MarshallingError. */
export function decodeTxn(bytes: Uint8Array): Txn {
  const r = new Reader(bytes);
  try {
    const version = r.u8();
    if (version !== TXN_FORMAT_VERSION) {
      throw new TreeError(ErrorCode.MarshallingError, undefined, `unknown txn format version ${version}`);
    }
    const sessionId = r.i64();
    const cxid = r.i32();
    const body = readBody(r, 0);
    if (r.remaining !== 0)
      throw new TreeError(ErrorCode.MarshallingError, undefined, 'trailing bytes after txn');
    return { sessionId, cxid, body };
  } catch (e) {
    if (e instanceof Incomplete) throw new TreeError(ErrorCode.MarshallingError, undefined, 'truncated txn');
    throw e;
  }
}
