import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { startLocalTemporal, temporalEngineFromEnv } from '../src/dev/local-temporal.js';
import { buildApi } from '../src/roots/api.js';
import { buildWorker } from '../src/roots/worker.js';
import { createApiKey, createOrgWithKey } from '../src/tenancy.js';
import { launchChromium } from './browser.js';
import { buildConsole } from './build.js';

// `npm run console:screenshots`: brings up hookwise on this machine (an embedded PostgreSQL, the
// Temporal CLI's dev server, the API and a worker; DATABASE_URL / TEMPORAL_ADDRESS if set), seeds an
// org with traffic to a few loopback receivers (healthy, flaky, down, gone) and a room with inbound
// events, then captures every console page at 1280×800 into docs/console/.
// `--keep` leaves it all running afterwards, for a look by hand, until Ctrl-C.

const OUT_DIR = fileURLToPath(new URL('../docs/console/', import.meta.url));
const VIEWPORT = { width: 1280, height: 800 };
const log = (line: string) => process.stderr.write(`[screenshots] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cleanups: Array<() => Promise<unknown>> = [];
async function cleanup() {
  for (const fn of cleanups.reverse()) await fn().catch((e) => log(`cleanup: ${(e as Error).message}`));
}

/** Loopback receivers: /billing answers 200, /crm fails every third request once, /erp is down (503), /analytics is gone (410). */
async function startReceivers(): Promise<{ url: (path: string) => string; erpUp: (up: boolean) => void; server: Server }> {
  let crm = 0;
  let erpUp = false;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = (status: number, body: string, delay: number) =>
        setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end(body), delay);
      if (req.url === '/billing') answer(200, '{"ok":true}', 15 + Math.random() * 90);
      else if (req.url === '/crm') answer(++crm % 3 === 0 ? 500 : 200, crm % 3 === 0 ? '{"error":"upstream timeout talking to the CRM"}' : '{"synced":true}', 40 + Math.random() * 160);
      else if (req.url === '/erp') answer(erpUp ? 200 : 503, erpUp ? '{"ok":true}' : '<html><body><h1>503 Service Unavailable</h1>maintenance window</body></html>', 5);
      else answer(410, '{"error":"this endpoint was retired"}', 5);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const port = (server.address() as AddressInfo).port;
  return { url: (path) => `http://127.0.0.1:${port}${path}`, erpUp: (up) => void (erpUp = up), server };
}

async function main() {
  const keep = process.argv.includes('--keep');
  await buildConsole();
  const dir = await mkdtemp(join(tmpdir(), 'hookwise-console-'));
  await chmod(dir, 0o755); // as root, PostgreSQL runs as `postgres` and must enter it
  cleanups.push(() => rm(dir, { recursive: true, force: true }));

  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    log('starting an embedded PostgreSQL…');
    const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pgdata'), database: 'hookwise_console', persistent: false, log });
    cleanups.push(pg.stop);
    databaseUrl = pg.databaseUrl;
  }
  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!temporalAddress) {
    const engine = temporalEngineFromEnv('dev');
    log(`starting Temporal (${engine})…`);
    const temporal = await startLocalTemporal({ engine, ui: false, postgres: { url: databaseUrl, dropOnStop: true }, stateDir: join(dir, 'temporal'), persistent: false, log: () => {} });
    cleanups.push(temporal.stop);
    temporalAddress = temporal.address;
  }
  await migrate(databaseUrl);
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    HOOKWISE_TASK_QUEUE: `console-${randomBytes(3).toString('hex')}`,
    HOOKWISE_ENCRYPTION_KEY: randomBytes(24).toString('hex'),
    HOOKWISE_ALLOW_HTTP: 'true',
    HOOKWISE_ALLOW_PRIVATE_TARGETS: 'true',
    HOOKWISE_DELIVERY_TIMEOUT_MS: '2000',
    // Items stay in the backlog (there is no LLM here to run the room's agent anyway).
    HOOKWISE_ROOM_TICK_SECONDS: '86400',
    LOG_LEVEL: 'error',
  });
  const api = buildApi(config);
  const baseUrl = await api.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  cleanups.push(() => api.close());
  log('starting a worker (bundles the workflows first)…');
  const worker = await buildWorker(config, { recovery: false });
  const running = worker.run();
  cleanups.push(async () => {
    worker.shutdown();
    await running;
    await worker.close();
  });

  // --- the org and its traffic --------------------------------------------------------------------
  const { org, apiKey: adminKey } = await createOrgWithKey(api.deps.db, 'acme');
  const readKey = (await createApiKey(api.deps.db, org.id, ['read'])).key;
  const call = async (method: string, path: string, body?: unknown, key = adminKey): Promise<any> => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => null);
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const receivers = await startReceivers();
  const retry = { policy: 'fixed', delaySeconds: 1, attempts: 3 };
  const billing = await call('POST', '/api/v1/webhooks', { name: 'Billing service', url: receivers.url('/billing'), events: ['invoice.created', 'invoice.paid'], retryPolicy: retry });
  const crm = await call('POST', '/api/v1/webhooks', { name: 'CRM sync', url: receivers.url('/crm'), events: ['customer.created', 'customer.updated', 'invoice.paid'], retryPolicy: retry });
  const erp = await call('POST', '/api/v1/webhooks', { name: 'Legacy ERP', url: receivers.url('/erp'), events: ['invoice.paid'], retryPolicy: { scheduleSeconds: [1] } });
  await call('POST', '/api/v1/webhooks', { name: 'Old analytics', url: receivers.url('/analytics'), events: ['customer.created'] });
  await call('POST', '/api/v1/webhooks', { url: 'https://hooks.example.com/partner/acme', events: ['*'], active: false, filter: { path: 'data.amount', exists: true } });
  void billing;

  log('publishing events…');
  const types = ['invoice.created', 'invoice.paid', 'customer.created', 'customer.updated'];
  for (let i = 0; i < 48; i++) {
    const type = types[i % types.length];
    await call('POST', '/api/v1/events', { type, data: type.startsWith('invoice') ? { invoice: `in_${1000 + i}`, amount: 1900 + i * 25, currency: 'eur' } : { customer: `cus_${200 + i}`, email: `user${i}@example.com` } });
  }

  // A room that takes Stripe's events and one generic (GitHub) source.
  const ws = await call('POST', '/api/v1/workspaces', { name: 'Support' });
  await call('POST', '/api/v1/workspaces', { name: 'Growth' });
  const room = await call('POST', `/api/v1/workspaces/${ws.id}/rooms`, { name: 'Billing desk', instructions: 'Triage payment problems: explain what failed, and draft a reply to the customer.' });
  await call('POST', `/api/v1/workspaces/${ws.id}/rooms`, { name: 'Refunds', instructions: 'Handle refund requests.' });
  const stripe = await call('POST', `/api/v1/rooms/${room.id}/event-sources`, { name: 'Stripe' });
  const zendesk = await call('POST', `/api/v1/rooms/${room.id}/event-sources`, { name: 'Zendesk' });
  await call('POST', `/api/v1/event-sources/${stripe.id}/definitions`, { name: 'Payment failed', description: 'A charge or invoice payment failed', priority: 10, rule: { path: 'type', in: ['invoice.payment_failed', 'charge.failed'] } });
  await call('POST', `/api/v1/event-sources/${stripe.id}/definitions`, { name: 'Dispute opened', description: 'A customer disputed a charge', priority: 20, rule: { path: 'type', equals: 'charge.dispute.created' } });
  await call('POST', `/api/v1/event-sources/${zendesk.id}/definitions`, { name: 'Angry customer', description: 'The ticket sounds like an upset customer', priority: 5 });
  const inbound = async (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  for (const [i, type] of ['invoice.payment_failed', 'charge.failed', 'customer.updated', 'charge.dispute.created', 'invoice.payment_failed'].entries()) {
    await inbound(stripe.url, { id: `evt_${i}`, type, data: { object: { id: `ch_${i}`, amount: 4900 } } });
  }
  await inbound(zendesk.url, { ticket: { id: 881, subject: 'Charged twice!!', priority: 'high' } });
  for (const event of ['push', 'pull_request', 'push']) {
    await fetch(`${baseUrl}/api/v1/webhooks/generic/${ws.id}?source=github&event_type=${event}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': randomBytes(8).toString('hex') }, body: JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'acme/shop' } }) });
  }

  log('waiting for the deliveries to settle…');
  for (let i = 0; i < 120; i++) {
    const open = await api.deps.db.query(`SELECT count(*)::int AS n FROM deliveries WHERE organization_id = $1 AND status IN ('pending', 'retrying')`, [org.id]);
    if (open.rows[0].n === 0) break;
    await sleep(500);
  }
  // Real traffic, with its times spread over the last day so the charts have a shape: about a third
  // in the last hour, the rest across the day.
  await api.deps.db.query(
    `WITH shift AS (
       SELECT id, make_interval(secs => CASE WHEN random() < 0.35 THEN random() * 3300 ELSE 3600 + random() * 80000 END) AS by
         FROM deliveries WHERE organization_id = $1 AND status <> 'pending'),
     d AS (UPDATE deliveries SET created_at = created_at - shift.by, started_at = started_at - shift.by, completed_at = completed_at - shift.by, updated_at = updated_at - shift.by
             FROM shift WHERE deliveries.id = shift.id)
     UPDATE delivery_attempts a SET started_at = a.started_at - shift.by, finished_at = a.finished_at - shift.by FROM shift WHERE a.delivery_id = shift.id`,
    [org.id],
  );

  // --- the pages ------------------------------------------------------------------------------------
  await mkdir(OUT_DIR, { recursive: true });
  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, colorScheme: 'light' });
  const page = await context.newPage();
  const shot = async (name: string, p: Page = page) => {
    await p.waitForLoadState('networkidle').catch(() => {});
    await p.screenshot({ path: join(OUT_DIR, `${name}.png`) });
    log(`docs/console/${name}.png`);
  };
  const open = async (path: string, ready: string, p: Page = page) => {
    await p.goto(`${baseUrl}/console${path}`);
    await p.locator(ready).first().waitFor({ timeout: 20_000 });
  };

  await page.goto(`${baseUrl}/console`);
  await page.getByLabel('API key or login token').fill(adminKey);
  await shot('sign-in');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-window="24h"] .figures').waitFor();
  await shot('overview');

  await open('/webhooks', '.webhook');
  await shot('webhooks');
  await page.locator(`[data-webhook-id="${crm.id}"]`).getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByLabel('New signing secret').waitFor();
  await shot('rotate-secret');
  await page.getByRole('button', { name: 'Done' }).click();

  await open('/deliveries', '[data-delivery-id]');
  await shot('deliveries');
  const flaky = await call('GET', `/api/v1/deliveries?webhookId=${crm.id}&status=succeeded&limit=100`);
  const retried = flaky.data.find((d: { attemptCount: number }) => d.attemptCount > 1) ?? flaky.data[0];
  await open(`/deliveries/${retried.id}`, '[data-attempt]');
  await shot('delivery');

  receivers.erpUp(true);
  await open('/dead-letters', '[data-delivery-id]');
  // The ERP is back up: its dead letters replay (the disabled analytics webhook's would get a 409).
  const first = page.locator('tbody [data-delivery-id]', { hasText: 'Legacy ERP' }).first();
  await first.getByRole('button', { name: /^Replay / }).click();
  await first.getByText('replayed as').waitFor();
  await page.locator('tbody [data-delivery-id]').nth(1).getByRole('checkbox').check();
  await page.locator('tbody [data-delivery-id]').nth(2).getByRole('checkbox').check();
  await shot('dead-letters');
  void erp;

  await open(`/rooms?workspace=${ws.id}&room=${room.id}`, '#match-title');
  await page.locator('#match-title ~ table').waitFor();
  await shot('rooms');

  await open('/live', '[data-connection="live"]');
  for (const [i, type] of ['invoice.paid', 'customer.updated', 'invoice.created', 'invoice.paid'].entries()) {
    await call('POST', '/api/v1/events', { type, data: { invoice: `in_${2000 + i}`, amount: 4200 + i, note: 'published while the live tail was open' } });
    await sleep(150);
  }
  await page.locator('.tail li[data-event-type]').nth(3).waitFor();
  await page.locator('.tail li[data-event-type] summary').first().click();
  await shot('live-tail');

  const viewer = await (await browser.newContext({ viewport: VIEWPORT })).newPage();
  await viewer.goto(`${baseUrl}/console/webhooks`);
  await viewer.getByLabel('API key or login token').fill(readKey);
  await viewer.getByRole('button', { name: 'Sign in' }).click();
  await viewer.locator('[data-problem="forbidden"]').waitFor();
  await shot('read-only-key', viewer);

  if (keep) {
    log(`running: ${baseUrl}/console  admin key ${adminKey}  read key ${readKey}  (Ctrl-C stops)`);
    await new Promise<void>((r) => process.once('SIGINT', () => r()));
  }
}

main()
  .then(cleanup, async (err) => {
    log(`failed: ${(err as Error).stack ?? err}`);
    await cleanup();
    process.exitCode = 1;
  })
  .finally(() => setTimeout(() => process.exit(), 2000).unref());
