import { withTransaction, type Db } from '../db/pool.js';
import { insertWebhook, updateSigningKeys, updateWebhook, type WebhookChanges, type WebhookWithStats } from '../db/webhooks.js';
import { ensureSlots } from '../db/delivery-attempts.js';
import { rotateKeys, singleKey } from '../domain/signing-keys.js';
import { checkTargetUrl } from '../domain/target-policy.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../domain/retry-policy.js';
import { generateWebhookSecret, type SecretBox } from '../domain/secrets.js';
import { newId } from '../domain/ids.js';
import type { Rule } from '../domain/rules.js';
import { invalid, notFound } from '../errors.js';

export interface WebhookInput {
  url: string;
  events: string[];
  sessionId?: string | null;
  filter?: Rule | null;
  secret?: string;
  customHeaders?: Record<string, string>;
  retryPolicy?: RetryPolicy;
  name?: string | null;
  active?: boolean;
  rateLimit?: { maxInFlight?: number | null; maxPerMinute?: number | null };
}

export interface WebhookSettingsDeps {
  db: Db;
  secretBox: SecretBox;
  allowHttp: boolean;
  allowPrivate: boolean;
  rotationOverlapSeconds: number;
  /** The deployment's per-endpoint limits, for webhooks that set none. */
  defaultLimits: { inFlight: number; perMinute: number };
}

/**
 * Creating, changing and re-keying webhooks: the rules both the gateway routes and the chatbot-compatible
 * routes go through. Secrets are sealed before they reach the database and leave only once, at creation
 * or rotation, and only when hookwise generated them.
 */
export function createWebhookSettings(deps: WebhookSettingsDeps) {
  const { db, secretBox } = deps;

  /** Slot rows for the webhook's limits exist from the start, so its first delivery never waits for them. */
  const slotsFor = (w: WebhookWithStats) =>
    ensureSlots(db, w.id, {
      inFlight: w.maxInFlight ?? deps.defaultLimits.inFlight,
      perMinute: w.maxPerMinute ?? deps.defaultLimits.perMinute,
    });

  function checkUrl(url: string): void {
    const check = checkTargetUrl(url, { allowHttp: deps.allowHttp, allowPrivate: deps.allowPrivate });
    if (!check.ok) throw invalid(check.reason, { field: 'url' });
  }

  return {
    async create(organizationId: string, input: WebhookInput): Promise<{ webhook: WebhookWithStats; generatedSecret: string | null }> {
      checkUrl(input.url);
      const generatedSecret = input.secret ? null : generateWebhookSecret();
      const webhook = await insertWebhook(db, {
        id: newId('wh'),
        organizationId,
        name: input.name ?? null,
        url: input.url,
        events: input.events,
        sessionId: input.sessionId ?? null,
        filter: input.filter ?? null,
        signingKeys: singleKey(secretBox.seal(input.secret ?? generatedSecret!), Date.now()),
        customHeaders: input.customHeaders ?? {},
        retryPolicy: input.retryPolicy ?? DEFAULT_RETRY_POLICY,
        maxInFlight: input.rateLimit?.maxInFlight ?? null,
        maxPerMinute: input.rateLimit?.maxPerMinute ?? null,
        active: input.active ?? true,
      });
      await slotsFor(webhook);
      return { webhook, generatedSecret };
    },

    async change(organizationId: string, id: string, input: Partial<Omit<WebhookInput, 'secret'>>): Promise<WebhookWithStats> {
      if (input.url !== undefined) checkUrl(input.url);
      const changes: WebhookChanges = {
        url: input.url,
        events: input.events,
        sessionId: input.sessionId,
        filter: input.filter,
        customHeaders: input.customHeaders,
        retryPolicy: input.retryPolicy,
        name: input.name,
        active: input.active,
        maxInFlight: input.rateLimit?.maxInFlight,
        maxPerMinute: input.rateLimit?.maxPerMinute,
      };
      const updated = await updateWebhook(db, organizationId, id, changes);
      if (!updated) throw notFound('webhook');
      if (input.rateLimit) await slotsFor(updated);
      return updated;
    },

    /**
     * Makes a new secret current. Every key still active keeps signing `webhook-signature` alongside it
     * until the overlap window ends, so receivers verifying Standard Webhooks switch without rejecting
     * deliveries, even across two rotations; the single-valued seed headers take the new secret at once.
     */
    async rotateSecret(
      organizationId: string,
      id: string,
      secret?: string,
    ): Promise<{ webhook: WebhookWithStats; generatedSecret: string | null }> {
      const generatedSecret = secret ? null : generateWebhookSecret();
      const sealed = secretBox.seal(secret ?? generatedSecret!);
      const webhook = await withTransaction(db, (tx) =>
        updateSigningKeys(tx, organizationId, id, (keys) => rotateKeys(keys, sealed, Date.now(), deps.rotationOverlapSeconds * 1000)),
      );
      if (!webhook) throw notFound('webhook');
      return { webhook, generatedSecret };
    },
  };
}

export type WebhookSettings = ReturnType<typeof createWebhookSettings>;
