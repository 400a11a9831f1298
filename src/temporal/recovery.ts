import { RECOVERABLE_FLOWS } from '../flows/registry.js';
import { TemporalUnreachable, type RecoveryContext, type RecoveryResult } from '../flows/recovery.js';
import type { Metrics } from '../metrics.js';
import { whileHoldingLock } from '../db/session-lock.js';
import { engineBacklogSeconds } from './backlog.js';

/**
 * One recovery pass: every recoverable flow starts the workflows of work that reached PostgreSQL but
 * not Temporal (the API crashed between its commit and the start, or Temporal was down). Workflow ids
 * make a start of something already started a no-op, so several workers may run this at once.
 */
export async function recoverUnstarted(ctx: RecoveryContext, metrics?: Metrics): Promise<RecoveryResult> {
  const total: RecoveryResult = { started: 0, running: 0, retrying: 0, refused: 0 };
  for (const flow of RECOVERABLE_FLOWS) {
    const r = await flow.recover(ctx);
    total.running += r.running;
    for (const result of ['started', 'retrying', 'refused'] as const) {
      total[result] += r[result];
      if (r[result] > 0) metrics?.recoveryStarts.inc({ flow: flow.name, result }, r[result]);
    }
  }
  return total;
}

/** The advisory lock that keeps recovery passes on several workers from overlapping. */
const RECOVERY_LOCK = 'hookwise:recovery';
/** The engine's backlog delays recovery by at most this many intervals. */
const MAX_BACKLOG_WAIT = 10;

/**
 * The worker loop's pass: runs only where no other worker is in a pass (passes side by side would
 * start the same rows twice over), and counts work as overdue only once it is older than the interval
 * plus the engine's backlog. On a busy engine a started workflow waits that long for a worker, and its
 * row looks unstarted until then: asking Temporal to start it again only adds load. Returns null when
 * another worker's pass is running.
 */
export async function recoveryPass(
  ctx: Omit<RecoveryContext, 'olderThanSeconds'>,
  intervalSeconds: number,
  metrics?: Metrics,
): Promise<{ result: RecoveryResult; olderThanSeconds: number } | null> {
  return whileHoldingLock(ctx.db, RECOVERY_LOCK, async () => {
    // Capped: work that truly never reached Temporal must not wait on a backlog without end.
    const backlog = Math.min(Math.ceil(await engineBacklogSeconds(ctx.temporal)), MAX_BACKLOG_WAIT * intervalSeconds);
    const olderThanSeconds = intervalSeconds + backlog;
    return { result: await recoverUnstarted({ ...ctx, olderThanSeconds }, metrics), olderThanSeconds };
  });
}

/** Runs a pass every `intervalSeconds`; passes never overlap, in this process or across workers. */
export function startRecoveryLoop(ctx: Omit<RecoveryContext, 'olderThanSeconds'>, intervalSeconds: number, metrics?: Metrics) {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    recoveryPass(ctx, intervalSeconds, metrics)
      .then((pass) => {
        if (!pass) return;
        const { result: r, olderThanSeconds } = pass;
        if (r.started + r.retrying + r.refused > 0) {
          ctx.log(`recovery: started ${r.started}, retrying ${r.retrying}, refused ${r.refused} workflow(s) of work that had not reached Temporal`);
        }
        if (r.running > 0) ctx.log(`recovery: ${r.running} workflow(s) of overdue work already running (a busy engine); looked at again in 5 minutes`);
        // Worth a line only when the engine is well behind, not for the second or two of a busy queue.
        if (olderThanSeconds >= 2 * intervalSeconds) ctx.log(`recovery: the engine's backlog is ${olderThanSeconds - intervalSeconds}s old; only work older than ${olderThanSeconds}s counted as overdue`);
      })
      .catch((err) => ctx.log(err instanceof TemporalUnreachable ? `recovery: ${err.message}; next pass in ${intervalSeconds}s` : `recovery: ${(err as Error).message}`))
      .finally(() => {
        running = false;
      });
  }, intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
