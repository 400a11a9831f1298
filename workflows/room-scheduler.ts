import { ActivityFailure, condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RoomActivities } from '../activities/rooms.js';
import { agentRun, step } from './activity-profiles.js';
import { outlastingOutages } from './outages.js';
import { backlogChanged, triggerImmediate } from './signals.js';

export interface RoomSchedulerInput {
  roomId: string;
}

const { untilNextTick, claimBacklogItems, failBacklogItem } = proxyActivities<RoomActivities>(step);
const { runBacklogItem } = proxyActivities<RoomActivities>(agentRun);

/**
 * A room's scheduler, alive only while the room has work (`room-scheduler:<room>`). It is started by
 * the signal that gives it work: `backlogChanged` (an admission) makes it wait for the room's next tick
 * boundary, `triggerImmediate` (a human reply) runs the backlog now. A round claims the pending items
 * in priority order and runs the room's agent on each; when a round ends with no new signal, the
 * backlog is empty and the workflow ends, so an idle room costs nothing.
 */
export async function roomScheduler({ roomId }: RoomSchedulerInput): Promise<void> {
  let now = false;
  let changed = false;
  setHandler(triggerImmediate, () => {
    now = true;
  });
  setHandler(backlogChanged, () => {
    changed = true;
  });

  for (;;) {
    if (!now) {
      // The tick comes from the worker's configuration when this runs, not from the input.
      const { delayMs } = await untilNextTick({ roomId });
      await condition(() => now, delayMs);
    }
    now = false;
    changed = false;
    for (;;) {
      const itemIds = await claimBacklogItems({ roomId });
      if (itemIds.length === 0) break;
      for (const itemId of itemIds) {
        try {
          await outlastingOutages(() => runBacklogItem({ itemId }));
        } catch (err) {
          if (!(err instanceof ActivityFailure)) throw err;
          await failBacklogItem({ itemId, error: err.cause?.message ?? err.message });
        }
      }
    }
    if (!now && !changed) return;
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof roomScheduler>({ roomId });
  }
}
