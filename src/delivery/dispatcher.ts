import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { deliverWebhook } from '../../workflows/deliver-webhook.js';
import { withTransaction, type Db } from '../db/pool.js';
import { insertEvent } from '../db/events.js';
import { findDelivery, insertDeliveries, listUnstartedDeliveries, type DeliveryRow } from '../db/deliveries.js';
import { findWebhook, listWebhooks, type WebhookRow } from '../db/webhooks.js';
import { webhookMatches } from '../domain/event-filter.js';
import { newId } from '../domain/ids.js';
import { deliveryWorkflowId } from '../temporal/workflow-ids.js';
import { startWithinDeadline } from '../temporal/client.js';

export interface EventEnvelope {
  id: string;
  type: string;
  timestamp: number;
  organizationId: string;
  sessionId?: string;
  data: unknown;
}

interface DeliveryToStart {
  id: string;
  workflowId: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  url: string;
}

export interface DispatcherDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  /** How long one attempt activity may run: the HTTP timeout plus the database work around it. */
  attemptTimeoutMs: number;
  log?: (line: string) => void;
}

/**
 * Turns events into deliveries: records them in PostgreSQL first, then starts one workflow per
 * delivery. If Temporal is unreachable at that moment the rows stay unstarted and the worker's
 * recovery loop (`startUnstarted`) starts them later, so a 202 never loses an event.
 */
export function createDispatcher(deps: DispatcherDeps) {
  const { db, temporal } = deps;
  const log = deps.log ?? ((line: string) => console.error(line));

  async function start(d: DeliveryToStart): Promise<void> {
    try {
      await startWithinDeadline(temporal, () => temporal.workflow.start<typeof deliverWebhook>('deliverWebhook', {
        taskQueue: deps.taskQueue,
        workflowId: d.workflowId,
        args: [{ deliveryId: d.id, attemptTimeoutMs: deps.attemptTimeoutMs }],
        // A delivery workflow id is never reused, not even after it completed.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        memo: { deliveryId: d.id, webhookId: d.webhookId, eventId: d.eventId, eventType: d.eventType, url: d.url },
        staticSummary: `${d.eventType} → ${d.url}`,
      }));
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      log(`delivery ${d.id}: workflow not started yet (${(err as Error).message}); recovery will start it`);
    }
  }

  /** Records the event and its deliveries in one transaction; nothing new if the event id exists. */
  async function record(event: EventEnvelope, targets: WebhookRow[]): Promise<DeliveryToStart[]> {
    const deliveries = targets.map((w) => ({
      id: newId('dlv'),
      organizationId: event.organizationId,
      webhookId: w.id,
      eventId: event.id,
      replayOf: null,
      workflowId: deliveryWorkflowId(w.id, event.id),
      eventType: event.type,
      url: w.url,
    }));
    return withTransaction(db, async (tx) => {
      const isNew = await insertEvent(tx, {
        id: event.id,
        organizationId: event.organizationId,
        type: event.type,
        sessionId: event.sessionId ?? null,
        body: JSON.stringify(event),
      });
      if (!isNew) return [];
      await insertDeliveries(tx, deliveries);
      return deliveries;
    });
  }

  return {
    /**
     * Publishes an event to every active webhook of the org whose filter and session scope match (or
     * to `onlyWebhook`). A caller that may retry passes its own `eventId`: a second publish with the
     * same id records and delivers nothing new.
     */
    async publish(
      organizationId: string,
      input: { type: string; sessionId?: string | null; data: unknown },
      options: { onlyWebhook?: WebhookRow; eventId?: string } = {},
    ): Promise<{ event: EventEnvelope; deliveryIds: string[] }> {
      const { onlyWebhook } = options;
      const event: EventEnvelope = {
        id: options.eventId ?? newId('evt'),
        type: input.type,
        timestamp: Date.now(),
        organizationId,
        ...(input.sessionId ? { sessionId: input.sessionId } : {}),
        data: input.data,
      };
      const targets = onlyWebhook
        ? [onlyWebhook]
        : (await listWebhooks(db, organizationId, { activeOnly: true })).filter((w) => webhookMatches(w, event));
      const deliveries = await record(event, targets);
      await Promise.all(deliveries.map(start));
      return { event, deliveryIds: deliveries.map((d) => d.id) };
    },

    /** A new delivery of the same event to the same webhook; the original stays as it was. */
    async replay(
      organizationId: string,
      deliveryId: string,
    ): Promise<{ kind: 'ok'; delivery: DeliveryRow } | { kind: 'not_found' } | { kind: 'webhook_disabled'; reason: string | null }> {
      const original = await findDelivery(db, organizationId, deliveryId);
      if (!original) return { kind: 'not_found' };
      const webhook = await findWebhook(db, organizationId, original.webhookId);
      if (!webhook) return { kind: 'not_found' };
      if (!webhook.active) return { kind: 'webhook_disabled', reason: webhook.disabledReason };
      const id = newId('dlv');
      const workflowId = deliveryWorkflowId(webhook.id, original.eventId, id);
      await insertDeliveries(db, [
        { id, organizationId, webhookId: webhook.id, eventId: original.eventId, replayOf: original.id, workflowId },
      ]);
      await start({ id, workflowId, webhookId: webhook.id, eventId: original.eventId, eventType: original.eventType, url: webhook.url });
      return { kind: 'ok', delivery: (await findDelivery(db, organizationId, id))! };
    },

    /** Starts the workflows of deliveries recorded at least olderThanSeconds ago and never started. */
    async startUnstarted(olderThanSeconds: number, organizationIds: string[] | null = null): Promise<number> {
      const pending = await listUnstartedDeliveries(db, olderThanSeconds, 500, organizationIds);
      await Promise.all(pending.map((d) => start({ ...d })));
      return pending.length;
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
