import { ErrorCode } from '@zkts/codec';
import { describe, expect, it } from 'vitest';
import { decodeTxn, encodeTxn, OPEN_ACL_UNSAFE, TXN_FORMAT_VERSION, type Txn } from '../src/index.js';
import { enc } from './harness.js';

const samples: Txn[] = [
  {
    sessionId: 1n,
    cxid: 1,
    body: {
      type: 'create',
      path: '/a',
      data: enc('x'),
      acl: OPEN_ACL_UNSAFE,
      ephemeral: true,
      parentCVersion: 3,
    },
  },
  {
    sessionId: -5n,
    cxid: -1,
    body: { type: 'createContainer', path: '/c', data: enc(''), acl: OPEN_ACL_UNSAFE, parentCVersion: 1 },
  },
  {
    sessionId: 2n ** 62n,
    cxid: 7,
    body: {
      type: 'createTTL',
      path: '/t',
      data: enc('é'),
      acl: OPEN_ACL_UNSAFE,
      parentCVersion: -2147483648,
      ttl: 2n ** 40n - 1n,
    },
  },
  { sessionId: 0n, cxid: 0, body: { type: 'delete', path: '/a' } },
  { sessionId: 0n, cxid: 0, body: { type: 'deleteContainer', path: '/c' } },
  {
    sessionId: 0n,
    cxid: 0,
    body: { type: 'setData', path: '/a', data: new Uint8Array([0, 255, 7]), version: 2147483647 },
  },
  {
    sessionId: 0n,
    cxid: 0,
    body: {
      type: 'setACL',
      path: '/a',
      acl: [{ perms: 1, id: { scheme: 'digest', id: 'u:h=' } }],
      version: 4,
    },
  },
  { sessionId: 0n, cxid: 0, body: { type: 'check', path: '/a', version: -1 } },
  { sessionId: 9n, cxid: 0, body: { type: 'createSession', timeout: 30000 } },
  { sessionId: 9n, cxid: 0, body: { type: 'closeSession', paths2Delete: ['/x', '/y/z'] } },
  { sessionId: 0n, cxid: 0, body: { type: 'error', err: ErrorCode.NoNode } },
  {
    sessionId: 3n,
    cxid: 9,
    body: {
      type: 'multi',
      txns: [
        { type: 'check', path: '/a', version: 1 },
        { type: 'error', err: ErrorCode.RuntimeInconsistency },
      ],
    },
  },
];

describe('txn encoding', () => {
  it.each(samples.map((s) => [s.body.type, s] as const))('round-trips %s', (_t, txn) => {
    const bytes = encodeTxn(txn);
    expect(bytes[0]).toBe(TXN_FORMAT_VERSION);
    expect(decodeTxn(bytes)).toEqual(txn);
  });

  it('rejects truncated, trailing, unknown-version and unknown-tag payloads with MarshallingError', () => {
    const bytes = encodeTxn(samples[0]!);
    const bad = [
      bytes.subarray(0, bytes.length - 1),
      new Uint8Array([...bytes, 0]),
      new Uint8Array([9, ...bytes.subarray(1)]),
    ];
    const tag = bytes.slice();
    tag[13] = 99;
    bad.push(tag);
    for (const b of bad) {
      expect(() => decodeTxn(b)).toThrow(expect.objectContaining({ code: ErrorCode.MarshallingError }));
    }
  });
});
