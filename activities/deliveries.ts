import type { Db } from '../src/db/pool.js';
import type { SecretBox } from '../src/domain/secrets.js';
import { abandonDelivery, cancelDelivery, claimAttempt, ensureSlots, finishAttempt } from '../src/db/delivery-attempts.js';
import type { DeliveryStatus } from '../src/db/deliveries.js';
import type { WebhookRow } from '../src/db/webhooks.js';
import { decideOutcome } from '../src/domain/delivery-outcome.js';
import { deliveryHeaders } from '../src/domain/signing.js';
import { activeKeys } from '../src/domain/signing-keys.js';
import { DEFAULT_RETRY_POLICY } from '../src/domain/retry-policy.js';
import { derivedId, newId } from '../src/domain/ids.js';
import { isOperationalEvent, type Notice } from '../src/domain/operational-events.js';
import { postWebhook } from '../src/delivery/http-sender.js';
import type { Dispatcher } from '../src/delivery/dispatcher.js';
import { wakeBulkReplay } from '../src/flows/bulk-replay.js';
import { wakeDelivery } from '../src/flows/delivery.js';
import type { Temporal } from '../src/temporal/client.js';
import type { DeliverySettings } from '../src/settings.js';
import { statusClass, type Metrics } from '../src/metrics.js';
import { heartbeating } from './heartbeat.js';

export interface DeliveryActivityDeps {
  db: Db;
  temporal: Temporal;
  dispatcher: Dispatcher;
  secretBox: SecretBox;
  version: string;
  settings: DeliverySettings;
  log: (line: string) => void;
  metrics: Metrics;
}

export type AttemptResult = (
  | { kind: 'done'; status: 'succeeded' | 'dead' | 'cancelled'; reason?: string }
  /** Try again after the retry policy's delay. */
  | { kind: 'retry'; delayMs: number }
  /** Wait for a slot: at most delayMs, or until an attempt that releases one wakes this delivery. */
  | { kind: 'wait'; delayMs: number }
) & { notices: Notice[] };

/** How long a delivery waiting for an in-flight slot sleeps if no wake-up comes (a lost signal). */
const MAX_SLOT_WAIT_MS = 30_000;
/** How soon an attempt that another run superseded has the workflow look at the delivery again. */
const SUPERSEDED_RECHECK_MS = 1_000;

export function createDeliveryActivities(deps: DeliveryActivityDeps) {
  const { db, settings } = deps;

  /**
   * After a delivery frees a slot or ends: wakes the delivery waiting for that slot and the bulk
   * replay it belongs to. Best effort: a waiter that misses it looks again on its own timer (a
   * finished operation's workflow is gone).
   */
  async function wakeWaiters(deliveryId: string, w: { wakeWorkflowId: string | null; endedOperationId: string | null }): Promise<void> {
    if (w.wakeWorkflowId) {
      await wakeDelivery(deps.temporal, w.wakeWorkflowId).catch((err) =>
        deps.log(`delivery ${deliveryId}: could not wake ${w.wakeWorkflowId}: ${(err as Error).message}`),
      );
    }
    if (w.endedOperationId) {
      await wakeBulkReplay(deps.temporal, w.endedOperationId).catch((err) =>
        deps.log(`delivery ${deliveryId}: could not wake operation ${w.endedOperationId}: ${(err as Error).message}`),
      );
    }
  }

  /** Opens the keys that sign right now, newest first. */
  const signingSecrets = (w: WebhookRow) => activeKeys(w.signingKeys, Date.now()).map((k) => deps.secretBox.open(k.secret));

  function post(webhook: WebhookRow, event: { id: string; body: string }) {
    return postWebhook({
      url: webhook.url,
      body: event.body,
      headers: deliveryHeaders({
        body: event.body,
        eventId: event.id,
        timestampMs: Date.now(),
        secrets: signingSecrets(webhook),
        version: deps.version,
        customHeaders: webhook.customHeaders,
      }),
      timeoutMs: settings.timeoutMs,
      allowHttp: settings.allowHttp,
      allowPrivate: settings.allowPrivate,
    });
  }

  return {
    /**
     * One attempt: claim a slot under the endpoint's limits (one statement), POST the signed event,
     * record the result (one statement), and tell the workflow whether and when to come back. HTTP
     * failures are results, not exceptions; only infrastructure failures throw, and Temporal retries those.
     */
    attemptDelivery: heartbeating(async ({ deliveryId }: { deliveryId: string }): Promise<AttemptResult> => {
      const attemptId = newId('atm');
      const claimInput = {
        deliveryId,
        attemptId,
        leaseMs: settings.timeoutMs + 30_000,
        maxInFlight: settings.maxInFlight,
        maxPerMinute: settings.maxPerMinute,
      };
      let claim = await claimAttempt(db, claimInput);
      if (claim.kind === 'refused' && claim.missingSlots) {
        await ensureSlots(db, claim.missingSlots.webhookId, claim.missingSlots);
        claim = await claimAttempt(db, claimInput);
      }
      if (claim.kind === 'refused' && claim.reason === 'in_flight') {
        // Now queued as a waiter. A slot released while the refusal was in progress may have found
        // no waiter to wake: one more claim, after the registration committed, closes that gap.
        claim = await claimAttempt(db, claimInput);
      }

      if (claim.kind === 'early') return { kind: 'retry', delayMs: claim.retryInMs, notices: [] };
      if (claim.kind === 'gone') return { kind: 'done', status: 'cancelled', reason: 'the webhook was deleted', notices: [] };
      if (claim.kind === 'closed') {
        if (claim.status === 'succeeded' || claim.status === 'dead' || claim.status === 'cancelled') {
          return { kind: 'done', status: claim.status, notices: [] };
        }
        const reason = `the webhook is disabled${claim.webhook.disabledReason ? `: ${claim.webhook.disabledReason}` : ''}`;
        await cancelDelivery(db, deliveryId, reason);
        deps.metrics.deliveries.inc({ outcome: 'cancelled' });
        return { kind: 'done', status: 'cancelled', reason, notices: [] };
      }
      if (claim.kind === 'refused') {
        // Jitter spreads waiters released by the same per-minute window.
        const delayMs = claim.reason === 'per_minute' ? Math.round(claim.retryInMs * (1 + Math.random() * 0.1)) + 10 : MAX_SLOT_WAIT_MS;
        return { kind: 'wait', delayMs, notices: [] };
      }

      const { webhook, event } = claim;
      if (claim.attemptNumber === 1) deps.metrics.firstAttemptDelay.observe((Date.now() - claim.recordedAt.getTime()) / 1000);
      const sent = await post(webhook, event);
      deps.metrics.attempts.inc({ status_class: statusClass(sent.statusCode) });
      deps.metrics.attemptDuration.observe(sent.latencyMs / 1000);
      const outcome = decideOutcome({
        statusCode: sent.statusCode,
        error: sent.error,
        retryAfterSeconds: sent.retryAfterSeconds,
        attemptNumber: claim.attemptNumber,
        policy: webhook.retryPolicy ?? DEFAULT_RETRY_POLICY,
        maxRetryAfterSeconds: settings.maxRetryAfterSeconds,
      });
      const finished = await finishAttempt(db, {
        attemptId,
        deliveryId,
        webhookId: webhook.id,
        succeeded: outcome.status === 'succeeded',
        statusCode: sent.statusCode,
        latencyMs: Math.round(sent.latencyMs),
        error: sent.error,
        responseBody: sent.responseBody,
        deliveryStatus: outcome.status,
        deliveryError: outcome.status === 'dead' ? outcome.reason : sent.error,
        nextAttemptInMs: outcome.status === 'retrying' ? outcome.delayMs : null,
        disableWebhookReason: outcome.status === 'dead' && outcome.disableWebhook ? outcome.reason : null,
        autoDisableAfterHours: settings.autoDisableAfterHours,
      });
      await wakeWaiters(deliveryId, finished);
      // Marked lost before it finished: another run of this attempt took over (its workflow task was
      // taken for lost while this one still ran) and the delivery's row follows that run now. What
      // this one saw must not end the workflow: look again shortly, when the claim reads the row
      // (ended, due, or not due yet).
      if (!finished.recorded) return { kind: 'retry', delayMs: SUPERSEDED_RECHECK_MS, notices: [] };

      const notices: Notice[] = [];
      const about = { webhookId: webhook.id, url: webhook.url, deliveryId, eventId: event.id, attemptId };
      if (finished.transition === 'failing') notices.push({ type: 'webhook.failing', ...about, error: sent.error ?? `HTTP ${sent.statusCode}` });
      if (finished.transition === 'recovered') notices.push({ type: 'webhook.recovered', ...about });
      if (finished.transition === 'disabled') notices.push({ type: 'webhook.disabled', ...about, reason: finished.disabledReason ?? '' });
      // An operational event that dies yields no further event: no loops between failing subscribers.
      if (outcome.status === 'dead' && !isOperationalEvent(event.type)) {
        notices.push({ type: 'delivery.dead', ...about, eventType: event.type, reason: outcome.reason, attempts: claim.attemptNumber });
      }
      if (outcome.status === 'retrying') return { kind: 'retry', delayMs: outcome.delayMs, notices };
      deps.metrics.deliveries.inc({ outcome: outcome.status });
      return outcome.status === 'dead'
        ? { kind: 'done', status: 'dead', reason: outcome.reason, notices }
        : { kind: 'done', status: 'succeeded', notices };
    }),

    /**
     * Ends a delivery whose workflow was cancelled (the Temporal UI's Cancel), unless it already ended:
     * left pending or retrying, it would reach neither recovery, nor retention, nor the end of a bulk
     * replay. Returns the delivery's status now (null when it is gone).
     */
    async endCancelledDelivery({ deliveryId }: { deliveryId: string }): Promise<DeliveryStatus | null> {
      const ended = await abandonDelivery(db, deliveryId, 'the delivery workflow was cancelled');
      if (ended.cancelled) deps.metrics.deliveries.inc({ outcome: 'cancelled' });
      await wakeWaiters(deliveryId, ended);
      return ended.status;
    },

    /**
     * Publishes the operational events an attempt gave rise to, to the org's other subscribers and
     * its stream. Ids derive from the attempt, so a retry publishes each once.
     */
    async publishNotices({ deliveryId, notices }: { deliveryId: string; notices: Notice[] }): Promise<void> {
      const organizationId = await deps.dispatcher.organizationOfDelivery(deliveryId);
      if (!organizationId) return;
      for (const { type, attemptId, ...data } of notices) {
        await deps.dispatcher.publish(
          organizationId,
          { type, data },
          { eventId: derivedId('evt', attemptId, type), excludeWebhookId: data.webhookId },
        );
      }
    },
  };
}

export type DeliveryActivities = ReturnType<typeof createDeliveryActivities>;
