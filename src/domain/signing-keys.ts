/**
 * Signing keys as a list of expiring keys, newest first, as Svix keeps them. Outbound deliveries carry
 * a Standard Webhooks signature per active key (the seed headers only the newest key's; see
 * signing.ts); inbound requests verify against any active key. Rotation is a pure function over the
 * list: the new key goes first, and every key still active is given the overlap window to expire in
 * (never extended), so a second rotation inside the window keeps the first key.
 * `S` is the stored form of the secret (sealed in the database, plain when signing).
 */
export interface SigningKey<S = string> {
  secret: S;
  createdAt: number;
  /** Epoch ms; null: the current key, which does not expire. */
  expiresAt: number | null;
}

/** How many keys a list keeps at most; rotating faster than this drops the oldest early. */
export const MAX_SIGNING_KEYS = 10;

export function activeKeys<S>(keys: readonly SigningKey<S>[], nowMs: number): SigningKey<S>[] {
  return keys.filter((k) => k.expiresAt === null || k.expiresAt > nowMs);
}

export function rotateKeys<S>(keys: readonly SigningKey<S>[], secret: S, nowMs: number, overlapMs: number): SigningKey<S>[] {
  const until = nowMs + overlapMs;
  const previous = activeKeys(keys, nowMs).map((k) => ({ ...k, expiresAt: Math.min(k.expiresAt ?? until, until) }));
  return [{ secret, createdAt: nowMs, expiresAt: null }, ...previous].slice(0, MAX_SIGNING_KEYS);
}

export function singleKey<S>(secret: S, nowMs: number): SigningKey<S>[] {
  return [{ secret, createdAt: nowMs, expiresAt: null }];
}
