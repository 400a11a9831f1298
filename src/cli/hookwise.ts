import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPool } from '../db/pool.js';
import { migrate } from '../db/migrate.js';
import { findOrg, revokeApiKey } from '../db/orgs.js';
import { resealSecrets, type ResealProgress } from '../db/reseal.js';
import { loadConfig } from '../config.js';
import { createSecretBox, type SecretBox } from '../domain/secrets.js';
import { CAPABILITIES, type Capability } from '../domain/api-keys.js';
import { createApiKey, createOrgWithKey } from '../tenancy.js';

const USAGE = `usage: npx hookwise <command>

  orgs:create <name>                         create an organization; prints its id and an API key
                                             with every capability
  keys:create <org> --cap manage,send,read   create an API key for an org (id or name); the key
              [--name <label>]               is printed once and stored only as a hash
  keys:revoke <key id>                       revoke an API key (the id keys:create printed): every
                                             request with it is refused from then on
  migrate                                    apply database migrations
  secrets:reseal                             seal every stored secret with HOOKWISE_ENCRYPTION_KEY,
                                             opening those sealed with
                                             HOOKWISE_PREVIOUS_ENCRYPTION_KEY; afterwards the
                                             previous key can be removed

DATABASE_URL selects the database; without it, the one \`npm start\` runs locally (.hookwise/).`;

class UsageError extends Error {}

function databaseUrl(): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const local = join(process.cwd(), '.hookwise', 'database-url');
  if (existsSync(local)) return readFileSync(local, 'utf8').trim();
  throw new UsageError('DATABASE_URL is not set and no local `npm start` database was found (.hookwise/database-url)');
}

/**
 * The box secrets:reseal seals with, from the same variables and rules as the processes (loadConfig).
 * Only the keys are taken from the environment: the CLI needs neither Temporal nor the other settings.
 */
function resealBox(url: string): SecretBox {
  const config = loadConfig({
    DATABASE_URL: url,
    TEMPORAL_ADDRESS: 'unused-by-the-cli:7233',
    HOOKWISE_ENCRYPTION_KEY: process.env.HOOKWISE_ENCRYPTION_KEY,
    HOOKWISE_PREVIOUS_ENCRYPTION_KEY: process.env.HOOKWISE_PREVIOUS_ENCRYPTION_KEY,
  });
  return createSecretBox(config.HOOKWISE_ENCRYPTION_KEY, config.HOOKWISE_PREVIOUS_ENCRYPTION_KEY);
}

const RESEAL_BATCH = 500;

function resealLine(p: ResealProgress): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const already = p.alreadyCurrent > 0 ? ` (${n(p.alreadyCurrent)} already were)` : '';
  return `${p.table}: ${n(p.done)} of ${n(p.total)} resealed${already}`;
}

function parseCapabilities(raw: string | undefined): Capability[] {
  if (!raw) throw new UsageError('keys:create needs --cap, e.g. --cap manage,send,read');
  const caps = raw.split(',').map((c) => c.trim()).filter(Boolean);
  const unknown = caps.filter((c) => !(CAPABILITIES as readonly string[]).includes(c));
  if (unknown.length || caps.length === 0) {
    throw new UsageError(`unknown capability ${unknown.join(', ')}; choose from ${CAPABILITIES.join(', ')}`);
  }
  return [...new Set(caps)] as Capability[];
}

export async function run(argv: string[], out: (line: string) => void = console.log): Promise<void> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { cap: { type: 'string' }, name: { type: 'string' } },
  });
  if (!command || command === 'help' || command === '--help') {
    out(USAGE);
    return;
  }
  if (!['orgs:create', 'keys:create', 'keys:revoke', 'migrate', 'secrets:reseal'].includes(command)) throw new UsageError(`unknown command ${command}`);

  const url = databaseUrl();
  // Before touching the database: a missing or short key is a configuration error, nothing to undo.
  const box = command === 'secrets:reseal' ? resealBox(url) : null;
  await migrate(url);
  if (command === 'migrate') {
    out('migrations applied');
    return;
  }
  const db = createPool(url, 2);
  try {
    if (box) {
      await resealSecrets(db, box, { batch: RESEAL_BATCH, progress: (p) => out(resealLine(p)) });
      out('every stored secret is sealed with HOOKWISE_ENCRYPTION_KEY; HOOKWISE_PREVIOUS_ENCRYPTION_KEY can be removed');
    } else if (command === 'orgs:create') {
      const name = positionals[0];
      if (!name) throw new UsageError('orgs:create needs a name');
      if (await findOrg(db, name)) throw new UsageError(`an organization named ${name} already exists`);
      const { org, apiKey } = await createOrgWithKey(db, name);
      out(`organization ${org.id} (${org.name})`);
      out(`api key (manage, send, read; shown once): ${apiKey}`);
    } else if (command === 'keys:revoke') {
      const keyId = positionals[0];
      if (!keyId) throw new UsageError('keys:revoke needs a key id (key_…)');
      const revoked = await revokeApiKey(db, keyId);
      if (!revoked) throw new UsageError(`no active api key ${keyId}`);
      out(`api key ${keyId} of ${revoked.organizationId} revoked`);
    } else {
      const orgRef = positionals[0];
      if (!orgRef) throw new UsageError('keys:create needs an org id or name');
      const capabilities = parseCapabilities(values.cap);
      const org = await findOrg(db, orgRef);
      if (!org) throw new UsageError(`no organization with id or name ${orgRef}`);
      const { id, key } = await createApiKey(db, org.id, capabilities, values.name);
      out(`api key ${id} for ${org.id} (${capabilities.join(', ')}; shown once): ${key}`);
    }
  } finally {
    await db.end();
  }
}

export { UsageError, USAGE };
