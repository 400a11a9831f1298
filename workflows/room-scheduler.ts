import { ActivityFailure, condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RoomActivities } from '../activities/rooms.js';
import { backlogChanged, triggerImmediate } from './signals.js';

export interface RoomSchedulerInput {
  roomId: string;
  tickMs: number;
  /** How long one agent run may take (the LLM timeout plus its database work). */
  agentTimeoutMs: number;
  batchSize: number;
}

const { claimBacklogItems, failBacklogItem } = proxyActivities<RoomActivities>({
  startToCloseTimeout: '30 seconds',
});

/**
 * The room's scheduler: wakes every tick, or at once on triggerImmediate, claims the room's pending
 * items in priority order and runs the agent on each. One per room (id `room-scheduler:<roomId>`);
 * it hands over to a fresh run with continueAsNew so its history stays small.
 */
export async function roomScheduler(input: RoomSchedulerInput): Promise<void> {
  const { runBacklogItem } = proxyActivities<RoomActivities>({
    startToCloseTimeout: input.agentTimeoutMs,
    retry: { maximumAttempts: 3, initialInterval: '1s', nonRetryableErrorTypes: ['LlmNotConfigured'] },
  });

  let wake = false;
  setHandler(triggerImmediate, () => {
    wake = true;
  });
  // Admission only needs the scheduler to exist; the next tick picks the item up.
  setHandler(backlogChanged, () => {});

  for (let round = 0; round < 500 && !workflowInfo().continueAsNewSuggested; round++) {
    // First round runs at once: whatever started or continued this run has work to look at.
    if (round > 0) await condition(() => wake, input.tickMs);
    wake = false;
    for (;;) {
      const itemIds = await claimBacklogItems({ roomId: input.roomId, limit: input.batchSize });
      if (itemIds.length === 0) break;
      for (const itemId of itemIds) {
        try {
          await runBacklogItem({ itemId });
        } catch (err) {
          if (!(err instanceof ActivityFailure)) throw err;
          await failBacklogItem({ itemId, error: err.cause?.message ?? err.message });
        }
      }
    }
  }
  await continueAsNew<typeof roomScheduler>(input);
}
