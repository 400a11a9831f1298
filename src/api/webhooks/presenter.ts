import type { WebhookRow } from '../../db/webhooks.js';

const ms = (d: Date | null) => (d ? d.getTime() : null);

/** The gateway seed's webhook shape; timestamps are epoch milliseconds, and never a secret. */
export function presentWebhook(w: WebhookRow) {
  return {
    id: w.id,
    organizationId: w.organizationId,
    name: w.name,
    url: w.url,
    events: w.events,
    sessionId: w.sessionId,
    customHeaders: w.customHeaders,
    retryPolicy: w.retryPolicy,
    rateLimit: { maxInFlight: w.maxInFlight, maxPerMinute: w.maxPerMinute },
    active: w.active,
    disabledReason: w.disabledReason,
    successCount: w.successCount,
    failureCount: w.failureCount,
    lastTriggeredAt: ms(w.lastTriggeredAt),
    lastSuccessAt: ms(w.lastSuccessAt),
    previousSecretExpiresAt:
      w.previousSecretExpiresAt && w.previousSecretExpiresAt.getTime() > Date.now() ? ms(w.previousSecretExpiresAt) : null,
    createdAt: ms(w.createdAt),
    updatedAt: ms(w.updatedAt),
  };
}
