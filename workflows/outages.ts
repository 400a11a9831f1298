import { ActivityFailure, ApplicationFailure, patched, sleep, TimeoutFailure } from '@temporalio/workflow';

/**
 * The failure type an activity fails with when PostgreSQL was unreachable (set by the worker's
 * activity interceptor, src/temporal/outages.ts). An outage is the infrastructure's fault, not the
 * work's: it must not use up the bounded retries of a model call or an agent run.
 */
export const DATABASE_UNAVAILABLE = 'DatabaseUnavailable';

const OUTAGE_PAUSE_FIRST_MS = 5_000;
export const OUTAGE_PAUSE_MAX_MS = 5 * 60_000;

/**
 * How long to wait before calling again after an activity's retries ran out on a database outage: 5 s
 * at first, doubling with each round of the same outage up to 5 minutes. Each round writes about 11
 * events to the workflow's history, and Temporal ends a workflow at 51,200: at a fixed 5 s (a round
 * every ~8 s with the retries) an outage of ~10 hours ended every agent run and backlog item waiting
 * on it; at 5 minutes a round, the history holds out for about two weeks.
 */
export function outagePauseMs(round: number): number {
  return Math.min(OUTAGE_PAUSE_MAX_MS, OUTAGE_PAUSE_FIRST_MS * 2 ** round);
}
/** Runs started before the pause grew waited 5 s each round; they replay so. Asked from the second round on. */
const GROWING_PAUSE_PATCH = 'outage-pause-grows';

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
 * - the database was down: wait (`outagePauseMs`), for as long as the outage lasts;
 * - the last two attempts were lost with their workers (heartbeat timeouts: killed or restarted
 *   mid-run), unless `workerLoss` is false: at once, up to `WORKER_LOSS_ROUNDS` times. In the fault
 *   drill, with a worker killed every 10 s, 8 of 692 agent runs lost all three attempts this way and
 *   ended failed.
 * Any other failure is the caller's to handle.
 */
export async function outlastingOutages<T>(call: () => Promise<T>, { workerLoss = true } = {}): Promise<T> {
  let workerLosses = 0;
  let outageRounds = 0;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (isDatabaseOutage(err)) {
        const round = outageRounds++;
        await sleep(round === 0 || !patched(GROWING_PAUSE_PATCH) ? OUTAGE_PAUSE_FIRST_MS : outagePauseMs(round));
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
