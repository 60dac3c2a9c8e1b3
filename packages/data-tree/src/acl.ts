import { createHash } from 'node:crypto';
import { type ACL, ErrorCode, type Id, Perms } from '@zkts/codec';
import { TreeError } from './errors.js';

export const WORLD_ANYONE: Id = Object.freeze({ scheme: 'world', id: 'anyone' });
/** world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE). */
export const OPEN_ACL_UNSAFE: readonly ACL[] = Object.freeze([{ perms: Perms.ALL, id: WORLD_ANYONE }]);
/** world:anyone read-only (ZooDefs.Ids.READ_ACL_UNSAFE). */
export const READ_ACL_UNSAFE: readonly ACL[] = Object.freeze([{ perms: Perms.READ, id: WORLD_ANYONE }]);
/** Every permission for whoever creates the node (ZooDefs.Ids.CREATOR_ALL_ACL). */
export const CREATOR_ALL_ACL: readonly ACL[] = Object.freeze([
  { perms: Perms.ALL, id: { scheme: 'auth', id: '' } },
]);

/** `user:base64(sha1("user:password"))`, the id a digest ACL names. */
export function generateDigest(userPassword: string): string {
  const colon = userPassword.indexOf(':');
  const user = colon < 0 ? userPassword : userPassword.slice(0, colon);
  const hash = createHash('sha1').update(userPassword, 'utf8').digest('base64');
  return `${user}:${hash}`;
}

/**
 * The ids a connection gains from `addAuth("digest", "user:password")`: the digest id, preceded by
 * `super:` when the digest equals the configured super digest.
 */
export function digestAuthIds(userPassword: string, superDigest?: string): Id[] {
  const digest = generateDigest(userPassword);
  const ids: Id[] = [];
  if (superDigest !== undefined && digest === superDigest) ids.push({ scheme: 'super', id: '' });
  ids.push({ scheme: 'digest', id: digest });
  return ids;
}

/** The id every connection has for the ip scheme: its remote IPv4 address. */
export function ipAuthId(address: string): Id {
  return { scheme: 'ip', id: address };
}

/** The number of parts Java's String.split(sep) returns (trailing empty strings dropped). */
function javaSplitCount(s: string, sep: string): number {
  const parts = s.split(sep);
  let n = parts.length;
  while (n > 0 && parts[n - 1] === '') n--;
  return s === '' ? 1 : n;
}

function ipv4Bytes(addr: string): number[] | undefined {
  const parts = addr.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[+-]?\d+$/.test(p)) return undefined;
    const v = Number.parseInt(p, 10);
    if (!(v >= 0 && v <= 255)) return undefined;
    out.push(v);
  }
  return out;
}

function parseIpExpr(expr: string): { addr: number[]; bits: number } | undefined {
  const slash = expr.indexOf('/');
  const addr = ipv4Bytes(slash < 0 ? expr : expr.slice(0, slash));
  if (addr === undefined) return undefined;
  let bits = 32;
  if (slash >= 0) {
    const b = expr.slice(slash + 1);
    if (!/^[+-]?\d+$/.test(b)) return undefined;
    bits = Number.parseInt(b, 10);
    if (bits < 0 || bits > 32) return undefined;
  }
  return { addr, bits };
}

function maskBytes(b: number[], bits: number): number[] {
  return b.map((v, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    return v & ((0xff << (8 - keep)) & 0xff);
  });
}

/** Whether an ip ACL expression (`10.0.0.0/8` or `1.2.3.4`) matches a client address. */
export function ipMatches(clientAddress: string, aclExpr: string): boolean {
  const acl = parseIpExpr(aclExpr);
  if (acl === undefined) return false;
  const remote = ipv4Bytes(clientAddress);
  if (remote === undefined) return false;
  const a = maskBytes(acl.addr, acl.bits);
  const r = maskBytes(remote, acl.bits);
  return a.every((v, i) => v === r[i]);
}

/** Whether an id is well formed for its scheme (the auth providers' isValid). */
export function isValidAclId(id: Id): boolean {
  if (id.scheme === 'world') return id.id === 'anyone';
  if (id.scheme === 'digest') return javaSplitCount(id.id, ':') === 2;
  if (id.scheme === 'ip') return parseIpExpr(id.id) !== undefined;
  return false;
}

const aclEquals = (a: ACL, b: ACL): boolean =>
  a.perms === b.perms && a.id.scheme === b.id.scheme && a.id.id === b.id.id;

/**
 * Validates an ACL list for create/setACL and expands `auth` entries into the caller's
 * authenticated ids (PrepRequestProcessor.fixupACL). Throws InvalidACL.
 */
export function fixupAcl(path: string, authIds: readonly Id[], acls: readonly ACL[]): ACL[] {
  const uniq: ACL[] = [];
  for (const a of acls) if (!uniq.some((u) => aclEquals(u, a))) uniq.push(a);
  if (uniq.length === 0) throw new TreeError(ErrorCode.InvalidACL, path);
  const out: ACL[] = [];
  for (const a of uniq) {
    if (a.id.scheme === 'world' && a.id.id === 'anyone') {
      out.push({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } });
    } else if (a.id.scheme === 'auth') {
      let any = false;
      for (const cid of authIds) {
        // Only providers that authenticate (digest here) count; ip and super do not.
        if (cid.scheme === 'digest') {
          any = true;
          out.push({ perms: a.perms, id: { scheme: cid.scheme, id: cid.id } });
        }
      }
      if (!any) throw new TreeError(ErrorCode.InvalidACL, path);
    } else {
      if (!isValidAclId(a.id)) throw new TreeError(ErrorCode.InvalidACL, path);
      out.push({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } });
    }
  }
  return out;
}

function idMatches(authId: Id, aclId: Id): boolean {
  if (authId.scheme !== aclId.scheme) return false;
  if (aclId.scheme === 'digest') return authId.id === aclId.id;
  if (aclId.scheme === 'ip') return ipMatches(authId.id, aclId.id);
  return false;
}

/** Whether `authIds` may perform `perm` on a node with `acl` (ZooKeeperServer.checkACL). */
export function aclAllows(acl: readonly ACL[], perm: number, authIds: readonly Id[]): boolean {
  if (acl.length === 0) return true;
  for (const id of authIds) if (id.scheme === 'super') return true;
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue;
    if (a.id.scheme === 'world' && a.id.id === 'anyone') return true;
    for (const id of authIds) if (idMatches(id, a.id)) return true;
  }
  return false;
}

export function checkAcl(acl: readonly ACL[], perm: number, authIds: readonly Id[], path: string): void {
  if (!aclAllows(acl, perm, authIds)) throw new TreeError(ErrorCode.NoAuth, path);
}

function aclKey(acl: readonly ACL[]): string {
  let k = '';
  for (const a of acl) k += `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}\u0001`;
  return k;
}

/** Reference-counted interning of ACL lists: nodes store a small integer instead of a list. */
export class AclCache {
  private readonly byKey = new Map<string, number>();
  private lists: (readonly ACL[] | undefined)[] = [];
  private refs: number[] = [];
  private freeIds: number[] = [];

  /** Interns `acl` and takes one reference on it. */
  acquire(acl: readonly ACL[]): number {
    const key = aclKey(acl);
    let idx = this.byKey.get(key);
    if (idx === undefined) {
      idx = this.freeIds.pop() ?? this.lists.length;
      this.lists[idx] = Object.freeze(
        acl.map((a) => Object.freeze({ perms: a.perms, id: Object.freeze({ ...a.id }) })),
      );
      this.refs[idx] = 0;
      this.byKey.set(key, idx);
    }
    this.refs[idx] = (this.refs[idx] ?? 0) + 1;
    return idx;
  }

  release(idx: number): void {
    const n = (this.refs[idx] ?? 0) - 1;
    this.refs[idx] = n;
    if (n <= 0) {
      const list = this.lists[idx];
      if (list !== undefined) this.byKey.delete(aclKey(list));
      this.lists[idx] = undefined;
      this.freeIds.push(idx);
    }
  }

  get(idx: number): readonly ACL[] {
    const l = this.lists[idx];
    if (l === undefined) throw new Error(`no ACL list ${idx}`);
    return l;
  }

  get size(): number {
    return this.byKey.size;
  }
}

/**
 * The ids an `addAuth(scheme, auth)` request adds to a connection (the auth providers'
 * handleAuthentication): digest gives the digest id (and super: when it matches `superDigest`),
 * ip gives the connection's address. Any other scheme fails with AuthFailed.
 */
export function addAuthIds(
  scheme: string,
  auth: Uint8Array | string,
  connection: { remoteAddress: string },
  superDigest?: string,
): Id[] {
  const text = typeof auth === 'string' ? auth : new TextDecoder().decode(auth);
  if (scheme === 'digest') return digestAuthIds(text, superDigest);
  if (scheme === 'ip') return [ipAuthId(connection.remoteAddress)];
  throw new TreeError(ErrorCode.AuthFailed, undefined, `no auth provider for scheme ${scheme}`);
}

/** whoAmI's ClientInfo for each id: the scheme and the user (digest ids show their user name). */
export function clientInfos(authIds: readonly Id[]): { authScheme: string; user: string }[] {
  return authIds.map((id) => ({
    authScheme: id.scheme,
    user: id.scheme === 'digest' ? (id.id.split(':')[0] ?? '') : id.scheme === 'ip' ? id.id : '',
  }));
}
