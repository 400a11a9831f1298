import { findDelivery, listAttempts } from '../../db/deliveries.js';
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
  router.get('/deliveries', manage, async (ctx) => {
    ctx.body = await deliveryPage(db, ctx.state.principal.organizationId, parse(listDeliveriesQuery, ctx.query));
  });

  router.get('/deliveries/:id', manage, async (ctx) => {
    const delivery = await findDelivery(db, ctx.state.principal.organizationId, ctx.params.id);
    if (!delivery) throw notFound('delivery');
    ctx.body = presentDelivery(delivery, await listAttempts(db, delivery.id));
  });

  router.post('/deliveries/:id/replay', manage, async (ctx) => {
    const result = await dispatcher.replay(ctx.state.principal.organizationId, ctx.params.id);
    if (result.kind === 'not_found') throw notFound('delivery');
    if (result.kind === 'webhook_disabled') throw webhookDisabled(result.reason);
    // Gone already: its webhook was deleted while the replay was being recorded (the rows cascade).
    if (!result.delivery) throw notFound('delivery');
    ctx.status = 202;
    ctx.body = presentDelivery(result.delivery);
  });

  router.get('/dead-letters', manage, async (ctx) => {
    ctx.body = await deliveryPage(db, ctx.state.principal.organizationId, parse(listDeliveriesQuery, ctx.query), { status: 'dead' });
  });
}
