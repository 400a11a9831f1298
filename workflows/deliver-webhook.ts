import { continueAsNew, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { AttemptResult, DeliveryActivities } from '../activities/deliveries.js';

export interface DeliverWebhookInput {
  deliveryId: string;
  /** The HTTP timeout plus room for the database work around it; the activity gets this long. */
  attemptTimeoutMs: number;
  /** Carried across continue-as-new so the in-flight back-off keeps growing. */
  throttleStreak?: number;
}

/**
 * Delivers one event to one webhook. The retry schedule lives in the activity's answer (it reads the
 * webhook's current policy), so this loop only waits durably between attempts. Temporal's own activity
 * retries cover infrastructure failures such as the database being down, never HTTP failures.
 */
export async function deliverWebhook(input: DeliverWebhookInput): Promise<AttemptResult> {
  const { attemptDelivery } = proxyActivities<DeliveryActivities>({
    startToCloseTimeout: input.attemptTimeoutMs,
    retry: { initialInterval: '1s', maximumInterval: '1m' },
  });
  let throttleStreak = input.throttleStreak ?? 0;
  for (;;) {
    const result = await attemptDelivery({ deliveryId: input.deliveryId, throttleStreak });
    if (result.kind === 'done') return result;
    throttleStreak = result.throttled ? throttleStreak + 1 : 0;
    await sleep(result.delayMs);
    // A long throttled wait can loop many times; hand over before the history grows large.
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof deliverWebhook>({ ...input, throttleStreak });
    }
  }
}
