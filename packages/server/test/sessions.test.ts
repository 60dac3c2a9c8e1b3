import { describe, expect, it } from 'vitest';
import {
  checkPassword,
  initialSessionId,
  SessionTracker,
  sessionPassword,
  toSigned64,
} from '../src/sessions.js';

describe('session ids and passwords', () => {
  it('puts the server id in the top byte of session ids', () => {
    const id = initialSessionId(3, 1_700_000_000_000);
    expect(id >> 56n).toBe(3n);
    expect(toSigned64(initialSessionId(200, 1)) < 0n).toBe(true);
  });

  // Known answers produced by java.util.Random as Apache ZooKeeper seeds it (id ^ 0xB3415C00).
  it.each([
    [1n, '054cc74a37327db215e702e20c73f005'],
    [1n << 56n, 'f22acd4a97e69d6d20a49bb638eadb38'],
    [1234567890123n, '40b51d0074cd652e16c884a0cf746290'],
    [-8070450532247928832n, 'f22acd4a97e69d6d20a49bb638eadb38'],
  ])('derives the password of session %s as ZooKeeper does', (id, hex) => {
    expect(sessionPassword(id).toString('hex')).toBe(hex);
    expect(checkPassword(id, Buffer.from(hex, 'hex'))).toBe(true);
    expect(checkPassword(id, Buffer.alloc(16))).toBe(false);
  });

  it('never accepts session 0', () => {
    expect(checkPassword(0n, sessionPassword(0n))).toBe(false);
  });
});

describe('SessionTracker', () => {
  it('expires a session one tick bucket after its timeout, not before', () => {
    const t = new SessionTracker(2000, 1, 0);
    const id = t.allocateId();
    t.add(id, 4000, 100);
    // deadline 4100 rounds up to the 6000 bucket
    expect(t.get(id)?.expiresAt).toBe(6000);
    expect(t.expire(5999)).toEqual([]);
    expect(t.expire(6000).map((s) => s.id)).toEqual([id]);
    expect(t.touch(id, 6000)).toBe(false);
  });

  it('keeps a touched session alive', () => {
    const t = new SessionTracker(1000, 1, 0);
    const id = t.allocateId();
    t.add(id, 3000, 0);
    for (let now = 500; now < 10_000; now += 500) {
      expect(t.touch(id, now)).toBe(true);
      expect(t.expire(now)).toEqual([]);
    }
    expect(t.expire(20_000).map((s) => s.id)).toEqual([id]);
  });

  it('hands out distinct ids and forgets removed sessions', () => {
    const t = new SessionTracker(1000, 7, 0);
    const a = t.allocateId();
    const b = t.allocateId();
    expect(a).not.toBe(b);
    t.add(a, 2000, 0);
    t.add(b, 2000, 0);
    t.remove(a);
    expect(t.size).toBe(1);
    expect(t.expire(10_000).map((s) => s.id)).toEqual([b]);
  });

  it('tells how long until the next bucket', () => {
    const t = new SessionTracker(2000, 1, 500);
    expect(t.waitTime(500)).toBe(1500);
    expect(t.waitTime(3000)).toBe(0);
  });
});
