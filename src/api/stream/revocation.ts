import type { Authenticator, Principal } from '../auth.js';

/**
 * Calls `revoke`, from a timer (never at once), once the API key a stream was opened with is revoked:
 * the key was checked when the stream opened, and the stream outlives that check. Re-checks every
 * `keyRecheckMs` (spread out), one lookup at a time; a lookup that fails keeps the stream (the next one decides).
 * Login tokens can't be revoked: they end at their expiry (atExpiry). Returns the cancel.
 */
export function atRevocation(principal: Principal, authenticator: Pick<Authenticator, 'stillValid' | 'keyRecheckMs'>, revoke: () => void): () => void {
  if (principal.apiKeyId === undefined) return () => {};
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const check = async () => {
    const valid = await authenticator.stillValid(principal).catch(() => true);
    if (cancelled) return;
    if (valid) timer = setTimeout(check, authenticator.keyRecheckMs);
    else revoke();
  };
  // The first check at a random point of the second half of the interval: clients that all reconnect
  // at once (after an API restart) must not make their lookups at once, every interval, for good.
  timer = setTimeout(check, authenticator.keyRecheckMs * (0.5 + Math.random() / 2));
  return () => {
    cancelled = true;
    clearTimeout(timer);
  };
}
