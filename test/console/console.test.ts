import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../console/browser.js';
import { buildConsole, isStale } from '../../console/build.js';
import { CONSOLE_CSP } from '../../src/api/console.js';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startReceiver } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';

// The console in a real browser (Debian's Chromium through playwright-core) against the real API and
// worker. Every wait is on page state (a row, a badge, a status), never a fixed sleep.

let h: Hookwise;
let browser: Browser;
let admin: { orgId: string; key: string };
let page: Page;
const receivers: Array<{ close(): Promise<void> }> = [];

/** A fresh browser context (its own sessionStorage) signed in with `key`. */
async function signIn(key: string, at = '/console'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(15_000);
  const p = await context.newPage();
  await p.goto(h.baseUrl + at);
  await p.getByLabel('API key or login token').fill(key);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('navigation', { name: 'Console' }).waitFor();
  return p;
}

async function webhook(url: string, events: string[], retryPolicy: Record<string, unknown>): Promise<string> {
  const res = await h.request('POST', '/api/v1/webhooks', { key: admin.key, body: { url, events, retryPolicy, name: `hook for ${events.join(', ')}` } });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function publish(type: string, data: Record<string, unknown> = {}): Promise<{ id: string; deliveries: string[] }> {
  const res = await h.request('POST', '/api/v1/events', { key: admin.key, body: { type, data } });
  expect(res.status).toBe(202);
  return res.body;
}

/** The API's answer while PostgreSQL is down (src/api/error-handler.ts), for page.route to give instead. */
const UNAVAILABLE = {
  status: 503,
  contentType: 'application/json',
  body: JSON.stringify({ error: { code: 'unavailable', message: 'the database is unavailable; retry later', details: {} } }),
};

beforeAll(async () => {
  // Chromium first: without it, say how to install it before anything slower starts.
  browser = await launchChromium();
  const built = (await isStale()) ? buildConsole() : Promise.resolve([]);
  [h] = await Promise.all([startHookwise(), built]);
  admin = await h.newOrg();
  page = await signIn(admin.key);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(receivers.map((r) => r.close()));
  await h?.stop();
});

describe('the console', () => {
  it('is served by the API with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${h.baseUrl}/console/deliveries`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    const script = /<script type="module" src="(\/console\/assets\/main-[A-Z0-9]+\.js)"><\/script>/.exec(html);
    expect(script).not.toBeNull();
    const asset = await fetch(h.baseUrl + script![1]);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
  });

  it('signs in with an API key kept in sessionStorage, signs out, and sends a refused key back to sign-in', async () => {
    const context = await browser.newContext();
    const fresh = await context.newPage();
    await fresh.goto(`${h.baseUrl}/console`);
    await fresh.getByLabel('API key or login token').fill('hw_not_a_real_key');
    await fresh.getByRole('button', { name: 'Sign in' }).click();
    await fresh.getByRole('alert').filter({ hasText: 'That key was not accepted' }).waitFor();

    await fresh.getByLabel('API key or login token').fill(admin.key);
    await fresh.getByRole('button', { name: 'Sign in' }).click();
    await fresh.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await fresh.locator('[data-window="1h"] .figures').waitFor();
    expect(await fresh.evaluate('Object.values(sessionStorage)')).toEqual([admin.key]);
    expect(await fresh.evaluate('localStorage.length + document.cookie.length')).toBe(0);

    await fresh.getByRole('button', { name: 'Sign out' }).click();
    await fresh.getByLabel('API key or login token').waitFor();
    expect(await fresh.evaluate('sessionStorage.length')).toBe(0);

    // A key that stops working mid-session (a 401) lands back on sign-in, saying why.
    await fresh.evaluate(`sessionStorage.setItem('hookwise.console.token', 'hw_revoked_key')`);
    await fresh.goto(`${h.baseUrl}/console/webhooks`);
    await fresh.getByRole('alert').filter({ hasText: 'You were signed out: invalid API key' }).waitFor();
    await context.close();
  });

  it("shows a failing delivery's attempts as they happen: a 500, then a 200", async () => {
    const receiver = await startReceiver({ replies: [{ status: 500, body: 'boom: not ready yet' }], fallback: { status: 200, body: 'ok, thanks' } });
    receivers.push(receiver);
    const webhookId = await webhook(receiver.url, ['order.created'], { policy: 'fixed', delaySeconds: 1, attempts: 3 });
    const { deliveries } = await publish('order.created', { order: 17 });

    await page.getByRole('link', { name: 'Deliveries', exact: true }).click();
    await page.getByLabel('Webhook').selectOption(webhookId);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator(`[data-delivery-id="${deliveries[0]}"]`).getByRole('link', { name: deliveries[0] }).click();

    await page.locator('.page-head [data-status="succeeded"]').waitFor({ timeout: 30_000 });
    const first = page.locator('[data-attempt="1"]');
    const second = page.locator('[data-attempt="2"]');
    await second.waitFor();
    expect(await first.locator('[data-status-code]').textContent()).toBe('500');
    expect(await first.locator('[data-status="failed"]').count()).toBe(1);
    expect(await first.getByLabel('Response of attempt 1').textContent()).toBe('boom: not ready yet');
    expect(await second.locator('[data-status-code]').textContent()).toBe('200');
    expect(await second.getByLabel('Response of attempt 2').textContent()).toBe('ok, thanks');
    expect(await second.locator('td').nth(4).textContent()).toMatch(/\d+ ms|\d\.\d+ s/);
  });

  it('replays a dead letter and follows the replay until it succeeds', async () => {
    const receiver = await startReceiver({ fallback: { status: 503, body: 'down for maintenance' } });
    receivers.push(receiver);
    await webhook(receiver.url, ['invoice.paid'], { attempts: 1 });
    const { deliveries } = await publish('invoice.paid', { amount: 100 });
    const dead = deliveries[0];
    await waitFor(async () => (await h.request('GET', `/api/v1/deliveries/${dead}`, { key: admin.key })).body.status === 'dead', { what: 'the dead letter' });
    receiver.setScript({ fallback: { status: 200 } });

    await page.getByRole('link', { name: 'Dead letters' }).click();
    const row = page.locator(`tr[data-delivery-id="${dead}"]`);
    await row.getByRole('button', { name: `Replay ${dead}` }).click();
    const replay = row.locator('.replay-cell a');
    await replay.waitFor();
    const replayId = (await replay.textContent())!;
    expect(replayId).not.toBe(dead);
    await replay.click();

    await page.getByRole('heading', { name: `Delivery ${replayId}` }).waitFor();
    await page.locator('.page-head [data-status="succeeded"]').waitFor({ timeout: 30_000 });
    expect(await page.getByRole('link', { name: dead }).count()).toBe(1); // "Replay of"
    expect(receiver.requests).toHaveLength(2);
  });

  it("runs a webhook's actions: disable, enable, send a test event, and recover its failures with progress", async () => {
    const receiver = await startReceiver({ fallback: { status: 503 } });
    receivers.push(receiver);
    const webhookId = await webhook(receiver.url, ['refund.created', 'webhook.test'], { attempts: 1 });
    const published = await Promise.all([publish('refund.created'), publish('refund.created')]);
    for (const { deliveries } of published) {
      await waitFor(async () => (await h.request('GET', `/api/v1/deliveries/${deliveries[0]}`, { key: admin.key })).body.status === 'dead', { what: 'a dead letter' });
    }
    receiver.setScript({ fallback: { status: 200 } });

    await page.getByRole('link', { name: 'Webhooks' }).click();
    const card = page.locator(`[data-webhook-id="${webhookId}"]`);
    await card.getByRole('button', { name: 'Disable' }).click();
    await card.locator('[data-status="disabled"]').waitFor();
    await card.getByRole('button', { name: 'Enable' }).click();
    await card.locator('[data-status="active"]').waitFor();

    await card.getByRole('button', { name: 'Send test event' }).click();
    await card.getByText('Test event sent: delivery').waitFor();

    await card.getByRole('button', { name: 'Recover failures since…' }).click();
    await card.getByRole('button', { name: 'Recover', exact: true }).click();
    const progress = card.locator('[data-operation-status="completed"]');
    await progress.waitFor({ timeout: 30_000 });
    expect(await progress.textContent()).toContain('2 succeeded, 0 failed, 0 in flight, of 2');
  });

  it('tails the live stream: events arrive newest first, filter by type, pause and clear', async () => {
    await page.getByRole('link', { name: 'Live tail' }).click();
    await page.locator('[data-connection="live"]').waitFor();
    const event = await publish('console.tail.check', { hello: 'tail' });
    const row = page.locator('.tail li[data-event-type="console.tail.check"]');
    await row.waitFor();
    expect(await row.textContent()).toContain(event.id);
    await row.locator('summary').click();
    expect(JSON.parse((await row.locator('pre').textContent())!)).toMatchObject({ id: event.id, type: 'console.tail.check', data: { hello: 'tail' } });

    await page.getByLabel('Event types').fill('console.other.*');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    // The filtered stream's own connection: an event published before it opened is not in it.
    await page.locator('[data-connection="live"][data-types="console.other.*"]').waitFor();
    await page.locator('.tail li[data-event-type]').first().waitFor({ state: 'detached' });
    await publish('console.tail.check');
    await publish('console.other.one');
    await page.locator('.tail li[data-event-type="console.other.one"]').waitFor();
    expect(await page.locator('.tail li[data-event-type="console.tail.check"]').count()).toBe(0);

    await page.getByRole('button', { name: 'Pause' }).click();
    await publish('console.other.two');
    await page.getByText('Paused: 1 new event held.').waitFor();
    expect(await page.locator('.tail li[data-event-type="console.other.two"]').count()).toBe(0);
    await page.getByRole('button', { name: 'Resume (1 new)' }).click();
    await page.locator('.tail li[data-event-type]').first().and(page.locator('[data-event-type="console.other.two"]')).waitFor();

    await page.getByRole('button', { name: 'Clear' }).click();
    expect(await page.locator('.tail li[data-event-type]').count()).toBe(0);
  });

  it('keeps following a delivery through a spell of 503s, and shows what happened meanwhile', async () => {
    const receiver = await startReceiver({ fallback: { status: 500, body: 'not yet' } });
    receivers.push(receiver);
    await webhook(receiver.url, ['shipment.sent'], { policy: 'fixed', delaySeconds: 1, attempts: 60 });
    const { deliveries } = await publish('shipment.sent');
    const id = deliveries[0];
    await page.goto(`${h.baseUrl}/console/deliveries/${id}`);
    await page.locator('[data-attempt="1"]').waitFor();
    const following = page.getByText('Following this delivery');
    await following.waitFor();

    // Every read of the delivery answers 503 for a while (in the browser: the API itself stays up).
    const reads = `**/api/v1/deliveries/${id}`;
    let refused = 0;
    await page.route(reads, (route) => {
      refused++;
      return route.fulfill({ ...UNAVAILABLE, headers: { 'retry-after': '1' } });
    });
    const problem = page.locator('[data-problem="unavailable"]');
    await problem.waitFor();
    expect(await problem.textContent()).toBe('the database is unavailable; retry later');
    await page.getByText('Trying again: the page updates once the API answers.').waitFor();
    expect(await following.count()).toBe(0);
    await waitFor(() => refused >= 3, { what: 'the page to keep asking through the 503s' });

    receiver.setScript({ fallback: { status: 200, body: 'delivered at last' } });
    await page.unroute(reads);
    await page.locator('.page-head [data-status="succeeded"]').waitFor({ timeout: 30_000 });
    await problem.waitFor({ state: 'detached' });
    const attempts = await page.locator('[data-attempt]').count();
    expect(await page.locator(`[data-attempt="${attempts}"] [data-status-code]`).textContent()).toBe('200');
  });

  it('keeps the rows when "Load more" fails and offers Retry; follows an operation through a network blip', async () => {
    const receiver = await startReceiver({ fallback: { status: 503 } });
    receivers.push(receiver);
    const webhookId = await webhook(receiver.url, ['parcel.lost'], { attempts: 1 });
    const published = await Promise.all([publish('parcel.lost'), publish('parcel.lost')]);
    for (const { deliveries } of published) {
      await waitFor(async () => (await h.request('GET', `/api/v1/deliveries/${deliveries[0]}`, { key: admin.key })).body.status === 'dead', { what: 'a dead letter' });
    }

    // One row a page (the list requests' limit rewritten), so the second row needs "Load more"; the
    // first request for a later page fails once.
    const lists = /\/api\/v1\/(deliveries|dead-letters)\?/;
    let failNextPage = true;
    await page.route(lists, (route) => {
      const url = new URL(route.request().url());
      if (url.searchParams.has('cursor') && failNextPage) {
        failNextPage = false;
        return route.fulfill(UNAVAILABLE);
      }
      url.searchParams.set('limit', '1');
      return route.continue({ url: url.toString() });
    });
    for (const [at, name] of [[`/deliveries?webhookId=${webhookId}`, 'Deliveries'], ['/dead-letters', 'Dead letters']]) {
      failNextPage = true;
      await page.goto(`${h.baseUrl}/console${at}`);
      const rows = page.getByRole('region', { name }).locator('tbody tr');
      await rows.first().waitFor();
      expect(await rows.count()).toBe(1);
      await page.getByRole('button', { name: 'Load more' }).click();
      await page.locator('[data-problem="unavailable"]').waitFor();
      expect(await rows.count()).toBe(1);
      await page.getByRole('button', { name: 'Retry' }).click();
      await rows.nth(1).waitFor();
      expect(await page.locator('[data-problem]').count()).toBe(0);
    }
    await page.unroute(lists);

    // The operation's first reads find no network at all; its progress comes back when they get through.
    receiver.setScript({ fallback: { status: 200 } });
    const operations = '**/api/v1/operations/*';
    let dropped = 0;
    await page.route(operations, (route) => (dropped++ < 2 ? route.abort('connectionrefused') : route.continue()));
    await page.getByText('Replay all matching…').click();
    const form = page.getByRole('form', { name: 'Replay all matching dead letters' });
    await form.getByLabel('Webhook').selectOption(webhookId);
    await form.getByRole('button', { name: 'Replay all matching' }).click();
    const problem = page.locator('[data-problem="network"]');
    await problem.waitFor();
    const progress = page.locator('[data-operation-status="completed"]');
    await progress.waitFor({ timeout: 30_000 });
    expect(await progress.textContent()).toContain('2 succeeded, 0 failed, 0 in flight, of 2');
    expect(await problem.count()).toBe(0);
    await page.unroute(operations);
  });

  it('shows Not found for an address with bad percent-encoding, not a blank page', async () => {
    await page.goto(`${h.baseUrl}/console/deliveries/%E0`);
    await page.getByRole('heading', { name: 'Not found', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Go to the overview' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  });

  it('lets a read-only key see the rooms, and says which capability the webhook pages need', async () => {
    const ws = await h.request('POST', '/api/v1/workspaces', { key: admin.key, body: { name: 'Console workspace' } });
    const room = await h.request('POST', `/api/v1/workspaces/${ws.body.id}/rooms`, { key: admin.key, body: { name: 'Console room', instructions: 'Look after the console.' } });
    await h.request('POST', `/api/v1/rooms/${room.body.id}/event-sources`, { key: admin.key, body: { name: 'Console source' } });
    const readKey = await h.newKey(admin.orgId, ['read']);

    const viewer = await signIn(readKey, '/console/rooms');
    await viewer.getByRole('link', { name: 'Console workspace' }).waitFor();
    await viewer.getByRole('heading', { name: 'Console room' }).waitFor();
    await viewer.getByRole('cell', { name: /Console source/ }).waitFor();
    await viewer.getByRole('heading', { name: 'Match log' }).waitFor();
    expect(await viewer.locator('[data-problem]').count()).toBe(0);

    await viewer.getByRole('link', { name: 'Webhooks' }).click();
    const problem = viewer.locator('[data-problem="forbidden"]');
    await problem.waitFor();
    expect(await problem.textContent()).toContain('Your key lacks the manage capability');

    // The overview keeps what the key may read: inbound counts, not delivery statistics.
    await viewer.getByRole('link', { name: 'Overview' }).click();
    await viewer.locator('[data-window="1h"] [data-problem="forbidden"]').waitFor();
    await viewer.getByRole('cell', { name: 'Console source' }).waitFor();

    // Editing a room needs manage: the read-only key is told so, and nothing changes.
    await viewer.getByRole('link', { name: 'Rooms' }).click();
    await viewer.getByRole('heading', { name: 'Console room' }).waitFor();
    await viewer.getByText('Edit room…').click();
    const form = viewer.getByRole('form', { name: 'Edit room' });
    await form.getByLabel('Instructions').fill('Changed by a reader.');
    await form.getByRole('button', { name: 'Save' }).click();
    expect(await viewer.locator('[data-problem="forbidden"]').textContent()).toContain('Your key lacks the manage capability');
    await viewer.context().close();
    expect((await h.request('GET', `/api/v1/rooms/${room.body.id}`, { key: admin.key })).body.instructions).toBe('Look after the console.');
  });

  it("edits a room's name, instructions and model tier", async () => {
    const ws = await h.request('POST', '/api/v1/workspaces', { key: admin.key, body: { name: 'Editing workspace' } });
    const room = await h.request('POST', `/api/v1/workspaces/${ws.body.id}/rooms`, { key: admin.key, body: { name: 'Before', instructions: 'Old instructions.' } });
    expect(room.status).toBe(201);
    await page.goto(`${h.baseUrl}/console/rooms?workspace=${ws.body.id}&room=${room.body.id}`);
    await page.getByRole('heading', { name: 'Before' }).waitFor();
    await page.getByText('Edit room…').click();
    const form = page.getByRole('form', { name: 'Edit room' });
    await form.getByLabel('Name').fill('After');
    await form.getByLabel('Instructions').fill('New instructions, from the console.');
    await form.getByLabel('Model tier').selectOption('fast');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    // The card above shows what was saved, and the API has it.
    await page.getByRole('heading', { name: 'After' }).waitFor();
    await page.getByText('New instructions, from the console.', { exact: true }).first().waitFor();
    expect((await h.request('GET', `/api/v1/rooms/${room.body.id}`, { key: admin.key })).body).toMatchObject({
      name: 'After',
      instructions: 'New instructions, from the console.',
      modelTier: 'fast',
    });
  });

  it("adds an event source (its URL shown once admits a post), issues it a new URL (the old one stops working) and deletes it", async () => {
    const ws = await h.request('POST', '/api/v1/workspaces', { key: admin.key, body: { name: 'Sources workspace' } });
    const room = await h.request('POST', `/api/v1/workspaces/${ws.body.id}/rooms`, { key: admin.key, body: { name: 'Sources room', instructions: 'Handle.' } });
    await page.goto(`${h.baseUrl}/console/rooms?workspace=${ws.body.id}&room=${room.body.id}`);
    await page.getByText('No event sources: nothing can post to this room yet.').waitFor();
    // The URL as the API issued it, posted to through this test's server.
    const postTo = async (url: string) => {
      const res = await fetch(h.baseUrl + new URL(url).pathname, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"order.paid"}' });
      expect(res.status).toBe(200);
      return (await res.json()) as { ok: boolean };
    };
    const issuedUrl = async (name: string) => {
      const dialog = page.getByRole('dialog');
      const url = await dialog.getByLabel(`Inbound URL of ${name}`).inputValue();
      await dialog.getByRole('button', { name: 'Done' }).click();
      return url;
    };

    await page.getByText('Add event source…').click();
    const form = page.getByRole('form', { name: 'Add event source' });
    await form.getByLabel('Name').fill('Shop');
    await form.getByRole('button', { name: 'Add' }).click();
    await page.getByRole('dialog').getByRole('heading', { name: 'Shop was added' }).waitFor();
    const first = await issuedUrl('Shop');
    expect(await postTo(first)).toMatchObject({ ok: true });
    const row = page.getByRole('row').filter({ hasText: 'Shop' });
    await row.getByText('none', { exact: true }).waitFor();

    // A second source, verified: the scheme shows in the table, the secret nowhere.
    await form.getByLabel('Name').fill('Stripe payments');
    await form.getByLabel('Verify senders with').selectOption('stripe');
    await form.getByLabel('Signing secret (as the sender shows it)').fill('whsec_console_test_secret');
    await form.getByRole('button', { name: 'Add' }).click();
    await issuedUrl('Stripe payments');
    await page.getByRole('row').filter({ hasText: 'Stripe payments' }).getByText('stripe', { exact: true }).waitFor();
    // The form let go of the secret, and nothing on the page holds it.
    const values = await page.locator('input, textarea').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
    expect(values.join('\n') + (await page.content())).not.toContain('whsec_console_test_secret');
    // Plain HMAC needs the header its sender signs in.
    await form.getByLabel('Name').fill('Custom app');
    await form.getByLabel('Verify senders with').selectOption('hmac-sha256');
    await form.getByLabel('Signing secret (as the sender shows it)').fill('custom-app-secret');
    await form.getByLabel('Signature header (the HTTP header the sender puts its signature in)').fill('X-Custom-Signature');
    await form.getByRole('button', { name: 'Add' }).click();
    await issuedUrl('Custom app');
    await page.getByRole('row').filter({ hasText: 'Custom app' }).getByText('hmac-sha256', { exact: true }).waitFor();

    await row.getByRole('button', { name: 'New URL…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Issue a new URL' }).click();
    const second = await issuedUrl('Shop');
    expect(second).not.toBe(first);
    expect(await postTo(first)).toMatchObject({ ok: false });
    expect(await postTo(second)).toMatchObject({ ok: true });

    await row.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete the source' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await postTo(second)).toMatchObject({ ok: false });
    const left = await h.request('GET', `/api/v1/rooms/${room.body.id}/event-sources`, { key: admin.key });
    expect(left.body.data.map((s: { name: string }) => s.name).sort()).toEqual(['Custom app', 'Stripe payments']);
    expect(left.body.data.find((s: { name: string }) => s.name === 'Custom app').verification).toMatchObject({ scheme: 'hmac-sha256', header: 'X-Custom-Signature' });
  });

  it('adds a definition to a source and deletes it, then deletes the room', async () => {
    const ws = await h.request('POST', '/api/v1/workspaces', { key: admin.key, body: { name: 'Lifecycle workspace' } });
    const room = await h.request('POST', `/api/v1/workspaces/${ws.body.id}/rooms`, { key: admin.key, body: { name: 'Doomed room', instructions: 'Handle.' } });
    await h.request('POST', `/api/v1/workspaces/${ws.body.id}/rooms`, { key: admin.key, body: { name: 'Surviving room', instructions: 'Handle.' } });
    const source = await h.request('POST', `/api/v1/rooms/${room.body.id}/event-sources`, { key: admin.key, body: { name: 'Shop' } });
    await page.goto(`${h.baseUrl}/console/rooms?workspace=${ws.body.id}&room=${room.body.id}`);
    await page.getByText('No event definitions: nothing is admitted to the backlog.').waitFor();

    await page.getByText('Add definition…').click();
    const form = page.getByRole('form', { name: 'Add definition' });
    await form.getByLabel('Name').fill('Order paid');
    await form.getByLabel('Description').fill('a customer paid for an order');
    await form.getByLabel('Priority').fill('3');
    await form.getByLabel('Rule (JSON; empty: the model decides)').fill('{"path": "type", "equals": "order.paid"}');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Added' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: 'Order paid' });
    await row.getByText('{"path":"type","equals":"order.paid"}').waitFor();
    const listed = await h.request('GET', `/api/v1/event-sources/${source.body.id}/definitions`, { key: admin.key });
    expect(listed.body.data).toEqual([expect.objectContaining({ name: 'Order paid', priority: 3, rule: { path: 'type', equals: 'order.paid' }, instructions: null })]);

    await row.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete the definition' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await h.request('GET', `/api/v1/event-sources/${source.body.id}/definitions`, { key: admin.key })).body.data).toEqual([]);

    await page.getByRole('button', { name: 'Delete room…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete the room' }).click();
    // Back to the workspace, whose list no longer has the room; the other one is shown.
    await page.getByRole('heading', { name: 'Surviving room' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Workspaces and rooms' }).getByText('Doomed room').count()).toBe(0);
    expect((await h.request('GET', `/api/v1/rooms/${room.body.id}`, { key: admin.key })).status).toBe(404);
  });

  it("lists a room's event definitions and edits one: priority, rule, instructions; bad JSON and a bad rule are refused", async () => {
    const ws = await h.request('POST', '/api/v1/workspaces', { key: admin.key, body: { name: 'Definitions workspace' } });
    const room = await h.request('POST', `/api/v1/workspaces/${ws.body.id}/rooms`, { key: admin.key, body: { name: 'Defs room', instructions: 'Handle.' } });
    const source = await h.request('POST', `/api/v1/rooms/${room.body.id}/event-sources`, { key: admin.key, body: { name: 'Shop' } });
    const def = await h.request('POST', `/api/v1/event-sources/${source.body.id}/definitions`, {
      key: admin.key,
      body: { name: 'Refund', description: 'a customer asks for a refund', priority: 5 },
    });
    expect(def.status).toBe(201);
    await page.goto(`${h.baseUrl}/console/rooms?workspace=${ws.body.id}&room=${room.body.id}`);
    const row = page.getByRole('row').filter({ hasText: 'Refund' });
    await row.getByText('model decides', { exact: true }).waitFor();
    await row.getByText('Edit…').click();
    const form = page.getByRole('form', { name: 'Edit definition Refund' });

    await form.getByLabel('Rule (JSON; empty: the model decides)').fill('{"path": "type", ');
    await form.getByRole('button', { name: 'Save' }).click();
    expect(await row.getByRole('alert').textContent()).toContain('The rule is not JSON');
    await form.getByLabel('Rule (JSON; empty: the model decides)').fill('{"path": 5}');
    await form.getByRole('button', { name: 'Save' }).click();
    // The API's refusal names the field.
    expect(await row.locator('[data-problem="validation_error"]').textContent()).toMatch(/rule/);

    await form.getByLabel('Priority').fill('2');
    await form.getByLabel('Rule (JSON; empty: the model decides)').fill('{"path": "type", "equals": "refund.requested"}');
    await form.getByLabel('Agent instructions (empty: none)').fill('Refund within a day.');
    await form.getByRole('button', { name: 'Save' }).click();
    await row.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    await row.getByText('{"path":"type","equals":"refund.requested"}').waitFor();
    expect((await h.request('GET', `/api/v1/definitions/${def.body.id}`, { key: admin.key })).body).toMatchObject({
      priority: 2,
      rule: { path: 'type', equals: 'refund.requested' },
      instructions: 'Refund within a day.',
    });
  });
});
