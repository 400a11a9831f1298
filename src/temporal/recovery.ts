import type { Client } from '@temporalio/client';
import type { Db } from '../db/pool.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import { listUnstartedRoomEvents } from '../db/room-events.js';
import { startRoomEventWorkflow } from '../rooms/inbound.js';
import { listUnstartedInboxEvents } from '../db/inbox.js';
import { startGenericEventWorkflow } from '../generic/ingest.js';

export interface RecoveryDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  dispatcher: Dispatcher;
  agentTimeoutMs: number;
}

/**
 * Starts the workflows of work recorded in PostgreSQL at least `olderThanSeconds` ago that never
 * reached Temporal (the API crashed between its commit and the start, or Temporal was down):
 * deliveries, inbound room events and generic inbox events. Workflow ids make starting something already started a no-op,
 * so several workers may do this at once. `organizationIds` narrows it (tests sharing one database).
 */
export async function recoverUnstarted(
  deps: RecoveryDeps,
  olderThanSeconds: number,
  organizationIds: string[] | null = null,
): Promise<number> {
  const deliveries = await deps.dispatcher.startUnstarted(olderThanSeconds, organizationIds);
  const events = await listUnstartedRoomEvents(deps.db, olderThanSeconds, 500, organizationIds);
  for (const e of events) {
    await startRoomEventWorkflow(deps.temporal, deps.taskQueue, {
      eventId: e.id,
      organizationId: e.organizationId,
      roomId: e.roomId,
      sourceId: e.sourceId,
      payload: e.payload,
      receivedAt: e.receivedAt.getTime(),
    });
  }
  const inbox = await listUnstartedInboxEvents(deps.db, olderThanSeconds, 500, organizationIds);
  for (const e of inbox) {
    await startGenericEventWorkflow(deps, { inboxId: e.id, workspaceId: e.workspaceId, dedupeKey: e.dedupeKey });
  }
  return deliveries + events.length + inbox.length;
}

export function startRecoveryLoop(deps: RecoveryDeps, intervalSeconds: number, log: (line: string) => void = console.error) {
  const timer = setInterval(() => {
    recoverUnstarted(deps, intervalSeconds)
      .then((n) => n > 0 && log(`recovery: started ${n} workflow(s) of work that had not reached Temporal`))
      .catch((err) => log(`recovery: ${(err as Error).message}`));
  }, intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
