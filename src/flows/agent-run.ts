import { workflowId } from '../domain/bounded-id.js';

/**
 * An agent run's id in Temporal, one per (agent, inbound event): the id of its activity in the event's
 * `ingestGenericEvent` workflow (`agent-run:<agent>:<inbox>`), and of its own `agentRun` workflow for
 * runs started before agents ran inside that workflow. Kept in `agent_runs.workflow_id`.
 */
export function agentRunWorkflowId(agentId: string, inboxId: string): string {
  return workflowId('agent-run', agentId, inboxId);
}
