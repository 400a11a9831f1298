import { RECOVERABLE_FLOWS } from '../flows/registry.js';
import { TemporalUnreachable, type RecoveryContext, type RecoveryResult } from '../flows/recovery.js';
import type { Metrics } from '../metrics.js';

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

/** Runs a pass every `intervalSeconds` on work at least that old; passes never overlap. */
export function startRecoveryLoop(ctx: Omit<RecoveryContext, 'olderThanSeconds'>, intervalSeconds: number, metrics?: Metrics) {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    recoverUnstarted({ ...ctx, olderThanSeconds: intervalSeconds }, metrics)
      .then((r) => {
        if (r.started + r.retrying + r.refused > 0) {
          ctx.log(`recovery: started ${r.started}, retrying ${r.retrying}, refused ${r.refused} workflow(s) of work that had not reached Temporal`);
        }
        if (r.running > 0) ctx.log(`recovery: ${r.running} workflow(s) of overdue work already running (a busy engine); looked at again in 5 minutes`);
      })
      .catch((err) => ctx.log(err instanceof TemporalUnreachable ? `recovery: ${err.message}; next pass in ${intervalSeconds}s` : `recovery: ${(err as Error).message}`))
      .finally(() => {
        running = false;
      });
  }, intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
