import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { GenericEventActivities } from '../activities/generic-events.js';
import { agentRun as agentRunProfile, quick } from './activity-profiles.js';
import { outlastingOutages } from './outages.js';

export interface AgentRunInput {
  runId: string;
}

const { runAgentInChat } = proxyActivities<GenericEventActivities>(agentRunProfile);
const { failAgentRun } = proxyActivities<GenericEventActivities>(quick);

/**
 * One workspace agent answering one event in its chat; failures after retries are recorded, not lost.
 * A database outage is waited out rather than recorded as the run's failure.
 */
export async function agentRun({ runId }: AgentRunInput): Promise<'done' | 'failed'> {
  try {
    await outlastingOutages(() => runAgentInChat({ runId }));
    return 'done';
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    await failAgentRun({ runId, error: err.cause?.message ?? err.message });
    return 'failed';
  }
}
