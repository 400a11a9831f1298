import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { GenericEventActivities } from '../activities/generic-events.js';

export interface AgentRunInput {
  runId: string;
  agentTimeoutMs: number;
}

const { failAgentRun } = proxyActivities<GenericEventActivities>({ startToCloseTimeout: '30 seconds' });

/** One workspace agent answering one event in its chat; failures after retries are recorded, not lost. */
export async function agentRun(input: AgentRunInput): Promise<'done' | 'failed'> {
  const { runAgentInChat } = proxyActivities<GenericEventActivities>({
    startToCloseTimeout: input.agentTimeoutMs,
    retry: { maximumAttempts: 3, initialInterval: '1s', nonRetryableErrorTypes: ['LlmNotConfigured'] },
  });
  try {
    await runAgentInChat({ runId: input.runId });
    return 'done';
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    await failAgentRun({ runId: input.runId, error: err.cause?.message ?? err.message });
    return 'failed';
  }
}
