import type { Queryable } from './pool.js';

/**
 * Deletes up to `batch` rows of delivery history older than the cutoff, oldest kinds first: finished
 * deliveries (their attempts go with them), then events no delivery refers to any more. Returns how
 * many rows went; 0 means nothing old is left. Batches keep each statement short, so retention never
 * holds locks that deliveries would wait on.
 */
export async function pruneDeliveryHistory(db: Queryable, o: { olderThanDays: number; batch: number }): Promise<number> {
  // The age goes in as seconds: HOOKWISE_RETENTION_DAYS may be fractional, make_interval's days may not.
  const deliveries = await db.query(
    `DELETE FROM deliveries WHERE id IN (
       SELECT id FROM deliveries
        WHERE completed_at < now() - make_interval(secs => $1::float8 * 86400) AND status IN ('succeeded', 'dead', 'cancelled')
        ORDER BY completed_at LIMIT $2)`,
    [o.olderThanDays, o.batch],
  );
  if ((deliveries.rowCount ?? 0) > 0) return deliveries.rowCount ?? 0;
  const events = await db.query(
    `DELETE FROM events WHERE id IN (
       SELECT e.id FROM events e
        WHERE e.created_at < now() - make_interval(secs => $1::float8 * 86400)
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
        ORDER BY e.created_at LIMIT $2)`,
    [o.olderThanDays, o.batch],
  );
  return events.rowCount ?? 0;
}
