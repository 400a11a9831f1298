import { z } from 'zod';
import { doc } from '../openapi.js';
import { requireCapability } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';
import { parse } from '../validate.js';
import { invalid, notFound } from '../../errors.js';
import { findEventWithDeliveryCounts } from '../../db/events.js';
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

/** The IETF draft's `Idempotency-Key` request header, bounded like any value a caller controls. */
const publishHeaders = z.object({
  'Idempotency-Key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x20-\x7E]+$/, 'must be printable ASCII')
    .optional()
    .describe('A publish repeated with the same key (a retry after a lost answer) records nothing new and gets the first answer again, with `Idempotent-Replayed: true`. The same key with another type, session or data is a 422. Remembered as long as the event is kept.'),
});

export function eventRoutes(router: ApiRouter, { db, dispatcher, starter, temporal }: ApiDeps): void {
  router.post('/events', doc({ summary: 'Publish an event to every matching webhook of the org', body: publishSchema, headers: publishHeaders, status: 202, response: 'The event envelope with `deliveries: [ids]`' }), requireCapability('send'), async (ctx) => {
    const input = parse(publishSchema, ctx.request.body);
    // A header sent empty is a client's bug, not "no key": it is refused like any other bad key.
    const { 'Idempotency-Key': idempotencyKey } = parse(publishHeaders, { 'Idempotency-Key': ctx.headers['idempotency-key'] === undefined ? undefined : ctx.get('idempotency-key') });
    const organizationId = ctx.state.principal.organizationId;
    // 202 once the event and its deliveries are committed; each delivery then runs in its own workflow.
    // As on the inbound routes, the starts run after the answer (the recovery loop starts any that a
    // crash leaves behind): a slow Temporal must not hold the publisher up to its timeout, because its
    // retry would publish the event a second time (unless it sends an Idempotency-Key).
    const published = idempotencyKey ? await dispatcher.recordWithKey(organizationId, input, idempotencyKey) : await recordOnly(organizationId, input);
    if (published.kind === 'key_reused') {
      throw invalid('this Idempotency-Key was used for another publish (its type, sessionId or data differ); use a new key', {
        issues: [{ path: 'Idempotency-Key', message: 'already used for another publish' }],
      });
    }
    for (const d of published.toStart) starter.submit('delivery', `delivery ${d.id}`, () => startDelivery(temporal, d));
    if (published.kind === 'replayed') ctx.set('Idempotent-Replayed', 'true');
    ctx.status = 202;
    ctx.body = { ...published.event, deliveries: published.deliveryIds };
  });

  // What became of a publish: the envelope as receivers get it, and its deliveries by status (list them
  // with GET /deliveries?eventId=).
  router.get('/events/:id', doc({ summary: 'Get a published event, with how many of its deliveries are in each status', response: 'The event envelope with `deliveryCounts: {pending, retrying, succeeded, dead, cancelled}`' }), requireCapability('manage'), async (ctx) => {
    const found = await findEventWithDeliveryCounts(db, ctx.state.principal.organizationId, ctx.params.id);
    if (!found) throw notFound('event');
    ctx.body = { ...JSON.parse(found.body), deliveryCounts: { pending: 0, retrying: 0, succeeded: 0, dead: 0, cancelled: 0, ...found.deliveryCounts } };
  });

  async function recordOnly(organizationId: string, input: z.infer<typeof publishSchema>) {
    const { event, toStart } = await dispatcher.record(db, organizationId, input);
    return { kind: 'recorded' as const, event, toStart, deliveryIds: toStart.map((d) => d.id) };
  }
}
