import { ApplicationFailure, Context } from '@temporalio/activity';
import { LlmNotConfigured, LlmRequestRejected } from '../src/llm/llm.js';

const HEARTBEAT_EVERY_MS = 2_000;

/**
 * An activity that heartbeats from its start to its end, so that if this worker dies Temporal retries
 * it within its heartbeat timeout instead of waiting out the whole start-to-close. From start to end,
 * not only around its slow call: a worker that is alive but slowed (the tail of a database outage,
 * cores starved by a busy engine) must not be taken for dead, which would run the work again.
 */
export function heartbeating<A extends unknown[], R>(activity: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    const ctx = Context.current();
    // A local activity has no heartbeat (the SDK keeps its workflow task alive instead); the SDK
    // would log every beat as one for an unknown activity.
    if (ctx.info.isLocal) return activity(...args);
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      return await activity(...args);
    } finally {
      clearInterval(beat);
    }
  };
}

/**
 * A model call from a `heartbeating` activity. Non-retryable when no try can succeed: no model
 * configured, or a request the model's API refused for good (a 4xx such as `context_length_exceeded`
 * or a bad key): the same request would get the same answer.
 */
export async function callModel<T>(fn: () => Promise<T>, counted: (outcome: 'ok' | 'error') => void): Promise<T> {
  try {
    const answer = await fn();
    counted('ok');
    return answer;
  } catch (err) {
    counted('error');
    if (err instanceof LlmNotConfigured) throw ApplicationFailure.nonRetryable(err.message, 'LlmNotConfigured');
    if (err instanceof LlmRequestRejected) throw ApplicationFailure.nonRetryable(err.message, 'LlmRequestRejected');
    throw err;
  }
}
