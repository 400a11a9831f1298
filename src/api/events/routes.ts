import { z } from 'zod';
import { doc } from '../openapi.js';
import { requireCapability } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';
import { parse } from '../validate.js';
import { storableString } from '../../domain/storable-text.js';

const publishSchema = z
  .object({
    type: storableString().min(1).max(200),
    sessionId: storableString().min(1).max(200).nullable().optional(),
    data: z.unknown().refine((d) => d !== undefined, 'is required'),
  })
  .strict();

export function eventRoutes(router: ApiRouter, { dispatcher }: ApiDeps): void {
  router.post('/events', doc({ summary: 'Publish an event to every matching webhook of the org', body: publishSchema, status: 202, response: 'The event envelope with `deliveries: [ids]`' }), requireCapability('send'), async (ctx) => {
    const input = parse(publishSchema, ctx.request.body);
    const { event, deliveryIds } = await dispatcher.publish(ctx.state.principal.organizationId, input);
    // 202: recorded durably; deliveries run in their own workflows.
    ctx.status = 202;
    ctx.body = { ...event, deliveries: deliveryIds };
  });
}
