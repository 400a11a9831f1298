import type { WebhookWithStats } from '../../db/webhooks.js';
import { activeKeys } from '../../domain/signing-keys.js';

const ms = (d: Date | null) => (d ? d.getTime() : null);

/** The gateway seed's webhook shape; timestamps are epoch milliseconds, and never a secret. */
export function presentWebhook(w: WebhookWithStats) {
  const keys = activeKeys(w.signingKeys, Date.now());
  return {
    id: w.id,
    organizationId: w.organizationId,
    name: w.name,
    url: w.url,
    events: w.events,
    sessionId: w.sessionId,
    filter: w.filter,
    customHeaders: w.customHeaders,
    retryPolicy: w.retryPolicy,
    rateLimit: { maxInFlight: w.maxInFlight, maxPerMinute: w.maxPerMinute },
    active: w.active,
    disabledReason: w.disabledReason,
    successCount: w.successCount,
    failureCount: w.failureCount,
    lastTriggeredAt: ms(w.lastTriggeredAt),
    lastSuccessAt: ms(w.lastSuccessAt),
    failingSince: ms(w.failingSince),
    // Secrets never leave; when each active key was made and when it stops signing does.
    signingKeys: keys.map((k) => ({ createdAt: k.createdAt, expiresAt: k.expiresAt })),
    previousSecretExpiresAt: keys[1]?.expiresAt ?? null,
    createdAt: ms(w.createdAt),
    updatedAt: ms(w.updatedAt),
  };
}
