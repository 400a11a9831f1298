import type { Db } from '../db/pool.js';
import { markFoundRunning, markRestarted, markStartFailed, type StartTable } from '../db/workflow-starts.js';
import type { StartOutcome } from './start.js';
import { isPermanentRefusal, isTemporalUnreachable, type Temporal } from '../temporal/client.js';

/** What a recovery pass needs; `organizationIds` narrows it (tests sharing one database). */
export interface RecoveryContext {
  db: Db;
  temporal: Temporal;
  olderThanSeconds: number;
  organizationIds: string[] | null;
  log: (line: string) => void;
  /** Worker settings a flow may need to judge what is overdue. */
  roomTickSeconds: number;
}

export interface RecoveryResult {
  started: number;
  /** Rows whose workflow was already running: not started again, and looked at again later. */
  running: number;
  /** Starts that failed this pass and will be retried later. */
  retrying: number;
  /** Rows Temporal refused for good: marked with the reason and skipped from now on. */
  refused: number;
}

/** One flow's part of a recovery pass. */
export interface Recoverable {
  name: string;
  recover(ctx: RecoveryContext): Promise<RecoveryResult>;
}

export class TemporalUnreachable extends Error {}

const BATCH = 500;
const CONCURRENCY = 8;

/**
 * Recovery for a flow whose work is one table row per workflow: start the workflows of rows recorded
 * a while ago that never reached Temporal. One row that fails never stops the others: a permanent
 * refusal is marked and skipped, any other failure is retried later with back-off (so it sinks behind
 * newer rows). Only an unreachable Temporal ends the pass early: nothing else would start either.
 */
export function rowRecovery<Row extends { id: string }>(flow: {
  name: string;
  table: StartTable;
  list(db: Db, olderThanSeconds: number, limit: number, organizationIds: string[] | null): Promise<Row[]>;
  start(temporal: Temporal, row: Row): Promise<StartOutcome>;
  /** The rows are of work whose workflow already ran once and ended without finishing it: restarts are counted and bounded. */
  restarts?: boolean;
}): Recoverable {
  return {
    name: flow.name,
    async recover(ctx) {
      const rows = await flow.list(ctx.db, ctx.olderThanSeconds, BATCH, ctx.organizationIds);
      const result: RecoveryResult = { started: 0, running: 0, retrying: 0, refused: 0 };
      const foundRunning: string[] = [];
      const started: string[] = [];
      let next = 0;
      let unreachable: unknown = null;
      const lane = async () => {
        while (next < rows.length && unreachable === null) {
          const row = rows[next++];
          try {
            if ((await flow.start(ctx.temporal, row)) === 'started') started.push(row.id);
            else foundRunning.push(row.id);
          } catch (err) {
            if (isTemporalUnreachable(err)) {
              unreachable = err;
              return;
            }
            const permanent = isPermanentRefusal(err);
            await markStartFailed(ctx.db, flow.table, row.id, (err as Error).message, permanent);
            if (permanent) result.refused++;
            else result.retrying++;
            ctx.log(`recovery: ${flow.name} ${row.id}: ${permanent ? 'refused by Temporal, skipped' : 'start failed, will retry'}: ${(err as Error).message}`);
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, lane));
      result.started = started.length;
      result.running = foundRunning.length;
      await markFoundRunning(ctx.db, flow.table, foundRunning);
      if (flow.restarts) {
        await markRestarted(ctx.db, flow.table, started);
        for (const id of started) ctx.log(`recovery: ${flow.name} ${id}: started again (its workflow had ended without finishing it)`);
      }
      if (unreachable !== null) throw new TemporalUnreachable(`Temporal is unreachable: ${(unreachable as Error).message}`);
      return result;
    },
  };
}
