import { proxyActivities } from '@temporalio/workflow';
import type { RoomActivities } from '../activities/rooms.js';

export interface IngestRoomEventInput {
  eventId: string;
  organizationId: string;
  roomId: string;
  sourceId: string;
  /** The parsed body as JSON text: carried here so the event survives even if its row was not written. */
  payload: string;
  receivedAt: number;
}

export type IngestRoomEventResult =
  | { outcome: 'no_match'; reason: string }
  | { outcome: 'dropped'; definitionId: string }
  | { outcome: 'admitted'; definitionId: string; itemId: string };

// Matching may wait on the LLM; its timeouts and unreachability are retried here, never dropped.
const { matchRoomEvent } = proxyActivities<RoomActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '1 minute' },
});
const { admitRoomEvent, wakeRoomScheduler } = proxyActivities<RoomActivities>({
  startToCloseTimeout: '30 seconds',
});

/** One inbound room event: which business event is it, and does it fit in the room's backlog? */
export async function ingestRoomEvent(input: IngestRoomEventInput): Promise<IngestRoomEventResult> {
  const match = await matchRoomEvent(input);
  if (match.definitionId === null) return { outcome: 'no_match', reason: match.reason };
  const admission = await admitRoomEvent({ ...input, definitionId: match.definitionId, priority: match.priority });
  if (!admission.admitted) return { outcome: 'dropped', definitionId: match.definitionId };
  await wakeRoomScheduler({ roomId: input.roomId });
  return { outcome: 'admitted', definitionId: match.definitionId, itemId: admission.itemId };
}
