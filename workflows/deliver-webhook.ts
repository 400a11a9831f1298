import {
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AttemptResult, DeliveryActivities } from '../activities/deliveries.js';
import { deliveryAttempt, quick } from './activity-profiles.js';
import { HookwiseDeliveryStatus } from './search-attributes.js';
import { slotFreed } from './signals.js';

export interface DeliverWebhookInput {
  deliveryId: string;
}

const { attemptDelivery } = proxyActivities<DeliveryActivities>(deliveryAttempt);
const { publishNotices, endCancelledDelivery } = proxyActivities<DeliveryActivities>(quick);

/**
 * Runs cancelled on code from before a cancellation ended the delivery's row replay without that
 * activity (test/replay/histories/eb65d10-cancelled). Asked only on the cancellation path, so a run
 * that was never cancelled carries no marker.
 */
const END_CANCELLED_PATCH = 'cancellation-ends-delivery';

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

  try {
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
  } catch (err) {
    // Cancelled from Temporal (the UI's Cancel): end the row too, or it stays pending or retrying for
    // good. The workflow still ends Canceled.
    if (isCancellation(err) && patched(END_CANCELLED_PATCH)) {
      const status = await CancellationScope.nonCancellable(() => endCancelledDelivery({ deliveryId }));
      if (status) show(status);
    }
    throw err;
  }
}
