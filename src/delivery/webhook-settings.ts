import type { Db } from '../db/pool.js';
import {
  findWebhook,
  insertWebhook,
  updateWebhook,
  type WebhookChanges,
  type WebhookRow,
} from '../db/webhooks.js';
import { checkTargetUrl } from '../domain/target-policy.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../domain/retry-policy.js';
import { generateWebhookSecret, type SecretBox } from '../domain/secrets.js';
import { newId } from '../domain/ids.js';
import { invalid, notFound } from '../errors.js';

export interface WebhookInput {
  url: string;
  events: string[];
  sessionId?: string | null;
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
}

/**
 * Creating, changing and re-keying webhooks: the rules both the gateway routes and the chatbot-compatible
 * routes go through. Secrets are sealed before they reach the database and leave only once, at creation
 * or rotation, and only when hookwise generated them.
 */
export function createWebhookSettings(deps: WebhookSettingsDeps) {
  const { db, secretBox } = deps;

  function checkUrl(url: string): void {
    const check = checkTargetUrl(url, { allowHttp: deps.allowHttp, allowPrivate: deps.allowPrivate });
    if (!check.ok) throw invalid(check.reason, { field: 'url' });
  }

  return {
    async create(organizationId: string, input: WebhookInput): Promise<{ webhook: WebhookRow; generatedSecret: string | null }> {
      checkUrl(input.url);
      const generatedSecret = input.secret ? null : generateWebhookSecret();
      const webhook = await insertWebhook(db, {
        id: newId('wh'),
        organizationId,
        name: input.name ?? null,
        url: input.url,
        events: input.events,
        sessionId: input.sessionId ?? null,
        secretSealed: secretBox.seal(input.secret ?? generatedSecret!),
        customHeaders: input.customHeaders ?? {},
        retryPolicy: input.retryPolicy ?? DEFAULT_RETRY_POLICY,
        maxInFlight: input.rateLimit?.maxInFlight ?? null,
        maxPerMinute: input.rateLimit?.maxPerMinute ?? null,
        active: input.active ?? true,
      });
      return { webhook, generatedSecret };
    },

    async change(organizationId: string, id: string, input: Partial<Omit<WebhookInput, 'secret'>>): Promise<WebhookRow> {
      if (input.url !== undefined) checkUrl(input.url);
      const changes: WebhookChanges = {
        url: input.url,
        events: input.events,
        sessionId: input.sessionId,
        customHeaders: input.customHeaders,
        retryPolicy: input.retryPolicy,
        name: input.name,
        active: input.active,
        maxInFlight: input.rateLimit?.maxInFlight,
        maxPerMinute: input.rateLimit?.maxPerMinute,
      };
      const updated = await updateWebhook(db, organizationId, id, changes);
      if (!updated) throw notFound('webhook');
      return updated;
    },

    /**
     * Makes a new secret current; the old one keeps signing alongside it for the overlap window so
     * receivers can switch without rejecting deliveries.
     */
    async rotateSecret(
      organizationId: string,
      id: string,
      secret?: string,
    ): Promise<{ webhook: WebhookRow; generatedSecret: string | null }> {
      const current = await findWebhook(db, organizationId, id);
      if (!current) throw notFound('webhook');
      const generatedSecret = secret ? null : generateWebhookSecret();
      const webhook = await updateWebhook(db, organizationId, id, {
        secretSealed: secretBox.seal(secret ?? generatedSecret!),
        previousSecretSealed: current.secretSealed,
        previousSecretExpiresAt: new Date(Date.now() + deps.rotationOverlapSeconds * 1000),
      });
      if (!webhook) throw notFound('webhook');
      return { webhook, generatedSecret };
    },
  };
}

export type WebhookSettings = ReturnType<typeof createWebhookSettings>;
