import { ActivityFailure, ApplicationFailure, patched, sleep, TimeoutFailure } from '@temporalio/workflow';

/**
 * The failure type an activity fails with when PostgreSQL was unreachable (set by the worker's
 * activity interceptor, src/temporal/outages.ts). An outage is the infrastructure's fault, not the
 * work's: it must not use up the bounded retries of a model call or an agent run.
 */
export const DATABASE_UNAVAILABLE = 'DatabaseUnavailable';

/** How long to wait before calling again after an activity's retries ran out on a database outage. */
const OUTAGE_PAUSE = '5 seconds';

/**
 * Runs started before worker losses were outlasted recorded the failure at once; they replay so.
 * Asked only on the failure path, so a run that never lost its last attempt carries no marker.
 */
const WORKER_LOSS_PATCH = 'worker-loss-outlasted';

/**
 * How many times in a row the retries may run out on a lost worker before it counts as the work's
 * failure. Bounded because an activity that takes its own worker down (runs it out of memory, blocks
 * its event loop past the heartbeat timeout) would otherwise be retried forever, taking other work
 * down with each worker.
 */
export const WORKER_LOSS_ROUNDS = 3;

/**
 * Calls an activity whose retries are bounded (a model call, an agent run) and calls it again when
 * those retries ran out only because of the infrastructure:
 * - the database was down: wait, for as long as the outage lasts;
 * - the last two attempts were lost with their workers (heartbeat timeouts: killed or restarted
 *   mid-run), unless `workerLoss` is false: at once, up to `WORKER_LOSS_ROUNDS` times. In the fault
 *   drill, with a worker killed every 10 s, 8 of 692 agent runs lost all three attempts this way and
 *   ended failed.
 * Any other failure is the caller's to handle.
 */
export async function outlastingOutages<T>(call: () => Promise<T>, { workerLoss = true } = {}): Promise<T> {
  let workerLosses = 0;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (isDatabaseOutage(err)) {
        await sleep(OUTAGE_PAUSE);
      } else if (!(workerLoss && isWorkerLoss(err) && workerLosses++ < WORKER_LOSS_ROUNDS && patched(WORKER_LOSS_PATCH))) {
        throw err;
      }
    }
  }
}

const isDatabaseOutage = (err: unknown): boolean =>
  err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === DATABASE_UNAVAILABLE;

const isHeartbeatTimeout = (failure: unknown): boolean => failure instanceof TimeoutFailure && failure.timeoutType === 'HEARTBEAT';

/**
 * Every long activity heartbeats from start to end (activities/heartbeat.ts): a missed heartbeat means
 * the worker running it went away, not that the work failed. The engine puts the attempt before the
 * last one's failure under the timeout: when that one failed for the work's own reasons (a model
 * error, say), the retries were spent on the work, and they count.
 */
function isWorkerLoss(err: unknown): boolean {
  if (!(err instanceof ActivityFailure) || !isHeartbeatTimeout(err.cause)) return false;
  const before = err.cause!.cause;
  return before === undefined || isHeartbeatTimeout(before) || (before instanceof ApplicationFailure && before.type === DATABASE_UNAVAILABLE);
}
