import { describe, it, expect } from 'vitest';
import { newId } from '../../src/domain/ids.js';

const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('newId', () => {
  it('is the prefix, an underscore and 26 Crockford base32 chars', () => {
    for (const prefix of ['org', 'key', 'wh', 'evt', 'dlv', 'atm'] as const) {
      const id = newId(prefix);
      expect(id.startsWith(`${prefix}_`)).toBe(true);
      expect(id.slice(prefix.length + 1)).toMatch(CROCKFORD);
    }
  });

  it('encodes the current millisecond in its first 10 chars', () => {
    const before = Date.now();
    const body = newId('evt').slice(4);
    const after = Date.now();
    const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    let ms = 0;
    for (const c of body.slice(0, 10)) ms = ms * 32 + alphabet.indexOf(c);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });

  it('sorts by creation time across milliseconds', async () => {
    const first = newId('dlv');
    await new Promise((r) => setTimeout(r, 3));
    const second = newId('dlv');
    expect(first < second).toBe(true);
  });

  it('does not repeat', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newId('atm')));
    expect(ids.size).toBe(10_000);
  });
});
