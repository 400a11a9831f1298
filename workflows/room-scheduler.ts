import { ActivityFailure, condition, continueAsNew, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RoomActivities } from '../activities/rooms.js';
import { agentRun, quick } from './activity-profiles.js';
import { outlastingOutages } from './outages.js';
import { roomSteps } from './room-steps.js';
import { backlogChanged, triggerImmediate } from './signals.js';

export interface RoomSchedulerInput {
  roomId: string;
  /** Set by a run that handed over in the middle of a round: the backlog is not empty, go on at once. */
  resume?: boolean;
}

/**
 * A run hands over to a new one past this many history events, even in the middle of a round. A busy
 * room's round never ends, and a history that only grows is replayed whole by the next worker to pick
 * the scheduler up after a crash (and ends the workflow at Temporal's 50,000-event limit).
 */
export const SCHEDULER_HISTORY_LIMIT = 500;
/** Runs started before the limit existed replay without it (they check only Temporal's suggestion). */
const HISTORY_LIMIT_PATCH = 'room-scheduler-history-limit';

// Publishes room.agent.failed, which fans out to the org's webhooks: not a one-row step.
const { failBacklogItem } = proxyActivities<RoomActivities>(quick);
const { runBacklogItem } = proxyActivities<RoomActivities>(agentRun);

/**
 * A room's scheduler, alive only while the room has work (`room-scheduler:<room>`). It is started by
 * the signal that gives it work: `backlogChanged` (an admission) makes it wait for the room's next tick
 * boundary, `triggerImmediate` (a human reply) runs the backlog now. A round claims the pending items
 * in priority order and runs the room's agent on each; when a round ends with no new signal, the
 * backlog is empty and the workflow ends, so an idle room costs nothing.
 */
export async function roomScheduler({ roomId, resume = false }: RoomSchedulerInput): Promise<void> {
  const { untilNextTick, claimBacklogItems } = roomSteps();
  let now = resume;
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
      if (historyTooLong() && patched(HISTORY_LIMIT_PATCH)) await continueAsNew<typeof roomScheduler>({ roomId, resume: true });
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
    // A reply that came during the round (now) is not lost to the hand-over: the next run starts at once.
    if (workflowInfo().continueAsNewSuggested || (historyTooLong() && patched(HISTORY_LIMIT_PATCH))) {
      await continueAsNew<typeof roomScheduler>({ roomId, resume: now });
    }
  }
}

function historyTooLong(): boolean {
  const info = workflowInfo();
  return info.historyLength > SCHEDULER_HISTORY_LIMIT || info.continueAsNewSuggested;
}
