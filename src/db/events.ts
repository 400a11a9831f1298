import type { DeliveryToStart } from './deliveries.js';
import { prepared, type Queryable } from './pool.js';

export interface EventRow {
  id: string;
  organizationId: string;
  type: string;
  sessionId: string | null;
  body: string;
}

export interface NewDelivery {
  id: string;
  webhookId: string;
  workflowId: string;
}

/**
 * Records an event and its deliveries in one statement (one round trip, no lock held across others).
 * An event id that exists already records nothing (`recorded: false`): a publish retried with the same
 * id delivers nothing new, and the deliveries returned are only the ones this call created.
 */
export async function recordEvent(db: Queryable, e: EventRow, deliveries: NewDelivery[]): Promise<{ recorded: boolean; deliveryIds: string[] }> {
  const { rows } = await db.query(
    prepared(
      'record-event',
      `WITH ev AS (
       INSERT INTO events (id, organization_id, type, session_id, body) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO NOTHING RETURNING id
     ), d AS (
       INSERT INTO deliveries (id, organization_id, webhook_id, event_id, workflow_id)
       SELECT t.id, $2, t.webhook_id, ev.id, t.workflow_id
         FROM ev, unnest($6::text[], $7::text[], $8::text[]) AS t(id, webhook_id, workflow_id)
       ON CONFLICT DO NOTHING
       RETURNING id
     )
     SELECT EXISTS (SELECT 1 FROM ev) AS recorded, ARRAY(SELECT id FROM d) AS "deliveryIds"`,
      [
        e.id,
        e.organizationId,
        e.type,
        e.sessionId,
        e.body,
        deliveries.map((d) => d.id),
        deliveries.map((d) => d.webhookId),
        deliveries.map((d) => d.workflowId),
      ],
    ),
  );
  return rows[0];
}

/**
 * An event as it was published (its envelope as sent to receivers), with the deliveries its publish
 * made (not replays) that still exist, in fan-out order, and those of them whose workflow was never started.
 */
export async function findPublishedEvent(
  db: Queryable,
  organizationId: string,
  id: string,
): Promise<{ body: string; deliveryIds: string[]; unstarted: DeliveryToStart[] } | null> {
  const { rows } = await db.query(
    `SELECT e.body, e.type AS "eventType", d.id AS "deliveryId", d.started_at IS NULL AND d.start_error IS NULL AS unstarted,
            d.workflow_id AS "workflowId", d.webhook_id AS "webhookId", w.url
       FROM events e
       LEFT JOIN deliveries d ON d.event_id = e.id AND d.replay_of IS NULL
       LEFT JOIN webhooks w ON w.id = d.webhook_id
      WHERE e.id = $1 AND e.organization_id = $2
      ORDER BY w.created_at, w.id`,
    [id, organizationId],
  );
  if (rows.length === 0) return null;
  const made = rows.filter((r) => r.deliveryId !== null);
  return {
    body: rows[0].body,
    deliveryIds: made.map((r) => r.deliveryId),
    unstarted: made
      .filter((r) => r.unstarted)
      .map((r) => ({ id: r.deliveryId, organizationId, workflowId: r.workflowId, webhookId: r.webhookId, eventId: id, eventType: r.eventType, url: r.url })),
  };
}

/** An org's event as it was published, with how many of its deliveries (replays included) are in each status. */
export async function findEventWithDeliveryCounts(
  db: Queryable,
  organizationId: string,
  id: string,
): Promise<{ body: string; deliveryCounts: Record<string, number> } | null> {
  const { rows } = await db.query(
    `SELECT e.body,
            (SELECT coalesce(jsonb_object_agg(status, n), '{}') FROM
               (SELECT d.status, count(*)::int AS n FROM deliveries d WHERE d.event_id = e.id GROUP BY d.status) c) AS "deliveryCounts"
       FROM events e WHERE e.id = $1 AND e.organization_id = $2`,
    [id, organizationId],
  );
  return rows[0] ?? null;
}
