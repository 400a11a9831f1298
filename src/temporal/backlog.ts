import { withinDeadline, type Temporal } from './client.js';

// temporal.api.enums.v1.TaskQueueType
const WORKFLOW_TASKS = 1;
const ACTIVITY_TASKS = 2;

/**
 * How far behind the engine is: the age, in seconds, of the oldest task waiting in hookwise's task
 * queue, workflow or activity. A workflow started less than that ago may simply not have been picked
 * up yet. 0 when Temporal does not say (an older server, or no answer within the deadline).
 */
export async function engineBacklogSeconds(temporal: Temporal): Promise<number> {
  const ageOf = async (taskQueueType: number) => {
    const r = await withinDeadline(temporal.client, () =>
      temporal.client.workflowService.describeTaskQueue({
        namespace: temporal.namespace,
        taskQueue: { name: temporal.taskQueue },
        taskQueueType,
        reportStats: true,
      }),
    );
    const age = r.stats?.approximateBacklogAge;
    return age ? Number(age.seconds ?? 0) + (age.nanos ?? 0) / 1e9 : 0;
  };
  try {
    return Math.max(...(await Promise.all([ageOf(WORKFLOW_TASKS), ageOf(ACTIVITY_TASKS)])));
  } catch {
    return 0;
  }
}
