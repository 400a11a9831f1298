import { prepared, type Queryable } from './pool.js';
import { newId } from '../domain/ids.js';
import type { Capability } from '../domain/api-keys.js';

export interface Organization {
  id: string;
  name: string;
  createdAt: Date;
}

const COLUMNS = 'id, name, created_at AS "createdAt"';

export async function insertOrg(db: Queryable, name: string): Promise<Organization> {
  const { rows } = await db.query(`INSERT INTO organizations (id, name) VALUES ($1, $2) RETURNING ${COLUMNS}`, [
    newId('org'),
    name,
  ]);
  return rows[0];
}

/** Finds an org by its id or its (unique) name, as the CLI accepts either; an id beats another org's name. */
export async function findOrg(db: Queryable, idOrName: string): Promise<Organization | null> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM organizations WHERE id = $1 OR name = $1 ORDER BY id = $1 DESC LIMIT 1`,
    [idOrName],
  );
  return rows[0] ?? null;
}

/** The org of an authenticated caller: by id only, so an org named after another's id can't stand in. */
export async function findOrgById(db: Queryable, id: string): Promise<Organization | null> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM organizations WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function ensureOrg(db: Queryable, name: string): Promise<Organization> {
  await db.query(`INSERT INTO organizations (id, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
    newId('org'),
    name,
  ]);
  return (await findOrg(db, name))!;
}

export interface ApiKeyRecord {
  id: string;
  organizationId: string;
  capabilities: Capability[];
}

export async function insertApiKey(
  db: Queryable,
  k: { organizationId: string; prefix: string; hash: string; capabilities: Capability[]; name?: string },
): Promise<{ id: string }> {
  const id = newId('key');
  await db.query(
    `INSERT INTO api_keys (id, organization_id, name, prefix, key_hash, capabilities)
     VALUES ($1, $2, $3, $4, $5, $6::text[])
     ON CONFLICT (key_hash) DO NOTHING`,
    [id, k.organizationId, k.name ?? null, k.prefix, k.hash, k.capabilities],
  );
  return { id };
}

/** Revokes a key at once (every request after this is 401); false when there is no such key still active. */
export async function revokeApiKey(db: Queryable, id: string): Promise<{ organizationId: string } | null> {
  const { rows } = await db.query(
    `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING organization_id AS "organizationId"`,
    [id],
  );
  return rows[0] ?? null;
}

/** Whether a key is still unrevoked (one primary-key lookup): open streams ask it periodically. */
export async function isApiKeyActive(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM api_keys WHERE id = $1 AND revoked_at IS NULL`, [id]);
  return rowCount === 1;
}

export async function findApiKeyByHash(db: Queryable, hash: string): Promise<ApiKeyRecord | null> {
  const { rows } = await db.query(
    prepared(
      'api-key-by-hash',
      `SELECT id, organization_id AS "organizationId", capabilities
       FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [hash],
    ),
  );
  return rows[0] ?? null;
}
