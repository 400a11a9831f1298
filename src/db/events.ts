import type { Queryable } from './pool.js';

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
 * An event id that exists already records nothing: a publish retried with the same id delivers
 * nothing new, and the deliveries returned are only the ones this call created.
 */
export async function recordEvent(db: Queryable, e: EventRow, deliveries: NewDelivery[]): Promise<string[]> {
  const { rows } = await db.query(
    `WITH ev AS (
       INSERT INTO events (id, organization_id, type, session_id, body) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO NOTHING RETURNING id
     )
     INSERT INTO deliveries (id, organization_id, webhook_id, event_id, workflow_id)
     SELECT t.id, $2, t.webhook_id, ev.id, t.workflow_id
       FROM ev, unnest($6::text[], $7::text[], $8::text[]) AS t(id, webhook_id, workflow_id)
     ON CONFLICT DO NOTHING
     RETURNING id`,
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
  );
  return rows.map((r) => r.id);
}
