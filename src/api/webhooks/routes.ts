import { findWebhook, listWebhooks, deleteWebhook } from '../../db/webhooks.js';
import { doc } from '../openapi.js';
import { AppError, notFound } from '../../errors.js';
import { requireCapability } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';
import { parse } from '../validate.js';
import { deliveryPage } from '../deliveries/page.js';
import { presentWebhook } from './presenter.js';
import { createWebhookSchema, listDeliveriesQuery, rotateSecretSchema, updateWebhookSchema } from './schema.js';

export function webhookRoutes(router: ApiRouter, { db, dispatcher, webhookSettings }: ApiDeps): void {
  const manage = requireCapability('manage');

  router.post('/webhooks', doc({ summary: 'Create a webhook', body: createWebhookSchema, status: 201, response: 'The webhook; a generated `secret` is in this answer only' }), manage, async (ctx) => {
    const input = parse(createWebhookSchema, ctx.request.body);
    const { webhook, generatedSecret } = await webhookSettings.create(ctx.state.principal.organizationId, input);
    ctx.status = 201;
    // The generated secret is shown here once; a caller-set secret is never echoed.
    ctx.body = { ...presentWebhook(webhook), ...(generatedSecret ? { secret: generatedSecret } : {}) };
  });

  router.get('/webhooks', doc({ summary: 'List the org’s webhooks with their statistics', response: '`{data: [webhooks], nextCursor}`' }), manage, async (ctx) => {
    const webhooks = await listWebhooks(db, ctx.state.principal.organizationId);
    ctx.body = { data: webhooks.map(presentWebhook), nextCursor: '' };
  });

  router.get('/webhooks/:id', doc({ summary: 'Get a webhook', response: 'The webhook' }), manage, async (ctx) => {
    const webhook = await findWebhook(db, ctx.state.principal.organizationId, ctx.params.id);
    if (!webhook) throw notFound('webhook');
    ctx.body = presentWebhook(webhook);
  });

  router.patch('/webhooks/:id', doc({ summary: 'Change a webhook; `{"active": true}` re-enables a disabled one', body: updateWebhookSchema, response: 'The webhook' }), manage, async (ctx) => {
    const input = parse(updateWebhookSchema, ctx.request.body);
    ctx.body = presentWebhook(await webhookSettings.change(ctx.state.principal.organizationId, ctx.params.id, input));
  });

  router.delete('/webhooks/:id', doc({ summary: 'Delete a webhook', status: 204 }), manage, async (ctx) => {
    if (!(await deleteWebhook(db, ctx.state.principal.organizationId, ctx.params.id))) throw notFound('webhook');
    ctx.status = 204;
  });

  router.post('/webhooks/:id/rotate-secret', doc({ summary: 'Rotate the signing secret; active keys keep signing webhook-signature for the overlap window', body: rotateSecretSchema, response: 'The webhook, plus `secret` if it was generated' }), manage, async (ctx) => {
    const { secret } = parse(rotateSecretSchema, ctx.request.body);
    const { webhook, generatedSecret } = await webhookSettings.rotateSecret(
      ctx.state.principal.organizationId,
      ctx.params.id,
      secret,
    );
    ctx.body = { ...presentWebhook(webhook), ...(generatedSecret ? { secret: generatedSecret } : {}) };
  });

  router.post('/webhooks/:id/test', doc({ summary: 'Send a webhook.test event to this webhook now', status: 202, response: '`{event, deliveryId}`', errors: { 409: 'The webhook is disabled' } }), manage, async (ctx) => {
    const { organizationId } = ctx.state.principal;
    const webhook = await findWebhook(db, organizationId, ctx.params.id);
    if (!webhook) throw notFound('webhook');
    if (!webhook.active) throw webhookDisabled(webhook.disabledReason);
    const { event, deliveryIds } = await dispatcher.publish(
      organizationId,
      {
        type: 'webhook.test',
        sessionId: webhook.sessionId,
        data: { webhookId: webhook.id, message: 'This is a test event from hookwise.' },
      },
      { onlyWebhookId: webhook.id },
    );
    ctx.status = 202;
    ctx.body = { event, deliveryId: deliveryIds[0] };
  });

  router.get('/webhooks/:id/deliveries', doc({ summary: 'List a webhook’s deliveries, newest first', query: listDeliveriesQuery, response: '`{data: [deliveries], nextCursor}`' }), manage, async (ctx) => {
    const { organizationId } = ctx.state.principal;
    const query = parse(listDeliveriesQuery, ctx.query);
    if (!(await findWebhook(db, organizationId, ctx.params.id))) throw notFound('webhook');
    ctx.body = await deliveryPage(db, organizationId, query, { webhookId: ctx.params.id });
  });
}

export const webhookDisabled = (reason: string | null) =>
  new AppError('conflict', `the webhook is disabled${reason ? ` (${reason})` : ''}; PATCH it with {"active": true} first`);
