import type { Queryable } from './pool.js';

export type DeliveryStatus = 'pending' | 'retrying' | 'succeeded' | 'dead' | 'cancelled';

export interface DeliveryRow {
  id: string;
  organizationId: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  replayOf: string | null;
  workflowId: string;
  status: DeliveryStatus;
  attemptCount: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  startedAt: Date | null;
  completedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AttemptRow {
  id: string;
  attemptNumber: number;
  status: 'in_flight' | 'succeeded' | 'failed' | 'lost';
  statusCode: number | null;
  latencyMs: number | null;
  error: string | null;
  responseBody: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

const COLUMNS = `
  d.id, d.organization_id AS "organizationId", d.webhook_id AS "webhookId", d.event_id AS "eventId",
  e.type AS "eventType", d.replay_of AS "replayOf", d.workflow_id AS "workflowId", d.status,
  d.attempt_count AS "attemptCount", d.last_status_code AS "lastStatusCode", d.last_error AS "lastError",
  d.next_attempt_at AS "nextAttemptAt", d.started_at AS "startedAt", d.completed_at AS "completedAt",
  d.created_at AS "createdAt", d.updated_at AS "updatedAt"`;

/** A replay: a new delivery of an event to a webhook, pointing at the delivery it replays. */
/** Records a replay; false when its operation has already replayed that original (nothing recorded). */
export async function insertReplay(
  db: Queryable,
  d: { id: string; organizationId: string; webhookId: string; eventId: string; workflowId: string; replayOf: string; operationId: string | null },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO deliveries (id, organization_id, webhook_id, event_id, replay_of, workflow_id, operation_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (operation_id, replay_of) WHERE operation_id IS NOT NULL DO NOTHING`,
    [d.id, d.organizationId, d.webhookId, d.eventId, d.replayOf, d.workflowId, d.operationId],
  );
  return rowCount === 1;
}

export async function organizationOfDelivery(db: Queryable, id: string): Promise<string | null> {
  const { rows } = await db.query(`SELECT organization_id AS "organizationId" FROM deliveries WHERE id = $1`, [id]);
  return rows[0]?.organizationId ?? null;
}

export async function findDelivery(db: Queryable, organizationId: string, id: string): Promise<DeliveryRow | null> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id
      WHERE d.organization_id = $1 AND d.id = $2`,
    [organizationId, id],
  );
  return rows[0] ?? null;
}

export async function listAttempts(db: Queryable, deliveryId: string): Promise<AttemptRow[]> {
  const { rows } = await db.query(
    `SELECT id, attempt_number AS "attemptNumber", status, status_code AS "statusCode",
            latency_ms AS "latencyMs", error, response_body AS "responseBody",
            started_at AS "startedAt", finished_at AS "finishedAt"
       FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt_number, started_at`,
    [deliveryId],
  );
  return rows;
}

export interface DeliveryFilter {
  webhookId?: string;
  status?: DeliveryStatus;
  eventType?: string;
  eventId?: string;
  since?: Date;
  until?: Date;
  /** Start after this (created_at, id): keyset pagination, newest first. */
  after?: { at: Date; id: string } | null;
  limit: number;
}

/** An org's deliveries, newest first; `limit` rows at most (callers ask for one more to know if a page follows). */
export async function listDeliveries(db: Queryable, organizationId: string, f: DeliveryFilter): Promise<DeliveryRow[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id
      WHERE d.organization_id = $1
        AND ($2::text IS NULL OR d.webhook_id = $2)
        AND ($3::text IS NULL OR d.status = $3)
        -- By the org's events of the type (an index range) rather than by each row's event: the
        -- events of a rare type would otherwise be looked up one by one across the whole table.
        AND ($4::text IS NULL OR d.event_id IN (SELECT id FROM events WHERE organization_id = $1 AND type = $4))
        AND ($10::text IS NULL OR d.event_id = $10)
        AND ($5::timestamptz IS NULL OR d.created_at >= $5)
        AND ($6::timestamptz IS NULL OR d.created_at < $6)
        -- The cursor row's own created_at: the cursor carries milliseconds and the column keeps
        -- microseconds, so a fan-out's deliveries (one now()) would otherwise be skipped mid-page.
        AND ($7::timestamptz IS NULL OR (d.created_at, d.id) < (coalesce((SELECT c.created_at FROM deliveries c WHERE c.id = $8 AND c.organization_id = $1), $7), $8))
      ORDER BY d.created_at DESC, d.id DESC
      LIMIT $9`,
    [
      organizationId,
      f.webhookId ?? null,
      f.status ?? null,
      f.eventType ?? null,
      f.since ?? null,
      f.until ?? null,
      f.after?.at ?? null,
      f.after?.id ?? null,
      f.limit,
      f.eventId ?? null,
    ],
  );
  return rows;
}

/** What a delivery's workflow is started with (and shows to operators). */
export interface DeliveryToStart {
  id: string;
  organizationId: string;
  workflowId: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  url: string;
}

/**
 * Deliveries recorded but never picked up by a workflow (the publisher crashed or Temporal was down),
 * oldest first; a row whose start failed comes back when its retry time has come.
 */
export async function listUnstartedDeliveries(
  db: Queryable,
  olderThanSeconds: number,
  limit: number,
  organizationIds: string[] | null = null,
): Promise<DeliveryToStart[]> {
  const { rows } = await db.query(
    `SELECT d.id, d.organization_id AS "organizationId", d.workflow_id AS "workflowId", d.webhook_id AS "webhookId",
            d.event_id AS "eventId", e.type AS "eventType", w.url
       FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id
      WHERE d.started_at IS NULL AND d.start_error IS NULL
        AND coalesce(d.start_retry_at, d.created_at) < now() - make_interval(secs => $1)
        AND ($3::text[] IS NULL OR d.organization_id = ANY($3))
      ORDER BY coalesce(d.start_retry_at, d.created_at) LIMIT $2`,
    [olderThanSeconds, limit, organizationIds],
  );
  return rows;
}
