import type { Queryable } from './pool.js';

export type OperationKind = 'webhook.recover' | 'dead_letters.replay';

/** Which deliveries an operation replays; times bound the delivery's creation. */
export interface Selection {
  webhookId?: string;
  type?: string;
  since?: string;
  until?: string;
  /** recover: whatever ended without success; dead-letter replay: dead ones. */
  statuses: Array<'dead' | 'cancelled'>;
}

export interface Operation {
  id: string;
  organizationId: string;
  kind: OperationKind;
  params: Selection;
  status: 'running' | 'completed';
  total: number;
  createdAt: Date;
  completedAt: Date | null;
}

export interface OperationProgress extends Operation {
  /** Replays made so far, and how they stand. */
  started: number;
  succeeded: number;
  failed: number;
  inFlight: number;
}

export interface Candidate {
  id: string;
  webhookId: string;
  active: boolean;
  /** The webhook's in-flight limit: how many of this operation's replays it may have open at once. */
  limit: number;
}

// The originals an operation replays: first deliveries (not replays) that ended without success, and
// that no replay has delivered or is delivering yet — so each event reaches its webhook once.
const CANDIDATES = `
  FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id
 WHERE d.organization_id = $1 AND d.replay_of IS NULL AND d.status = ANY($2::text[])
   AND ($3::text IS NULL OR d.webhook_id = $3) AND ($4::text IS NULL OR e.type = $4)
   AND ($5::timestamptz IS NULL OR d.created_at >= $5) AND ($6::timestamptz IS NULL OR d.created_at < $6)
   AND NOT EXISTS (SELECT 1 FROM deliveries r WHERE r.replay_of = d.id AND r.status IN ('pending', 'retrying', 'succeeded'))`;

const selectionArgs = (organizationId: string, s: Selection) => [
  organizationId,
  s.statuses,
  s.webhookId ?? null,
  s.type ?? null,
  s.since ?? null,
  s.until ?? null,
];

export async function countCandidates(db: Queryable, organizationId: string, s: Selection): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n ${CANDIDATES}`, selectionArgs(organizationId, s));
  return rows[0].n;
}

export async function insertOperation(
  db: Queryable,
  o: { id: string; organizationId: string; kind: OperationKind; params: Selection; total: number },
): Promise<void> {
  await db.query(`INSERT INTO operations (id, organization_id, kind, params, total) VALUES ($1, $2, $3, $4::jsonb, $5)`, [
    o.id,
    o.organizationId,
    o.kind,
    JSON.stringify(o.params),
    o.total,
  ]);
}

const PROGRESS = `
  o.id, o.organization_id AS "organizationId", o.kind, o.params, o.status, o.total,
  o.created_at AS "createdAt", o.completed_at AS "completedAt",
  coalesce(p.started, 0) AS started, coalesce(p.succeeded, 0) AS succeeded, coalesce(p.failed, 0) AS failed,
  coalesce(p.in_flight, 0) AS "inFlight"
  FROM operations o LEFT JOIN LATERAL (
    SELECT count(*)::int AS started,
           count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
           count(*) FILTER (WHERE status IN ('dead', 'cancelled'))::int AS failed,
           count(*) FILTER (WHERE status IN ('pending', 'retrying'))::int AS in_flight
      FROM deliveries WHERE operation_id = o.id) p ON true`;

export async function findOperation(db: Queryable, organizationId: string | null, id: string): Promise<OperationProgress | null> {
  const { rows } = await db.query(`SELECT ${PROGRESS} WHERE o.id = $2 AND ($1::text IS NULL OR o.organization_id = $1)`, [organizationId, id]);
  return rows[0] ?? null;
}

export async function listOperations(db: Queryable, organizationId: string, limit: number): Promise<OperationProgress[]> {
  const { rows } = await db.query(`SELECT ${PROGRESS} WHERE o.organization_id = $1 ORDER BY o.created_at DESC, o.id DESC LIMIT $2`, [
    organizationId,
    limit,
  ]);
  return rows;
}

/** The next candidates after the operation's cursor, oldest first; marks its workflow as started. */
export async function nextCandidates(db: Queryable, op: Operation & { defaultInFlight: number }, limit: number): Promise<Candidate[]> {
  const { rows } = await db.query(
    `WITH o AS (
       UPDATE operations SET workflow_started_at = coalesce(workflow_started_at, now()) WHERE id = $7
       RETURNING cursor_at, cursor_id
     )
     SELECT d.id, d.webhook_id AS "webhookId", w.active,
            coalesce(w.max_in_flight, $8) AS "limit"
       ${CANDIDATES.replace('FROM deliveries d', 'FROM o, deliveries d')}
        AND (o.cursor_at IS NULL OR (d.created_at, d.id) > (o.cursor_at, o.cursor_id))
      ORDER BY d.created_at, d.id LIMIT $9`,
    [...selectionArgs(op.organizationId, op.params), op.id, op.defaultInFlight, limit],
  );
  return rows;
}

/** This operation's replays still being delivered, per webhook. */
export async function openReplaysByWebhook(db: Queryable, operationId: string): Promise<Map<string, number>> {
  const { rows } = await db.query(
    `SELECT webhook_id AS "webhookId", count(*)::int AS n FROM deliveries
      WHERE operation_id = $1 AND status IN ('pending', 'retrying') GROUP BY webhook_id`,
    [operationId],
  );
  return new Map(rows.map((r) => [r.webhookId, r.n]));
}

/**
 * Moves the operation's cursor onto a candidate, never back. The time is the row's own: a JavaScript
 * Date keeps milliseconds and created_at microseconds, and a truncated cursor would name the row again.
 */
export async function advanceCursor(db: Queryable, operationId: string, deliveryId: string): Promise<void> {
  await db.query(
    `UPDATE operations o SET cursor_at = d.created_at, cursor_id = d.id FROM deliveries d
      WHERE o.id = $1 AND d.id = $2 AND (o.cursor_at IS NULL OR (d.created_at, d.id) > (o.cursor_at, o.cursor_id))`,
    [operationId, deliveryId],
  );
}

export async function completeOperation(db: Queryable, operationId: string): Promise<void> {
  await db.query(`UPDATE operations SET status = 'completed', completed_at = coalesce(completed_at, now()) WHERE id = $1`, [operationId]);
}

/** Operations recorded whose workflow never started (for recovery). */
export async function listUnstartedOperations(
  db: Queryable,
  olderThanSeconds: number,
  limit: number,
  organizationIds: string[] | null = null,
): Promise<Array<{ id: string; organizationId: string; kind: OperationKind; webhookId: string | null }>> {
  const { rows } = await db.query(
    `SELECT id, organization_id AS "organizationId", kind, params->>'webhookId' AS "webhookId" FROM operations
      WHERE workflow_started_at IS NULL AND start_error IS NULL
        AND coalesce(start_retry_at, created_at) < now() - make_interval(secs => $1)
        AND ($3::text[] IS NULL OR organization_id = ANY($3))
      ORDER BY coalesce(start_retry_at, created_at) LIMIT $2`,
    [olderThanSeconds, limit, organizationIds],
  );
  return rows;
}
