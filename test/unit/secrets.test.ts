import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createSecretBox, generateWebhookSecret, standardWebhooksKey, whsecSecretProblem } from '../../src/domain/secrets.js';
import { loadConfig } from '../../src/config.js';

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

  it('takes the base64 padding as optional', () => {
    expect(standardWebhooksKey('whsec_AAECAw')).toEqual(Buffer.from([0, 1, 2, 3]));
    expect(standardWebhooksKey('whsec_AAECAwQ')).toEqual(Buffer.from([0, 1, 2, 3, 4]));
  });

  // Buffer.from(…, 'base64') skips what it can't read: these would have keyed the HMAC with nothing,
  // or with whatever bytes the readable characters happened to give.
  it.each([
    ['nothing after the prefix', 'whsec_'],
    ['only characters outside base64', 'whsec_!!!!!!!!!!!!!!!!'],
    ['only padding', 'whsec_===='],
    ['base64url characters', 'whsec_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_'],
    ['a space inside', 'whsec_MfKQ9r8GKYqrTwjU PD8ILPZIo2LaLaSw'],
    ['a trailing newline', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n'],
    ['an impossible length', 'whsec_AAECA'],
    ['padding in the middle', 'whsec_AA==AAAA'],
    ['an empty free-form secret', ''],
  ])('gives no key for %s', (_what, secret) => {
    expect(standardWebhooksKey(secret)).toBeNull();
  });
});

describe('whsecSecretProblem', () => {
  it('accepts generated secrets and the Standard Webhooks range', () => {
    expect(whsecSecretProblem(generateWebhookSecret())).toBeNull();
    expect(whsecSecretProblem(`whsec_${randomBytes(24).toString('base64')}`)).toBeNull();
    expect(whsecSecretProblem(`whsec_${randomBytes(64).toString('base64').replace(/=+$/, '')}`)).toBeNull();
  });

  it('leaves free-form secrets alone (they key by their UTF-8 bytes)', () => {
    expect(whsecSecretProblem('your-webhook-secret')).toBeNull();
    expect(whsecSecretProblem('WHSEC_not-the-prefix!!')).toBeNull();
  });

  it('refuses a whsec_ secret that is not base64', () => {
    for (const secret of ['whsec_', 'whsec_!!!!!!!!!!!!!!!!', 'whsec_test_secret_0123456789']) {
      expect(whsecSecretProblem(secret)).toMatch(/must be base64/);
    }
  });

  it('refuses fewer than 24 decoded bytes', () => {
    expect(whsecSecretProblem(`whsec_${randomBytes(23).toString('base64')}`)).toMatch(/at least 24 bytes/);
    expect(whsecSecretProblem('whsec_AAECAwQFBgcICQoL')).toMatch(/at least 24 bytes/);
  });

  it('never repeats the secret in its message', () => {
    const secret = `whsec_${randomBytes(12).toString('base64')}`;
    expect(whsecSecretProblem(secret)).not.toContain(secret.slice(6));
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

describe('createSecretBox during a key rotation', () => {
  const A = `${KEY_MATERIAL}-A`;
  const B = `${KEY_MATERIAL}-B`;

  it('opens values sealed with the previous key and seals with the current one', () => {
    const underA = createSecretBox(A).seal('s3cret');
    const rotating = createSecretBox(B, A);
    expect(rotating.open(underA)).toBe('s3cret');
    const underB = rotating.seal('s3cret');
    expect(createSecretBox(B).open(underB)).toBe('s3cret');
    expect(() => createSecretBox(A).open(underB)).toThrow(/wrong key/);
  });

  it('reseals a value of the previous key under the current one, and leaves one of the current key', () => {
    const rotating = createSecretBox(B, A);
    const resealed = rotating.reseal(createSecretBox(A).seal('s3cret'))!;
    expect(createSecretBox(B).open(resealed)).toBe('s3cret');
    expect(rotating.reseal(resealed)).toBeNull();
    expect(() => rotating.reseal(createSecretBox(`${KEY_MATERIAL}-C`).seal('s3cret'))).toThrow(
      'cannot open sealed secret: wrong key or the data was tampered with',
    );
  });

  it('without the previous key, the current key alone cannot open the previous key’s values', () => {
    const underA = createSecretBox(A).seal('s3cret');
    expect(() => createSecretBox(B).open(underA)).toThrow('cannot open sealed secret: wrong key or the data was tampered with');
    expect(() => createSecretBox(B).reseal(underA)).toThrow(/wrong key/);
  });

  it('refuses previous key material shorter than 32 characters', () => {
    expect(() => createSecretBox(B, 'too-short')).toThrow(/previous key material must be a string of at least 32 characters/);
  });

  it('HOOKWISE_PREVIOUS_ENCRYPTION_KEY is optional and, when set, at least 32 characters', () => {
    const env = { DATABASE_URL: 'postgres://localhost/hookwise', TEMPORAL_ADDRESS: 'localhost:7233', HOOKWISE_ENCRYPTION_KEY: B };
    expect(loadConfig(env).HOOKWISE_PREVIOUS_ENCRYPTION_KEY).toBeUndefined();
    // docker-compose passes `${VAR:-}`: empty is unset.
    expect(loadConfig({ ...env, HOOKWISE_PREVIOUS_ENCRYPTION_KEY: '' }).HOOKWISE_PREVIOUS_ENCRYPTION_KEY).toBeUndefined();
    expect(loadConfig({ ...env, HOOKWISE_PREVIOUS_ENCRYPTION_KEY: A }).HOOKWISE_PREVIOUS_ENCRYPTION_KEY).toBe(A);
    expect(() => loadConfig({ ...env, HOOKWISE_PREVIOUS_ENCRYPTION_KEY: 'too-short' })).toThrow(
      /HOOKWISE_PREVIOUS_ENCRYPTION_KEY: must be at least 32 characters/,
    );
  });
});
