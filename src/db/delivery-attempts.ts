import { prepared, type Queryable } from './pool.js';
import type { DeliveryStatus } from './deliveries.js';
import { WEBHOOK_COLUMNS, type WebhookRow } from './webhooks.js';

// The two statements of one delivery attempt: claim (load + take a slot + record the attempt) before
// the POST, finish (result + stats + release + health) after it. Each is one round trip.

export interface ClaimInput {
  deliveryId: string;
  attemptId: string;
  /** How long an in-flight slot stays held if its attempt never finishes (a lost worker). */
  leaseMs: number;
  /** The deployment's limits, for webhooks that set none of their own. */
  maxInFlight: number;
  maxPerMinute: number;
}

export type Claim =
  /** The delivery is gone (its webhook was deleted, which cascades). */
  | { kind: 'gone' }
  /** Nothing to attempt: the delivery already ended, or its webhook is disabled. */
  | { kind: 'closed'; status: DeliveryStatus; webhook: WebhookRow }
  /**
   * The delivery's next attempt is not due yet: this is a re-run of an attempt whose result was
   * recorded but whose workflow task was then lost. Wait out the rest of the retry delay.
   */
  | { kind: 'early'; retryInMs: number }
  | {
      kind: 'granted';
      attemptNumber: number;
      /** When the delivery was recorded (its publish or replay). */
      recordedAt: Date;
      event: { id: string; type: string; body: string };
      webhook: WebhookRow;
    }
  | {
      kind: 'refused';
      /** in_flight: every slot is held (the delivery now waits to be woken); per_minute: wait for a start to free. */
      reason: 'in_flight' | 'per_minute';
      retryInMs: number;
      /** Fewer slot rows exist than the current limits allow: create them and claim again. */
      missingSlots: { webhookId: string; inFlight: number; perMinute: number } | null;
    };

/**
 * The CTEs that find one free slot of `kind` ('f': in flight, 'm': a start this minute) when `when`
 * holds, from the random slot in `start` up to the limit, then around from slot 1 (`<kind>`: its number,
 * locked, or no row; the claim's text closes it). A constant text: the claim stays one prepared statement.
 */
function freeSlot(kind: 'f' | 'm', when: string): string {
  return `${kind}_up AS (
       SELECT n FROM endpoint_slots
        WHERE webhook_id = (SELECT id FROM lim) AND kind = '${kind}' AND n >= (SELECT ${kind} FROM start) AND n <= (SELECT lim_${kind} FROM lim)
          AND free_at <= now() AND ${when}
        ORDER BY n LIMIT 1 FOR UPDATE SKIP LOCKED
     ), ${kind}_around AS (
       SELECT n FROM endpoint_slots
        WHERE webhook_id = (SELECT id FROM lim) AND kind = '${kind}' AND n < (SELECT ${kind} FROM start)
          AND free_at <= now() AND ${when} AND NOT EXISTS (SELECT 1 FROM ${kind}_up)
        ORDER BY n LIMIT 1 FOR UPDATE SKIP LOCKED
     ), ${kind} AS (
       SELECT n FROM ${kind}_up UNION ALL SELECT n FROM ${kind}_around`;
}

/**
 * Takes an in-flight slot and a per-minute start for the delivery's webhook and records the attempt as
 * in flight, in one statement. Slot rows are claimed with SKIP LOCKED: concurrent attempts of one
 * endpoint take different rows and never wait for each other. Each search starts at a random slot, so
 * that it steps over (held / free) slots on average, not over every slot held. An attempt of this
 * delivery still marked in flight belonged to a lost worker (only one runs at a time): it is marked
 * lost and its slot freed.
 * An attempt more than a second before the delivery's `next_attempt_at` takes nothing (a re-run after
 * the result was recorded must not POST again ahead of the retry policy); the second absorbs clock
 * differences between Temporal's timers and PostgreSQL.
 */
export async function claimAttempt(db: Queryable, c: ClaimInput): Promise<Claim> {
  const { rows } = await db.query(
    prepared(
      'claim-attempt',
      `WITH d AS (
       SELECT id, status, webhook_id, event_id, created_at, next_attempt_at FROM deliveries WHERE id = $1
     ), lim AS (
       SELECT wh.id, wh.active, coalesce(wh.max_in_flight, $3) AS lim_f, coalesce(wh.max_per_minute, $4) AS lim_m
         FROM webhooks wh JOIN d ON wh.id = d.webhook_id
     ), open AS (
       SELECT 1 FROM d, lim WHERE d.status IN ('pending', 'retrying') AND lim.active
     ), due AS (
       SELECT 1 FROM open, d WHERE d.next_attempt_at IS NULL OR d.next_attempt_at <= now() + interval '1 second'
     ), lost AS (
       UPDATE delivery_attempts SET status = 'lost', error = 'worker lost during the attempt', finished_at = now()
        WHERE delivery_id = $1 AND status = 'in_flight' AND EXISTS (SELECT 1 FROM due)
        RETURNING id
     ), freed AS (
       UPDATE endpoint_slots s SET free_at = now(), attempt_id = NULL
         FROM lost WHERE s.attempt_id = lost.id AND s.free_at > now()
        RETURNING 1
     ), start AS (
       -- Where each slot search begins: a random slot, then on to the last and around from the first.
       -- From slot 1 every claim would step over every slot held, and a per-minute slot is held for a
       -- minute: 1,800 rows per claim at 30 deliveries/s. From a random slot it steps over the run of
       -- held slots it lands in: few while the endpoint is far from its limit, more close to it.
       -- (Scalar subqueries below, not joins: so that the bounds are index conditions, in slot order.)
       SELECT 1 + floor(random() * lim_f)::int AS f, 1 + floor(random() * lim_m)::int AS m FROM lim
     ), ${freeSlot('f', 'EXISTS (SELECT 1 FROM due)')}
     ), ${freeSlot('m', 'EXISTS (SELECT 1 FROM f)')}
     ), take_f AS (
       UPDATE endpoint_slots SET free_at = now() + make_interval(secs => $2 / 1000.0), attempt_id = $5
        WHERE webhook_id = (SELECT id FROM lim) AND kind = 'f' AND n = (SELECT n FROM f) AND EXISTS (SELECT 1 FROM m)
        RETURNING 1
     ), take_m AS (
       UPDATE endpoint_slots SET free_at = now() + interval '60 seconds'
        WHERE webhook_id = (SELECT id FROM lim) AND kind = 'm' AND n = (SELECT n FROM m) AND EXISTS (SELECT 1 FROM f)
        RETURNING 1
     ), bump AS (
       UPDATE deliveries SET attempt_count = attempt_count + 1, started_at = coalesce(started_at, now()),
                             next_attempt_at = NULL, waiting_since = NULL, updated_at = now()
        WHERE id = $1 AND EXISTS (SELECT 1 FROM take_f)
        RETURNING attempt_count
     ), attempt AS (
       INSERT INTO delivery_attempts (id, delivery_id, webhook_id, attempt_number, status)
       SELECT $5, $1, lim.id, bump.attempt_count, 'in_flight' FROM bump, lim
       RETURNING attempt_number
     ), waiting AS (
       -- Every in-flight slot is held: queue up to be woken by the next attempt that finishes.
       UPDATE deliveries SET started_at = coalesce(started_at, now()),
                             waiting_since = CASE WHEN EXISTS (SELECT 1 FROM f) THEN waiting_since
                                                  ELSE coalesce(waiting_since, now()) END,
                             updated_at = now()
        WHERE id = $1 AND EXISTS (SELECT 1 FROM due) AND NOT EXISTS (SELECT 1 FROM take_f)
        RETURNING 1
     )
     SELECT d.status, d.created_at AS "recordedAt", lim.lim_f AS "limF", lim.lim_m AS "limM",
            EXISTS (SELECT 1 FROM open) AS open,
            CASE WHEN EXISTS (SELECT 1 FROM open) AND NOT EXISTS (SELECT 1 FROM due)
                 THEN ceil(extract(epoch FROM (d.next_attempt_at - now())) * 1000)::int END AS "dueInMs",
            (SELECT attempt_number FROM attempt) AS "attemptNumber",
            EXISTS (SELECT 1 FROM f) AS "hadSlot",
            CASE WHEN NOT EXISTS (SELECT 1 FROM take_f) THEN
              (SELECT (extract(epoch FROM (min(free_at) - now())) * 1000)::int FROM endpoint_slots
                WHERE webhook_id = lim.id AND kind = 'm' AND n <= lim.lim_m AND free_at > now()) END AS "perMinuteFreesInMs",
            -- Slot rows are made as 1…n: when row n exists, all of them do.
            CASE WHEN NOT EXISTS (SELECT 1 FROM take_f) THEN
              NOT EXISTS (SELECT 1 FROM endpoint_slots WHERE webhook_id = lim.id AND kind = 'f' AND n = lim.lim_f)
              OR NOT EXISTS (SELECT 1 FROM endpoint_slots WHERE webhook_id = lim.id AND kind = 'm' AND n = lim.lim_m) END AS "slotsMissing",
            e.id AS "eventId", e.type AS "eventType", e.body AS "eventBody", ${WEBHOOK_COLUMNS}
       FROM d JOIN lim ON true JOIN webhooks w ON w.id = d.webhook_id JOIN events e ON e.id = d.event_id`,
      [c.deliveryId, c.leaseMs, c.maxInFlight, c.maxPerMinute, c.attemptId],
    ),
  );
  const row = rows[0];
  if (!row) return { kind: 'gone' };
  const { status, recordedAt, limF, limM, open, dueInMs, attemptNumber, hadSlot, perMinuteFreesInMs, slotsMissing, eventId, eventType, eventBody, ...webhook } = row;
  if (!open) return { kind: 'closed', status, webhook };
  if (dueInMs !== null) return { kind: 'early', retryInMs: dueInMs };
  if (attemptNumber !== null) return { kind: 'granted', attemptNumber, recordedAt, event: { id: eventId, type: eventType, body: eventBody }, webhook };
  return {
    kind: 'refused',
    reason: hadSlot ? 'per_minute' : 'in_flight',
    retryInMs: Math.max(perMinuteFreesInMs ?? 0, 0),
    missingSlots: slotsMissing ? { webhookId: webhook.id, inFlight: limF, perMinute: limM } : null,
  };
}

/** Creates the slot rows a webhook's limits call for (rows beyond a lowered limit are simply unused). */
export async function ensureSlots(db: Queryable, webhookId: string, limits: { inFlight: number; perMinute: number }): Promise<void> {
  await db.query(
    `INSERT INTO endpoint_slots (webhook_id, kind, n)
     SELECT $1, 'f', g FROM generate_series(1, $2::int) g
     UNION ALL SELECT $1, 'm', g FROM generate_series(1, $3::int) g
     ON CONFLICT DO NOTHING`,
    [webhookId, limits.inFlight, limits.perMinute],
  );
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
  /** A webhook failing every attempt for this long is disabled. */
  autoDisableAfterHours: number;
}

export interface Finished {
  /** False when the attempt had already been marked lost (this run outlived its lease): nothing changed. */
  recorded: boolean;
  /** The webhook's health changed with this attempt. */
  transition: 'failing' | 'recovered' | 'disabled' | null;
  /** Why the webhook was disabled, when `transition` is `disabled`. */
  disabledReason: string | null;
  /** A delivery that was waiting for the slot this attempt released: wake its workflow. */
  wakeWorkflowId: string | null;
  /** The bulk operation this delivery replays for, when this attempt ended it: its workflow can go on. */
  endedOperationId: string | null;
}

// Counter shards per webhook: enough that concurrent attempts rarely update the same row.
const STAT_SHARDS = 8;

/**
 * Records an attempt's result on the attempt, its delivery, the webhook's statistics and health, and
 * releases its slot, in one statement. Health changes touch the webhook row only on a transition.
 */
export async function finishAttempt(db: Queryable, r: AttemptRecord): Promise<Finished> {
  const final = r.deliveryStatus === 'succeeded' || r.deliveryStatus === 'dead';
  const autoDisableReason = `every attempt failed for ${describeHours(r.autoDisableAfterHours)}; the webhook was disabled`;
  const { rows } = await db.query(
    prepared(
      'finish-attempt',
      `WITH attempt AS (
       UPDATE delivery_attempts
          SET status = CASE WHEN $4 THEN 'succeeded' ELSE 'failed' END, status_code = $5, latency_ms = $6,
              error = $7, response_body = $8, finished_at = now()
        WHERE id = $1 AND status = 'in_flight'
        RETURNING id
     ), delivery AS (
       UPDATE deliveries
          SET status = $9, last_status_code = $5, last_error = $13,
              next_attempt_at = CASE WHEN $10::int IS NULL THEN NULL ELSE now() + make_interval(secs => $10 / 1000.0) END,
              completed_at = CASE WHEN $11 THEN now() ELSE NULL END, updated_at = now()
        -- A delivery cancelled while the attempt was in flight stays cancelled.
        WHERE id = $2 AND status IN ('pending', 'retrying') AND EXISTS (SELECT 1 FROM attempt)
        RETURNING id, CASE WHEN $11 THEN operation_id END AS ended_operation_id
     ), slot AS (
       UPDATE endpoint_slots SET free_at = now(), attempt_id = NULL WHERE attempt_id = $1 RETURNING 1
     ), stats AS (
       INSERT INTO webhook_stats AS s (webhook_id, shard, success_count, failure_count, last_attempt_at, last_success_at)
       SELECT $3, $14, CASE WHEN $4 THEN 1 ELSE 0 END, CASE WHEN $4 THEN 0 ELSE 1 END, now(), CASE WHEN $4 THEN now() END
        WHERE EXISTS (SELECT 1 FROM attempt)
       ON CONFLICT (webhook_id, shard) DO UPDATE
          SET success_count = s.success_count + excluded.success_count, failure_count = s.failure_count + excluded.failure_count,
              last_attempt_at = excluded.last_attempt_at, last_success_at = coalesce(excluded.last_success_at, s.last_success_at)
     ), health AS (
       UPDATE webhooks
          SET failing_since = CASE WHEN $4 THEN NULL ELSE coalesce(failing_since, now()) END,
              active = CASE WHEN $12::text IS NOT NULL OR failing_since < now() - make_interval(secs => $15::float8 * 3600) THEN false ELSE active END,
              disabled_reason = CASE WHEN NOT active THEN disabled_reason
                                     WHEN $12::text IS NOT NULL THEN $12
                                     WHEN failing_since < now() - make_interval(secs => $15::float8 * 3600) THEN $16
                                     ELSE disabled_reason END,
              updated_at = now()
        WHERE id = $3 AND EXISTS (SELECT 1 FROM attempt)
          AND (($4 AND failing_since IS NOT NULL)
               OR (NOT $4 AND failing_since IS NULL)
               OR (NOT $4 AND active AND ($12::text IS NOT NULL OR failing_since < now() - make_interval(secs => $15::float8 * 3600))))
        -- 'disabled' only when this attempt disabled it, not an operator while it was in flight: the
        -- webhook was active before this statement (the subquery reads its snapshot, not this update)
        -- and a disabling condition holds. Otherwise its first failure is just that.
        RETURNING CASE WHEN $4 THEN 'recovered'
                       WHEN NOT active AND (SELECT active FROM webhooks WHERE id = $3)
                            AND ($12::text IS NOT NULL OR failing_since < now() - make_interval(secs => $15::float8 * 3600)) THEN 'disabled'
                       ELSE 'failing' END AS transition, disabled_reason
     ), woken AS (
       UPDATE deliveries SET waiting_since = NULL
        WHERE id = (SELECT id FROM deliveries WHERE webhook_id = $3 AND waiting_since IS NOT NULL AND id <> $2
                     ORDER BY waiting_since LIMIT 1 FOR UPDATE SKIP LOCKED)
          AND EXISTS (SELECT 1 FROM slot)
        RETURNING workflow_id
     )
     SELECT EXISTS (SELECT 1 FROM attempt) AS recorded,
            (SELECT transition FROM health) AS transition,
            (SELECT disabled_reason FROM health) AS "disabledReason",
            (SELECT workflow_id FROM woken) AS "wakeWorkflowId",
            (SELECT ended_operation_id FROM delivery) AS "endedOperationId"`,
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
        Math.floor(Math.random() * STAT_SHARDS),
        r.autoDisableAfterHours,
        autoDisableReason,
      ],
    ),
  );
  return rows[0];
}

/** Ends a delivery without an attempt (its webhook was disabled meanwhile). */
export async function cancelDelivery(db: Queryable, deliveryId: string, reason: string): Promise<void> {
  await db.query(
    `UPDATE deliveries SET status = 'cancelled', last_error = $2, completed_at = now(), updated_at = now(), waiting_since = NULL
      WHERE id = $1 AND status IN ('pending', 'retrying')`,
    [deliveryId, reason],
  );
}

export interface Abandoned {
  /** This call cancelled the delivery (false: it had already ended, or is gone). */
  cancelled: boolean;
  /** The delivery's status now; null when it is gone. */
  status: DeliveryStatus | null;
  /** A delivery that was waiting for the slot the lost attempt held: wake its workflow. */
  wakeWorkflowId: string | null;
  /** The bulk operation this delivery replays for: its workflow can go on. */
  endedOperationId: string | null;
}

/**
 * Ends a delivery whose workflow was cancelled, unless it already ended. An attempt it left in flight
 * is marked lost and its slot released at once: the workflow no longer waits for that attempt, and
 * whatever the POST returns changes nothing (finishAttempt finds no attempt in flight).
 */
export async function abandonDelivery(db: Queryable, deliveryId: string, reason: string): Promise<Abandoned> {
  const { rows } = await db.query(
    `WITH cancelled AS (
       UPDATE deliveries SET status = 'cancelled', last_error = $2, next_attempt_at = NULL, waiting_since = NULL,
                             completed_at = now(), updated_at = now()
        WHERE id = $1 AND status IN ('pending', 'retrying')
        RETURNING webhook_id, operation_id
     ), lost AS (
       UPDATE delivery_attempts SET status = 'lost', error = 'the delivery was cancelled during the attempt', finished_at = now()
        WHERE delivery_id = $1 AND status = 'in_flight' AND EXISTS (SELECT 1 FROM cancelled)
        RETURNING id
     ), freed AS (
       UPDATE endpoint_slots s SET free_at = now(), attempt_id = NULL
         FROM lost WHERE s.attempt_id = lost.id AND s.free_at > now()
        RETURNING 1
     ), woken AS (
       UPDATE deliveries SET waiting_since = NULL
        WHERE id = (SELECT id FROM deliveries WHERE webhook_id = (SELECT webhook_id FROM cancelled) AND waiting_since IS NOT NULL AND id <> $1
                     ORDER BY waiting_since LIMIT 1 FOR UPDATE SKIP LOCKED)
          AND EXISTS (SELECT 1 FROM freed)
        RETURNING workflow_id
     )
     SELECT EXISTS (SELECT 1 FROM cancelled) AS cancelled,
            CASE WHEN EXISTS (SELECT 1 FROM cancelled) THEN 'cancelled' ELSE (SELECT status FROM deliveries WHERE id = $1) END AS status,
            (SELECT workflow_id FROM woken) AS "wakeWorkflowId",
            (SELECT operation_id FROM cancelled) AS "endedOperationId"`,
    [deliveryId, reason],
  );
  return rows[0];
}

function describeHours(hours: number): string {
  if (hours >= 1) return `${Number(hours.toFixed(2))} hours`;
  const seconds = Math.round(hours * 3600);
  return seconds >= 60 ? `${Math.round(seconds / 60)} minutes` : `${seconds} seconds`;
}
