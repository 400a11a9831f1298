import type { Db } from '../src/db/pool.js';
import type { Dispatcher } from '../src/delivery/dispatcher.js';
import { advanceCursor, completeOperation, findOperation, nextCandidates, openReplaysByWebhook } from '../src/db/operations.js';

export interface OperationActivityDeps {
  db: Db;
  dispatcher: Dispatcher;
  /** The deployment's in-flight limit, for webhooks that set none. */
  defaultInFlight: number;
}

const BATCH = 100;
/** How long a round waits for a replay to land when no `replayLanded` signal comes (a lost signal). */
const WAIT_MS = 2_000;

export function createOperationActivities(deps: OperationActivityDeps) {
  const { db } = deps;
  return {
    /**
     * Replays the operation's next candidates, in order, as long as each one's webhook has fewer of
     * this operation's replays open than its in-flight limit; stops at the first that has none, so
     * order is kept. Safe to retry, even while a try timed out still runs: an original is replayed
     * once per operation (a unique index), and a candidate with an open or successful replay is none.
     */
    async replayNextBatch({ operationId }: { operationId: string }): Promise<{ done: true } | { done: false; waitMs: number }> {
      const op = await findOperation(db, null, operationId);
      if (!op || op.status === 'completed') return { done: true };
      const open = await openReplaysByWebhook(db, operationId);
      const candidates = await nextCandidates(db, { ...op, defaultInFlight: deps.defaultInFlight }, BATCH);
      if (candidates.length === 0) {
        if ([...open.values()].every((n) => n === 0)) {
          await completeOperation(db, operationId);
          return { done: true };
        }
        return { done: false, waitMs: WAIT_MS };
      }
      for (const c of candidates) {
        if (c.active) {
          const busy = open.get(c.webhookId) ?? 0;
          if (busy >= c.limit) break;
          const result = await deps.dispatcher.replay(op.organizationId, c.id, { operationId });
          if (result.kind === 'ok') {
            open.set(c.webhookId, busy + 1);
          }
        }
        // A disabled webhook's deliveries are passed over: replaying them would only be cancelled.
        await advanceCursor(db, operationId, c.id);
      }
      return { done: false, waitMs: WAIT_MS };
    },
  };
}

export type OperationActivities = ReturnType<typeof createOperationActivities>;
