import type { InboxEvent } from '../db/inbox.js';

/** The normalized event as subscribers see it: the `data` of the published `webhook.*` event. */
export function genericEnvelope(e: InboxEvent) {
  return {
    id: e.id,
    workspace_id: e.workspaceId,
    source_kind: e.sourceKind,
    event_type: e.eventType,
    source_identifier: e.sourceIdentifier,
    dedupe_key: e.dedupeKey,
    headers: e.headers,
    verified: e.verified,
    payload: JSON.parse(e.payload) as Record<string, unknown>,
    received_at: e.receivedAt.toISOString(),
  };
}
