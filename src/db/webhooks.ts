import { prepared, type Queryable } from './pool.js';
import type { RetryPolicy } from '../domain/retry-policy.js';
import type { SigningKey } from '../domain/signing-keys.js';
import type { Rule } from '../domain/rules.js';

/** A webhook's signing keys as stored: the secrets sealed (AES-GCM), newest first. */
export type SealedKeys = SigningKey<string>[];

export interface WebhookRow {
  id: string;
  organizationId: string;
  name: string | null;
  url: string;
  events: string[];
  sessionId: string | null;
  /** Events this rule rejects are not delivered here (null: every event of the subscribed types). */
  filter: Rule | null;
  signingKeys: SealedKeys;
  customHeaders: Record<string, string>;
  retryPolicy: RetryPolicy;
  maxInFlight: number | null;
  maxPerMinute: number | null;
  active: boolean;
  disabledReason: string | null;
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface WebhookStats {
  successCount: number;
  failureCount: number;
  lastTriggeredAt: Date | null;
  lastSuccessAt: Date | null;
}

export type WebhookWithStats = WebhookRow & WebhookStats;


export const WEBHOOK_COLUMNS = `
  w.id, w.organization_id AS "organizationId", w.name, w.url, w.events, w.session_id AS "sessionId",
  w.filter, w.signing_keys AS "signingKeys", w.custom_headers AS "customHeaders",
  w.retry_policy AS "retryPolicy", w.max_in_flight AS "maxInFlight", w.max_per_minute AS "maxPerMinute",
  w.active, w.disabled_reason AS "disabledReason", w.failing_since AS "failingSince",
  w.created_at AS "createdAt", w.updated_at AS "updatedAt"`;

// Statistics are summed over the webhook's counter shards.
const STATS_JOIN = `LEFT JOIN LATERAL (
    SELECT coalesce(sum(success_count), 0)::bigint AS "successCount", coalesce(sum(failure_count), 0)::bigint AS "failureCount",
           max(last_attempt_at) AS "lastTriggeredAt", max(last_success_at) AS "lastSuccessAt"
      FROM webhook_stats s WHERE s.webhook_id = w.id) st ON true`;
const WITH_STATS = `${WEBHOOK_COLUMNS}, st."successCount", st."failureCount", st."lastTriggeredAt", st."lastSuccessAt"`;

export type NewWebhook = Pick<
  WebhookRow,
  | 'id'
  | 'organizationId'
  | 'name'
  | 'url'
  | 'events'
  | 'sessionId'
  | 'filter'
  | 'signingKeys'
  | 'customHeaders'
  | 'retryPolicy'
  | 'maxInFlight'
  | 'maxPerMinute'
  | 'active'
>;

export async function insertWebhook(db: Queryable, w: NewWebhook): Promise<WebhookWithStats> {
  const { rows } = await db.query(
    `WITH w AS (
       INSERT INTO webhooks (id, organization_id, name, url, events, session_id, signing_keys,
                             custom_headers, retry_policy, max_in_flight, max_per_minute, active, filter)
       VALUES ($1, $2, $3, $4, $5::text[], $6, $7::jsonb, $8::jsonb, $9::jsonb, $10, $11, $12, $13::jsonb)
       RETURNING *)
     SELECT ${WEBHOOK_COLUMNS}, 0 AS "successCount", 0 AS "failureCount", NULL::timestamptz AS "lastTriggeredAt",
            NULL::timestamptz AS "lastSuccessAt" FROM w`,
    [
      w.id,
      w.organizationId,
      w.name,
      w.url,
      w.events,
      w.sessionId,
      JSON.stringify(w.signingKeys),
      JSON.stringify(w.customHeaders),
      JSON.stringify(w.retryPolicy),
      w.maxInFlight,
      w.maxPerMinute,
      w.active,
      w.filter === null ? null : JSON.stringify(w.filter),
    ],
  );
  return rows[0];
}

/** Org-scoped: another org's webhook is simply not found. */
export async function findWebhook(db: Queryable, organizationId: string, id: string): Promise<WebhookWithStats | null> {
  const { rows } = await db.query(
    `SELECT ${WITH_STATS} FROM webhooks w ${STATS_JOIN} WHERE w.organization_id = $1 AND w.id = $2`,
    [organizationId, id],
  );
  return rows[0] ?? null;
}

export async function listWebhooks(
  db: Queryable,
  organizationId: string,
  filter: { sessionId?: string } = {},
): Promise<WebhookWithStats[]> {
  const { rows } = await db.query(
    `SELECT ${WITH_STATS} FROM webhooks w ${STATS_JOIN}
      WHERE w.organization_id = $1 AND ($2::text IS NULL OR w.session_id = $2)
      ORDER BY w.created_at, w.id`,
    [organizationId, filter.sessionId ?? null],
  );
  return rows;
}

/**
 * The org's active webhooks that take an event of this type in this session: the fan-out's
 * candidates (a payload filter, if any, is checked by the caller). No statistics: this is the hot path.
 */
export async function webhooksForEvent(
  db: Queryable,
  organizationId: string,
  e: { type: string; sessionId: string | null },
): Promise<Array<Pick<WebhookRow, 'id' | 'url' | 'filter'>>> {
  const { rows } = await db.query(
    prepared(
      'webhooks-for-event',
      `SELECT w.id, w.url, w.filter FROM webhooks w
      WHERE w.organization_id = $1 AND w.active
        AND (w.events @> ARRAY['*'] OR w.events @> ARRAY[$2])
        AND (w.session_id IS NULL OR w.session_id = $3)
      ORDER BY w.created_at, w.id`,
      [organizationId, e.type, e.sessionId],
    ),
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
    | 'filter'
    | 'customHeaders'
    | 'retryPolicy'
    | 'maxInFlight'
    | 'maxPerMinute'
    | 'active'
    | 'signingKeys'
  >
>;

const CHANGE_COLUMNS: Record<keyof WebhookChanges, string> = {
  name: 'name',
  url: 'url',
  events: 'events',
  sessionId: 'session_id',
  filter: 'filter',
  customHeaders: 'custom_headers',
  retryPolicy: 'retry_policy',
  maxInFlight: 'max_in_flight',
  maxPerMinute: 'max_per_minute',
  active: 'active',
  signingKeys: 'signing_keys',
};

export async function updateWebhook(
  db: Queryable,
  organizationId: string,
  id: string,
  changes: WebhookChanges,
): Promise<WebhookWithStats | null> {
  const sets: string[] = [];
  const values: unknown[] = [organizationId, id];
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    const json = key === 'signingKeys' || key === 'customHeaders' || key === 'retryPolicy' || key === 'filter';
    values.push(json && value !== null ? JSON.stringify(value) : value);
    sets.push(`${CHANGE_COLUMNS[key as keyof WebhookChanges]} = $${values.length}`);
  }
  // Re-enabling a webhook clears why it was disabled, and it starts again as healthy.
  if (changes.active === true) sets.push('disabled_reason = NULL', 'failing_since = NULL');
  sets.push('updated_at = now()');
  const { rows } = await db.query(
    `WITH w AS (UPDATE webhooks SET ${sets.join(', ')} WHERE organization_id = $1 AND id = $2 RETURNING *)
     SELECT ${WITH_STATS} FROM w ${STATS_JOIN}`,
    values,
  );
  return rows[0] ?? null;
}

/**
 * Changes the signing keys under the row's lock, so two rotations at once both take effect in turn
 * rather than one overwriting the other.
 */
export async function updateSigningKeys(
  db: Queryable,
  organizationId: string,
  id: string,
  change: (keys: SealedKeys) => SealedKeys,
): Promise<WebhookWithStats | null> {
  const { rows } = await db.query(
    `SELECT w.signing_keys AS keys FROM webhooks w WHERE w.organization_id = $1 AND w.id = $2 FOR UPDATE`,
    [organizationId, id],
  );
  if (!rows[0]) return null;
  return updateWebhook(db, organizationId, id, { signingKeys: change(rows[0].keys) });
}

export async function deleteWebhook(db: Queryable, organizationId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM webhooks WHERE organization_id = $1 AND id = $2`, [
    organizationId,
    id,
  ]);
  return (rowCount ?? 0) > 0;
}
