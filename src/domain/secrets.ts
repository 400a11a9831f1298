import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const WHSEC_PREFIX = 'whsec_';

/** A new webhook signing secret in the Standard Webhooks shape: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return WHSEC_PREFIX + randomBytes(32).toString('base64');
}

/** The Standard Webhooks spec asks for 24 to 64 random bytes; fewer is refused where a secret is set. */
const MIN_WHSEC_KEY_BYTES = 24;

// The canonical base64 alphabet, `=` padding optional. Buffer.from(…, 'base64') skips anything else,
// so `whsec_!!!!` would otherwise decode to an empty key that anyone can sign with.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/**
 * The HMAC key Standard Webhooks signing uses: the base64 payload of a `whsec_` secret, or, for a
 * secret a caller chose freely (the seed's API lets them), its UTF-8 bytes. Null when there is no
 * usable key (bad base64, or nothing): callers fail closed instead of signing with an empty key.
 */
export function standardWebhooksKey(secret: string): Buffer | null {
  if (!secret.startsWith(WHSEC_PREFIX)) return secret.length > 0 ? Buffer.from(secret, 'utf8') : null;
  const payload = secret.slice(WHSEC_PREFIX.length);
  if (!BASE64.test(payload)) return null;
  const key = Buffer.from(payload, 'base64');
  return key.length > 0 ? key : null;
}

/**
 * Why a secret can't be accepted for Standard Webhooks signing or verification, or null if it can.
 * Only `whsec_` secrets are checked: a free-form secret is keyed by its UTF-8 bytes. Not for Stripe,
 * whose `whsec_` secrets key the HMAC as a whole string.
 */
export function whsecSecretProblem(secret: string): string | null {
  if (!secret.startsWith(WHSEC_PREFIX)) return null;
  const key = standardWebhooksKey(secret);
  if (key === null) return 'the part after whsec_ must be base64 (A-Z, a-z, 0-9, + and /, optional = padding)';
  if (key.length < MIN_WHSEC_KEY_BYTES) {
    return `the part after whsec_ must decode to at least ${MIN_WHSEC_KEY_BYTES} bytes (Standard Webhooks: 24 to 64 random bytes)`;
  }
  return null;
}

export interface SecretBox {
  /** Seals with the current key. */
  seal(plain: string): string;
  /** Opens with the current key, else the previous one (while a key rotation is under way). */
  open(sealed: string): string;
  /** The value sealed anew with the current key, or null when it already is; throws as open does. */
  reseal(sealed: string): string | null;
}

const VERSION = 'v1';
const IV_BYTES = 12; // the GCM-recommended nonce size
const TAG_BYTES = 16;

interface Sealed {
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

const WRONG_KEY = 'cannot open sealed secret: wrong key or the data was tampered with';

function boxKey(keyMaterial: string, name: string): Buffer {
  if (typeof keyMaterial !== 'string' || keyMaterial.length < 32) {
    throw new Error(`secret box ${name} must be a string of at least 32 characters`);
  }
  return createHash('sha256').update(keyMaterial, 'utf8').digest();
}

function parse(sealed: string): Sealed {
  const parts = typeof sealed === 'string' ? sealed.split(':') : [];
  if (parts.length !== 4 || parts[0] !== VERSION) {
    throw new Error('cannot open sealed secret: not in the v1:<iv>:<tag>:<ciphertext> format');
  }
  const iv = Buffer.from(parts[1], 'base64');
  const tag = Buffer.from(parts[2], 'base64');
  const ciphertext = Buffer.from(parts[3], 'base64');
  // GCM would accept truncated tags; insist on the full length so forgeries stay infeasible.
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw new Error('cannot open sealed secret: malformed iv or authentication tag');
  }
  return { iv, tag, ciphertext };
}

/** The plain text, or null when the key is not the one it was sealed with (GCM's tag tells). */
function tryOpen(key: Buffer, { iv, tag, ciphertext }: Sealed): string | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    // Node's own message ("Unsupported state…") says nothing useful; never echo the data either.
    return null;
  }
}

/**
 * AES-256-GCM encryption for secrets at rest. Sealed values read `v1:<iv>:<tag>:<ciphertext>` (base64
 * parts); the version prefix leaves room to change algorithm later.
 *
 * The key is sha256(keyMaterial): operators pass any long random string (env var) instead of exactly
 * 32 raw bytes. A plain hash, not a slow KDF, because the material must already be high-entropy —
 * hence the length floor.
 *
 * previousKeyMaterial is the key being rotated out (HOOKWISE_PREVIOUS_ENCRYPTION_KEY): values sealed
 * with it still open until `hookwise secrets:reseal` has sealed them all with the current key. Values
 * carry no key id, so opening tries the current key, then the previous one.
 */
export function createSecretBox(keyMaterial: string, previousKeyMaterial?: string): SecretBox {
  const current = boxKey(keyMaterial, 'key material');
  const keys = previousKeyMaterial === undefined ? [current] : [current, boxKey(previousKeyMaterial, 'previous key material')];

  const seal = (plain: string): string => {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', current, iv);
    const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, iv.toString('base64'), tag.toString('base64'), ciphertext.toString('base64')].join(':');
  };

  const open = (sealed: string): string => {
    const parsed = parse(sealed);
    for (const key of keys) {
      const plain = tryOpen(key, parsed);
      if (plain !== null) return plain;
    }
    throw new Error(WRONG_KEY);
  };

  return {
    seal,
    open,
    reseal(sealed: string): string | null {
      if (tryOpen(current, parse(sealed)) !== null) return null;
      return seal(open(sealed));
    },
  };
}
