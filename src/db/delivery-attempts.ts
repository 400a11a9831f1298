import type { Db } from './pool.js';
import { withTransaction } from './pool.js';
import { WEBHOOK_COLUMNS, type WebhookRow } from './webhooks.js';
import type { DeliveryStatus } from './deliveries.js';
import { newId } from '../domain/ids.js';

// The queries behind one delivery attempt, in the order the attempt activity runs them.

export interface DeliveryContext {
  delivery: { id: string; status: DeliveryStatus; attemptCount: number };
  event: { id: string; type: string; body: string };
  webhook: WebhookRow;
}

/** Null when the delivery is gone (its webhook was deleted, which cascades). */
export async function loadDeliveryContext(db: Db, deliveryId: string): Promise<DeliveryContext | null> {
  const { rows } = await db.query(
    `SELECT d.id AS "deliveryId", d.status AS "deliveryStatus", d.attempt_count AS "attemptCount",
            e.id AS "eventId", e.type AS "eventType", e.body AS "eventBody", ${WEBHOOK_COLUMNS}
       FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id
      WHERE d.id = $1`,
    [deliveryId],
  );
  const r = rows[0];
  if (!r) return null;
  const { deliveryId: id, deliveryStatus, attemptCount, eventId, eventType, eventBody, ...webhook } = r;
  return {
    delivery: { id, status: deliveryStatus, attemptCount },
    event: { id: eventId, type: eventType, body: eventBody },
    webhook,
  };
}

export type SlotResult =
  | { granted: true; attemptId: string; attemptNumber: number }
  | { granted: false; reason: 'in_flight' | 'per_minute'; retryInMs: number };

/**
 * Takes a slot under the endpoint's limits and records the attempt as in flight, in one transaction
 * that holds the webhook's row lock, so concurrent workers cannot both take the last slot. The attempt
 * row is the lease: it counts as in flight until finished or until staleAfterMs has passed (a worker
 * that died mid-request never releases it).
 */
export async function beginAttempt(
  db: Db,
  a: { deliveryId: string; webhookId: string; maxInFlight: number; maxPerMinute: number; staleAfterMs: number },
): Promise<SlotResult> {
  return withTransaction(db, async (tx) => {
    await tx.query(`SELECT 1 FROM webhooks WHERE id = $1 FOR UPDATE`, [a.webhookId]);
    // Only one attempt of a delivery runs at a time, so an in-flight one here is from a lost worker.
    await tx.query(
      `UPDATE delivery_attempts SET status = 'lost', error = 'worker lost during the attempt', finished_at = now()
        WHERE delivery_id = $1 AND status = 'in_flight'`,
      [a.deliveryId],
    );
    const { rows } = await tx.query(
      `SELECT count(*) FILTER (WHERE status = 'in_flight' AND started_at > now() - make_interval(secs => $2 / 1000.0))::int AS "inFlight",
              count(*) FILTER (WHERE started_at > now() - interval '60 seconds')::int AS "lastMinute",
              (extract(epoch FROM (min(started_at) FILTER (WHERE started_at > now() - interval '60 seconds')
                                   + interval '60 seconds' - now())) * 1000)::int AS "windowFreesInMs"
         FROM delivery_attempts
        WHERE webhook_id = $1
          AND started_at > now() - greatest(interval '60 seconds', make_interval(secs => $2 / 1000.0))`,
      [a.webhookId, a.staleAfterMs],
    );
    const { inFlight, lastMinute, windowFreesInMs } = rows[0];
    const claimStart = `UPDATE deliveries SET started_at = coalesce(started_at, now()), updated_at = now() WHERE id = $1`;
    if (inFlight >= a.maxInFlight) {
      await tx.query(claimStart, [a.deliveryId]);
      return { granted: false, reason: 'in_flight', retryInMs: 0 };
    }
    if (lastMinute >= a.maxPerMinute) {
      await tx.query(claimStart, [a.deliveryId]);
      return { granted: false, reason: 'per_minute', retryInMs: Math.max(windowFreesInMs ?? 0, 50) };
    }
    const attemptId = newId('atm');
    const { rows: d } = await tx.query(
      `UPDATE deliveries SET attempt_count = attempt_count + 1, started_at = coalesce(started_at, now()),
                             next_attempt_at = NULL, updated_at = now()
        WHERE id = $1 RETURNING attempt_count AS "attemptNumber"`,
      [a.deliveryId],
    );
    const attemptNumber: number = d[0].attemptNumber;
    await tx.query(
      `INSERT INTO delivery_attempts (id, delivery_id, webhook_id, attempt_number, status)
       VALUES ($1, $2, $3, $4, 'in_flight')`,
      [attemptId, a.deliveryId, a.webhookId, attemptNumber],
    );
    return { granted: true, attemptId, attemptNumber };
  });
}

export interface AttemptRecord {
  attemptId: string;
  deliveryId: string;
  webhookId: string;
  succeeded: boolean;
  statusCode: number | null;
  latencyMs: number;
  /** What went wrong with this attempt. */
  error: string | null;
  responseBody: string | null;
  deliveryStatus: DeliveryStatus;
  /** What the delivery shows as its last error: the attempt's, or why it was dead-lettered. */
  deliveryError: string | null;
  nextAttemptInMs: number | null;
  /** Set when the endpoint asked never to be called again (410 Gone). */
  disableWebhookReason: string | null;
}

/** Records an attempt's result on the attempt, its delivery and its webhook's stats in one statement. */
export async function finishAttempt(db: Db, r: AttemptRecord): Promise<void> {
  const final = r.deliveryStatus === 'succeeded' || r.deliveryStatus === 'dead';
  await db.query(
    `WITH attempt AS (
       UPDATE delivery_attempts
          SET status = CASE WHEN $4 THEN 'succeeded' ELSE 'failed' END, status_code = $5, latency_ms = $6,
              error = $7, response_body = $8, finished_at = now()
        WHERE id = $1
     ), delivery AS (
       UPDATE deliveries
          SET status = $9, last_status_code = $5, last_error = $13,
              next_attempt_at = CASE WHEN $10::int IS NULL THEN NULL ELSE now() + make_interval(secs => $10 / 1000.0) END,
              completed_at = CASE WHEN $11 THEN now() ELSE NULL END, updated_at = now()
        WHERE id = $2
     )
     UPDATE webhooks
        SET success_count = success_count + CASE WHEN $4 THEN 1 ELSE 0 END,
            failure_count = failure_count + CASE WHEN $4 THEN 0 ELSE 1 END,
            last_triggered_at = now(),
            last_success_at = CASE WHEN $4 THEN now() ELSE last_success_at END,
            active = CASE WHEN $12::text IS NULL THEN active ELSE false END,
            disabled_reason = coalesce($12, disabled_reason)
      WHERE id = $3`,
    [
      r.attemptId,
      r.deliveryId,
      r.webhookId,
      r.succeeded,
      r.statusCode,
      r.latencyMs,
      r.error,
      r.responseBody,
      r.deliveryStatus,
      r.nextAttemptInMs,
      final,
      r.disableWebhookReason,
      r.deliveryError,
    ],
  );
}

/** Ends a delivery without an attempt (its webhook was disabled meanwhile). */
export async function cancelDelivery(db: Db, deliveryId: string, reason: string): Promise<void> {
  await db.query(
    `UPDATE deliveries SET status = 'cancelled', last_error = $2, completed_at = now(), updated_at = now()
      WHERE id = $1 AND status IN ('pending', 'retrying')`,
    [deliveryId, reason],
  );
}
