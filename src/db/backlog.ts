import type { Db, Queryable } from './pool.js';
import { withTransaction } from './pool.js';
import { newId } from '../domain/ids.js';

export type BacklogStatus = 'pending' | 'processing' | 'done' | 'failed';

export interface BacklogItem {
  id: string;
  roomId: string;
  sourceId: string;
  eventId: string;
  definitionId: string | null;
  priority: number;
  status: BacklogStatus;
  result: string | null;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
}

const ITEM = `id, room_id AS "roomId", source_id AS "sourceId", event_id AS "eventId", definition_id AS "definitionId",
  priority, status, result, error, created_at AS "createdAt", started_at AS "startedAt", completed_at AS "completedAt"`;

/**
 * Admits a matched event as a pending item unless its source already holds `cap` pending ones; then
 * the event is dropped and counted. The source row's lock makes count-then-insert atomic, so
 * concurrent events cannot slip past the cap. Admitting the same event twice admits it once, and an
 * event once dropped stays dropped and counted once (the mark on its row), whatever the room's depth.
 */
export async function admitToBacklog(
  db: Db,
  a: { organizationId: string; roomId: string; sourceId: string; eventId: string; definitionId: string; priority: number; cap: number },
): Promise<{ admitted: true; itemId: string } | { admitted: false }> {
  return withTransaction(db, async (tx) => {
    await tx.query(`SELECT 1 FROM event_sources WHERE id = $1 FOR UPDATE`, [a.sourceId]);
    const existing = await tx.query(
      `SELECT b.id AS "itemId", e.backlog_dropped_at IS NOT NULL AS dropped
         FROM room_events e LEFT JOIN backlog_items b ON b.event_id = e.id WHERE e.id = $1`,
      [a.eventId],
    );
    if (existing.rows[0]?.itemId) return { admitted: true, itemId: existing.rows[0].itemId };
    if (existing.rows[0]?.dropped) return { admitted: false };
    const { rows } = await tx.query(
      `SELECT count(*)::int AS n FROM backlog_items WHERE source_id = $1 AND status = 'pending'`,
      [a.sourceId],
    );
    if (rows[0].n >= a.cap) {
      await tx.query(`UPDATE room_events SET backlog_dropped_at = now() WHERE id = $1`, [a.eventId]);
      await tx.query(`UPDATE event_sources SET dropped_count = dropped_count + 1 WHERE id = $1`, [a.sourceId]);
      return { admitted: false };
    }
    const itemId = newId('item');
    await tx.query(
      `INSERT INTO backlog_items (id, organization_id, room_id, source_id, event_id, definition_id, priority)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [itemId, a.organizationId, a.roomId, a.sourceId, a.eventId, a.definitionId, a.priority],
    );
    return { admitted: true, itemId };
  });
}

/**
 * Marks up to `limit` of the room's items as processing, highest priority (lowest number) first.
 * Items already `processing` are taken again: one scheduler per room runs them one at a time, so a
 * processing item seen here was orphaned by a scheduler run that ended mid-way.
 */
export async function claimItems(db: Queryable, roomId: string, limit: number): Promise<string[]> {
  const { rows } = await db.query(
    `UPDATE backlog_items SET status = 'processing', started_at = now()
      WHERE id IN (SELECT id FROM backlog_items
                    WHERE room_id = $1 AND status IN ('pending', 'processing')
                    ORDER BY status DESC, priority, created_at, id
                    LIMIT $2 FOR UPDATE SKIP LOCKED)
      RETURNING id, priority, created_at`,
    [roomId, limit],
  );
  return rows
    .sort((a, b) => a.priority - b.priority || a.created_at - b.created_at || (a.id < b.id ? -1 : 1))
    .map((r) => r.id);
}

export async function findItem(db: Queryable, id: string): Promise<(BacklogItem & { organizationId: string }) | null> {
  const { rows } = await db.query(`SELECT ${ITEM}, organization_id AS "organizationId" FROM backlog_items WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** Only a processing item can finish, so a retried activity finishes it once. */
export async function finishItem(
  db: Queryable,
  f: { id: string; status: 'done' | 'failed'; result?: string; error?: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE backlog_items SET status = $2, result = $3, error = $4, completed_at = now()
      WHERE id = $1 AND status = 'processing'`,
    [f.id, f.status, f.result ?? null, f.error ?? null],
  );
  return (rowCount ?? 0) > 0;
}

export async function listBacklog(
  db: Queryable,
  organizationId: string,
  roomId: string,
  status: BacklogStatus | undefined,
  limit: number,
): Promise<BacklogItem[]> {
  const { rows } = await db.query(
    `SELECT ${ITEM} FROM backlog_items
      WHERE organization_id = $1 AND room_id = $2 AND ($3::text IS NULL OR status = $3)
      ORDER BY priority, created_at, id LIMIT $4`,
    [organizationId, roomId, status ?? null, limit],
  );
  return rows;
}

/** Pending depth and dropped count per source of the room (every source listed, zeros included). */
export async function backlogCounters(
  db: Queryable,
  roomId: string,
): Promise<{ depth: Record<string, number>; dropped: Record<string, number> }> {
  const { rows } = await db.query(
    `SELECT s.id, s.dropped_count AS dropped,
            (SELECT count(*)::int FROM backlog_items b WHERE b.source_id = s.id AND b.status = 'pending') AS depth
       FROM event_sources s WHERE s.room_id = $1`,
    [roomId],
  );
  return {
    depth: Object.fromEntries(rows.map((r) => [r.id, r.depth])),
    dropped: Object.fromEntries(rows.map((r) => [r.id, r.dropped])),
  };
}

/** Stores an agent's answer unless an earlier attempt already stored one; returns the one that stuck, or null when the item is no longer processing. */
export async function storeFirstResult(db: Queryable, id: string, result: string): Promise<string | null> {
  const { rows } = await db.query(
    `UPDATE backlog_items SET result = coalesce(result, $2) WHERE id = $1 AND status = 'processing' RETURNING result`,
    [id, result],
  );
  return rows[0]?.result ?? null;
}

/**
 * Rooms whose backlog has items a scheduler should have picked up by now: pending longer than
 * `olderThanSeconds`, or processing longer than `stuckAfterSeconds` (their run was lost). Recovery
 * wakes their schedulers; waking a running one is harmless.
 */
export async function roomsWithOverdueItems(
  db: Queryable,
  o: { olderThanSeconds: number; stuckAfterSeconds: number; limit: number; organizationIds: string[] | null },
): Promise<Array<{ roomId: string; organizationId: string; workspaceId: string }>> {
  const { rows } = await db.query(
    `SELECT DISTINCT b.room_id AS "roomId", b.organization_id AS "organizationId", r.workspace_id AS "workspaceId"
       FROM backlog_items b JOIN rooms r ON r.id = b.room_id
      WHERE ((b.status = 'pending' AND b.created_at < now() - make_interval(secs => $1))
          OR (b.status = 'processing' AND b.started_at < now() - make_interval(secs => $2)))
        AND ($4::text[] IS NULL OR b.organization_id = ANY($4))
      LIMIT $3`,
    [o.olderThanSeconds, o.stuckAfterSeconds, o.limit, o.organizationIds],
  );
  return rows;
}
