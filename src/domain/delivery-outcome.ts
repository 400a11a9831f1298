import { retryDelaySeconds, type RetryPolicy } from './retry-policy.js';

export type Outcome =
  | { status: 'succeeded' }
  | { status: 'retrying'; delayMs: number }
  | { status: 'dead'; reason: string; disableWebhook: boolean };

/**
 * What one attempt's result means for its delivery: done, try again after a delay, or dead-lettered.
 * Only a 2xx is success; 3xx counts as failure because redirects are never followed.
 */
export function decideOutcome(a: {
  statusCode: number | null;
  error: string | null;
  retryAfterSeconds: number | null;
  attemptNumber: number;
  policy: RetryPolicy;
  maxRetryAfterSeconds: number;
}): Outcome {
  if (a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300) return { status: 'succeeded' };
  // Standard Webhooks: 410 means the receiver wants no more deliveries to this endpoint.
  if (a.statusCode === 410) {
    return { status: 'dead', reason: 'endpoint answered 410 Gone; the webhook was disabled', disableWebhook: true };
  }
  const delaySeconds = retryDelaySeconds(a.policy, a.attemptNumber);
  if (delaySeconds === null) {
    const last = a.error ?? `HTTP ${a.statusCode}`;
    return { status: 'dead', reason: `gave up after ${a.attemptNumber} attempt${a.attemptNumber === 1 ? '' : 's'}; last: ${last}`, disableWebhook: false };
  }
  // A receiver's Retry-After wins over a shorter scheduled delay, within a bound it cannot stretch.
  const asked = a.retryAfterSeconds === null ? 0 : Math.min(a.retryAfterSeconds, a.maxRetryAfterSeconds);
  return { status: 'retrying', delayMs: Math.round(Math.max(delaySeconds, asked) * 1000) };
}
