import type { IngestRoomEventInput } from '../../workflows/ingest-room-event.js';
import { HookwiseOrg, HookwiseRoom, HookwiseWorkspace } from '../../workflows/search-attributes.js';
import { listUnmatchedRoomEvents, listUnstartedRoomEvents, type RoomEventToStart } from '../db/room-events.js';
import { workflowId } from '../domain/bounded-id.js';
import type { Temporal } from '../temporal/client.js';
import { rowRecovery } from './recovery.js';
import { startOnce } from './start.js';

/** The inbound room event flow: `room-event:<room>:<event>`, one `ingestRoomEvent` per accepted event. */
export function roomEventWorkflowId(roomId: string, eventId: string): string {
  return workflowId('room-event', roomId, eventId);
}

/** `unrecorded` carries the event only when the ingress could not write its row (PostgreSQL down). */
export function startRoomEvent(temporal: Temporal, e: RoomEventToStart, unrecorded?: IngestRoomEventInput['unrecorded']) {
  const input: IngestRoomEventInput = { eventId: e.id, ...(unrecorded ? { unrecorded } : {}) };
  return startOnce(temporal, {
    workflowType: 'ingestRoomEvent',
    workflowId: roomEventWorkflowId(e.roomId, e.id),
    args: [input],
    memo: { eventId: e.id, roomId: e.roomId, workspaceId: e.workspaceId },
    searchAttributes: [
      { key: HookwiseOrg, value: e.organizationId },
      { key: HookwiseRoom, value: e.roomId },
      { key: HookwiseWorkspace, value: e.workspaceId },
    ],
    summary: `inbound event for room ${e.roomId}`,
    reuse: 'after-failure',
  });
}

export const roomEventRecovery = rowRecovery({
  name: 'room events',
  table: 'room_events',
  list: listUnstartedRoomEvents,
  start: (temporal, e) => startRoomEvent(temporal, e),
});

/**
 * Events whose run ended before matching them (an operator terminated it while the model judged, or
 * while PostgreSQL was down): started again, as the id's reuse policy allows after a run that did not
 * complete. A run still going (waiting on the model) is found running and looked at again later.
 */
export const roomEventRestartRecovery = rowRecovery({
  name: 'room events left unmatched',
  table: 'room_events',
  list: listUnmatchedRoomEvents,
  start: (temporal, e) => startRoomEvent(temporal, e),
  restarts: true,
});
