import type { Queryable } from './pool.js';

/** The tables whose rows each stand for a workflow that must be started: recovery's bookkeeping. */
export type StartTable = 'deliveries' | 'room_events' | 'event_inbox' | 'operations';

// Retries of a failed start back off up to this; a row that keeps failing sinks behind the others.
const MAX_RETRY_SECONDS = 600;

// A row whose workflow was found running is looked at again this much later, not on every pass.
const RUNNING_RECHECK_SECONDS = 300;

/**
 * Records that these rows' workflows were found already running (started by the API; the work itself
 * has not marked the row yet, e.g. on a busy engine): recovery leaves them for a while instead of
 * asking Temporal again on every pass, which on a backlogged engine only adds to its load.
 */
export async function markFoundRunning(db: Queryable, table: StartTable, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(`UPDATE ${table} SET start_retry_at = now() + make_interval(secs => $2) WHERE id = ANY($1)`, [ids, RUNNING_RECHECK_SECONDS]);
}

// A row whose workflow keeps ending without finishing its work is started again at most this often.
const MAX_RESTARTS = 5;

/**
 * Records that these rows' workflows were started again because a run had ended without finishing
 * their work (an operator's terminate): looked at again later, not on every pass, and after
 * `MAX_RESTARTS` marked with the reason and skipped, so a run that keeps ending early is not restarted
 * without end.
 */
export async function markRestarted(db: Queryable, table: StartTable, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE ${table}
        SET start_attempts = start_attempts + 1,
            start_retry_at = now() + make_interval(secs => $2),
            start_error = CASE WHEN start_attempts + 1 >= $3
                               THEN 'its workflow ended ' || (start_attempts + 1) || ' times without finishing; not started again' END
      WHERE id = ANY($1)`,
    [ids, RUNNING_RECHECK_SECONDS, MAX_RESTARTS],
  );
}

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
