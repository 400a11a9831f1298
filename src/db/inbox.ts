import { createHash } from 'node:crypto';
import type { Queryable } from './pool.js';

export interface InboxEvent {
  id: string;
  organizationId: string;
  workspaceId: string;
  sourceKind: string;
  eventType: string;
  sourceIdentifier: string;
  dedupeKey: string | null;
  headers: Record<string, string>;
  verified: { signature: boolean | null };
  payload: string;
  receivedAt: Date;
  publishedEventId: string | null;
}

const COLUMNS = `id, organization_id AS "organizationId", workspace_id AS "workspaceId", source_kind AS "sourceKind",
  event_type AS "eventType", source_identifier AS "sourceIdentifier", dedupe_key AS "dedupeKey", headers, verified,
  payload, received_at AS "receivedAt", published_event_id AS "publishedEventId"`;

/**
 * Records an event for its workspace, taking the org from the workspace row in the same statement.
 * Returns the org id, or null when nothing was written: the workspace already has an event with this
 * dedupe key (the first one is kept), the workspace doesn't exist, or — with `unsignedOnly` — it
 * requires signed requests. Keys are unique by their hash, so a key of any length fits the index.
 */
export async function insertInboxEvent(
  db: Queryable,
  e: Omit<InboxEvent, 'organizationId' | 'receivedAt' | 'publishedEventId'>,
  options: { unsignedOnly: boolean },
): Promise<string | null> {
  const { rows } = await db.query(
    `INSERT INTO event_inbox (id, organization_id, workspace_id, source_kind, event_type, source_identifier, dedupe_key,
                              dedupe_hash, headers, verified, payload)
     SELECT $1, w.organization_id, w.id, $3, $4, $5, $6, $11, $7::jsonb, $8::jsonb, $9 FROM workspaces w
      WHERE w.id = $2 AND (NOT $10 OR w.ingress_keys IS NULL)
     ON CONFLICT (workspace_id, dedupe_hash) WHERE dedupe_hash IS NOT NULL DO NOTHING
     RETURNING organization_id AS "organizationId"`,
    [e.id, e.workspaceId, e.sourceKind, e.eventType, e.sourceIdentifier, e.dedupeKey,
      JSON.stringify(e.headers), JSON.stringify(e.verified), e.payload, options.unsignedOnly,
      e.dedupeKey === null ? null : dedupeHash(e.dedupeKey)],
  );
  return rows[0]?.organizationId ?? null;
}

export async function findInboxEvent(db: Queryable, id: string): Promise<InboxEvent | null> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM event_inbox WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function markInboxStarted(db: Queryable, id: string): Promise<void> {
  await db.query(`UPDATE event_inbox SET workflow_started_at = coalesce(workflow_started_at, now()) WHERE id = $1`, [id]);
}

export async function markInboxPublished(db: Queryable, id: string, eventId: string): Promise<void> {
  await db.query(`UPDATE event_inbox SET published_event_id = $2 WHERE id = $1`, [id, eventId]);
}

/** sha256 of the dedupe key: what the unique index holds. */
export function dedupeHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** What an inbox event's workflow is started with (and shows to operators). */
export interface InboxToStart {
  id: string;
  organizationId: string;
  workspaceId: string;
  dedupeKey: string | null;
  sourceKind: string;
  eventType: string;
}

export async function listUnstartedInboxEvents(
  db: Queryable,
  olderThanSeconds: number,
  limit: number,
  organizationIds: string[] | null = null,
): Promise<InboxToStart[]> {
  const { rows } = await db.query(
    `SELECT id, organization_id AS "organizationId", workspace_id AS "workspaceId", dedupe_key AS "dedupeKey",
            source_kind AS "sourceKind", event_type AS "eventType"
       FROM event_inbox
      WHERE workflow_started_at IS NULL AND start_error IS NULL
        AND coalesce(start_retry_at, received_at) < now() - make_interval(secs => $1)
        AND ($3::text[] IS NULL OR organization_id = ANY($3))
      ORDER BY coalesce(start_retry_at, received_at) LIMIT $2`,
    [olderThanSeconds, limit, organizationIds],
  );
  return rows;
}
