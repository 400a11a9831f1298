import { z } from 'zod';
import { doc } from '../openapi.js';
import { deleteWebhook, findWebhook, listWebhooks, type WebhookWithStats } from '../../db/webhooks.js';
import { maxAttempts, type RetryPolicy } from '../../domain/retry-policy.js';
import { notFound } from '../../errors.js';
import { requireCapability } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';
import { parse } from '../validate.js';
import { storableString } from '../../domain/storable-text.js';

// The signed-lead seed's surface, `/chatbots/:chatbotId/webhooks`, mapped onto the same webhooks:
// the chatbot id is the session scope, `maxRetries` counts retries after the first attempt, and
// `retryDelay` (ms) is the first delay of the exponential schedule.

const fields = {
  name: storableString().max(200).optional(),
  url: storableString().max(2048).url('must be an absolute URL'),
  eventTypes: z.array(storableString().min(1).max(200)).min(1).max(200),
  maxRetries: z.number().int().min(0).max(99).optional(),
  retryDelay: z.number().int().min(0).max(86_400_000).optional(),
  isActive: z.boolean().optional(),
};
const createSchema = z.object(fields).strict();
const updateSchema = z
  .object({ ...fields, url: fields.url.optional(), eventTypes: fields.eventTypes.optional() })
  .strict();

const DEFAULTS = { maxRetries: 3, retryDelay: 1000 };

function toRetryPolicy(maxRetries: number, retryDelayMs: number): RetryPolicy {
  return { policy: 'exponential', attempts: maxRetries + 1, delaySeconds: retryDelayMs / 1000 };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function present(w: WebhookWithStats) {
  return {
    id: w.id,
    name: w.name,
    url: w.url,
    eventTypes: w.events,
    isActive: w.active,
    maxRetries: maxAttempts(w.retryPolicy) - 1,
    retryDelay: Math.round((w.retryPolicy.delaySeconds ?? w.retryPolicy.scheduleSeconds?.[0] ?? 2) * 1000),
    successCount: w.successCount,
    failureCount: w.failureCount,
    lastTriggeredAt: iso(w.lastTriggeredAt),
    lastSuccessAt: iso(w.lastSuccessAt),
    createdAt: iso(w.createdAt),
    updatedAt: iso(w.updatedAt),
  };
}

export function chatbotWebhookRoutes(router: ApiRouter, { db, webhookSettings }: ApiDeps): void {
  const manage = requireCapability('manage');
  const base = '/chatbots/:chatbotId/webhooks';

  async function findForChatbot(organizationId: string, chatbotId: string, id: string): Promise<WebhookWithStats> {
    const webhook = await findWebhook(db, organizationId, id);
    if (!webhook || webhook.sessionId !== chatbotId) throw notFound('webhook');
    return webhook;
  }

  router.get(base, doc({ summary: 'List a chatbot’s webhooks (signed-lead seed surface)', response: '`{webhooks, total}`' }), manage, async (ctx) => {
    const webhooks = await listWebhooks(db, ctx.state.principal.organizationId, { sessionId: ctx.params.chatbotId });
    ctx.body = { webhooks: webhooks.map(present), total: webhooks.length };
  });

  router.post(base, doc({ summary: 'Create a chatbot webhook (signed-lead seed surface)', body: createSchema, status: 201, response: '`{message, webhook, security}`; `webhook.secret` is shown only here' }), manage, async (ctx) => {
    const input = parse(createSchema, ctx.request.body);
    const { webhook, generatedSecret } = await webhookSettings.create(ctx.state.principal.organizationId, {
      name: input.name,
      url: input.url,
      events: input.eventTypes,
      sessionId: ctx.params.chatbotId,
      active: input.isActive,
      retryPolicy: toRetryPolicy(input.maxRetries ?? DEFAULTS.maxRetries, input.retryDelay ?? DEFAULTS.retryDelay),
    });
    ctx.status = 201;
    ctx.body = {
      message: 'Webhook created successfully',
      webhook: { ...present(webhook), secret: generatedSecret },
      security: {
        note: 'Store the secret securely. It will not be shown again.',
        headerName: 'X-Webhook-Signature',
        format: 'sha256=<hmac_signature>',
      },
    };
  });

  router.get(`${base}/:id`, doc({ summary: 'Get a chatbot webhook', response: '`{webhook}`' }), manage, async (ctx) => {
    const { organizationId } = ctx.state.principal;
    ctx.body = { webhook: present(await findForChatbot(organizationId, ctx.params.chatbotId, ctx.params.id)) };
  });

  const update = async (ctx: Parameters<Parameters<ApiRouter['put']>[2]>[0]) => {
    const { organizationId } = ctx.state.principal;
    const input = parse(updateSchema, ctx.request.body);
    const current = await findForChatbot(organizationId, ctx.params.chatbotId, ctx.params.id);
    const retryChanged = input.maxRetries !== undefined || input.retryDelay !== undefined;
    const now = present(current);
    const webhook = await webhookSettings.change(organizationId, current.id, {
      name: input.name,
      url: input.url,
      events: input.eventTypes,
      active: input.isActive,
      retryPolicy: retryChanged
        ? toRetryPolicy(input.maxRetries ?? now.maxRetries, input.retryDelay ?? now.retryDelay)
        : undefined,
    });
    ctx.body = { message: 'Webhook updated successfully', webhook: present(webhook) };
  };
  router.put(`${base}/:id`, doc({ summary: 'Change a chatbot webhook', body: updateSchema, response: '`{message, webhook}`' }), manage, update);
  router.patch(`${base}/:id`, doc({ summary: 'Change a chatbot webhook', body: updateSchema, response: '`{message, webhook}`' }), manage, update);

  router.delete(`${base}/:id`, doc({ summary: 'Delete a chatbot webhook', response: '`{message}`' }), manage, async (ctx) => {
    const { organizationId } = ctx.state.principal;
    const webhook = await findForChatbot(organizationId, ctx.params.chatbotId, ctx.params.id);
    await deleteWebhook(db, organizationId, webhook.id);
    ctx.body = { message: 'Webhook deleted successfully' };
  });
}
