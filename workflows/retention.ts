import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { RetentionActivities } from '../activities/retention.js';
import { quick } from './activity-profiles.js';

const { pruneOldHistory } = proxyActivities<RetentionActivities>(quick);

/** Batches per run before handing over: keeps the history short however much there is to delete. */
const BATCHES_PER_RUN = 500;

/**
 * Deletes delivery history older than HOOKWISE_RETENTION_DAYS, one bounded batch per activity, until
 * none is left. Started by the `hookwise-retention` schedule (hourly); one run at a time.
 */
export async function retention(): Promise<{ deleted: number }> {
  let deleted = 0;
  for (let i = 0; i < BATCHES_PER_RUN; i++) {
    const n = await pruneOldHistory();
    if (n === 0) return { deleted };
    deleted += n;
  }
  return continueAsNew<typeof retention>();
}
