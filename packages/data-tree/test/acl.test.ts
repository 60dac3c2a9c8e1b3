import { type ACL, CreateMode, ErrorCode, type Id, Perms } from '@zkts/codec';
import { describe, expect, it } from 'vitest';
import {
  CREATOR_ALL_ACL,
  digestAuthIds,
  fixupAcl,
  generateDigest,
  ipMatches,
  isValidAclId,
  OPEN_ACL_UNSAFE,
  READ_ACL_UNSAFE,
} from '../src/index.js';
import { enc, Harness, IP } from './harness.js';

const BOB = generateDigest('bob:pw');
const bobIds: Id[] = [IP, { scheme: 'digest', id: BOB }];
const acl = (perms: number, scheme: string, id: string): ACL[] => [{ perms, id: { scheme, id } }];

describe('digest auth', () => {
  it('is user:base64(sha1(user:password)), as ZooKeeper computes it', () => {
    expect(generateDigest('super:test')).toBe('super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    expect(BOB).toBe('bob:ikIaKsbtGweaHnb/jKn7OHqbunM=');
  });

  it('adds super when the digest equals the configured super digest', () => {
    expect(digestAuthIds('super:test', 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=')).toEqual([
      { scheme: 'super', id: '' },
      { scheme: 'digest', id: 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=' },
    ]);
    expect(digestAuthIds('super:wrong', 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=')).toHaveLength(1);
  });
});

describe('ip ACLs', () => {
  it('match exact addresses and CIDR ranges', () => {
    expect(ipMatches('10.1.2.3', '10.1.2.3')).toBe(true);
    expect(ipMatches('10.1.2.3', '10.1.2.4')).toBe(false);
    expect(ipMatches('10.1.2.3', '10.0.0.0/8')).toBe(true);
    expect(ipMatches('11.1.2.3', '10.0.0.0/8')).toBe(false);
    expect(ipMatches('192.168.1.130', '192.168.1.128/25')).toBe(true);
    expect(ipMatches('192.168.1.127', '192.168.1.128/25')).toBe(false);
    expect(ipMatches('1.2.3.4', '0.0.0.0/0')).toBe(true);
    expect(ipMatches('1.2.3.4', '1.2.3.4/33')).toBe(false);
  });

  it('must be well formed to be set', () => {
    expect(isValidAclId({ scheme: 'ip', id: '10.0.0.0/8' })).toBe(true);
    expect(isValidAclId({ scheme: 'ip', id: '10.0.0/8' })).toBe(false);
    expect(isValidAclId({ scheme: 'ip', id: '10.0.0.300' })).toBe(false);
    expect(isValidAclId({ scheme: 'ip', id: '10.0.0.0/x' })).toBe(false);
  });
});

describe('ACL lists on create and setACL', () => {
  it('rejects an empty list, unknown schemes, world ids other than anyone, and malformed digests', () => {
    expect(() => fixupAcl('/a', [], [])).toThrow(expect.objectContaining({ code: ErrorCode.InvalidACL }));
    for (const bad of [
      acl(31, 'world', 'nobody'),
      acl(31, 'x509', 'cn'),
      acl(31, 'digest', 'nocolon'),
      acl(31, 'digest', 'a:b:c'),
    ]) {
      expect(() => fixupAcl('/a', [], bad)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidACL }));
    }
  });

  it('expands auth into the caller’s digest ids, and refuses it without one', () => {
    expect(fixupAcl('/a', bobIds, CREATOR_ALL_ACL)).toEqual(acl(Perms.ALL, 'digest', BOB));
    expect(() => fixupAcl('/a', [IP], CREATOR_ALL_ACL)).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidACL }),
    );
  });

  it('drops duplicate entries', () => {
    expect(fixupAcl('/a', [], [...OPEN_ACL_UNSAFE, ...OPEN_ACL_UNSAFE])).toEqual(OPEN_ACL_UNSAFE);
  });
});

describe('permission checks per operation', () => {
  function setup() {
    const h = new Harness();
    h.create('/p', '', CreateMode.PERSISTENT, { acl: acl(Perms.ALL, 'digest', BOB), auth: bobIds });
    h.create('/p/c', 'data', CreateMode.PERSISTENT, { acl: acl(Perms.ALL, 'digest', BOB), auth: bobIds });
    return h;
  }

  it('create needs CREATE on the parent', () => {
    const h = setup();
    expect(h.create('/p/x').err).toBe(ErrorCode.NoAuth);
    expect(h.create('/p/x', '', 0, { auth: bobIds }).err).toBe(0);
  });

  it('delete needs DELETE on the parent, not on the node', () => {
    const h = new Harness();
    h.create('/p', '', 0, { acl: acl(Perms.ALL & ~Perms.DELETE, 'world', 'anyone') });
    h.create('/p/c', '', 0, { acl: acl(0, 'world', 'anyone') });
    h.create('/q', '', 0, { acl: acl(Perms.DELETE | Perms.CREATE, 'world', 'anyone') });
    h.create('/q/c', '', 0, { acl: acl(0, 'world', 'anyone') });
    expect(h.delete('/p/c').err).toBe(ErrorCode.NoAuth);
    expect(h.delete('/q/c').err).toBe(0);
  });

  it('setData needs WRITE, setACL needs ADMIN, check needs READ', () => {
    const h = setup();
    expect(h.setData('/p/c', 'x').err).toBe(ErrorCode.NoAuth);
    expect(h.setData('/p/c', 'x', -1, bobIds).err).toBe(0);
    expect(h.run({ type: 'setACL', path: '/p/c', acl: OPEN_ACL_UNSAFE, version: -1 }).err).toBe(
      ErrorCode.NoAuth,
    );
    expect(h.run({ type: 'check', path: '/p/c', version: -1 }).err).toBe(ErrorCode.NoAuth);
    expect(h.run({ type: 'check', path: '/p/c', version: -1 }, 1n, bobIds).err).toBe(0);
    expect(h.run({ type: 'setACL', path: '/p/c', acl: READ_ACL_UNSAFE, version: -1 }, 1n, bobIds).err).toBe(
      0,
    );
  });

  it('getData and getChildren need READ; exists does not check (3.8.0) unless configured to', () => {
    const h = setup();
    const t = h.tree;
    expect(() => t.getData('/p/c', { authIds: [IP] })).toThrow(
      expect.objectContaining({ code: ErrorCode.NoAuth }),
    );
    expect(() => t.getChildren('/p', { authIds: [IP] })).toThrow(
      expect.objectContaining({ code: ErrorCode.NoAuth }),
    );
    expect(t.getData('/p/c', { authIds: bobIds }).stat.dataLength).toBe(4);
    expect(t.exists('/p/c', { authIds: [IP] })?.dataLength).toBe(4);
    const strict = new Harness({ existsChecksRead: true });
    strict.create('/s', '', 0, { acl: acl(Perms.WRITE, 'world', 'anyone') });
    expect(() => strict.tree.exists('/s', { authIds: [] })).toThrow(
      expect.objectContaining({ code: ErrorCode.NoAuth }),
    );
  });

  it('getACL needs READ or ADMIN and hides digest hashes from callers without ADMIN', () => {
    const h = new Harness();
    const list: ACL[] = [
      { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
      { perms: Perms.ALL, id: { scheme: 'digest', id: BOB } },
    ];
    h.create('/a', '', 0, { acl: list, auth: bobIds });
    expect(h.tree.getACL('/a', { authIds: [IP] }).acl[1]?.id.id).toBe('bob:x');
    expect(h.tree.getACL('/a', { authIds: bobIds }).acl[1]?.id.id).toBe(BOB);
    h.create('/none', '', 0, { acl: acl(Perms.WRITE, 'world', 'anyone') });
    expect(() => h.tree.getACL('/none', { authIds: [IP] })).toThrow(
      expect.objectContaining({ code: ErrorCode.NoAuth }),
    );
  });

  it('lets ip ACLs through for matching client addresses', () => {
    const h = new Harness();
    h.create('/net', 'd', 0, { acl: acl(Perms.ALL, 'ip', '127.0.0.0/8') });
    expect(h.tree.getData('/net', { authIds: [IP] }).stat.dataLength).toBe(1);
    expect(() => h.tree.getData('/net', { authIds: [{ scheme: 'ip', id: '10.0.0.1' }] })).toThrow(
      expect.objectContaining({ code: ErrorCode.NoAuth }),
    );
  });

  it('lets super do anything', () => {
    const h = setup();
    const sup: Id[] = [{ scheme: 'super', id: '' }];
    expect(h.setData('/p/c', 'x', -1, sup).err).toBe(0);
    expect(h.tree.getData('/p/c', { authIds: sup }).stat.version).toBe(1);
    expect(h.delete('/p/c', -1, sup).err).toBe(0);
  });

  it('checks nothing with skipACL', () => {
    const h = new Harness({ skipACL: true });
    h.create('/a', '', 0, { acl: acl(0, 'world', 'anyone') });
    expect(h.setData('/a', 'x').err).toBe(0);
    expect(h.tree.getData('/a', { authIds: [] }).stat.version).toBe(1);
  });

  it('treats a node with an empty ACL list as open (it cannot be set, but may be loaded)', () => {
    const h = new Harness();
    h.create('/a');
    h.tree.apply(
      { sessionId: 0n, cxid: 0, body: { type: 'setACL', path: '/a', acl: [], version: 1 } },
      9n,
      0n,
    );
    h.zxid = 9n;
    expect(h.setData('/a', 'x', -1, []).err).toBe(0);
    expect(enc('x').length).toBe(1);
  });
});

describe('addAuth and whoAmI helpers', () => {
  it('turn addAuth into connection ids and ids into ClientInfo', async () => {
    const { addAuthIds, clientInfos } = await import('../src/index.js');
    const conn = { remoteAddress: '10.1.1.1' };
    expect(addAuthIds('digest', 'bob:pw', conn)).toEqual([{ scheme: 'digest', id: BOB }]);
    expect(addAuthIds('digest', enc('super:test'), conn, 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=')[0]).toEqual({
      scheme: 'super',
      id: '',
    });
    expect(addAuthIds('ip', '', conn)).toEqual([{ scheme: 'ip', id: '10.1.1.1' }]);
    expect(() => addAuthIds('kerberos', 'x', conn)).toThrow(
      expect.objectContaining({ code: ErrorCode.AuthFailed }),
    );
    expect(clientInfos([IP, { scheme: 'digest', id: BOB }, { scheme: 'super', id: '' }])).toEqual([
      { authScheme: 'ip', user: '127.0.0.1' },
      { authScheme: 'digest', user: 'bob' },
      { authScheme: 'super', user: '' },
    ]);
  });
});
