import { condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { OperationActivities } from '../activities/operations.js';
import { quick } from './activity-profiles.js';
import { replayLanded } from './signals.js';

export interface BulkReplayInput {
  operationId: string;
}

const { replayNextBatch } = proxyActivities<OperationActivities>(quick);

/**
 * Works through one bulk operation: each round replays the next deliveries its endpoints have room
 * for, then waits until one of them lands (a `replayLanded` signal from the attempt that ended it),
 * or at most `waitMs` should that signal be lost. The per-endpoint limits of the replays themselves
 * do the rest. Progress is counted from the replays' own rows (GET /operations/:id).
 */
export async function bulkReplay({ operationId }: BulkReplayInput): Promise<void> {
  let landed = false;
  setHandler(replayLanded, () => {
    landed = true;
  });
  for (;;) {
    // Reset before the round: a replay that lands while it runs means the next round has work at once.
    landed = false;
    const step = await replayNextBatch({ operationId });
    if (step.done) return;
    await condition(() => landed, step.waitMs);
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof bulkReplay>({ operationId });
  }
}
