import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const WHSEC_PREFIX = 'whsec_';

/** A new webhook signing secret in the Standard Webhooks shape: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return WHSEC_PREFIX + randomBytes(32).toString('base64');
}

/**
 * The HMAC key Standard Webhooks signing uses: the base64 payload of a `whsec_` secret, or, for a
 * secret a caller chose freely (the seed's API lets them), its UTF-8 bytes.
 */
export function standardWebhooksKey(secret: string): Buffer {
  if (secret.startsWith(WHSEC_PREFIX)) return Buffer.from(secret.slice(WHSEC_PREFIX.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

const VERSION = 'v1';
const IV_BYTES = 12; // the GCM-recommended nonce size
const TAG_BYTES = 16;

/**
 * AES-256-GCM encryption for secrets at rest. Sealed values read `v1:<iv>:<tag>:<ciphertext>` (base64
 * parts); the version prefix leaves room to change algorithm or key later.
 *
 * The key is sha256(keyMaterial): operators pass any long random string (env var) instead of exactly
 * 32 raw bytes. A plain hash, not a slow KDF, because the material must already be high-entropy —
 * hence the length floor.
 */
export function createSecretBox(keyMaterial: string): SecretBox {
  if (typeof keyMaterial !== 'string' || keyMaterial.length < 32) {
    throw new Error('secret box key material must be a string of at least 32 characters');
  }
  const key = createHash('sha256').update(keyMaterial, 'utf8').digest();

  return {
    seal(plain: string): string {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, iv.toString('base64'), tag.toString('base64'), ciphertext.toString('base64')].join(':');
    },

    open(sealed: string): string {
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
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        // Node's own message ("Unsupported state…") says nothing useful; never echo the data either.
        throw new Error('cannot open sealed secret: wrong key or the data was tampered with');
      }
    },
  };
}
