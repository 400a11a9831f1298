import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { run, UsageError } from '../../src/cli/hookwise.js';
import { createPool, type Db } from '../../src/db/pool.js';
import { SEALED_COLUMNS } from '../../src/db/reseal.js';
import { newId } from '../../src/domain/ids.js';
import { createSecretBox, generateWebhookSecret } from '../../src/domain/secrets.js';
import { rotateKeys } from '../../src/domain/signing-keys.js';
import { postGeneric } from '../support/fixtures.js';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { waitFor } from '../support/wait.js';

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

// secrets:reseal walks every table, so it runs on a database of its own: the suite's is shared with
// files whose rows are sealed with the test key.
it('secrets:reseal seals every stored secret with the new key, harmlessly twice, and names a row it cannot open', async () => {
  const A = `key-A-${randomBytes(16).toString('hex')}`;
  const B = `key-B-${randomBytes(16).toString('hex')}`;
  const C = `key-C-${randomBytes(16).toString('hex')}`;
  const server = createPool(inject('databaseUrl'), 1);
  const database = `hookwise_reseal_${randomBytes(4).toString('hex')}`;
  await server.query(`CREATE DATABASE ${database}`);
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${database}`;
  let r: Hookwise | undefined;
  try {
    await withEnv({ DATABASE_URL: url.href }, () => run(['migrate'], () => {}));
    r = await startHookwise({ worker: false, env: { DATABASE_URL: url.href, HOOKWISE_ENCRYPTION_KEY: A } });

    // Under key A: one secret of each kind, and a second key in each list after a rotation.
    const { key } = await r.newOrg();
    const post = async (method: string, path: string, body?: unknown) => {
      const res = await r!.request(method, path, { key, body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(300);
      return res.body;
    };
    const plain = {
      webhook: generateWebhookSecret(),
      webhookRotated: generateWebhookSecret(),
      verification: generateWebhookSecret(),
      twilio: `twilio-${randomBytes(16).toString('hex')}`,
      twilioRotated: `twilio-${randomBytes(16).toString('hex')}`,
    };
    const webhook = await post('POST', '/api/v1/webhooks', { url: 'https://example.com/hook', events: ['*'], secret: plain.webhook });
    await post('POST', `/api/v1/webhooks/${webhook.id}/rotate-secret`, { secret: plain.webhookRotated });
    const workspace = await post('POST', '/api/v1/workspaces', { name: 'reseal' });
    const ingress = (await post('POST', `/api/v1/workspaces/${workspace.id}/ingress-secret`)).secret as string;
    const room = await post('POST', `/api/v1/workspaces/${workspace.id}/rooms`, { name: 'r', instructions: 'i', twilioAuthToken: plain.twilio });
    await post('PUT', `/api/v1/rooms/${room.id}/twilio-auth-token`, { token: plain.twilioRotated });
    await post('POST', `/api/v1/rooms/${room.id}/event-sources`, { name: 's', verification: { scheme: 'standard-webhooks', secret: plain.verification } });
    // Past one batch (500): copies of the webhook, whose secrets are sealed with A as well.
    await r.db.query(
      `INSERT INTO webhooks SELECT (jsonb_populate_record(w, jsonb_build_object('id', w.id || '_' || lpad(g::text, 3, '0')))).*
         FROM webhooks w, generate_series(1, 600) g WHERE w.id = $1`,
      [webhook.id],
    );
    const secrets = [...Object.values(plain), ingress];

    // Every sealed column is walked: none of the schema's is missing from SEALED_COLUMNS.
    const { rows: schemaColumns } = await r.db.query<{ c: string }>(
      `SELECT table_name || '.' || column_name AS c FROM information_schema.columns
        WHERE table_schema = 'public' AND (column_name LIKE '%sealed%' OR (data_type = 'jsonb' AND column_name LIKE '%keys'))`,
    );
    const walked = SEALED_COLUMNS.flatMap((t) => [...t.keyLists, ...t.texts].map((c) => `${t.table}.${c}`));
    expect(schemaColumns.map((x) => x.c).sort()).toEqual(walked.sort());

    const before = await sealedValues(r.db);
    expect(before.length).toBe(601 * 2 + 1 + 2 + 1 + 1);
    for (const v of before) expect(() => createSecretBox(B).open(v.sealed), v.where).toThrow(/wrong key/);
    const expected = new Map(before.map((v) => [v.where, createSecretBox(A).open(v.sealed)]));

    // The processes of the rotation run with B as the key and A as the previous one: A's secrets still open.
    const rotatingApi = await startHookwise({ worker: false, env: { DATABASE_URL: url.href, HOOKWISE_ENCRYPTION_KEY: B, HOOKWISE_PREVIOUS_ENCRYPTION_KEY: A } });
    try {
      const body = JSON.stringify({ type: 'invoice.paid' });
      const at = new Date();
      const headers = { 'webhook-id': 'msg_reseal', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(ingress).sign('msg_reseal', at, body) };
      const res = await postGeneric(rotatingApi, workspace.id, body, { headers });
      expect(res.status, res.text).toBe(202);
    } finally {
      await rotatingApi.stop();
    }

    // A rotation through the API while the reseal runs: it holds the webhook's row (as the API does) when
    // the reseal reaches it, and the reseal waits for it instead of writing back the list it read before.
    const apiTx = await r.db.connect();
    await apiTx.query('BEGIN');
    const { rows: [held] } = await apiTx.query(`SELECT signing_keys FROM webhooks WHERE id = $1 FOR UPDATE`, [webhook.id]);
    const out: string[] = [];
    const say = (line: string) => out.push(line);
    const resealing = withEnv({ DATABASE_URL: url.href, HOOKWISE_ENCRYPTION_KEY: B, HOOKWISE_PREVIOUS_ENCRYPTION_KEY: A }, () => run(['secrets:reseal'], say));
    try {
      await waitFor(async () => (await r!.db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [database])).rowCount, {
        what: 'the reseal waiting for the row',
      });
      const concurrent = generateWebhookSecret();
      await apiTx.query(`UPDATE webhooks SET signing_keys = $2 WHERE id = $1`, [
        webhook.id,
        JSON.stringify(rotateKeys(held.signing_keys, createSecretBox(B, A).seal(concurrent), Date.now(), 3_600_000)),
      ]);
      await apiTx.query('COMMIT');
      const row = before.filter((v) => v.where.startsWith(`webhooks ${webhook.id} `)).map((v) => expected.get(v.where));
      [concurrent, ...row].forEach((p, i) => expected.set(`webhooks ${webhook.id} signing_keys ${i}`, p!));
      secrets.push(concurrent);
    } finally {
      apiTx.release();
    }
    await resealing;
    expect(out).toEqual([
      'webhooks: 500 of 601 resealed',
      'webhooks: 601 of 601 resealed',
      'event_sources: 1 of 1 resealed',
      'workspaces: 1 of 1 resealed',
      'rooms: 1 of 1 resealed',
      'every stored secret is sealed with HOOKWISE_ENCRYPTION_KEY; HOOKWISE_PREVIOUS_ENCRYPTION_KEY can be removed',
    ]);
    const after = await sealedValues(r.db);
    const onlyB = createSecretBox(B);
    expect(new Map(after.map((v) => [v.where, onlyB.open(v.sealed)]))).toEqual(expected);
    expect(new Set(after.map((v) => onlyB.open(v.sealed)))).toEqual(new Set(secrets));

    // Twice: nothing left to reseal, nothing rewritten.
    out.length = 0;
    await withEnv({ DATABASE_URL: url.href, HOOKWISE_ENCRYPTION_KEY: B, HOOKWISE_PREVIOUS_ENCRYPTION_KEY: A }, () => run(['secrets:reseal'], say));
    expect(out.slice(0, 2)).toEqual(['webhooks: 500 of 601 resealed (500 already were)', 'webhooks: 601 of 601 resealed (601 already were)']);
    expect(await sealedValues(r.db)).toEqual(after);

    // A value of an unknown key C in the second batch, values of A before it, in its batch and in a later
    // table: the command stops at the row and names it; the batch before it stays resealed, and every
    // other value still opens with the two keys.
    const resealedBefore = `${webhook.id}_100`;
    const bad = `${webhook.id}_520`;
    await sealWith(r.db, 'webhooks', 'signing_keys', resealedBefore, createSecretBox(A).seal(plain.webhookRotated));
    await sealWith(r.db, 'webhooks', 'signing_keys', bad, createSecretBox(C).seal(plain.webhookRotated));
    await sealWith(r.db, 'webhooks', 'signing_keys', `${webhook.id}_510`, createSecretBox(A).seal(plain.webhookRotated));
    await sealWith(r.db, 'rooms', 'twilio_auth_token_sealed', room.id, createSecretBox(A).seal(plain.twilioRotated));
    out.length = 0;
    const failed = await withEnv({ DATABASE_URL: url.href, HOOKWISE_ENCRYPTION_KEY: B, HOOKWISE_PREVIOUS_ENCRYPTION_KEY: A }, () =>
      run(['secrets:reseal'], say).then(
        () => null,
        (err: Error) => err.message,
      ),
    );
    expect(failed).toContain(`cannot reseal webhooks row ${bad} (signing_keys)`);
    expect(out).toEqual(['webhooks: 500 of 601 resealed (499 already were)']);
    for (const text of [failed!, ...out]) {
      for (const secret of [...secrets, A, B, C]) expect(text).not.toContain(secret);
    }
    const rotating = createSecretBox(B, A);
    const stored = await sealedValues(r.db);
    for (const v of stored) {
      if (v.where !== `webhooks ${bad} signing_keys 0`) expect(rotating.open(v.sealed), v.where).toBe(onlyB.open(after.find((a) => a.where === v.where)!.sealed));
    }
    expect(onlyB.open(stored.find((v) => v.where === `webhooks ${resealedBefore} signing_keys 0`)!.sealed)).toBe(plain.webhookRotated);

    // The current key is required, as for the processes.
    await expect(withEnv({ DATABASE_URL: url.href, HOOKWISE_ENCRYPTION_KEY: undefined }, () => run(['secrets:reseal'], say))).rejects.toThrow(
      /HOOKWISE_ENCRYPTION_KEY: is required/,
    );
    await expect(
      withEnv({ DATABASE_URL: url.href, HOOKWISE_ENCRYPTION_KEY: B, HOOKWISE_PREVIOUS_ENCRYPTION_KEY: 'short' }, () => run(['secrets:reseal'], say)),
    ).rejects.toThrow(/HOOKWISE_PREVIOUS_ENCRYPTION_KEY: must be at least 32 characters/);
  } finally {
    await r?.stop();
    // Closed connections may take a moment to leave; FORCE would cut one still leaving, which its pool logs.
    const connected = async () => (await server.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1`, [database])).rowCount;
    await waitFor(async () => (await connected()) === 0, { timeoutMs: 5000, what: `no connection to ${database}` }).catch(() => {});
    await server.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await server.end();
  }
});

/** Runs fn with these environment variables (undefined: unset), then puts them back. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const put = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  put(vars);
  try {
    return await fn();
  } finally {
    put(saved);
  }
}

/** Every sealed value stored, in a stable order, with where it is (`table id column index`). */
async function sealedValues(db: Db): Promise<{ where: string; sealed: string }[]> {
  const values: { where: string; sealed: string }[] = [];
  for (const { table, keyLists, texts } of SEALED_COLUMNS) {
    for (const column of [...keyLists, ...texts]) {
      const { rows } = await db.query(`SELECT id, ${column} AS v FROM ${table} WHERE ${column} IS NOT NULL ORDER BY id`);
      for (const row of rows) {
        const list: { secret: string }[] = Array.isArray(row.v) ? row.v : [{ secret: row.v }];
        list.forEach((k, i) => values.push({ where: `${table} ${row.id} ${column} ${i}`, sealed: k.secret }));
      }
    }
  }
  return values;
}

/** Replaces a stored sealed value: a key list's first secret, or a sealed text. */
async function sealWith(db: Db, table: string, column: string, id: string, sealed: string): Promise<void> {
  const isList = SEALED_COLUMNS.some((t) => t.table === table && (t.keyLists as readonly string[]).includes(column));
  await db.query(
    isList ? `UPDATE ${table} SET ${column} = jsonb_set(${column}, '{0,secret}', to_jsonb($2::text)) WHERE id = $1` : `UPDATE ${table} SET ${column} = $2 WHERE id = $1`,
    [id, sealed],
  );
}
