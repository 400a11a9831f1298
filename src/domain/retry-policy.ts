// No imports: this module is bundled into Temporal workflow code, which must stay deterministic.

export type RetryPolicy = {
  policy?: 'exponential' | 'fixed';
  attempts?: number;
  delaySeconds?: number;
  scheduleSeconds?: number[];
  maxDelaySeconds?: number;
};

/**
 * The longest wait between two attempts, whatever the policy: no delay the API takes is longer, and an
 * exponential policy stops doubling here (from 2 s, at the 20th wait) instead of growing past what a
 * delay in milliseconds can be stored as (an int: 24.8 days).
 */
export const MAX_RETRY_DELAY_SECONDS = 7 * 86_400;

export const DEFAULT_RETRY_POLICY = { attempts: 15, delaySeconds: 2, policy: 'exponential' } as const satisfies RetryPolicy;

/** Total attempts including the first: `attempts`, else one more than an explicit schedule, else 15. */
export function maxAttempts(p: RetryPolicy): number {
  if (p.attempts !== undefined) return p.attempts;
  // An empty schedule is treated as absent: it carries no delays to repeat.
  if (p.scheduleSeconds && p.scheduleSeconds.length > 0) return p.scheduleSeconds.length + 1;
  return DEFAULT_RETRY_POLICY.attempts;
}

/**
 * Seconds to wait before attempt `failedAttempts + 1`, or null when the attempts are used up (the
 * delivery is then dead-lettered). `failedAttempts` 0 means the first attempt, which never waits.
 */
export function retryDelaySeconds(p: RetryPolicy, failedAttempts: number): number | null {
  if (failedAttempts >= maxAttempts(p)) return null;
  if (failedAttempts <= 0) return 0;

  let delay: number;
  const schedule = p.scheduleSeconds;
  if (schedule && schedule.length > 0) {
    // More attempts than listed delays: keep waiting the last listed delay.
    delay = schedule[Math.min(failedAttempts, schedule.length) - 1];
  } else {
    const base = p.delaySeconds ?? DEFAULT_RETRY_POLICY.delaySeconds;
    const policy = p.policy ?? DEFAULT_RETRY_POLICY.policy;
    delay = policy === 'fixed' ? base : base * 2 ** (failedAttempts - 1);
  }
  return Math.min(delay, p.maxDelaySeconds ?? MAX_RETRY_DELAY_SECONDS, MAX_RETRY_DELAY_SECONDS);
}

/** Every wait of the policy in order (one fewer than maxAttempts), for the API and docs. */
export function describeSchedule(p: RetryPolicy): number[] {
  const delays: number[] = [];
  for (let failed = 1; failed < maxAttempts(p); failed++) {
    delays.push(retryDelaySeconds(p, failed) as number);
  }
  return delays;
}
