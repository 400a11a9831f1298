import { ParentClosePolicy, patched, proxyActivities, startChild } from '@temporalio/workflow';
import type { GenericEventActivities } from '../activities/generic-events.js';
import { agentRun, runAgentToEnd } from './agent-run.js';
import { quick } from './activity-profiles.js';
import { HookwiseEventType, HookwiseOrg, HookwiseWorkspace } from './search-attributes.js';

export interface IngestGenericEventInput {
  inboxId: string;
}

const { processInboxEvent } = proxyActivities<GenericEventActivities>(quick);

/** Marks runs that run their agents as their own activities; runs started before start child workflows. */
const AGENTS_INLINE_PATCH = 'generic-event-agents-inline';

/**
 * inbox → outbox: one activity publishes the normalized event (to webhooks and the live stream) and
 * opens a chat and a queued run for every agent holding the event's role; then the agents run, side
 * by side, each as one activity of this workflow (`agent-run:<agent>:<inbox>`). The first activity is
 * idempotent, so a worker lost between inbox and outbox publishes the event once when the workflow
 * resumes.
 */
export async function ingestGenericEvent({ inboxId }: IngestGenericEventInput): Promise<{ eventId: string; agentRuns: number }> {
  const { eventId, runs } = await processInboxEvent({ inboxId });
  if (patched(AGENTS_INLINE_PATCH)) {
    // An agent run as an activity here rather than a child workflow: one workflow per event, not one
    // more per agent, and two fewer workflow tasks per run.
    await Promise.all(runs.map((run) => runAgentToEnd(run.runId, run.workflowId)));
    return { eventId, agentRuns: runs.length };
  }
  for (const run of runs) {
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
