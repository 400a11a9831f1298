import { findDelivery, listAttempts, listDeliveries } from '../../db/deliveries.js';
import { notFound } from '../../errors.js';
import { requireCapability } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';
import { parse } from '../validate.js';
import { listDeliveriesQuery } from '../webhooks/schema.js';
import { webhookDisabled } from '../webhooks/routes.js';
import { presentDelivery } from './presenter.js';

export function deliveryRoutes(router: ApiRouter, { db, dispatcher }: ApiDeps): void {
  const manage = requireCapability('manage');

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
    const { limit } = parse(listDeliveriesQuery, ctx.query);
    const dead = await listDeliveries(db, ctx.state.principal.organizationId, { status: 'dead', limit });
    ctx.body = { data: dead.map((d) => presentDelivery(d)), nextCursor: '' };
  });
}
