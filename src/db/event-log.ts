import type { Queryable } from './pool.js';

export interface LoggedEvent {
  seq: number;
  id: string;
  type: string;
  body: string;
}

/** The org's published events after `afterSeq`, in publish order: what the live stream sends. */
export async function eventsAfter(db: Queryable, organizationId: string, afterSeq: number, limit: number): Promise<LoggedEvent[]> {
  const { rows } = await db.query(
    `SELECT seq, id, type, body FROM events WHERE organization_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [organizationId, afterSeq, limit],
  );
  return rows;
}

export async function latestSeq(db: Queryable, organizationId: string): Promise<number> {
  const { rows } = await db.query(`SELECT coalesce(max(seq), 0) AS seq FROM events WHERE organization_id = $1`, [organizationId]);
  return rows[0].seq;
}

/** The seq of an event id, so a client may resume from the `id` it saw in an envelope. */
export async function seqOfEvent(db: Queryable, organizationId: string, eventId: string): Promise<number | null> {
  const { rows } = await db.query(`SELECT seq FROM events WHERE organization_id = $1 AND id = $2`, [organizationId, eventId]);
  return rows[0]?.seq ?? null;
}
