import { describe, expect, it } from 'vitest';
import { activeKeys, MAX_SIGNING_KEYS, rotateKeys, singleKey } from '../../src/domain/signing-keys.js';

const HOUR = 3_600_000;

describe('signing keys', () => {
  it('a rotation puts the new key first and gives the old one the overlap window', () => {
    const keys = rotateKeys(singleKey('a', 0), 'b', 10 * HOUR, 24 * HOUR);
    expect(keys).toEqual([
      { secret: 'b', createdAt: 10 * HOUR, expiresAt: null },
      { secret: 'a', createdAt: 0, expiresAt: 34 * HOUR },
    ]);
    expect(activeKeys(keys, 33 * HOUR).map((k) => k.secret)).toEqual(['b', 'a']);
    expect(activeKeys(keys, 34 * HOUR).map((k) => k.secret)).toEqual(['b']);
  });

  it('a second rotation inside the window keeps the first key until its own window ends, never longer', () => {
    const once = rotateKeys(singleKey('a', 0), 'b', 0, 24 * HOUR);
    const twice = rotateKeys(once, 'c', 1 * HOUR, 24 * HOUR);
    expect(twice.map((k) => [k.secret, k.expiresAt])).toEqual([
      ['c', null],
      ['b', 25 * HOUR],
      // Not extended to 25 h: a key only ever loses time.
      ['a', 24 * HOUR],
    ]);
  });

  it('drops keys that already expired, and keeps at most a bounded number', () => {
    let keys = singleKey('k0', 0);
    keys = rotateKeys(keys, 'k1', 0, HOUR);
    keys = rotateKeys(keys, 'k2', 2 * HOUR, HOUR);
    expect(keys.map((k) => k.secret)).toEqual(['k2', 'k1']);
    for (let i = 3; i < 30; i++) keys = rotateKeys(keys, `k${i}`, 2 * HOUR, HOUR);
    expect(keys).toHaveLength(MAX_SIGNING_KEYS);
    expect(keys[0].secret).toBe('k29');
  });
});
