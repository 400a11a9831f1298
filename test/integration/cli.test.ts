import { afterAll, beforeAll, expect, it } from 'vitest';
import { run, UsageError } from '../../src/cli/hookwise.js';
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
