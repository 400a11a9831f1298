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
  twilioAuthTokenSealed: string | null;
  createdAt: Date;
}

const WORKSPACE = `id, organization_id AS "organizationId", name, created_at AS "createdAt"`;
const ROOM = `r.id, r.organization_id AS "organizationId", r.workspace_id AS "workspaceId", r.name, r.instructions,
  r.model_tier AS "modelTier", r.twilio_auth_token_sealed AS "twilioAuthTokenSealed", r.created_at AS "createdAt"`;

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

export async function insertRoom(db: Queryable, r: Omit<Room, 'createdAt'>): Promise<Room> {
  const { rows } = await db.query(
    `INSERT INTO rooms AS r (id, organization_id, workspace_id, name, instructions, model_tier, twilio_auth_token_sealed)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${ROOM}`,
    [r.id, r.organizationId, r.workspaceId, r.name, r.instructions, r.modelTier, r.twilioAuthTokenSealed],
  );
  return rows[0];
}

/** Org-scoped when organizationId is given; the worker and the Twilio route look rooms up by id alone. */
export async function findRoom(db: Queryable, organizationId: string | null, id: string): Promise<Room | null> {
  const { rows } = await db.query(
    `SELECT ${ROOM} FROM rooms r WHERE r.id = $2 AND ($1::text IS NULL OR r.organization_id = $1)`,
    [organizationId, id],
  );
  return rows[0] ?? null;
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
