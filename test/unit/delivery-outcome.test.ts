import { describe, expect, it } from 'vitest';
import { decideOutcome } from '../../src/domain/delivery-outcome.js';

const base = {
  statusCode: null as number | null,
  error: null as string | null,
  retryAfterSeconds: null as number | null,
  attemptNumber: 1,
  policy: { attempts: 3, delaySeconds: 2, policy: 'exponential' as const },
  maxRetryAfterSeconds: 3600,
};

describe('decideOutcome', () => {
  it.each([200, 201, 204, 299])('%i is success', (statusCode) => {
    expect(decideOutcome({ ...base, statusCode })).toEqual({ status: 'succeeded' });
  });

  it.each([301, 302, 400, 404, 429, 500, 503])('%i is retried on the schedule', (statusCode) => {
    expect(decideOutcome({ ...base, statusCode })).toEqual({ status: 'retrying', delayMs: 2000 });
    expect(decideOutcome({ ...base, statusCode, attemptNumber: 2 })).toEqual({ status: 'retrying', delayMs: 4000 });
  });

  it('retries network errors and dead-letters after the last attempt, naming the last error', () => {
    expect(decideOutcome({ ...base, error: 'connection refused' })).toEqual({ status: 'retrying', delayMs: 2000 });
    expect(decideOutcome({ ...base, error: 'connection refused', attemptNumber: 3 })).toEqual({
      status: 'dead',
      reason: 'gave up after 3 attempts; last: connection refused',
      disableWebhook: false,
    });
    expect(decideOutcome({ ...base, statusCode: 500, attemptNumber: 3 })).toMatchObject({
      reason: 'gave up after 3 attempts; last: HTTP 500',
    });
  });

  it('410 Gone stops at once and disables the webhook', () => {
    expect(decideOutcome({ ...base, statusCode: 410 })).toMatchObject({ status: 'dead', disableWebhook: true });
  });

  it('a longer Retry-After wins, within the bound; a shorter one does not shorten the schedule', () => {
    expect(decideOutcome({ ...base, statusCode: 429, retryAfterSeconds: 30 })).toEqual({ status: 'retrying', delayMs: 30_000 });
    expect(decideOutcome({ ...base, statusCode: 503, retryAfterSeconds: 1 })).toEqual({ status: 'retrying', delayMs: 2000 });
    expect(decideOutcome({ ...base, statusCode: 429, retryAfterSeconds: 10 ** 9, maxRetryAfterSeconds: 60 })).toEqual({
      status: 'retrying',
      delayMs: 60_000,
    });
  });
});
