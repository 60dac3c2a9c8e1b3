import { describe, expect, it } from 'vitest';
import {
  parseConnectString,
  prependChroot,
  shuffle,
  stripChroot,
  validatePath,
} from '../src/connect-string.js';
import { KeeperError } from '../src/errors.js';

describe('parseConnectString', () => {
  it('reads hosts, default ports and a chroot', () => {
    expect(parseConnectString('h1:2181,h2:2182,h3/app/x')).toEqual({
      hosts: [
        { host: 'h1', port: 2181 },
        { host: 'h2', port: 2182 },
        { host: 'h3', port: 2181 },
      ],
      chroot: '/app/x',
    });
  });

  it('treats a lone / as no chroot and reads IPv6 brackets', () => {
    expect(parseConnectString('[::1]:2190/')).toEqual({
      hosts: [{ host: '::1', port: 2190 }],
      chroot: undefined,
    });
  });

  it.each(['', ',', 'h1:abc', 'h1:99999', 'h1/bad//chroot', ':2181'])('rejects %j with BadArguments', (s) => {
    let err: unknown;
    try {
      parseConnectString(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeeperError);
    expect((err as KeeperError).codeName).toBe('BadArguments');
  });
});

describe('validatePath', () => {
  it.each(['/', '/a', '/a/b.c', '/a/..b', '/a/b..', '/zookeeper/quota'])('accepts %s', (p) => {
    expect(() => validatePath(p)).not.toThrow();
  });
  it.each([
    '',
    'a',
    '/a/',
    '//a',
    '/a//b',
    '/.',
    '/a/.',
    '/a/./b',
    '/a/..',
    '/a/../b',
    '/a\u0000b',
    '/a\u0001',
    '/\ud800',
  ])('rejects %j', (p) => {
    expect(() => validatePath(p)).toThrow(KeeperError);
  });
  it('allows a trailing slash for sequential creates', () => {
    expect(() => validatePath('/locks/', true)).not.toThrow();
  });
});

describe('chroot', () => {
  it('prepends and strips', () => {
    expect(prependChroot('/app', '/')).toBe('/app');
    expect(prependChroot('/app', '/x')).toBe('/app/x');
    expect(prependChroot(undefined, '/x')).toBe('/x');
    expect(stripChroot('/app', '/app')).toBe('/');
    expect(stripChroot('/app', '/app/x/y')).toBe('/x/y');
    expect(stripChroot('/app', '/apple')).toBe('/apple');
  });
});

describe('shuffle', () => {
  it('permutes without losing or duplicating hosts', () => {
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const items = Array.from({ length: 20 }, (_, i) => i);
    const out = shuffle(items, rnd);
    expect([...out].sort((a, b) => a - b)).toEqual(items);
    expect(out).not.toEqual(items);
  });
});
