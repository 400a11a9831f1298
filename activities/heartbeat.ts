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
 * A model call from an activity: heartbeating, and with "no model configured" made non-retryable,
 * since no retry can fix configuration.
 */
export async function callModel<T>(fn: () => Promise<T>, counted: (outcome: 'ok' | 'error') => void): Promise<T> {
  try {
    const answer = await withHeartbeat(fn);
    counted('ok');
    return answer;
  } catch (err) {
    counted('error');
    if (err instanceof LlmNotConfigured) throw ApplicationFailure.nonRetryable(err.message, 'LlmNotConfigured');
    throw err;
  }
}
