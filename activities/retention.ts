import type { Db } from '../src/db/pool.js';
import { pruneDeliveryHistory } from '../src/db/retention.js';

export function createRetentionActivities(deps: { db: Db; olderThanDays: number; batch: number }) {
  return {
    /** One bounded batch of old delivery history; how many rows went. */
    pruneOldHistory: () => pruneDeliveryHistory(deps.db, { olderThanDays: deps.olderThanDays, batch: deps.batch }),
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
