import type { IngestGenericEventInput } from '../../workflows/ingest-generic-event.js';
import { HookwiseEventType, HookwiseOrg, HookwiseWorkspace } from '../../workflows/search-attributes.js';
import { listUnstartedInboxEvents, type InboxToStart } from '../db/inbox.js';
import { boundedPart, workflowId } from '../domain/bounded-id.js';
import { roleFor } from '../domain/generic-event.js';
import type { Temporal } from '../temporal/client.js';
import { rowRecovery } from './recovery.js';
import { startOnce } from './start.js';

/**
 * The generic ingress flow: inbox → `ingestGenericEvent` → outbox and agent runs. Keyed by the
 * sender's dedupe key when there is one, so a duplicate's start is refused by Temporal too; the key is
 * bounded (long or unusual keys become a readable prefix plus a hash) and kept whole in the inbox row
 * and the memo.
 */
export function genericEventWorkflowId(workspaceId: string, dedupeKey: string | null, inboxId: string): string {
  return dedupeKey === null
    ? workflowId('generic-event', workspaceId, inboxId)
    : workflowId('generic-event', workspaceId, 'dedupe', boundedPart(dedupeKey));
}

export function startGenericEvent(temporal: Temporal, e: InboxToStart) {
  const input: IngestGenericEventInput = { inboxId: e.id };
  const role = roleFor(e.sourceKind, e.eventType);
  return startOnce(temporal, {
    workflowType: 'ingestGenericEvent',
    workflowId: genericEventWorkflowId(e.workspaceId, e.dedupeKey, e.id),
    args: [input],
    memo: { inboxId: e.id, workspaceId: e.workspaceId, dedupeKey: e.dedupeKey },
    searchAttributes: [
      { key: HookwiseOrg, value: e.organizationId },
      { key: HookwiseWorkspace, value: e.workspaceId },
      { key: HookwiseEventType, value: role },
    ],
    summary: `${role} for workspace ${e.workspaceId}`,
    reuse: 'never',
  });
}

export const genericEventRecovery = rowRecovery({
  name: 'inbox events',
  table: 'event_inbox',
  list: listUnstartedInboxEvents,
  start: startGenericEvent,
});
