import type { Queryable } from './pool.js';
import type { Rule } from '../domain/rules.js';
import type { VerificationScheme } from '../domain/inbound-signatures.js';
import type { SigningKey } from '../domain/signing-keys.js';

export interface EventSource {
  id: string;
  organizationId: string;
  roomId: string;
  workspaceId: string;
  name: string;
  verificationScheme: VerificationScheme | null;
  /** Sealed secrets, newest first; null when the source verifies nothing. */
  verificationKeys: SigningKey[] | null;
  verificationHeader: string | null;
  definitionsVersion: number;
  droppedCount: number;
  createdAt: Date;
}

export interface EventDefinition {
  id: string;
  organizationId: string;
  sourceId: string;
  name: string;
  description: string;
  priority: number;
  rule: Rule | null;
  instructions: string | null;
  createdAt: Date;
}

const SOURCE = `s.id, s.organization_id AS "organizationId", s.room_id AS "roomId",
  (SELECT r.workspace_id FROM rooms r WHERE r.id = s.room_id) AS "workspaceId", s.name,
  s.verification_scheme AS "verificationScheme", s.verification_keys AS "verificationKeys",
  s.verification_header AS "verificationHeader", s.definitions_version AS "definitionsVersion",
  s.dropped_count AS "droppedCount", s.created_at AS "createdAt"`;
const DEFINITION = `d.id, d.organization_id AS "organizationId", d.source_id AS "sourceId", d.name, d.description,
  d.priority, d.rule, d.instructions, d.created_at AS "createdAt"`;

export async function insertEventSource(
  db: Queryable,
  s: Omit<EventSource, 'createdAt' | 'definitionsVersion' | 'droppedCount' | 'workspaceId'> & { tokenHash: string },
): Promise<EventSource> {
  const { rows } = await db.query(
    `INSERT INTO event_sources AS s (id, organization_id, room_id, name, token_hash, verification_scheme,
                                     verification_keys, verification_header)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8) RETURNING ${SOURCE}`,
    [s.id, s.organizationId, s.roomId, s.name, s.tokenHash, s.verificationScheme, s.verificationKeys === null ? null : JSON.stringify(s.verificationKeys), s.verificationHeader],
  );
  return rows[0];
}

export async function findEventSource(db: Queryable, organizationId: string, id: string): Promise<EventSource | null> {
  const { rows } = await db.query(`SELECT ${SOURCE} FROM event_sources s WHERE s.organization_id = $1 AND s.id = $2`, [
    organizationId,
    id,
  ]);
  return rows[0] ?? null;
}

/** The ingress's lookup: a token is the only credential a sender has. */
export async function findEventSourceByTokenHash(db: Queryable, tokenHash: string): Promise<EventSource | null> {
  const { rows } = await db.query(`SELECT ${SOURCE} FROM event_sources s WHERE s.token_hash = $1`, [tokenHash]);
  return rows[0] ?? null;
}

export async function listEventSources(db: Queryable, organizationId: string, roomId: string): Promise<EventSource[]> {
  const { rows } = await db.query(
    `SELECT ${SOURCE} FROM event_sources s WHERE s.organization_id = $1 AND s.room_id = $2 ORDER BY s.created_at, s.id`,
    [organizationId, roomId],
  );
  return rows;
}

export async function replaceToken(db: Queryable, organizationId: string, id: string, tokenHash: string): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE event_sources SET token_hash = $3 WHERE organization_id = $1 AND id = $2`, [
    organizationId,
    id,
    tokenHash,
  ]);
  return (rowCount ?? 0) > 0;
}

export async function renameEventSource(db: Queryable, organizationId: string, id: string, name: string): Promise<EventSource | null> {
  const { rows } = await db.query(`UPDATE event_sources s SET name = $3 WHERE s.organization_id = $1 AND s.id = $2 RETURNING ${SOURCE}`, [
    organizationId,
    id,
    name,
  ]);
  return rows[0] ?? null;
}

/** How a source verifies its senders: its scheme, its keys (sealed, newest first) and its header. */
export type SourceVerification = { scheme: VerificationScheme; keys: SigningKey[]; header: string | null };

/**
 * Changes a source's verification under a row lock, so that two rotations at once don't drop a key:
 * `change` gets the current setting (null: none) and returns the next (null: verify nothing).
 */
export async function changeVerification(
  db: Queryable,
  organizationId: string,
  id: string,
  change: (current: SourceVerification | null) => SourceVerification | null,
): Promise<EventSource | null> {
  const { rows } = await db.query(
    `SELECT verification_scheme AS scheme, verification_keys AS keys, verification_header AS header
       FROM event_sources WHERE organization_id = $1 AND id = $2 FOR UPDATE`,
    [organizationId, id],
  );
  if (!rows[0]) return null;
  const next = change(rows[0].scheme ? rows[0] : null);
  const { rows: updated } = await db.query(
    `UPDATE event_sources s SET verification_scheme = $3, verification_keys = $4::jsonb, verification_header = $5
      WHERE organization_id = $1 AND id = $2 RETURNING ${SOURCE}`,
    [organizationId, id, next?.scheme ?? null, next === null ? null : JSON.stringify(next.keys), next?.header ?? null],
  );
  return updated[0];
}

/**
 * Adds a definition unless its source holds `max` already (null then). Inside a transaction: the source
 * row's lock comes first, so the count sees every definition committed before it.
 */
export async function insertDefinition(db: Queryable, d: Omit<EventDefinition, 'createdAt'>, max: number): Promise<EventDefinition | null> {
  await db.query(`SELECT 1 FROM event_sources WHERE id = $1 FOR UPDATE`, [d.sourceId]);
  const { rows: counted } = await db.query(`SELECT count(*)::int AS n FROM event_definitions WHERE source_id = $1`, [d.sourceId]);
  if (counted[0].n >= max) return null;
  const { rows } = await db.query(
    `WITH bump AS (UPDATE event_sources SET definitions_version = definitions_version + 1 WHERE id = $3)
     INSERT INTO event_definitions AS d (id, organization_id, source_id, name, description, priority, rule, instructions)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8) RETURNING ${DEFINITION}`,
    [d.id, d.organizationId, d.sourceId, d.name, d.description, d.priority, d.rule === null ? null : JSON.stringify(d.rule), d.instructions],
  );
  return rows[0];
}

/**
 * Locks the source row of an org's definition; false when there is no such definition. A change to a
 * definition takes its source's lock first, as deleting the source (or its room) does before the
 * cascade reaches the definitions: the two wait for each other instead of deadlocking.
 */
async function lockSourceOfDefinition(tx: Queryable, organizationId: string, id: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    `SELECT 1 FROM event_sources WHERE id = (SELECT source_id FROM event_definitions WHERE organization_id = $1 AND id = $2) FOR UPDATE`,
    [organizationId, id],
  );
  return (rowCount ?? 0) > 0;
}

/** Inside a transaction (see lockSourceOfDefinition). */
export async function deleteDefinition(tx: Queryable, organizationId: string, id: string): Promise<boolean> {
  if (!(await lockSourceOfDefinition(tx, organizationId, id))) return false;
  const { rowCount } = await tx.query(
    `WITH gone AS (DELETE FROM event_definitions WHERE organization_id = $1 AND id = $2 RETURNING source_id)
     UPDATE event_sources SET definitions_version = definitions_version + 1 WHERE id IN (SELECT source_id FROM gone)`,
    [organizationId, id],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Changes what is given (`rule` or `instructions` null: removed). Matching uses the new definition from
 * the next event on, and earlier model answers for its source are no longer reused (the version moves).
 * Inside a transaction (see lockSourceOfDefinition).
 */
export async function updateDefinition(
  tx: Queryable,
  organizationId: string,
  id: string,
  c: Partial<Pick<EventDefinition, 'name' | 'description' | 'priority' | 'rule' | 'instructions'>>,
): Promise<EventDefinition | null> {
  if (!(await lockSourceOfDefinition(tx, organizationId, id))) return null;
  const { rows } = await tx.query(
    `WITH d AS (
       UPDATE event_definitions d SET
         name = coalesce($3, name), description = coalesce($4, description), priority = coalesce($5, priority),
         rule = CASE WHEN $6 THEN $7::jsonb ELSE rule END,
         instructions = CASE WHEN $8 THEN $9 ELSE instructions END
        WHERE organization_id = $1 AND id = $2 RETURNING ${DEFINITION}
     ), bump AS (UPDATE event_sources SET definitions_version = definitions_version + 1 WHERE id IN (SELECT "sourceId" FROM d))
     SELECT * FROM d`,
    [
      organizationId,
      id,
      c.name ?? null,
      c.description ?? null,
      c.priority ?? null,
      c.rule !== undefined,
      c.rule == null ? null : JSON.stringify(c.rule),
      c.instructions !== undefined,
      c.instructions ?? null,
    ],
  );
  return rows[0] ?? null;
}

/** With its definitions, events and backlog items: its URL stops working with this statement. */
export async function deleteEventSource(db: Queryable, organizationId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM event_sources WHERE organization_id = $1 AND id = $2`, [organizationId, id]);
  return (rowCount ?? 0) > 0;
}

/** In the order matching tries them: lower priority number first, then oldest first. */
export async function listDefinitions(db: Queryable, sourceId: string): Promise<EventDefinition[]> {
  const { rows } = await db.query(
    `SELECT ${DEFINITION} FROM event_definitions d WHERE d.source_id = $1 ORDER BY d.priority, d.created_at, d.id`,
    [sourceId],
  );
  return rows;
}

/** Org-scoped when organizationId is given; the worker looks definitions up by id alone. */
export async function findDefinition(db: Queryable, organizationId: string | null, id: string): Promise<EventDefinition | null> {
  const { rows } = await db.query(`SELECT ${DEFINITION} FROM event_definitions d WHERE d.id = $2 AND ($1::text IS NULL OR d.organization_id = $1)`, [
    organizationId,
    id,
  ]);
  return rows[0] ?? null;
}

export async function definitionsVersion(db: Queryable, sourceId: string): Promise<number> {
  const { rows } = await db.query(`SELECT definitions_version AS v FROM event_sources WHERE id = $1`, [sourceId]);
  return rows[0]?.v ?? 0;
}

