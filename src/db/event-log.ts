import type { Queryable } from './pool.js';

export interface LoggedEvent {
  seq: number;
  id: string;
  type: string;
  body: string;
}

/**
 * A reader's position in an org's events: the (publishing transaction, seq) of the last event read.
 * Events are read in (xid, seq) order and only once every transaction that could still add an earlier
 * one has ended, so nothing can appear behind a position already passed.
 */
export interface FeedCursor {
  xid: string;
  seq: number;
}

/** The org's events after `cursor` whose transactions are settled, in feed order. */
export async function eventsAfter(
  db: Queryable,
  organizationId: string,
  cursor: FeedCursor,
  limit: number,
): Promise<Array<LoggedEvent & { xid: string }>> {
  const { rows } = await db.query(
    `SELECT seq, xid::text AS xid, id, type, body FROM events
      WHERE organization_id = $1 AND (xid, seq) > ($2::xid8, $3::bigint)
        AND xid < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY xid, seq LIMIT $4`,
    [organizationId, cursor.xid, cursor.seq, limit],
  );
  return rows;
}

/** "From now on": every event of a transaction that is still running or yet to come. */
export async function currentCursor(db: Queryable): Promise<FeedCursor> {
  const { rows } = await db.query(`SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::numeric - 1)::text AS xid`);
  return { xid: rows[0].xid, seq: Number.MAX_SAFE_INTEGER };
}

/**
 * The position of an event a client saw, by its seq or its id; an event no longer kept (retention)
 * resumes just before the first event after it.
 */
export async function cursorAt(db: Queryable, organizationId: string, at: { seq: number } | { id: string }): Promise<FeedCursor | null> {
  const { rows } = await db.query(
    'seq' in at
      ? `SELECT xid::text AS xid, seq FROM events WHERE organization_id = $1 AND seq = $2`
      : `SELECT xid::text AS xid, seq FROM events WHERE organization_id = $1 AND id = $2`,
    [organizationId, 'seq' in at ? at.seq : at.id],
  );
  if (rows[0]) return { xid: rows[0].xid, seq: Number(rows[0].seq) };
  if (!('seq' in at)) return null;
  const { rows: next } = await db.query(
    `SELECT xid::text AS xid, seq FROM events WHERE organization_id = $1 AND seq > $2 ORDER BY xid, seq LIMIT 1`,
    [organizationId, at.seq],
  );
  return next[0] ? { xid: next[0].xid, seq: Number(next[0].seq) - 1 } : currentCursor(db);
}
