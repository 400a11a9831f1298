import { describe, it, expect } from 'vitest';
import { createSecretBox, generateWebhookSecret, standardWebhooksKey } from '../../src/domain/secrets.js';

const KEY_MATERIAL = 'a-test-key-material-that-is-long-enough-0123456789';

describe('generateWebhookSecret', () => {
  it('is whsec_ + base64 of 32 random bytes', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
  });
});

describe('standardWebhooksKey', () => {
  it('decodes the base64 part of a whsec_ secret', () => {
    expect(standardWebhooksKey('whsec_AAECAw==')).toEqual(Buffer.from([0, 1, 2, 3]));
  });

  it('uses the UTF-8 bytes of any other secret', () => {
    expect(standardWebhooksKey('your-webhook-secret')).toEqual(Buffer.from('your-webhook-secret', 'utf8'));
  });
});

describe('createSecretBox', () => {
  it('round-trips, with a fresh iv each time', () => {
    const box = createSecretBox(KEY_MATERIAL);
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ✓';
    const a = box.seal(secret);
    const b = box.seal(secret);
    expect(a).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('MfKQ9r8G');
    expect(box.open(a)).toBe(secret);
    expect(box.open(b)).toBe(secret);
  });

  it('opens with a second box built from the same material', () => {
    expect(createSecretBox(KEY_MATERIAL).open(createSecretBox(KEY_MATERIAL).seal('s3cret'))).toBe('s3cret');
  });

  it('refuses key material shorter than 32 characters', () => {
    expect(() => createSecretBox('too-short')).toThrow(/at least 32 characters/);
  });

  it('throws a clear error, without the secret, on a wrong key', () => {
    const sealed = createSecretBox(KEY_MATERIAL).seal('super-secret-value');
    const other = createSecretBox(`${KEY_MATERIAL}-other`);
    expect(() => other.open(sealed)).toThrow('cannot open sealed secret: wrong key or the data was tampered with');
  });

  it('detects tampering with ciphertext, tag or iv', () => {
    const box = createSecretBox(KEY_MATERIAL);
    const [v, iv, tag, ct] = box.seal('super-secret-value').split(':');
    const flip = (b64: string) => {
      const buf = Buffer.from(b64, 'base64');
      buf[0] ^= 1;
      return buf.toString('base64');
    };
    for (const sealed of [
      [v, iv, tag, flip(ct)].join(':'),
      [v, iv, flip(tag), ct].join(':'),
      [v, flip(iv), tag, ct].join(':'),
    ]) {
      let message = '';
      try {
        box.open(sealed);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/wrong key or the data was tampered with/);
      expect(message).not.toContain('super-secret-value');
    }
  });

  it('rejects malformed input and truncated tags', () => {
    const box = createSecretBox(KEY_MATERIAL);
    const [v, iv, tag, ct] = box.seal('x').split(':');
    expect(() => box.open('not sealed')).toThrow(/format/);
    expect(() => box.open(['v2', iv, tag, ct].join(':'))).toThrow(/format/);
    const shortTag = Buffer.from(tag, 'base64').subarray(0, 4).toString('base64');
    expect(() => box.open([v, iv, shortTag, ct].join(':'))).toThrow(/malformed/);
  });
});
