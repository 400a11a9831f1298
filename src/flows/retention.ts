import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import { withinDeadline, type Temporal } from '../temporal/client.js';

/** The retention flow: a Temporal schedule that starts the `retention` workflow every hour. */
export const RETENTION_SCHEDULE_ID = 'hookwise-retention';

/** Creates the schedule if it does not exist yet (every worker tries; the first one wins). */
export async function ensureRetentionSchedule(temporal: Temporal): Promise<'created' | 'exists'> {
  try {
    await withinDeadline(temporal.client, () =>
      temporal.client.schedule.create({
        scheduleId: RETENTION_SCHEDULE_ID,
        spec: { intervals: [{ every: '1 hour' }] },
        action: { type: 'startWorkflow', workflowType: 'retention', taskQueue: temporal.taskQueue, args: [], workflowId: 'retention' },
        policies: { overlap: ScheduleOverlapPolicy.SKIP },
        memo: { what: 'deletes delivery history older than HOOKWISE_RETENTION_DAYS' },
      }),
    );
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return 'exists';
    throw err;
  }
}
