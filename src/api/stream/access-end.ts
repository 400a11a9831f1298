import type { Authenticator, Principal } from '../auth.js';
import { atExpiry } from './expiry.js';
import { atRevocation } from './revocation.js';

export type AccessEnd = 'login token expired' | 'api key revoked';

/**
 * Calls `end` once the access a stream was opened with ends: a login token's expiry, an API key's
 * revocation. Both stream routes (SSE and WebSocket) end on it. Returns the cancel.
 */
export function atAccessEnd(principal: Principal, authenticator: Pick<Authenticator, 'stillValid' | 'keyRecheckMs'>, end: (why: AccessEnd) => void): () => void {
  const cancelExpiry = atExpiry(principal, () => end('login token expired'));
  const cancelRevocation = atRevocation(principal, authenticator, () => end('api key revoked'));
  return () => {
    cancelExpiry();
    cancelRevocation();
  };
}
