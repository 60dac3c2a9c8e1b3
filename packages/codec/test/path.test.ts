import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidPath, pathProblem } from '../src/index.js';

describe('pathProblem (ZooKeeper PathUtils.validatePath)', () => {
  it.each([
    '/',
    '/a',
    '/a/b.c',
    '/a/..b',
    '/a/b..',
    '/a/.b',
    '/zookeeper/quota',
    '/\u00e9t\u00e9',
    '/a\uffef',
  ])('accepts %j', (p) => {
    expect(pathProblem(p)).toBeUndefined();
    expect(isValidPath(p)).toBe(true);
  });

  it.each([
    ['', 'Path length must be > 0'],
    ['a', 'Path must start with / character'],
    ['/a/', 'Path must not end with / character'],
    ['//a', 'Invalid path string "//a" caused by empty node name specified @1'],
    ['/a//b', 'Invalid path string "/a//b" caused by empty node name specified @3'],
    ['/.', 'Invalid path string "/." caused by relative paths not allowed @1'],
    ['/a/./b', 'Invalid path string "/a/./b" caused by relative paths not allowed @3'],
    ['/a/..', 'Invalid path string "/a/.." caused by relative paths not allowed @4'],
    ['/a/../b', 'Invalid path string "/a/../b" caused by relative paths not allowed @4'],
    ['/a\u0000b', 'Invalid path string "/a\u0000b" caused by null character not allowed @2'],
    ['/a\u0001', 'Invalid path string "/a\u0001" caused by invalid character @2'],
    ['/a\u007f', 'Invalid path string "/a\u007f" caused by invalid character @2'],
    ['/\ud800', 'Invalid path string "/\ud800" caused by invalid character @1'],
    ['/\ufff0', 'Invalid path string "/\ufff0" caused by invalid character @1'],
  ])('rejects %j: %s', (p, message) => {
    expect(pathProblem(p)).toBe(message);
    expect(isValidPath(p)).toBe(false);
  });

  it('lets a sequential create end with / and checks it with the sequence appended, as ZooKeeper', () => {
    expect(pathProblem('/locks/', true)).toBeUndefined();
    expect(pathProblem('/locks/lock-', true)).toBeUndefined();
    expect(pathProblem('/a/.', true)).toBeUndefined();
    expect(pathProblem('/a//', true)).toBe(
      'Invalid path string "/a//1" caused by empty node name specified @3',
    );
  });

  it('accepts every path made of valid names joined by /', () => {
    const name = fc
      .string({
        minLength: 1,
        maxLength: 8,
        unit: fc.constantFrom('a', 'Z', '0', '-', '_', '.', '\u00e9', ' '),
      })
      .filter((n) => n !== '.' && n !== '..');
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 6 }), (names) => {
        expect(pathProblem(`/${names.join('/')}`)).toBeUndefined();
      }),
    );
  });

  it('rejects every path holding a forbidden code unit, naming its position', () => {
    const bad = fc.oneof(
      fc.integer({ min: 1, max: 0x1f }),
      fc.integer({ min: 0x7f, max: 0x9f }),
      fc.integer({ min: 0xd800, max: 0xf8ff }),
      fc.integer({ min: 0xfff0, max: 0xffff }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 5, unit: fc.constantFrom('a', 'b') }), bad, (prefix, code) => {
        const p = `/${prefix}${String.fromCharCode(code)}`;
        expect(pathProblem(p)).toBe(
          `Invalid path string "${p}" caused by invalid character @${p.length - 1}`,
        );
      }),
    );
  });
});
