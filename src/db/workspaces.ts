import type { Queryable } from './pool.js';
import type { SigningKey } from '../domain/signing-keys.js';

export interface Workspace {
  id: string;
  organizationId: string;
  name: string;
  createdAt: Date;
}

export interface Room {
  id: string;
  organizationId: string;
  workspaceId: string;
  name: string;
  instructions: string;
  modelTier: 'fast' | 'smart';
  /** Sealed Twilio auth tokens, newest first; null: the room takes no Twilio messages. */
  twilioAuthKeys: SigningKey[] | null;
  createdAt: Date;
}

const WORKSPACE = `id, organization_id AS "organizationId", name, created_at AS "createdAt"`;
/**
 * A room's Twilio keys, or the lone token of a room that an API process of the previous release made
 * during a rolling deploy (it writes only twilio_auth_token_sealed).
 */
const TWILIO_KEYS = `coalesce(r.twilio_auth_keys, CASE WHEN r.twilio_auth_token_sealed IS NOT NULL
  THEN jsonb_build_array(jsonb_build_object('secret', r.twilio_auth_token_sealed, 'createdAt', 0, 'expiresAt', NULL)) END)`;
const ROOM = `r.id, r.organization_id AS "organizationId", r.workspace_id AS "workspaceId", r.name, r.instructions,
  r.model_tier AS "modelTier", ${TWILIO_KEYS} AS "twilioAuthKeys", r.created_at AS "createdAt"`;

export async function insertWorkspace(db: Queryable, w: Omit<Workspace, 'createdAt'>): Promise<Workspace> {
  const { rows } = await db.query(
    `INSERT INTO workspaces (id, organization_id, name) VALUES ($1, $2, $3) RETURNING ${WORKSPACE}`,
    [w.id, w.organizationId, w.name],
  );
  return rows[0];
}

export async function findWorkspace(db: Queryable, organizationId: string, id: string): Promise<Workspace | null> {
  const { rows } = await db.query(`SELECT ${WORKSPACE} FROM workspaces WHERE organization_id = $1 AND id = $2`, [
    organizationId,
    id,
  ]);
  return rows[0] ?? null;
}

export async function listWorkspaces(db: Queryable, organizationId: string): Promise<Workspace[]> {
  const { rows } = await db.query(
    `SELECT ${WORKSPACE} FROM workspaces WHERE organization_id = $1 ORDER BY created_at, id`,
    [organizationId],
  );
  return rows;
}

export async function renameWorkspace(db: Queryable, organizationId: string, id: string, name: string): Promise<Workspace | null> {
  const { rows } = await db.query(`UPDATE workspaces SET name = $3 WHERE organization_id = $1 AND id = $2 RETURNING ${WORKSPACE}`, [
    organizationId,
    id,
    name,
  ]);
  return rows[0] ?? null;
}

/**
 * Deletes a workspace that holds no room and no agent (what remains goes with it: its generic ingress's
 * inbox and agent chats). `not_empty` names what is left, so nothing is deleted by surprise. Inside a
 * transaction: the workspace's row lock comes first (a room or agent being created holds a key-share
 * lock on it until it commits), so the counts after it see every room and agent committed before.
 */
export async function deleteEmptyWorkspace(
  tx: Queryable,
  organizationId: string,
  id: string,
): Promise<{ kind: 'deleted' } | { kind: 'not_found' } | { kind: 'not_empty'; rooms: number; agents: number }> {
  const { rowCount } = await tx.query(`SELECT 1 FROM workspaces WHERE organization_id = $1 AND id = $2 FOR UPDATE`, [organizationId, id]);
  if (!rowCount) return { kind: 'not_found' };
  const { rows } = await tx.query(
    `SELECT (SELECT count(*) FROM rooms WHERE workspace_id = $1)::int AS rooms, (SELECT count(*) FROM agents WHERE workspace_id = $1)::int AS agents`,
    [id],
  );
  const { rooms, agents } = rows[0];
  if (rooms + agents > 0) return { kind: 'not_empty', rooms, agents };
  await tx.query(`DELETE FROM workspaces WHERE id = $1`, [id]);
  return { kind: 'deleted' };
}

export async function insertRoom(db: Queryable, r: Omit<Room, 'createdAt'>): Promise<Room> {
  const { rows } = await db.query(
    `INSERT INTO rooms AS r (id, organization_id, workspace_id, name, instructions, model_tier, twilio_auth_keys, twilio_auth_token_sealed)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8) RETURNING ${ROOM}`,
    [r.id, r.organizationId, r.workspaceId, r.name, r.instructions, r.modelTier, ...twilioColumns(r.twilioAuthKeys)],
  );
  return rows[0];
}

/**
 * The values of (twilio_auth_keys, twilio_auth_token_sealed). The old column gets the newest token
 * because API processes of the previous release, still up during a rolling deploy, read only it.
 */
const twilioColumns = (keys: SigningKey[] | null): [string | null, string | null] =>
  keys === null ? [null, null] : [JSON.stringify(keys), keys[0]?.secret ?? null];

/** Org-scoped when organizationId is given; the worker and the Twilio route look rooms up by id alone. */
export async function findRoom(db: Queryable, organizationId: string | null, id: string): Promise<Room | null> {
  const { rows } = await db.query(
    `SELECT ${ROOM} FROM rooms r WHERE r.id = $2 AND ($1::text IS NULL OR r.organization_id = $1)`,
    [organizationId, id],
  );
  return rows[0] ?? null;
}

/** Changes what is given; the room's agent takes new instructions or tier from its next item on. */
export async function updateRoom(
  db: Queryable,
  organizationId: string,
  id: string,
  c: Partial<Pick<Room, 'name' | 'instructions' | 'modelTier'>>,
): Promise<Room | null> {
  const { rows } = await db.query(
    `UPDATE rooms r SET name = coalesce($3, name), instructions = coalesce($4, instructions), model_tier = coalesce($5, model_tier)
      WHERE r.organization_id = $1 AND r.id = $2 RETURNING ${ROOM}`,
    [organizationId, id, c.name ?? null, c.instructions ?? null, c.modelTier ?? null],
  );
  return rows[0] ?? null;
}

/** With everything that belongs to it: event sources (their URLs stop working), definitions, events, backlog, chat. */
export async function deleteRoom(db: Queryable, organizationId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM rooms WHERE organization_id = $1 AND id = $2`, [organizationId, id]);
  return (rowCount ?? 0) > 0;
}

export async function listRooms(db: Queryable, organizationId: string, workspaceId: string): Promise<Room[]> {
  const { rows } = await db.query(
    `SELECT ${ROOM} FROM rooms r WHERE r.organization_id = $1 AND r.workspace_id = $2 ORDER BY r.created_at, r.id`,
    [organizationId, workspaceId],
  );
  return rows;
}

/** The generic ingress's lookup: the workspace id in the URL is the address, the org comes with it. */
export async function findWorkspaceForIngress(
  db: Queryable,
  id: string,
): Promise<{ id: string; organizationId: string; ingressKeys: SigningKey[] | null } | null> {
  const { rows } = await db.query(
    `SELECT id, organization_id AS "organizationId", ingress_keys AS "ingressKeys" FROM workspaces WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** Replaces the workspace's ingress signing keys under its row lock; null turns signing off. */
export async function changeIngressKeys(
  db: Queryable,
  organizationId: string,
  id: string,
  change: (keys: SigningKey[]) => SigningKey[] | null,
): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT coalesce(ingress_keys, '[]') AS keys FROM workspaces WHERE organization_id = $1 AND id = $2 FOR UPDATE`,
    [organizationId, id],
  );
  if (!rows[0]) return false;
  const next = change(rows[0].keys);
  // SQL NULL (not a JSON null) is what "signing off" is: the ingress's fast path checks IS NULL.
  await db.query(`UPDATE workspaces SET ingress_keys = $3::jsonb WHERE organization_id = $1 AND id = $2`, [
    organizationId,
    id,
    next === null ? null : JSON.stringify(next),
  ]);
  return true;
}

/** Replaces the room's Twilio auth keys under its row lock; null turns Twilio off for the room. */
export async function changeTwilioAuthKeys(
  db: Queryable,
  organizationId: string,
  id: string,
  change: (keys: SigningKey[]) => SigningKey[] | null,
): Promise<Room | null> {
  const { rows } = await db.query(
    `SELECT coalesce(${TWILIO_KEYS}, '[]') AS keys FROM rooms r WHERE organization_id = $1 AND id = $2 FOR UPDATE`,
    [organizationId, id],
  );
  if (!rows[0]) return null;
  const { rows: updated } = await db.query(
    `UPDATE rooms r SET twilio_auth_keys = $3::jsonb, twilio_auth_token_sealed = $4
      WHERE organization_id = $1 AND id = $2 RETURNING ${ROOM}`,
    [organizationId, id, ...twilioColumns(change(rows[0].keys))],
  );
  return updated[0];
}
