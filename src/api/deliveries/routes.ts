import { findDelivery, listAttempts } from '../../db/deliveries.js';
import { doc } from '../openapi.js';
import { notFound } from '../../errors.js';
import { requireCapability } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';
import { parse } from '../validate.js';
import { listDeliveriesQuery } from '../webhooks/schema.js';
import { webhookDisabled } from '../webhooks/routes.js';
import { presentDelivery } from './presenter.js';
import { deliveryPage } from './page.js';

export function deliveryRoutes(router: ApiRouter, { db, dispatcher }: ApiDeps): void {
  const manage = requireCapability('manage');

  // Filter by status, webhook, event type and time; page with `cursor`.
  router.get('/deliveries', doc({ summary: 'List deliveries, filtered by status, webhook, event type and time, newest first', query: listDeliveriesQuery, response: '`{data: [deliveries], nextCursor}`' }), manage, async (ctx) => {
    ctx.body = await deliveryPage(db, ctx.state.principal.organizationId, parse(listDeliveriesQuery, ctx.query));
  });

  router.get('/deliveries/:id', doc({ summary: 'Get a delivery with every attempt', response: 'The delivery with `attempts`' }), manage, async (ctx) => {
    const delivery = await findDelivery(db, ctx.state.principal.organizationId, ctx.params.id);
    if (!delivery) throw notFound('delivery');
    ctx.body = presentDelivery(delivery, await listAttempts(db, delivery.id));
  });

  router.post('/deliveries/:id/replay', doc({ summary: 'Replay a delivery: a new delivery of the same event', status: 202, response: 'The new delivery', errors: { 409: 'The webhook is disabled' } }), manage, async (ctx) => {
    const result = await dispatcher.replay(ctx.state.principal.organizationId, ctx.params.id);
    if (result.kind === 'not_found') throw notFound('delivery');
    if (result.kind === 'webhook_disabled') throw webhookDisabled(result.reason);
    // Gone already: its webhook was deleted while the replay was being recorded (the rows cascade).
    // (`already_replayed` is an operation's answer; a replay asked for here has no operation.)
    if (result.kind !== 'ok' || !result.delivery) throw notFound('delivery');
    ctx.status = 202;
    ctx.body = presentDelivery(result.delivery);
  });

  router.get('/dead-letters', doc({ summary: 'List dead letters (deliveries that gave up), newest first', query: listDeliveriesQuery, response: '`{data: [deliveries], nextCursor}`' }), manage, async (ctx) => {
    ctx.body = await deliveryPage(db, ctx.state.principal.organizationId, parse(listDeliveriesQuery, ctx.query), { status: 'dead' });
  });
}
