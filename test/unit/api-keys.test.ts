import { createHash } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { CAPABILITIES, generateApiKey, hashApiKey, type Capability } from '../../src/domain/api-keys.js';

describe('generateApiKey', () => {
  it('is hw_ + base64url of 32 bytes, with a display prefix and its hash', () => {
    const { key, prefix, hash } = generateApiKey();
    expect(key).toMatch(/^hw_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice(3), 'base64url')).toHaveLength(32);
    expect(prefix).toBe(key.slice(0, 11));
    expect(prefix).toHaveLength(11);
    expect(hash).toBe(hashApiKey(key));
  });

  it('never repeats', () => {
    expect(generateApiKey().key).not.toBe(generateApiKey().key);
  });
});

describe('hashApiKey', () => {
  it('is hex sha256 of the key', () => {
    expect(hashApiKey('hw_test')).toBe(createHash('sha256').update('hw_test').digest('hex'));
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('CAPABILITIES', () => {
  it('lists manage, send and read', () => {
    const caps: readonly Capability[] = CAPABILITIES;
    expect(caps).toEqual(['manage', 'send', 'read']);
  });
});
