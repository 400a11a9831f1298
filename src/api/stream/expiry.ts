import type { Principal } from '../auth.js';

// setTimeout waits at most this long (~24.8 days); a longer one fires at once.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `expire`, from a timer (never at once), when the principal's login token expires: a stream
 * outlives the request that checked the token, and must not go on serving the org after it. API keys
 * don't expire. Returns the cancel.
 */
export function atExpiry(principal: Principal, expire: () => void): () => void {
  const { expiresAt } = principal;
  if (expiresAt === undefined) return () => {};
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = Math.max(expiresAt - Date.now(), 0);
    timer = setTimeout(() => (Date.now() >= expiresAt ? expire() : arm()), Math.min(left, MAX_TIMER_MS));
  };
  arm();
  return () => clearTimeout(timer);
}
