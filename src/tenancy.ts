import type { Queryable } from './db/pool.js';
import { ensureOrg, insertApiKey, insertOrg, type Organization } from './db/orgs.js';
import { CAPABILITIES, generateApiKey, hashApiKey, type Capability } from './domain/api-keys.js';

// Organizations and their API keys: used by the CLI, the bootstrap at start, and tests.

export async function createOrgWithKey(
  db: Queryable,
  name: string,
): Promise<{ org: Organization; apiKey: string }> {
  const org = await insertOrg(db, name);
  const { key } = await createApiKey(db, org.id, [...CAPABILITIES]);
  return { org, apiKey: key };
}

export async function createApiKey(
  db: Queryable,
  organizationId: string,
  capabilities: Capability[],
  name?: string,
): Promise<{ id: string; key: string }> {
  const generated = generateApiKey();
  const { id } = await insertApiKey(db, { organizationId, prefix: generated.prefix, hash: generated.hash, capabilities, name });
  return { id, key: generated.key };
}

/** HOOKWISE_BOOTSTRAP_API_KEY: org `default` exists and this key opens it with every capability. */
export async function ensureBootstrapKey(db: Queryable, key: string): Promise<void> {
  const org = await ensureOrg(db, 'default');
  await insertApiKey(db, {
    organizationId: org.id,
    prefix: key.slice(0, 11),
    hash: hashApiKey(key),
    capabilities: [...CAPABILITIES],
    name: 'bootstrap',
  });
}
