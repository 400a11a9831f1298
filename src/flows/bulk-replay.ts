import type { BulkReplayInput } from '../../workflows/bulk-replay.js';
import { HookwiseOrg, HookwiseWebhook } from '../../workflows/search-attributes.js';
import { replayLanded } from '../../workflows/signals.js';
import { listUnstartedOperations, type OperationKind } from '../db/operations.js';
import { workflowId } from '../domain/bounded-id.js';
import { withinDeadline, type Temporal } from '../temporal/client.js';
import { rowRecovery } from './recovery.js';
import { startOnce } from './start.js';

/**
 * The bulk replay flow: one `bulkReplay` workflow per operation (`bulk-replay:<operation>`), which
 * replays the operation's deliveries a few at a time, never more at once than each endpoint's own
 * in-flight limit, so a receiver that just came back is not flooded.
 */
export function bulkReplayWorkflowId(operationId: string): string {
  return workflowId('bulk-replay', operationId);
}

export function startBulkReplay(temporal: Temporal, op: { id: string; organizationId: string; kind: OperationKind; webhookId: string | null }) {
  const input: BulkReplayInput = { operationId: op.id };
  return startOnce(temporal, {
    workflowType: 'bulkReplay',
    workflowId: bulkReplayWorkflowId(op.id),
    args: [input],
    memo: { operationId: op.id, kind: op.kind },
    searchAttributes: [
      { key: HookwiseOrg, value: op.organizationId },
      ...(op.webhookId ? [{ key: HookwiseWebhook, value: op.webhookId }] : []),
    ],
    summary: `${op.kind} ${op.id}`,
    reuse: 'never',
  });
}

/** Tells an operation's workflow that one of its replays ended, so it refills the endpoint's window at once. */
export async function wakeBulkReplay(temporal: Temporal, operationId: string): Promise<void> {
  await withinDeadline(temporal.client, () => temporal.client.workflow.getHandle(bulkReplayWorkflowId(operationId)).signal(replayLanded));
}

export const bulkReplayRecovery = rowRecovery({
  name: 'operations',
  table: 'operations',
  list: listUnstartedOperations,
  start: startBulkReplay,
});
