import { ActivityCancellationType, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';

/**
 * The fixed option profiles every workflow calls its activities with. Timeouts here are ceilings, not
 * settings: the real limits (the delivery's HTTP timeout, the LLM timeout) come from the worker's
 * configuration when the activity runs, and configuration validation keeps them below these. Long
 * activities heartbeat, so work lost with a killed worker is retried within the heartbeat timeout
 * instead of waiting out the whole ceiling.
 */

/** Database work and short calls to Temporal, including fan-outs that start many workflows. */
export const quick: ActivityOptions = { startToCloseTimeout: '30 seconds' };

/**
 * One step on a few rows (a claim, a match, an admission) as an activity: how runs started before
 * `localStep` take them. A step lost with a killed worker, or whose start Temporal failed to hand
 * over, is retried after 10 s.
 */
export const step: ActivityOptions = { startToCloseTimeout: '10 seconds' };

/**
 * The same one-row steps run as local activities: inside the workflow task that needs them, so a step
 * costs no activity task, no second workflow task and no trip through matching (the room flow was
 * 8 workflow tasks and 5 activity tasks per item with them as activities). A step lost with a killed
 * worker runs again when its workflow task is retried; every step is idempotent. Retried like an
 * activity (no limit, backing off); past a minute the waits between tries are timers.
 */
export const localStep: LocalActivityOptions = { startToCloseTimeout: '10 seconds' };

/**
 * One delivery attempt: the POST (HOOKWISE_DELIVERY_TIMEOUT_MS ≤ 90 s) plus its two statements, as a
 * local activity. A first-try delivery is then one workflow task instead of two plus an activity task:
 * half the engine's history writes. An attempt lost with a killed worker runs again when its workflow
 * task times out (10 s), as a heartbeat timeout did before; one that outlasts the workflow task
 * timeout keeps its task alive (the SDK heartbeats it every 8 s), so a slow receiver is not taken for
 * a lost worker. A running attempt holds its workflow task: a signal is seen when the attempt ends or
 * at that heartbeat, and a cancellation waits for the attempt to end (it is not interrupted: its
 * result is recorded, and a slot it holds is freed by its own finish).
 *
 * Only infrastructure failures throw (HTTP failures are results). They are retried here a few times
 * within seconds; then the workflow waits (a timer, 5 s doubling to 5 minutes: `deliveryLoop`) and
 * tries again, so a long database outage neither holds the workflow task nor fills its history.
 */
export const localDeliveryAttempt: LocalActivityOptions = {
  startToCloseTimeout: '2 minutes',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 4 },
};

/** The same attempt as an activity: how the retired `deliverWebhook` runs take theirs. */
export const deliveryAttempt: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
};

/** One model call (HOOKWISE_LLM_TIMEOUT_MS ≤ 5 min), retried a bounded number of times. */
export const llmCall: ActivityOptions = {
  startToCloseTimeout: '6 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
};

/** An agent run: a model call plus its bookkeeping; a failed run is recorded after a few tries. */
export const agentRun: ActivityOptions = {
  startToCloseTimeout: '6 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 3 },
};
