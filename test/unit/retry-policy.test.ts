import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  describeSchedule,
  MAX_RETRY_DELAY_SECONDS,
  maxAttempts,
  retryDelaySeconds,
  type RetryPolicy,
} from '../../src/domain/retry-policy.js';

describe('DEFAULT_RETRY_POLICY', () => {
  it('is 15 exponential attempts from 2 s', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ attempts: 15, delaySeconds: 2, policy: 'exponential' });
  });
});

describe('maxAttempts', () => {
  it('takes attempts when set', () => {
    expect(maxAttempts({ attempts: 3, scheduleSeconds: [1, 2, 3, 4, 5] })).toBe(3);
  });
  it('is one more than the schedule when only a schedule is set', () => {
    expect(maxAttempts({ scheduleSeconds: [4, 8, 10] })).toBe(4);
  });
  it('is 15 otherwise', () => {
    expect(maxAttempts({})).toBe(15);
    expect(maxAttempts({ scheduleSeconds: [] })).toBe(15);
  });
});

describe('retryDelaySeconds', () => {
  it('doubles from delaySeconds by default: 2, 4, 8, …', () => {
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(DEFAULT_RETRY_POLICY, n))).toEqual([2, 4, 8, 16]);
    expect(retryDelaySeconds({}, 1)).toBe(2);
    expect(retryDelaySeconds({}, 14)).toBe(2 * 2 ** 13);
  });

  it('gives up after the last attempt', () => {
    expect(retryDelaySeconds(DEFAULT_RETRY_POLICY, 15)).toBeNull();
    expect(retryDelaySeconds(DEFAULT_RETRY_POLICY, 16)).toBeNull();
    expect(retryDelaySeconds({ attempts: 1 }, 1)).toBeNull();
  });

  it('does not wait before the first attempt', () => {
    expect(retryDelaySeconds(DEFAULT_RETRY_POLICY, 0)).toBe(0);
  });

  it('waits the same with fixed', () => {
    const p: RetryPolicy = { policy: 'fixed', delaySeconds: 5, attempts: 4 };
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(p, n))).toEqual([5, 5, 5, null]);
  });

  it('follows an explicit schedule', () => {
    const p: RetryPolicy = { scheduleSeconds: [4, 8, 10] };
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(p, n))).toEqual([4, 8, 10, null]);
  });

  it('repeats the last scheduled delay when attempts outnumber the schedule', () => {
    const p: RetryPolicy = { scheduleSeconds: [4, 8, 10], attempts: 6 };
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelaySeconds(p, n))).toEqual([4, 8, 10, 10, 10, null]);
  });

  it('caps every policy at maxDelaySeconds', () => {
    expect(describeSchedule({ attempts: 8, maxDelaySeconds: 20 })).toEqual([2, 4, 8, 16, 20, 20, 20]);
    expect(describeSchedule({ policy: 'fixed', delaySeconds: 30, attempts: 3, maxDelaySeconds: 10 })).toEqual([10, 10]);
    expect(describeSchedule({ scheduleSeconds: [4, 8, 10], maxDelaySeconds: 5 })).toEqual([4, 5, 5]);
  });

  it('never waits longer than 7 days, however many attempts an exponential policy makes', () => {
    expect(MAX_RETRY_DELAY_SECONDS).toBe(7 * 86_400);
    const schedule = describeSchedule({ attempts: 100 });
    expect(schedule[18]).toBe(2 * 2 ** 18);
    expect(schedule.slice(19)).toEqual(Array(80).fill(MAX_RETRY_DELAY_SECONDS));
    // Stored as milliseconds in an int (finishAttempt's next attempt time).
    expect(Math.max(...schedule) * 1000).toBeLessThan(2 ** 31);
    expect(retryDelaySeconds({ policy: 'fixed', delaySeconds: 30 * 86_400, attempts: 2 }, 1)).toBe(MAX_RETRY_DELAY_SECONDS);
  });

  it('allows fractional seconds', () => {
    expect(describeSchedule({ attempts: 4, delaySeconds: 0.05 })).toEqual([0.05, 0.1, 0.2]);
    expect(describeSchedule({ policy: 'fixed', attempts: 3, delaySeconds: 0.05 })).toEqual([0.05, 0.05]);
  });
});

describe('describeSchedule', () => {
  it('lists every wait, one fewer than the attempts', () => {
    const schedule = describeSchedule(DEFAULT_RETRY_POLICY);
    expect(schedule).toHaveLength(14);
    expect(schedule.slice(0, 4)).toEqual([2, 4, 8, 16]);
    expect(schedule[13]).toBe(16384);
    expect(describeSchedule({ scheduleSeconds: [4, 8, 10] })).toEqual([4, 8, 10]);
    expect(describeSchedule({ attempts: 1 })).toEqual([]);
  });
});

describe('retry-policy.ts', () => {
  it('imports nothing, so Temporal workflow bundles can include it', () => {
    const source = readFileSync(new URL('../../src/domain/retry-policy.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/^\s*import\s/m);
    expect(source).not.toMatch(/\brequire\(/);
  });
});
