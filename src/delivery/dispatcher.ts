import { isDeepStrictEqual } from 'node:util';
import type { Db, Queryable } from '../db/pool.js';
import { findPublishedEvent, recordEvent } from '../db/events.js';
import { findDelivery, insertReplay, organizationOfDelivery, type DeliveryRow, type DeliveryToStart } from '../db/deliveries.js';
import { findWebhook, webhooksForEvent } from '../db/webhooks.js';
import { derivedId, newId } from '../domain/ids.js';
import { ruleMatches } from '../domain/rules.js';
import { deliveryWorkflowId, startDelivery } from '../flows/delivery.js';
import type { Temporal } from '../temporal/client.js';

export interface EventEnvelope {
  id: string;
  type: string;
  timestamp: number;
  organizationId: string;
  sessionId?: string;
  data: unknown;
}

export interface PublishInput {
  type: string;
  sessionId?: string | null;
  data: unknown;
}

export interface PublishOptions {
  /** A caller that may retry passes its own id: a second publish with it records and delivers nothing. */
  eventId?: string;
  /** Deliver to this webhook only (a test event), whatever its filter. */
  onlyWebhookId?: string;
  /** Leave this webhook out (an operational event about it). */
  excludeWebhookId?: string;
}

/**
 * Whether a publish is the one an envelope records: same type and session, and data equal as JSON
 * (key order and number spelling aside: both sides are compared as parsed, the request's through the
 * same JSON round trip the stored envelope went through). In JavaScript, not as jsonb: data may hold
 * NUL or lone surrogates, which jsonb refuses.
 */
function samePublish(event: EventEnvelope, input: PublishInput): boolean {
  return (
    event.type === input.type &&
    (event.sessionId ?? null) === (input.sessionId || null) &&
    isDeepStrictEqual(event.data, JSON.parse(JSON.stringify(input.data)))
  );
}

export interface DispatcherDeps {
  db: Db;
  temporal: Temporal;
  log: (line: string) => void;
}

/**
 * Turns events into deliveries: records the event and one delivery per matching webhook in PostgreSQL
 * first (one statement), then starts one workflow per delivery. If Temporal is unreachable at that
 * moment the rows stay unstarted and the worker's recovery loop starts them later, so a 202 never
 * loses an event.
 */
export function createDispatcher(deps: DispatcherDeps) {
  const { db, temporal, log } = deps;

  async function startAll(deliveries: DeliveryToStart[]): Promise<void> {
    await Promise.all(
      deliveries.map((d) =>
        startDelivery(temporal, d).catch((err) =>
          log(`delivery ${d.id}: workflow not started yet (${(err as Error).message}); recovery will start it`),
        ),
      ),
    );
  }

  /** Records the event and its deliveries through `q` (the pool, or the caller's transaction). */
  async function record(q: Queryable, organizationId: string, input: PublishInput, options: PublishOptions) {
    const event: EventEnvelope = {
      id: options.eventId ?? newId('evt'),
      type: input.type,
      timestamp: Date.now(),
      organizationId,
      ...(input.sessionId ? { sessionId: input.sessionId } : {}),
      data: input.data,
    };
    const targets = options.onlyWebhookId
      ? [await findWebhook(q, organizationId, options.onlyWebhookId)].filter((w) => w !== null)
      : (await webhooksForEvent(q, organizationId, { type: event.type, sessionId: event.sessionId ?? null })).filter(
          // A webhook's payload filter sees the whole envelope: `type`, `sessionId`, `data.…`.
          (w) => w.id !== options.excludeWebhookId && (w.filter === null || ruleMatches(w.filter, event)),
        );
    const planned = targets.map((w) => ({
      id: newId('dlv'),
      organizationId,
      webhookId: w.id,
      eventId: event.id,
      eventType: event.type,
      url: w.url,
      workflowId: deliveryWorkflowId(w.id, event.id),
    }));
    const { recorded, deliveryIds } = await recordEvent(
      q,
      { id: event.id, organizationId, type: event.type, sessionId: event.sessionId ?? null, body: JSON.stringify(event) },
      planned,
    );
    const created = new Set(deliveryIds);
    return { event, recorded, toStart: planned.filter((d) => created.has(d.id)) };
  }

  /**
   * A publish under the caller's idempotency key. The key makes the event's id, so the first publish
   * records it and a repeat (a retry after a lost answer) finds it: it gets the first one's envelope and
   * deliveries, and the starts a crash may have left undone. The same key for another publish (other
   * type, session or data) is refused. A key is remembered as long as its event is kept (retention).
   */
  async function recordWithKey(
    organizationId: string,
    input: PublishInput,
    idempotencyKey: string,
  ): Promise<{ kind: 'recorded' | 'replayed'; event: EventEnvelope; toStart: DeliveryToStart[]; deliveryIds: string[] } | { kind: 'key_reused' }> {
    const eventId = derivedId('evt', organizationId, `idempotency-key:${idempotencyKey}`);
    // Twice at most: a repeat can find the first event deleted by retention in between, and then records it anew.
    for (let tries = 0; ; tries++) {
      const first = await record(db, organizationId, input, { eventId });
      if (first.recorded) return { kind: 'recorded', event: first.event, toStart: first.toStart, deliveryIds: first.toStart.map((d) => d.id) };
      const prior = await findPublishedEvent(db, organizationId, eventId);
      if (!prior && tries === 0) continue;
      if (!prior) throw new Error(`event ${eventId} neither recorded nor found`);
      const event = JSON.parse(prior.body) as EventEnvelope;
      if (!samePublish(event, input)) return { kind: 'key_reused' };
      return { kind: 'replayed', event, toStart: prior.unstarted, deliveryIds: prior.deliveryIds };
    }
  }

  return {
    /** Publishes an event to every active webhook of the org whose type filter and session scope match. */
    async publish(
      organizationId: string,
      input: PublishInput,
      options: PublishOptions = {},
    ): Promise<{ event: EventEnvelope; deliveryIds: string[] }> {
      const { event, toStart } = await record(db, organizationId, input, options);
      await startAll(toStart);
      return { event, deliveryIds: toStart.map((d) => d.id) };
    },

    /**
     * Records a publish inside the caller's transaction, so the event exists exactly when the caller's
     * own change commits (a result and its `completed` event). Start `toStart` after the commit.
     */
    record: (tx: Queryable, organizationId: string, input: PublishInput, options: PublishOptions = {}) =>
      record(tx, organizationId, input, options),

    recordWithKey,

    startDeliveries: startAll,

    /** A new delivery of the same event to the same webhook; the original stays as it was. */
    async replay(
      organizationId: string,
      deliveryId: string,
      options: { operationId?: string } = {},
    ): Promise<
      { kind: 'ok'; delivery: DeliveryRow } | { kind: 'not_found' } | { kind: 'webhook_disabled'; reason: string | null } | { kind: 'already_replayed' }
    > {
      const original = await findDelivery(db, organizationId, deliveryId);
      if (!original) return { kind: 'not_found' };
      const webhook = await findWebhook(db, organizationId, original.webhookId);
      if (!webhook) return { kind: 'not_found' };
      if (!webhook.active) return { kind: 'webhook_disabled', reason: webhook.disabledReason };
      const id = newId('dlv');
      const toStart: DeliveryToStart = {
        id,
        organizationId,
        webhookId: webhook.id,
        eventId: original.eventId,
        eventType: original.eventType,
        url: webhook.url,
        workflowId: deliveryWorkflowId(webhook.id, original.eventId, id),
      };
      if (!(await insertReplay(db, { ...toStart, replayOf: original.id, operationId: options.operationId ?? null }))) {
        return { kind: 'already_replayed' };
      }
      await startAll([toStart]);
      return { kind: 'ok', delivery: (await findDelivery(db, organizationId, id))! };
    },

    organizationOfDelivery: (deliveryId: string) => organizationOfDelivery(db, deliveryId),
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
