import { ActivityFailure, ApplicationFailure, sleep } from '@temporalio/workflow';

/**
 * The failure type an activity fails with when PostgreSQL was unreachable (set by the worker's
 * activity interceptor, src/temporal/outages.ts). An outage is the infrastructure's fault, not the
 * work's: it must not use up the bounded retries of a model call or an agent run.
 */
export const DATABASE_UNAVAILABLE = 'DatabaseUnavailable';

/** How long to wait before calling again after an activity's retries ran out on a database outage. */
const OUTAGE_PAUSE = '5 seconds';

/**
 * Calls an activity whose retries are bounded (a model call, an agent run) and, when those retries ran
 * out only because the database was down, waits and calls it again, for as long as the outage lasts.
 * Any other failure is the caller's to handle.
 */
export async function outlastingOutages<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const outage = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === DATABASE_UNAVAILABLE;
      if (!outage) throw err;
      await sleep(OUTAGE_PAUSE);
    }
  }
}
