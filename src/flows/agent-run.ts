import { workflowId } from '../domain/bounded-id.js';

/**
 * The agent run flow: one `agentRun` child workflow per (agent, inbound event), started by
 * `ingestGenericEvent` with the id and attributes its activity hands back (`agent-run:<agent>:<inbox>`).
 */
export function agentRunWorkflowId(agentId: string, inboxId: string): string {
  return workflowId('agent-run', agentId, inboxId);
}
