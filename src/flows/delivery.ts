import type { DeliverEventInput } from '../../workflows/deliver-event.js';
import { HookwiseDeliveryStatus, HookwiseEventType, HookwiseOrg, HookwiseWebhook } from '../../workflows/search-attributes.js';
import { slotFreed } from '../../workflows/signals.js';
import { listUnstartedDeliveries, type DeliveryToStart } from '../db/deliveries.js';
import { workflowId } from '../domain/bounded-id.js';
import { withinDeadline, type Temporal } from '../temporal/client.js';
import { rowRecovery } from './recovery.js';
import { startOnce } from './start.js';

/**
 * The delivery flow: one `deliverEvent` workflow per (webhook, event), and one per replay.
 * `deliver:<webhook>:<event>` (`…:replay:<delivery>`): a repeated fan-out starts nothing new.
 */
export function deliveryWorkflowId(webhookId: string, eventId: string, replayDeliveryId?: string): string {
  return replayDeliveryId
    ? workflowId('deliver', webhookId, eventId, 'replay', replayDeliveryId)
    : workflowId('deliver', webhookId, eventId);
}

export function startDelivery(temporal: Temporal, d: DeliveryToStart) {
  const input: DeliverEventInput = { deliveryId: d.id };
  return startOnce(temporal, {
    workflowType: 'deliverEvent',
    workflowId: d.workflowId,
    args: [input],
    memo: { deliveryId: d.id, webhookId: d.webhookId, eventId: d.eventId, eventType: d.eventType, url: d.url },
    searchAttributes: [
      { key: HookwiseOrg, value: d.organizationId },
      { key: HookwiseWebhook, value: d.webhookId },
      { key: HookwiseEventType, value: d.eventType },
      { key: HookwiseDeliveryStatus, value: 'pending' },
    ],
    summary: `${d.eventType} → ${d.url}`,
    reuse: 'never',
  });
}

/** Wakes a delivery waiting for one of its webhook's in-flight slots. */
export async function wakeDelivery(temporal: Temporal, deliveryWorkflowId: string): Promise<void> {
  await withinDeadline(temporal.client, () => temporal.client.workflow.getHandle(deliveryWorkflowId).signal(slotFreed));
}

export const deliveryRecovery = rowRecovery({
  name: 'deliveries',
  table: 'deliveries',
  list: listUnstartedDeliveries,
  start: startDelivery,
});
