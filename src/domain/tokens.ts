import { createHash, randomBytes } from 'node:crypto';

/** An event source's URL token: 32 random bytes, URL-safe. It is the sender's only credential. */
export function generateSourceToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Tokens are stored as SHA-256: high-entropy secrets need no slow hash, and lookups stay indexed. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
