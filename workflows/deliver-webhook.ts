import { patched, proxyActivities } from '@temporalio/workflow';
import type { DeliveryActivities } from '../activities/deliveries.js';
import { deliveryAttempt } from './activity-profiles.js';
import { deliveryLoop, type DeliverEventInput, type DeliveryEnd } from './deliver-event.js';

/**
 * Retired: deliveries started by code up to commit 5a8cac7 (2026-12-02) ran as
 * `deliverWebhook`, each attempt an activity. Kept so that those still retrying finish on the path
 * their histories took (test/replay/histories/2a81589, fe463ca, eb65d10-cancelled); new deliveries
 * are `deliverEvent`. Remove once no `WorkflowType = "deliverWebhook" AND ExecutionStatus = "Running"`
 * remains. A new workflow type rather than a `patched()` branch: a patch upserts the
 * `TemporalChangeVersion` search attribute in every new run, one more billed Action per delivery.
 */
const { attemptDelivery } = proxyActivities<DeliveryActivities>(deliveryAttempt);

/**
 * Runs cancelled on code from before a cancellation ended the delivery's row replay without that
 * activity (test/replay/histories/eb65d10-cancelled). Asked only on the cancellation path, so a run
 * that was never cancelled carries no marker.
 */
const END_CANCELLED_PATCH = 'cancellation-ends-delivery';

export function deliverWebhook(input: DeliverEventInput): Promise<DeliveryEnd> {
  return deliveryLoop(input, { attempt: attemptDelivery, endsCancelled: () => patched(END_CANCELLED_PATCH) });
}
