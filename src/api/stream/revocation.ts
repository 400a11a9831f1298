import type { Authenticator, Principal } from '../auth.js';

/**
 * Calls `revoke`, from a timer (never at once), once the API key a stream was opened with is revoked:
 * the key was checked when the stream opened, and the stream outlives that check. Re-checks every
 * `keyRecheckMs`, one lookup at a time; a lookup that fails keeps the stream (the next one decides).
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
  timer = setTimeout(check, authenticator.keyRecheckMs);
  return () => {
    cancelled = true;
    clearTimeout(timer);
  };
}
