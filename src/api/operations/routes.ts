import { z } from 'zod';
import { doc } from '../openapi.js';
import { countCandidates, findOperation, insertOperation, listOperations, type OperationKind, type OperationProgress, type Selection } from '../../db/operations.js';
import { findWebhook } from '../../db/webhooks.js';
import { newId } from '../../domain/ids.js';
import { notFound } from '../../errors.js';
import { startBulkReplay } from '../../flows/bulk-replay.js';
import { orgOf, requireCapability } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';
import { parse } from '../validate.js';
import { instant } from '../instant.js';

// Bulk recovery: replay a webhook's failures since a time, or dead letters by filter. Each is an
// operation worked through by a workflow; GET /operations/:id shows its progress.

const at = instant().transform((d) => d.toISOString());

export const recoverSchema = z.object({ since: at, until: at.optional() }).strict();
export const replayDeadLettersSchema = z
  .object({ webhookId: z.string().min(1).max(200).optional(), type: z.string().min(1).max(200).optional(), since: at.optional(), until: at.optional() })
  .strict();
export const listOperationsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

const ms = (d: Date | null) => (d ? d.getTime() : null);

export function presentOperation(o: OperationProgress) {
  return {
    id: o.id,
    kind: o.kind,
    status: o.status,
    params: { webhookId: o.params.webhookId, type: o.params.type, since: o.params.since, until: o.params.until },
    total: o.total,
    started: o.started,
    succeeded: o.succeeded,
    failed: o.failed,
    inFlight: o.inFlight,
    createdAt: ms(o.createdAt),
    completedAt: ms(o.completedAt),
  };
}

export function operationRoutes(router: ApiRouter, deps: ApiDeps): void {
  const { db } = deps;
  const manage = requireCapability('manage');

  async function begin(organizationId: string, kind: OperationKind, params: Selection) {
    const id = newId('op');
    const total = await countCandidates(db, organizationId, params);
    await insertOperation(db, { id, organizationId, kind, params, total });
    // Recorded first: if Temporal can't take it now, recovery starts it.
    await startBulkReplay(deps.temporal, { id, organizationId, kind, webhookId: params.webhookId ?? null }).catch((err) =>
      deps.log(`operation ${id}: workflow not started yet (${(err as Error).message}); recovery will start it`),
    );
    return { operationId: id, total };
  }

  router.post('/webhooks/:id/recover', doc({ summary: 'Replay a webhook’s failed and dead deliveries since a time (bulk, rate-limited by the endpoint)', body: recoverSchema, status: 202, response: '`{operationId, total}`' }), manage, async (ctx) => {
    const input = parse(recoverSchema, ctx.request.body);
    const webhook = await findWebhook(db, orgOf(ctx), ctx.params.id);
    if (!webhook) throw notFound('webhook');
    ctx.status = 202;
    ctx.body = await begin(orgOf(ctx), 'webhook.recover', { webhookId: webhook.id, since: input.since, until: input.until, statuses: ['dead', 'cancelled'] });
  });

  router.post('/dead-letters/replay', doc({ summary: 'Replay dead letters by webhook, event type and time (bulk)', body: replayDeadLettersSchema, status: 202, response: '`{operationId, total}`' }), manage, async (ctx) => {
    const input = parse(replayDeadLettersSchema, ctx.request.body);
    if (input.webhookId && !(await findWebhook(db, orgOf(ctx), input.webhookId))) throw notFound('webhook');
    ctx.status = 202;
    ctx.body = await begin(orgOf(ctx), 'dead_letters.replay', { ...input, statuses: ['dead'] });
  });

  router.get('/operations', doc({ summary: 'List bulk operations, newest first', query: listOperationsQuery, response: '`{data: [operations], nextCursor}`' }), manage, async (ctx) => {
    const { limit } = parse(listOperationsQuery, ctx.query);
    ctx.body = { data: (await listOperations(db, orgOf(ctx), limit)).map(presentOperation), nextCursor: '' };
  });

  router.get('/operations/:id', doc({ summary: 'A bulk operation’s progress', response: '`{id, kind, status, total, started, succeeded, failed, inFlight, …}`' }), manage, async (ctx) => {
    const op = await findOperation(db, orgOf(ctx), ctx.params.id);
    if (!op) throw notFound('operation');
    ctx.body = presentOperation(op);
  });
}
