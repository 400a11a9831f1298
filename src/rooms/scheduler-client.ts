import type { Client } from '@temporalio/client';
import type { roomScheduler, RoomSchedulerInput } from '../../workflows/room-scheduler.js';
import { backlogChanged, triggerImmediate } from '../../workflows/signals.js';
import { roomSchedulerWorkflowId } from '../temporal/workflow-ids.js';
import { startWithinDeadline } from '../temporal/client.js';

export interface SchedulerSettings {
  taskQueue: string;
  tickMs: number;
  agentTimeoutMs: number;
}

/**
 * Signals the room's scheduler, starting it if it isn't running: `immediate` (a human reply) makes it
 * run the backlog now; otherwise it only makes sure the scheduler exists for its next tick.
 */
export async function signalRoomScheduler(
  client: Client,
  s: SchedulerSettings,
  roomId: string,
  immediate: boolean,
): Promise<void> {
  const input: RoomSchedulerInput = { roomId, tickMs: s.tickMs, agentTimeoutMs: s.agentTimeoutMs, batchSize: 10 };
  // Bounded: a reply or a Twilio message must not hang on an unreachable Temporal.
  await startWithinDeadline(client, () => client.workflow.signalWithStart<typeof roomScheduler, []>('roomScheduler', {
    taskQueue: s.taskQueue,
    workflowId: roomSchedulerWorkflowId(roomId),
    args: [input],
    signal: immediate ? triggerImmediate : backlogChanged,
    signalArgs: [],
    memo: { roomId },
    staticSummary: `scheduler of room ${roomId}`,
  }));
}
