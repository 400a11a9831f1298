import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { GenericEventActivities } from '../activities/generic-events.js';
import { agentRun as agentRunProfile, quick } from './activity-profiles.js';
import { outlastingOutages } from './outages.js';

export interface AgentRunInput {
  runId: string;
}

const { failAgentRun } = proxyActivities<GenericEventActivities>(quick);

/**
 * One workspace agent answering one event in its chat; failures after retries are recorded, not lost.
 * A database outage is waited out rather than recorded as the run's failure. `activityId` names the
 * run's activity in the workflow's history (`agent-run:<agent>:<inbox>`).
 */
export async function runAgentToEnd(runId: string, activityId?: string): Promise<'done' | 'failed'> {
  const { runAgentInChat } = proxyActivities<GenericEventActivities>(activityId ? { ...agentRunProfile, activityId } : agentRunProfile);
  try {
    await outlastingOutages(() => runAgentInChat({ runId }));
    return 'done';
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    await failAgentRun({ runId, error: err.cause?.message ?? err.message });
    return 'failed';
  }
}

/**
 * An agent run as its own workflow: how `ingestGenericEvent` ran agents before it ran them itself.
 * Kept so that runs started by earlier versions finish; nothing starts it any more.
 */
export async function agentRun({ runId }: AgentRunInput): Promise<'done' | 'failed'> {
  return runAgentToEnd(runId);
}
