import type { Db } from '../src/db/pool.js';
import type { SecretBox } from '../src/domain/secrets.js';
import { beginAttempt, cancelDelivery, finishAttempt, loadDeliveryContext } from '../src/db/delivery-attempts.js';
import { decideOutcome } from '../src/domain/delivery-outcome.js';
import { deliveryHeaders } from '../src/domain/signing.js';
import { DEFAULT_RETRY_POLICY } from '../src/domain/retry-policy.js';
import { postWebhook } from '../src/delivery/http-sender.js';
import type { WebhookRow } from '../src/db/webhooks.js';

export interface DeliveryActivityDeps {
  db: Db;
  secretBox: SecretBox;
  version: string;
  settings: {
    timeoutMs: number;
    /** An in-flight attempt older than this is from a lost worker (the activity's own timeout). */
    attemptTimeoutMs: number;
    allowHttp: boolean;
    allowPrivate: boolean;
    maxInFlight: number;
    maxPerMinute: number;
    maxRetryAfterSeconds: number;
  };
}

export type AttemptResult =
  | { kind: 'done'; status: 'succeeded' | 'dead' | 'cancelled'; reason?: string }
  | { kind: 'wait'; delayMs: number; throttled: boolean };

/** Polling back-off for a delivery waiting on its endpoint's in-flight limit. */
const IN_FLIGHT_WAIT_MS = { first: 100, max: 5_000 };

export function createDeliveryActivities(deps: DeliveryActivityDeps) {
  const { db, settings } = deps;

  /** The secrets that sign right now, newest first: the previous one only within its overlap window. */
  function signingSecrets(w: WebhookRow): string[] {
    const secrets = [deps.secretBox.open(w.secretSealed)];
    if (w.previousSecretSealed && w.previousSecretExpiresAt && w.previousSecretExpiresAt.getTime() > Date.now()) {
      secrets.push(deps.secretBox.open(w.previousSecretSealed));
    }
    return secrets;
  }

  return {
    /**
     * One attempt to deliver: take a slot under the endpoint's limits, POST the signed event, record the
     * result, and tell the workflow whether and when to come back. HTTP failures are results, not
     * exceptions; only infrastructure failures (the database) throw, and Temporal retries those.
     */
    async attemptDelivery(input: { deliveryId: string; throttleStreak: number }): Promise<AttemptResult> {
      const ctx = await loadDeliveryContext(db, input.deliveryId);
      if (!ctx) return { kind: 'done', status: 'cancelled', reason: 'the webhook was deleted' };
      const { delivery, event, webhook } = ctx;
      // A retried activity may find its own earlier run already recorded the end.
      if (delivery.status === 'succeeded' || delivery.status === 'dead' || delivery.status === 'cancelled') {
        return { kind: 'done', status: delivery.status };
      }
      if (!webhook.active) {
        const reason = `the webhook is disabled${webhook.disabledReason ? `: ${webhook.disabledReason}` : ''}`;
        await cancelDelivery(db, delivery.id, reason);
        return { kind: 'done', status: 'cancelled', reason };
      }

      const slot = await beginAttempt(db, {
        deliveryId: delivery.id,
        webhookId: webhook.id,
        maxInFlight: webhook.maxInFlight ?? settings.maxInFlight,
        maxPerMinute: webhook.maxPerMinute ?? settings.maxPerMinute,
        staleAfterMs: settings.attemptTimeoutMs,
      });
      if (!slot.granted) {
        const backoff = Math.min(IN_FLIGHT_WAIT_MS.first * 2 ** input.throttleStreak, IN_FLIGHT_WAIT_MS.max);
        const delayMs = slot.reason === 'per_minute' ? slot.retryInMs : backoff;
        // Jitter spreads the waiters so they don't all come back in the same instant.
        return { kind: 'wait', delayMs: Math.round(delayMs * (1 + Math.random() * 0.2)), throttled: true };
      }

      const timestampMs = Date.now();
      const sent = await postWebhook({
        url: webhook.url,
        body: event.body,
        headers: deliveryHeaders({
          body: event.body,
          eventId: event.id,
          timestampMs,
          secrets: signingSecrets(webhook),
          version: deps.version,
          customHeaders: webhook.customHeaders,
        }),
        timeoutMs: settings.timeoutMs,
        allowHttp: settings.allowHttp,
        allowPrivate: settings.allowPrivate,
      });

      const outcome = decideOutcome({
        statusCode: sent.statusCode,
        error: sent.error,
        retryAfterSeconds: sent.retryAfterSeconds,
        attemptNumber: slot.attemptNumber,
        policy: webhook.retryPolicy ?? DEFAULT_RETRY_POLICY,
        maxRetryAfterSeconds: settings.maxRetryAfterSeconds,
      });
      await finishAttempt(db, {
        attemptId: slot.attemptId,
        deliveryId: delivery.id,
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
      });
      if (outcome.status === 'retrying') return { kind: 'wait', delayMs: outcome.delayMs, throttled: false };
      return outcome.status === 'dead'
        ? { kind: 'done', status: 'dead', reason: outcome.reason }
        : { kind: 'done', status: 'succeeded' };
    },
  };
}

export type DeliveryActivities = ReturnType<typeof createDeliveryActivities>;
