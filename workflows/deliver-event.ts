import {
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  TemporalFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AttemptResult, DeliveryActivities } from '../activities/deliveries.js';
import { localDeliveryAttempt, quick } from './activity-profiles.js';
import { outagePauseMs } from './outages.js';
import { HookwiseDeliveryStatus } from './search-attributes.js';
import { slotFreed } from './signals.js';

export interface DeliverEventInput {
  deliveryId: string;
}

export type DeliveryEnd = AttemptResult & { kind: 'done' };

const { attemptDelivery } = proxyLocalActivities<DeliveryActivities>(localDeliveryAttempt);
const { publishNotices, endCancelledDelivery } = proxyActivities<DeliveryActivities>(quick);

/**
 * Delivers one event to one webhook. Each attempt is one local activity: it runs inside the workflow
 * task that asks for it, so a first-try delivery is one workflow task and no activity task. The
 * attempt decides from the webhook's current retry policy whether and when to come back, so this loop
 * only waits durably in between: a retry delay, a per-minute start freeing up, or (for an in-flight
 * slot) a `slotFreed` wake-up from the attempt that releases one. Temporal's own retries of the attempt
 * cover infrastructure failures (the database down), never HTTP failures.
 */
export function deliverEvent(input: DeliverEventInput): Promise<DeliveryEnd> {
  return deliveryLoop(input, { attempt: attemptDelivery, endsCancelled: () => true });
}

/**
 * The loop of `deliverEvent` and of the retired `deliverWebhook`, which differ in how an attempt runs
 * (local activity or activity) and in whether a cancellation ends the row (every run but old ones).
 */
export async function deliveryLoop(
  { deliveryId }: DeliverEventInput,
  how: { attempt: DeliveryActivities['attemptDelivery']; endsCancelled: () => boolean },
): Promise<DeliveryEnd> {
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
    for (let failedRounds = 0; ; ) {
      // Reset before the attempt: a wake-up that arrives while it runs is for the wait that follows.
      woken = false;
      let result: AttemptResult;
      try {
        result = await how.attempt({ deliveryId });
        failedRounds = 0;
      } catch (err) {
        // The attempt's own retries ran out on an infrastructure failure (PostgreSQL down): wait, longer
        // each round, and try again for as long as it lasts. (The retired path retries without end.)
        // A local activity's last failure reaches the workflow as itself, not wrapped in ActivityFailure.
        if (!(err instanceof TemporalFailure) || isCancellation(err)) throw err;
        await sleep(outagePauseMs(failedRounds++));
        if (workflowInfo().continueAsNewSuggested) await continueAsNew({ deliveryId });
        continue;
      }
      if (result.notices.length > 0) await publishNotices({ deliveryId, notices: result.notices });
      if (result.kind === 'done') {
        show(result.status);
        return result;
      }
      show(result.kind === 'retry' ? 'retrying' : 'waiting');
      await condition(() => result.kind === 'wait' && woken, result.delayMs);
      // Continues as the same workflow type, on the same path.
      if (workflowInfo().continueAsNewSuggested) await continueAsNew({ deliveryId });
    }
  } catch (err) {
    // Cancelled from Temporal (the UI's Cancel): end the row too, or it stays pending or retrying for
    // good. The workflow still ends Canceled.
    if (isCancellation(err) && how.endsCancelled()) {
      const status = await CancellationScope.nonCancellable(() => endCancelledDelivery({ deliveryId }));
      if (status) show(status);
    }
    throw err;
  }
}
