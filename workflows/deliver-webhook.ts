import { condition, continueAsNew, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { AttemptResult, DeliveryActivities } from '../activities/deliveries.js';
import { deliveryAttempt, quick } from './activity-profiles.js';
import { HookwiseDeliveryStatus } from './search-attributes.js';
import { slotFreed } from './signals.js';

export interface DeliverWebhookInput {
  deliveryId: string;
}

const { attemptDelivery } = proxyActivities<DeliveryActivities>(deliveryAttempt);
const { publishNotices } = proxyActivities<DeliveryActivities>(quick);

/**
 * Delivers one event to one webhook. Each attempt is one activity; it decides from the webhook's
 * current retry policy whether and when to come back, so this loop only waits durably in between: a
 * retry delay, a per-minute start freeing up, or (for an in-flight slot) a `slotFreed` wake-up from
 * the attempt that releases one. Temporal's own activity retries cover infrastructure failures (the
 * database down), never HTTP failures.
 */
export async function deliverWebhook({ deliveryId }: DeliverWebhookInput): Promise<AttemptResult & { kind: 'done' }> {
  let woken = false;
  setHandler(slotFreed, () => {
    woken = true;
  });
  let shown = workflowInfo().typedSearchAttributes.get(HookwiseDeliveryStatus) ?? 'pending';
  const show = (status: string) => {
    if (status === shown) return;
    upsertSearchAttributes([{ key: HookwiseDeliveryStatus, value: status }]);
    shown = status;
  };

  for (;;) {
    // Reset before the attempt: a wake-up that arrives while it runs is for the wait that follows.
    woken = false;
    const result = await attemptDelivery({ deliveryId });
    if (result.notices.length > 0) await publishNotices({ deliveryId, notices: result.notices });
    if (result.kind === 'done') {
      show(result.status);
      return result;
    }
    show(result.kind === 'retry' ? 'retrying' : 'waiting');
    await condition(() => result.kind === 'wait' && woken, result.delayMs);
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof deliverWebhook>({ deliveryId });
  }
}
