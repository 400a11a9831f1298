import { ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { GenericEventActivities } from '../activities/generic-events.js';
import { agentRun } from './agent-run.js';
import { quick } from './activity-profiles.js';
import { HookwiseEventType, HookwiseOrg, HookwiseWorkspace } from './search-attributes.js';

export interface IngestGenericEventInput {
  inboxId: string;
}

const { processInboxEvent } = proxyActivities<GenericEventActivities>(quick);

/**
 * inbox → outbox: one activity publishes the normalized event (to webhooks and the live stream) and
 * opens a chat and a queued run for every agent holding the event's role; then one agent run per
 * agent, as a child that outlives this workflow. The activity is idempotent, so a worker lost between
 * inbox and outbox publishes the event once when the workflow resumes.
 */
export async function ingestGenericEvent({ inboxId }: IngestGenericEventInput): Promise<{ eventId: string; agentRuns: number }> {
  const { eventId, runs } = await processInboxEvent({ inboxId });
  for (const run of runs) {
    // Run ids are unique to this event, and only this workflow starts them.
    await startChild(agentRun, {
      workflowId: run.workflowId,
      args: [{ runId: run.runId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      memo: { runId: run.runId, agentId: run.agentId, inboxId },
      typedSearchAttributes: [
        { key: HookwiseOrg, value: run.organizationId },
        { key: HookwiseWorkspace, value: run.workspaceId },
        { key: HookwiseEventType, value: run.role },
      ],
      staticSummary: `${run.role} for agent ${run.agentId}`,
    });
  }
  return { eventId, agentRuns: runs.length };
}
