import { afterAll, beforeAll, expect, it } from 'vitest';
import { run, UsageError } from '../../src/cli/hookwise.js';
import { newId } from '../../src/domain/ids.js';
import { startHookwise, type Hookwise } from '../support/hookwise.js';

// The admin CLI (`npx hookwise …`) against the suite's database, driven through its own entry point.

let h: Hookwise;
const saved = process.env.DATABASE_URL;

beforeAll(async () => {
  h = await startHookwise({ worker: false });
  process.env.DATABASE_URL = h.config.DATABASE_URL;
});
afterAll(async () => {
  if (saved === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = saved;
  await h?.stop();
});

it('keys:create prints a key that works; keys:revoke refuses it from the next request on', async () => {
  const out: string[] = [];
  const say = (line: string) => out.push(line);
  await run(['orgs:create', `cli-${Date.now()}`], say);
  const orgId = /^organization (org_\S+)/.exec(out[0])![1];
  await run(['keys:create', orgId, '--cap', 'read', '--name', 'leaked'], say);
  const [, keyId, key] = /^api key (key_\S+) for \S+ \(read; shown once\): (\S+)$/.exec(out[2])!;
  expect((await h.request('GET', '/api/v1/me', { key })).status).toBe(200);

  await run(['keys:revoke', keyId], say);
  expect(out[3]).toBe(`api key ${keyId} of ${orgId} revoked`);
  const refused = await h.request('GET', '/api/v1/me', { key });
  expect(refused.status).toBe(401);
  expect(refused.body.error.code).toBe('unauthorized');
  // Revoked already, or never issued: a clear error, nothing changed.
  await expect(run(['keys:revoke', keyId], say)).rejects.toThrow(UsageError);
  await expect(run(['keys:revoke'], say)).rejects.toThrow('keys:revoke needs a key id');
});

it('keys:create <org> takes an id over another org’s name that equals it', async () => {
  // The org named after the id comes first: a lookup by id or name must still pick the org with the id.
  const id = newId('org');
  await h.db.query(`INSERT INTO organizations (id, name) VALUES ($1, $2)`, [newId('org'), id]);
  await h.db.query(`INSERT INTO organizations (id, name) VALUES ($1, $2)`, [id, `cli-real-${id}`]);
  const out: string[] = [];
  await run(['keys:create', id, '--cap', 'read'], (line) => out.push(line));
  expect(out[0]).toMatch(new RegExp(`^api key key_\\S+ for ${id} \\(read; shown once\\): \\S+$`));
  // By its name, the same org.
  await run(['keys:create', `cli-real-${id}`, '--cap', 'read'], (line) => out.push(line));
  expect(out[1]).toContain(` for ${id} `);
});
