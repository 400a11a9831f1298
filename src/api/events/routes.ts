import { z } from 'zod';
import { doc } from '../openapi.js';
import { requireCapability } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';
import { parse } from '../validate.js';
import { storableString } from '../../domain/storable-text.js';
import { reservedEventType } from '../../domain/reserved-event-types.js';
import { startDelivery } from '../../flows/delivery.js';

const publishSchema = z
  .object({
    type: storableString()
      .min(1)
      .max(200)
      .superRefine((type, ctx) => {
        const reserved = reservedEventType(type);
        if (reserved) ctx.addIssue({ code: 'custom', message: `"${reserved}" is reserved for events hookwise publishes itself; choose another type` });
      }),
    sessionId: storableString().min(1).max(200).nullable().optional(),
    data: z.unknown().refine((d) => d !== undefined, 'is required'),
  })
  .strict();

export function eventRoutes(router: ApiRouter, { db, dispatcher, starter, temporal }: ApiDeps): void {
  router.post('/events', doc({ summary: 'Publish an event to every matching webhook of the org', body: publishSchema, status: 202, response: 'The event envelope with `deliveries: [ids]`' }), requireCapability('send'), async (ctx) => {
    const input = parse(publishSchema, ctx.request.body);
    // 202 once the event and its deliveries are committed; each delivery then runs in its own workflow.
    // As on the inbound routes, the starts run after the answer (the recovery loop starts any that a
    // crash leaves behind): a slow Temporal must not hold the publisher up to its timeout, because its
    // retry would publish the event a second time.
    const { event, toStart } = await dispatcher.record(db, ctx.state.principal.organizationId, input);
    for (const d of toStart) starter.submit('delivery', `delivery ${d.id}`, () => startDelivery(temporal, d));
    ctx.status = 202;
    ctx.body = { ...event, deliveries: toStart.map((d) => d.id) };
  });
}
