import type { RoomSchedulerInput } from '../../workflows/room-scheduler.js';
import { HookwiseOrg, HookwiseRoom, HookwiseWorkspace } from '../../workflows/search-attributes.js';
import { backlogChanged, triggerImmediate } from '../../workflows/signals.js';
import { roomsWithOverdueItems } from '../db/backlog.js';
import { workflowId } from '../domain/bounded-id.js';
import type { Temporal } from '../temporal/client.js';
import { TemporalUnreachable, type Recoverable } from './recovery.js';
import { signalWithStart, startOnce, type StartSpec } from './start.js';
import { isTemporalUnreachable } from '../temporal/client.js';

/**
 * The room scheduler flow: one `roomScheduler` per room (`room-scheduler:<room>`), alive only while the
 * room has work. An admission wakes it for the room's next tick boundary; a human reply runs it now.
 * Either starts it when it isn't running.
 */
export function roomSchedulerWorkflowId(roomId: string): string {
  return workflowId('room-scheduler', roomId);
}

export interface RoomRef {
  roomId: string;
  organizationId: string;
  workspaceId: string;
}

function schedulerStart(room: RoomRef): StartSpec {
  const input: RoomSchedulerInput = { roomId: room.roomId };
  return {
    workflowType: 'roomScheduler',
    workflowId: roomSchedulerWorkflowId(room.roomId),
    args: [input],
    memo: { roomId: room.roomId, workspaceId: room.workspaceId },
    searchAttributes: [
      { key: HookwiseOrg, value: room.organizationId },
      { key: HookwiseRoom, value: room.roomId },
      { key: HookwiseWorkspace, value: room.workspaceId },
    ],
    summary: `scheduler of room ${room.roomId}`,
    reuse: 'after-completion',
  };
}

export function wakeRoomScheduler(temporal: Temporal, room: RoomRef, when: 'next-tick' | 'now'): Promise<void> {
  return signalWithStart(temporal, schedulerStart(room), when === 'now' ? triggerImmediate : backlogChanged);
}

/**
 * Rooms whose items have waited past two ticks (an admission whose wake-up never reached Temporal,
 * or a run lost with its scheduler) get a scheduler started. A scheduler that is running is left
 * alone: it claims every pending item before it ends, and signalling it would only add an empty round
 * (many of them when a busy machine makes items wait).
 */
export const roomSchedulerRecovery: Recoverable = {
  name: 'room schedulers',
  async recover(ctx) {
    const rooms = await roomsWithOverdueItems(ctx.db, {
      olderThanSeconds: Math.max(ctx.olderThanSeconds, 2 * ctx.roomTickSeconds),
      stuckAfterSeconds: 15 * 60,
      limit: 500,
      organizationIds: ctx.organizationIds,
    });
    let started = 0;
    let running = 0;
    let retrying = 0;
    for (const room of rooms) {
      try {
        if ((await startOnce(ctx.temporal, schedulerStart(room))) === 'started') started++;
        else running++;
      } catch (err) {
        if (isTemporalUnreachable(err)) throw new TemporalUnreachable((err as Error).message);
        ctx.log(`recovery: room scheduler ${room.roomId}: ${(err as Error).message}`);
        retrying++;
      }
    }
    return { started, running, retrying, refused: 0 };
  },
};
