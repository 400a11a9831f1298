import { createHmac, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/dev/free-port.js';
import { startLocalTemporal, type LocalTemporal } from '../../src/dev/local-temporal.js';
import { createOrgWithKey } from '../../src/tenancy.js';
import { kill, spawnEntry } from '../support/processes.js';
import { startReceiver } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';

// The suite runs on the production Temporal server; this keeps `npm start`'s quick engine, the
// Temporal CLI's dev server, proven: the real API and worker processes against a dev server of
// their own deliver one signed event.

const external = inject('temporalEngine') === 'external';

describe.skipIf(external)('on the Temporal CLI dev server (HOOKWISE_TEMPORAL_ENGINE=dev)', () => {
  let stateDir: string;
  let temporal: LocalTemporal | undefined;
  let api: ReturnType<typeof spawnEntry> | undefined;
  let worker: ReturnType<typeof spawnEntry> | undefined;
  let db: pg.Pool;
  let baseUrl: string;

  beforeAll(async () => {
    const cliError = inject('temporalCliError');
    if (cliError) throw new Error(`the Temporal CLI is unavailable: ${cliError}`);
    stateDir = await mkdtemp(join(tmpdir(), 'hookwise-dev-server-'));
    await chmod(stateDir, 0o755);
    temporal = await startLocalTemporal({ engine: 'dev', ui: false, stateDir, persistent: false, log: () => {} });
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const env = {
      PORT: String(port),
      DATABASE_URL: inject('databaseUrl'),
      TEMPORAL_ADDRESS: temporal.address,
      HOOKWISE_TASK_QUEUE: `dev-server-${randomUUID().slice(0, 8)}`,
      HOOKWISE_ENCRYPTION_KEY: 'dev-server-smoke-test-key-0123456789abcdef',
      HOOKWISE_ALLOW_HTTP: 'true',
      HOOKWISE_ALLOW_PRIVATE_TARGETS: 'true',
      HOOKWISE_DELIVERY_TIMEOUT_MS: '2000',
      HOOKWISE_RECOVERY_INTERVAL_SECONDS: '3600',
      HOOKWISE_METRICS_PORT: '0',
      HOOKWISE_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
    };
    api = spawnEntry('api', env);
    worker = spawnEntry('worker', env);
    db = new pg.Pool({ connectionString: inject('databaseUrl'), max: 2 });
    await waitFor(
      async () => {
        if (api!.child.exitCode !== null) throw new Error(`the API exited:\n${api!.output()}`);
        return (await fetch(`${baseUrl}/readyz`).catch(() => null))?.status === 200;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the API on the dev server to be ready' },
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all([api && kill(api.child, 'SIGTERM'), worker && kill(worker.child, 'SIGTERM')]);
    await db?.end();
    await temporal?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('delivers a published event, signed', async () => {
    const receiver = await startReceiver();
    try {
      const { apiKey } = await createOrgWithKey(db, `dev-server-${randomUUID().slice(0, 8)}`);
      const post = async (path: string, body: unknown) => {
        const res = await fetch(`${baseUrl}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as any };
      };
      const webhook = await post('/api/v1/webhooks', { url: receiver.url, events: ['*'] });
      expect(webhook.status).toBe(201);
      const event = await post('/api/v1/events', { type: 'smoke.test', data: { engine: 'dev' } });
      expect(event.status).toBe(202);

      await waitFor(() => receiver.requests.length > 0, { timeoutMs: 20_000, what: 'the delivery' }).catch((e: Error) => {
        throw new Error(`${e.message}\nworker output:\n${worker!.output()}`);
      });
      const [request] = receiver.requests;
      expect(request.headers['x-webhook-request-id']).toBe(event.body.id);
      const expected = `sha256=${createHmac('sha256', webhook.body.secret).update(request.body).digest('hex')}`;
      expect(request.headers['x-webhook-signature']).toBe(expected);
      expect(JSON.parse(request.body)).toMatchObject({ id: event.body.id, type: 'smoke.test', data: { engine: 'dev' } });
    } finally {
      await receiver.close();
    }
  }, 30_000);

  it('processes generic events with long dedupe keys once each (300 to 20,000 characters), and refuses their repeats', async () => {
    const { apiKey, org } = await createOrgWithKey(db, `dev-server-${randomUUID().slice(0, 8)}`);
    const ws = (await (
      await fetch(`${baseUrl}/api/v1/workspaces`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'long keys' }),
      })
    ).json()) as { id: string };
    const post = (key: string) =>
      fetch(`${baseUrl}/api/v1/webhooks/generic/${ws.id}?dedupe_key=${encodeURIComponent(key)}`, { method: 'POST', body: '{"n":1}' }).then((r) => r.json());
    const keys = [300, 1_000, 5_000, 20_000].map((n) => `key-${n}-`.padEnd(n, 'k'));
    for (const key of keys) expect(await post(key)).toEqual({ accepted: true });
    for (const key of keys) expect(await post(key)).toEqual({ accepted: false });
    // Each published once, by its own workflow on the dev server.
    const published = await waitFor(
      async () => {
        const { rows } = await db.query(`SELECT dedupe_key FROM event_inbox WHERE workspace_id = $1 AND published_event_id IS NOT NULL`, [ws.id]);
        return rows.length === keys.length ? rows : null;
      },
      { timeoutMs: 20_000, what: 'four published inbox events' },
    );
    expect(published.map((r) => r.dedupe_key).sort()).toEqual([...keys].sort());
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM events WHERE organization_id = $1`, [org.id]);
    expect(rows[0].n).toBe(keys.length);
  }, 40_000);
});
