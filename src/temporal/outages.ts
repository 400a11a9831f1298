import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { DATABASE_UNAVAILABLE } from '../../workflows/outages.js';
import { isDatabaseUnavailable } from '../db/pool.js';

/**
 * Marks an activity failure caused by PostgreSQL being unreachable with the `DatabaseUnavailable`
 * type, so that workflows can tell an outage (wait it out: `outlastingOutages`) from the work itself
 * failing (bounded retries, then a recorded failure). It is still retryable like any other failure.
 */
export const markDatabaseOutages: ActivityInterceptorsFactory = () => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
        throw ApplicationFailure.create({ type: DATABASE_UNAVAILABLE, message: `the database is unavailable: ${(err as Error).message}`, cause: err as Error });
      }
    },
  },
});
