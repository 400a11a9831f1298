import { ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { GenericEventActivities } from '../activities/generic-events.js';
import { agentRun } from './agent-run.js';

export interface IngestGenericEventInput {
  inboxId: string;
  /** How long one agent run may take; passed on to the agent runs this event starts. */
  agentTimeoutMs: number;
}

const { publishInboxEvent, routeToAgents } = proxyActivities<GenericEventActivities>({
  startToCloseTimeout: '30 seconds',
});

/**
 * inbox → outbox: publishes the normalized event (to webhooks and the live stream), then starts one
 * agent run per agent holding the event's role. Each step is idempotent, so a worker lost between
 * inbox and outbox publishes the event once when the workflow resumes.
 */
export async function ingestGenericEvent(input: IngestGenericEventInput): Promise<{ eventId: string; agentRuns: number }> {
  const { eventId } = await publishInboxEvent({ inboxId: input.inboxId });
  const runs = await routeToAgents({ inboxId: input.inboxId });
  for (const run of runs) {
    // The run outlives this workflow: ingestion is done once the runs are queued.
    await startChild(agentRun, {
      workflowId: run.workflowId,
      args: [{ runId: run.runId, agentTimeoutMs: input.agentTimeoutMs }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  }
  return { eventId, agentRuns: runs.length };
}
