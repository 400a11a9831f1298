import { proxyActivities } from '@temporalio/workflow';

// The benchmark's baseline: the least a Temporal-based webhook sender has to do. One workflow per
// delivery, one activity that POSTs the body it was given; no database, no signing, no limits. A
// failed POST is retried by Temporal's activity retry policy (server-side, no timer in the history).
// The worker bundles this file (workflowsPath), so it imports nothing but the workflow SDK.

export interface BaselineDeliveryInput {
  url: string;
  body: string;
  /** Sent as X-Bench-Request-Id so the receiver can match the request to its start. */
  requestId: string;
  timeoutMs: number;
}

export interface BaselineActivities {
  /** POSTs the body once and returns the HTTP status; anything but a 2xx throws, so Temporal retries it. */
  postOnce(input: BaselineDeliveryInput): Promise<number>;
}

export async function baselineDelivery(input: BaselineDeliveryInput): Promise<number> {
  const { postOnce } = proxyActivities<BaselineActivities>({
    startToCloseTimeout: input.timeoutMs + 5_000,
    retry: { initialInterval: '1s', maximumInterval: '1m' },
  });
  return postOnce(input);
}
