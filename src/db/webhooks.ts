import type { Queryable } from './pool.js';
import type { RetryPolicy } from '../domain/retry-policy.js';

export interface WebhookRow {
  id: string;
  organizationId: string;
  name: string | null;
  url: string;
  events: string[];
  sessionId: string | null;
  secretSealed: string;
  previousSecretSealed: string | null;
  previousSecretExpiresAt: Date | null;
  customHeaders: Record<string, string>;
  retryPolicy: RetryPolicy;
  maxInFlight: number | null;
  maxPerMinute: number | null;
  active: boolean;
  disabledReason: string | null;
  successCount: number;
  failureCount: number;
  lastTriggeredAt: Date | null;
  lastSuccessAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export const WEBHOOK_COLUMNS = `
  w.id, w.organization_id AS "organizationId", w.name, w.url, w.events, w.session_id AS "sessionId",
  w.secret_sealed AS "secretSealed", w.previous_secret_sealed AS "previousSecretSealed",
  w.previous_secret_expires_at AS "previousSecretExpiresAt", w.custom_headers AS "customHeaders",
  w.retry_policy AS "retryPolicy", w.max_in_flight AS "maxInFlight", w.max_per_minute AS "maxPerMinute",
  w.active, w.disabled_reason AS "disabledReason", w.success_count AS "successCount",
  w.failure_count AS "failureCount", w.last_triggered_at AS "lastTriggeredAt",
  w.last_success_at AS "lastSuccessAt", w.created_at AS "createdAt", w.updated_at AS "updatedAt"`;

export type NewWebhook = Pick<
  WebhookRow,
  | 'id'
  | 'organizationId'
  | 'name'
  | 'url'
  | 'events'
  | 'sessionId'
  | 'secretSealed'
  | 'customHeaders'
  | 'retryPolicy'
  | 'maxInFlight'
  | 'maxPerMinute'
  | 'active'
>;

export async function insertWebhook(db: Queryable, w: NewWebhook): Promise<WebhookRow> {
  const { rows } = await db.query(
    `INSERT INTO webhooks AS w (id, organization_id, name, url, events, session_id, secret_sealed,
                                custom_headers, retry_policy, max_in_flight, max_per_minute, active)
     VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8::jsonb, $9::jsonb, $10, $11, $12)
     RETURNING ${WEBHOOK_COLUMNS}`,
    [
      w.id,
      w.organizationId,
      w.name,
      w.url,
      w.events,
      w.sessionId,
      w.secretSealed,
      JSON.stringify(w.customHeaders),
      JSON.stringify(w.retryPolicy),
      w.maxInFlight,
      w.maxPerMinute,
      w.active,
    ],
  );
  return rows[0];
}

/** Org-scoped: another org's webhook is simply not found. */
export async function findWebhook(db: Queryable, organizationId: string, id: string): Promise<WebhookRow | null> {
  const { rows } = await db.query(
    `SELECT ${WEBHOOK_COLUMNS} FROM webhooks w WHERE w.organization_id = $1 AND w.id = $2`,
    [organizationId, id],
  );
  return rows[0] ?? null;
}

export async function listWebhooks(
  db: Queryable,
  organizationId: string,
  filter: { sessionId?: string; activeOnly?: boolean } = {},
): Promise<WebhookRow[]> {
  const { rows } = await db.query(
    `SELECT ${WEBHOOK_COLUMNS} FROM webhooks w
      WHERE w.organization_id = $1
        AND ($2::text IS NULL OR w.session_id = $2)
        AND (NOT $3::boolean OR w.active)
      ORDER BY w.created_at, w.id`,
    [organizationId, filter.sessionId ?? null, filter.activeOnly ?? false],
  );
  return rows;
}

export type WebhookChanges = Partial<
  Pick<
    WebhookRow,
    | 'name'
    | 'url'
    | 'events'
    | 'sessionId'
    | 'customHeaders'
    | 'retryPolicy'
    | 'maxInFlight'
    | 'maxPerMinute'
    | 'active'
    | 'secretSealed'
    | 'previousSecretSealed'
    | 'previousSecretExpiresAt'
  >
>;

const CHANGE_COLUMNS: Record<keyof WebhookChanges, string> = {
  name: 'name',
  url: 'url',
  events: 'events',
  sessionId: 'session_id',
  customHeaders: 'custom_headers',
  retryPolicy: 'retry_policy',
  maxInFlight: 'max_in_flight',
  maxPerMinute: 'max_per_minute',
  active: 'active',
  secretSealed: 'secret_sealed',
  previousSecretSealed: 'previous_secret_sealed',
  previousSecretExpiresAt: 'previous_secret_expires_at',
};

export async function updateWebhook(
  db: Queryable,
  organizationId: string,
  id: string,
  changes: WebhookChanges,
): Promise<WebhookRow | null> {
  const sets: string[] = [];
  const values: unknown[] = [organizationId, id];
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    const json = key === 'customHeaders' || key === 'retryPolicy';
    values.push(json ? JSON.stringify(value) : value);
    sets.push(`${CHANGE_COLUMNS[key as keyof WebhookChanges]} = $${values.length}`);
  }
  // Re-enabling a webhook clears why it was disabled.
  if (changes.active === true) sets.push('disabled_reason = NULL');
  sets.push('updated_at = now()');
  const { rows } = await db.query(
    `UPDATE webhooks w SET ${sets.join(', ')} WHERE w.organization_id = $1 AND w.id = $2 RETURNING ${WEBHOOK_COLUMNS}`,
    values,
  );
  return rows[0] ?? null;
}

export async function deleteWebhook(db: Queryable, organizationId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM webhooks WHERE organization_id = $1 AND id = $2`, [
    organizationId,
    id,
  ]);
  return (rowCount ?? 0) > 0;
}
