import { continueAsNew, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';

// bench:rooms' baseline: the design hookwise's room scheduler replaces. One workflow per room, started
// with the room and never ending: every tick it asks PostgreSQL for the room's pending items and runs
// them. Minimal on purpose (a timer and one activity per tick, nothing else), so that what it costs
// while idle is the least any "poll every tick" scheduler costs. The worker bundles this file, so it
// imports nothing but the workflow SDK.

export interface PollingSchedulerInput {
  roomId: string;
  tickMs: number;
}

export interface PollingActivities {
  /** Runs the room's pending items; returns how many there were. */
  pollRoomBacklog(input: { roomId: string }): Promise<number>;
}

const { pollRoomBacklog } = proxyActivities<PollingActivities>({ startToCloseTimeout: '1 minute' });

export async function pollingRoomScheduler(input: PollingSchedulerInput): Promise<void> {
  for (;;) {
    await sleep(input.tickMs);
    await pollRoomBacklog({ roomId: input.roomId });
    // A forever-running workflow must reset its history now and then.
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof pollingRoomScheduler>(input);
  }
}
