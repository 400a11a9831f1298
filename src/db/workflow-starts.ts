import type { Queryable } from './pool.js';

/** The tables whose rows each stand for a workflow that must be started: recovery's bookkeeping. */
export type StartTable = 'deliveries' | 'room_events' | 'event_inbox' | 'operations';

// Retries of a failed start back off up to this; a row that keeps failing sinks behind the others.
const MAX_RETRY_SECONDS = 600;

/**
 * Records that a row's workflow could not be started. A permanent refusal (Temporal rejects the start
 * itself) marks the row with the reason and recovery skips it from then on; anything else schedules
 * another try with a growing back-off, so one bad row can never hold up the rows behind it.
 */
export async function markStartFailed(db: Queryable, table: StartTable, id: string, error: string, permanent: boolean): Promise<void> {
  await db.query(
    `UPDATE ${table}
        SET start_attempts = start_attempts + 1,
            start_error = CASE WHEN $3 THEN $2 ELSE NULL END,
            start_retry_at = now() + make_interval(secs => least(power(2, start_attempts), $4))
      WHERE id = $1`,
    [id, error.slice(0, 2000), permanent, MAX_RETRY_SECONDS],
  );
}
