import { pathProblem } from '@zkts/codec';
import { KeeperError } from './errors.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface ConnectString {
  hosts: HostPort[];
  /** The chroot path, or undefined for none (`/` alone is none, as in ZooKeeper). */
  chroot: string | undefined;
}

const DEFAULT_PORT = 2181;

function badArgs(message: string): never {
  throw KeeperError.fromName('BadArguments', message);
}

/** Parses `h1:2181,h2:2181/chroot` (IPv6 as `[::1]:2181`), as ZooKeeper's ConnectStringParser. */
export function parseConnectString(text: string): ConnectString {
  let hostsPart = text;
  let chroot: string | undefined;
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const c = text.slice(slash);
    hostsPart = text.slice(0, slash);
    if (c.length > 1) {
      validatePath(c);
      chroot = c;
    }
  }
  const hosts: HostPort[] = [];
  for (const raw of hostsPart.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    let host = item;
    let port = DEFAULT_PORT;
    const v6 = /^\[([^\]]+)\](?::(\d*))?$/.exec(item);
    if (v6 !== null) {
      host = v6[1] ?? '';
      if (v6[2] !== undefined && v6[2] !== '') port = Number(v6[2]);
    } else {
      const idx = item.lastIndexOf(':');
      if (idx >= 0) {
        const p = item.slice(idx + 1);
        if (p !== '') {
          if (!/^\d+$/.test(p)) badArgs(`bad port in connect string: "${item}"`);
          port = Number(p);
        }
        host = item.slice(0, idx);
      }
    }
    if (host === '') badArgs(`empty host in connect string "${text}"`);
    if (port < 1 || port > 65535) badArgs(`port out of range in connect string: "${item}"`);
    hosts.push({ host, port });
  }
  if (hosts.length === 0) badArgs(`no hosts in connect string "${text}"`);
  return { hosts, chroot };
}

/** Validates a znode path as ZooKeeper's PathUtils.validatePath does; throws BadArguments. */
export function validatePath(path: string, sequential = false): void {
  if (typeof path !== 'string') badArgs('Path cannot be null');
  const problem = pathProblem(path, sequential);
  if (problem !== undefined) badArgs(problem);
}

/** Fisher-Yates shuffle with an injectable random source (tests pass a seeded one). */
export function shuffle<T>(items: readonly T[], random: () => number = Math.random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = out[i] as T;
    out[i] = out[j] as T;
    out[j] = t;
  }
  return out;
}

/** Prepends the chroot to a client path. */
export function prependChroot(chroot: string | undefined, path: string): string {
  if (chroot === undefined) return path;
  return path === '/' ? chroot : chroot + path;
}

/** Strips the chroot from a server path (a path outside the chroot comes back unchanged). */
export function stripChroot(chroot: string | undefined, serverPath: string): string {
  if (chroot === undefined) return serverPath;
  if (serverPath === chroot) return '/';
  if (serverPath.startsWith(`${chroot}/`)) return serverPath.slice(chroot.length);
  return serverPath;
}
