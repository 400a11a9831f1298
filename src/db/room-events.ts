import type { Queryable } from './pool.js';

export interface RoomEvent {
  id: string;
  organizationId: string;
  roomId: string;
  sourceId: string;
  payload: string;
  receivedAt: Date;
}

/**
 * Idempotent: the ingress and the event's workflow may both record the same event. Returns the id of
 * the event recorded for this one and whether this call recorded it: a repeat of an id, or of a
 * sender's delivery id on the same source, records nothing and returns the first one's id.
 */
export async function insertRoomEvent(
  db: Queryable,
  e: Omit<RoomEvent, 'receivedAt'> & { receivedAt?: Date; senderEventId?: string | null },
): Promise<{ id: string; created: boolean; samePayload: boolean }> {
  const { rowCount } = await db.query(
    `INSERT INTO room_events (id, organization_id, room_id, source_id, payload, received_at, sender_event_id)
     VALUES ($1, $2, $3, $4, $5, coalesce($6, now()), $7)
     ON CONFLICT DO NOTHING`,
    [e.id, e.organizationId, e.roomId, e.sourceId, e.payload, e.receivedAt ?? null, e.senderEventId ?? null],
  );
  if ((rowCount ?? 0) > 0 || !e.senderEventId) return { id: e.id, created: (rowCount ?? 0) > 0, samePayload: true };
  // Only a repeat gets here. Its id is derived from the sender's, so it is almost always the first
  // one's; the row that holds the sender's id says for sure, and whether the body was the same.
  const { rows } = await db.query(`SELECT id, payload = $3 AS same FROM room_events WHERE source_id = $1 AND sender_event_id = $2`, [
    e.sourceId,
    e.senderEventId,
    e.payload,
  ]);
  return { id: rows[0]?.id ?? e.id, created: false, samePayload: rows[0]?.same ?? true };
}

/**
 * Finds a source by its token and records the event for it in one statement, for sources that verify
 * no signature; null when there is no such source (unknown token, or one that must verify first).
 */
export async function insertRoomEventByToken(
  db: Queryable,
  e: { id: string; tokenHash: string; payload: string; receivedAt: Date },
): Promise<{ organizationId: string; roomId: string; sourceId: string; workspaceId: string } | null> {
  const { rows } = await db.query(
    `INSERT INTO room_events (id, organization_id, room_id, source_id, payload, received_at)
     SELECT $1, s.organization_id, s.room_id, s.id, $3, $4 FROM event_sources s
      WHERE s.token_hash = $2 AND s.verification_scheme IS NULL
     RETURNING organization_id AS "organizationId", room_id AS "roomId", source_id AS "sourceId",
               (SELECT workspace_id FROM rooms WHERE id = room_id) AS "workspaceId"`,
    [e.id, e.tokenHash, e.payload, e.receivedAt],
  );
  return rows[0] ?? null;
}

/**
 * Records how matching ended; false when the event is gone, or when the matched definition is (it was
 * deleted meanwhile, or is not the event source's), rather than failing on the foreign key.
 */
export async function recordMatch(
  db: Queryable,
  m: { eventId: string; definitionId: string | null; reason: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE room_events e SET outcome = $2, matched_definition_id = $3, match_reason = $4, matched_at = now()
      WHERE e.id = $1
        AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM event_definitions d WHERE d.id = $3 AND d.source_id = e.source_id))`,
    [m.eventId, m.definitionId ? 'matched' : 'no_match', m.definitionId, m.reason],
  );
  return (rowCount ?? 0) > 0;
}

export async function matchLog(
  db: Queryable,
  organizationId: string,
  roomId: string,
  limit: number,
): Promise<Array<{ eventId: string; sourceId: string; matched: string | null; reason: string; at: Date }>> {
  const { rows } = await db.query(
    `SELECT id AS "eventId", source_id AS "sourceId", matched_definition_id AS matched, match_reason AS reason, matched_at AS at
       FROM room_events
      WHERE organization_id = $1 AND room_id = $2 AND outcome IS NOT NULL
      ORDER BY matched_at DESC, id DESC LIMIT $3`,
    [organizationId, roomId, limit],
  );
  return rows;
}

/** What a room event's workflow is started with (and shows to operators). */
export interface RoomEventToStart {
  id: string;
  organizationId: string;
  roomId: string;
  workspaceId: string;
}

/**
 * Room events recovery starts, by what left them: `unstarted`, accepted while Temporal was unreachable
 * (or whose start failed); `unmatched`, whose workflow started (its first step marked the row) but
 * ended before matching them (an operator's terminate). Each kind has its partial index on the same
 * expression (`room_events_to_start`, `room_events_unsettled`).
 */
const TO_START = {
  unstarted: { where: 'e.workflow_started_at IS NULL', since: 'coalesce(e.start_retry_at, e.received_at)' },
  unmatched: { where: 'e.workflow_started_at IS NOT NULL AND e.outcome IS NULL', since: 'coalesce(e.start_retry_at, e.workflow_started_at)' },
} as const;

function roomEventsToStart(kind: keyof typeof TO_START) {
  const { where, since } = TO_START[kind];
  return async (db: Queryable, olderThanSeconds: number, limit: number, organizationIds: string[] | null = null): Promise<RoomEventToStart[]> => {
    const { rows } = await db.query(
      `SELECT e.id, e.organization_id AS "organizationId", e.room_id AS "roomId", r.workspace_id AS "workspaceId"
         FROM room_events e JOIN rooms r ON r.id = e.room_id
        WHERE ${where} AND e.start_error IS NULL
          AND ${since} < now() - make_interval(secs => $1)
          AND ($3::text[] IS NULL OR e.organization_id = ANY($3))
        ORDER BY ${since} LIMIT $2`,
      [olderThanSeconds, limit, organizationIds],
    );
    return rows;
  };
}

export const listUnstartedRoomEvents = roomEventsToStart('unstarted');
export const listUnmatchedRoomEvents = roomEventsToStart('unmatched');

/** The event as its workflow's activities see it: marks the workflow as started on the way. */
export async function startedRoomEvent(db: Queryable, id: string): Promise<RoomEvent | null> {
  const { rows } = await db.query(
    // The first start clears what recovery counted while the workflow could not start, so restarts
    // (of a run that ends before matching the event) are counted from zero.
    `UPDATE room_events SET workflow_started_at = coalesce(workflow_started_at, now()),
                            start_attempts = CASE WHEN workflow_started_at IS NULL THEN 0 ELSE start_attempts END,
                            start_retry_at = CASE WHEN workflow_started_at IS NULL THEN NULL ELSE start_retry_at END
      WHERE id = $1
     RETURNING id, organization_id AS "organizationId", room_id AS "roomId", source_id AS "sourceId", payload,
               received_at AS "receivedAt"`,
    [id],
  );
  return rows[0] ?? null;
}

export async function roomEventPayload(db: Queryable, id: string): Promise<unknown> {
  const { rows } = await db.query(`SELECT payload FROM room_events WHERE id = $1`, [id]);
  return rows[0] ? JSON.parse(rows[0].payload) : null;
}
