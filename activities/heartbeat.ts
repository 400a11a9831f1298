import { ApplicationFailure, Context } from '@temporalio/activity';
import { LlmNotConfigured } from '../src/llm/llm.js';

const HEARTBEAT_EVERY_MS = 2_000;

/**
 * Runs a long call (a model, a receiver) while heartbeating, so that if this worker dies Temporal
 * retries the activity within its heartbeat timeout instead of waiting out the whole start-to-close.
 */
export async function withHeartbeat<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await fn();
  } finally {
    clearInterval(beat);
  }
}

/**
 * An activity that heartbeats from its start to its end, not only around its slow call: a worker that
 * is alive but slowed (the tail of a database outage, cores starved by a busy engine) must not be taken
 * for dead at the heartbeat timeout, which would run the work again (for a delivery, a second POST).
 */
export function heartbeating<A extends unknown[], R>(activity: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args) => withHeartbeat(() => activity(...args));
}

/**
 * A model call from a `heartbeating` activity, with "no model configured" made non-retryable, since
 * no retry can fix configuration.
 */
export async function callModel<T>(fn: () => Promise<T>, counted: (outcome: 'ok' | 'error') => void): Promise<T> {
  try {
    const answer = await fn();
    counted('ok');
    return answer;
  } catch (err) {
    counted('error');
    if (err instanceof LlmNotConfigured) throw ApplicationFailure.nonRetryable(err.message, 'LlmNotConfigured');
    throw err;
  }
}
