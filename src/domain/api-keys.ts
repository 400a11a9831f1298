import { createHash, randomBytes } from 'node:crypto';

export const CAPABILITIES = ['manage', 'send', 'read'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/**
 * A new API key. Only `hash` is stored; `key` is shown once. `prefix` (`hw_` + 8 chars) is stored
 * too so UIs and logs can name a key without revealing it.
 */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = `hw_${randomBytes(32).toString('base64url')}`;
  return { key, prefix: key.slice(0, 11), hash: hashApiKey(key) };
}

/**
 * Hex sha256. A fast hash is enough (no salt, no bcrypt): keys carry 256 random bits, so there is
 * nothing to brute-force, and lookups by hash stay a single indexed query.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
