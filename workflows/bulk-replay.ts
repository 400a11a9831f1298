import { continueAsNew, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { OperationActivities } from '../activities/operations.js';
import { quick } from './activity-profiles.js';

export interface BulkReplayInput {
  operationId: string;
}

const { replayNextBatch } = proxyActivities<OperationActivities>(quick);

/**
 * Works through one bulk operation: each round replays the next deliveries its endpoints have room
 * for, then waits a moment for them to land. The per-endpoint limits of the replays themselves do
 * the rest. Progress is counted from the replays' own rows (GET /operations/:id).
 */
export async function bulkReplay({ operationId }: BulkReplayInput): Promise<void> {
  for (;;) {
    const step = await replayNextBatch({ operationId });
    if (step.done) return;
    await sleep(step.waitMs);
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof bulkReplay>({ operationId });
  }
}
