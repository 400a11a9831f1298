import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { orgApi, postGeneric, subscribeReceiver } from '../support/fixtures.js';
import { quiesce, waitStarted } from '../support/quiesce.js';
import { waitFor } from '../support/wait.js';
import { genericEventWorkflowId } from '../../src/flows/generic-event.js';

// The inbox is durable: an accepted generic event is published exactly once, whether no worker was
// running when it arrived or Temporal itself was unreachable from the API.

let h: Hookwise;
let workerRunning = false;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  // No worker at first: workflows are started but nothing executes them.
  h = await startHookwise({ worker: false, env: { HOOKWISE_RECOVERY_INTERVAL_SECONDS: '3600' } });
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await h?.stop();
});

async function setup() {
  const api = await orgApi(h);
  const { receiver } = await subscribeReceiver(api);
  cleanups.push(() => receiver.close());
  const ws = await api.call('POST', '/api/v1/workspaces', { name: 'crash' });
  return { orgId: api.orgId, ws, receiver };
}

const post = async (baseUrl: string, workspaceId: string, query: string, body: object) => {
  const res = await postGeneric(baseUrl, workspaceId, body, { query });
  return { status: res.status, body: res.body };
};

const inbox = async (workspaceId: string) =>
  (
    await h.db.query(
      `SELECT id, workflow_started_at AS "startedAt", published_event_id AS "publishedEventId" FROM event_inbox
        WHERE workspace_id = $1 ORDER BY received_at, id`,
      [workspaceId],
    )
  ).rows as Array<{ id: string; startedAt: Date | null; publishedEventId: string | null }>;

const eventsOf = async (orgId: string) =>
  (await h.db.query(`SELECT id, type, body FROM events WHERE organization_id = $1 ORDER BY seq`, [orgId])).rows as Array<{
    id: string;
    type: string;
    body: string;
  }>;

it('a worker stopped between inbox and outbox: after it starts, each accepted event is published once', async () => {
  const { orgId, ws, receiver } = await setup();
  expect(await post(h.baseUrl, ws.id, '?source=shop&dedupe_key=order-1', { type: 'order.paid', n: 1 })).toEqual({
    status: 202,
    body: { accepted: true },
  });
  // The sender retries while nothing runs: still one event.
  expect((await post(h.baseUrl, ws.id, '?source=shop&dedupe_key=order-1', { type: 'order.paid', n: 1 })).body).toEqual({ accepted: false });
  expect((await post(h.baseUrl, ws.id, '?source=shop', { type: 'order.shipped', n: 2 })).body).toEqual({ accepted: true });

  // Recorded in the inbox, nothing in the outbox: the workflows are started, but no worker has run them.
  const { rows: recorded } = await h.db.query(`SELECT id, dedupe_key FROM event_inbox WHERE workspace_id = $1`, [ws.id]);
  await waitStarted(h, recorded.map((r) => genericEventWorkflowId(ws.id, r.dedupe_key, r.id)));
  expect(await inbox(ws.id)).toHaveLength(2);
  expect((await inbox(ws.id)).every((r) => r.publishedEventId === null)).toBe(true);
  expect(await eventsOf(orgId)).toHaveLength(0);
  expect(receiver.requests).toHaveLength(0);

  await h.startWorker();
  workerRunning = true;

  await waitFor(() => receiver.requests.length >= 2, { what: 'both events delivered' });
  await quiesce(h, orgId);
  const events = await eventsOf(orgId);
  expect(events.map((e) => e.type).sort()).toEqual(['webhook.shop.order_paid', 'webhook.shop.order_shipped']);
  expect(receiver.requests).toHaveLength(2);
  expect(receiver.requests.map((r) => JSON.parse(r.body).id).sort()).toEqual(events.map((e) => e.id).sort());
  const rows = await inbox(ws.id);
  expect(rows.every((r) => r.startedAt !== null)).toBe(true);
  expect(rows.map((r) => r.publishedEventId).sort()).toEqual(events.map((e) => e.id).sort());

});

it('Temporal unreachable from the API: the post is still accepted, and recovery publishes it once', async () => {
  if (!workerRunning) {
    await h.startWorker();
    workerRunning = true;
  }
  // Another API process on the same database whose Temporal address leads nowhere.
  const down = await startHookwise({ worker: false, env: { TEMPORAL_ADDRESS: '127.0.0.1:1', HOOKWISE_RECOVERY_INTERVAL_SECONDS: '3600' } });
  cleanups.push(() => down.stop());
  expect(down.env.DATABASE_URL).toBe(h.env.DATABASE_URL);

  const { orgId, ws, receiver } = await setup();
  // The row is written first; the answer doesn't wait out the Temporal client's retries (~20 s), which
  // would outlast senders' timeouts (about 10 s) and make them retry.
  const started = Date.now();
  const pending = post(down.baseUrl, ws.id, '?source=billing&dedupe_key=inv-7', { event: 'invoice.paid', amount: 7 });
  await waitFor(async () => (await inbox(ws.id)).length === 1, { timeoutMs: 5_000, what: 'the inbox row, before the answer' });
  expect(await pending).toEqual({ status: 202, body: { accepted: true } });
  expect(Date.now() - started).toBeLessThan(8_000);
  // Dedupe holds without Temporal: the inbox decides.
  expect((await post(down.baseUrl, ws.id, '?source=billing&dedupe_key=inv-7', { event: 'invoice.paid', amount: 7 })).body).toEqual({
    accepted: false,
  });
  // The start after the answer gives up within its deadline and leaves the event to recovery.
  await waitFor(() => down.logs.some((l) => l.includes('recovery will start it')), { timeoutMs: 10_000, what: 'the start to give up' });

  const rows = await inbox(ws.id);
  expect(rows).toHaveLength(1);
  const [row] = rows;

  // What every worker's recovery loop does (the harness's recover() is scoped to its own orgs).
  await h.recover();
  await waitFor(() => receiver.requests.length >= 1, { what: 'the recovered event delivered' });
  // A second recovery (another worker's loop, say) must not publish it again.
  await h.recover();
  await quiesce(h, orgId);
  const events = await eventsOf(orgId);
  expect(events).toHaveLength(1);
  expect(events[0].type).toBe('webhook.billing.invoice_paid');
  expect(JSON.parse(events[0].body).data).toMatchObject({ id: row.id, dedupe_key: 'inv-7', payload: { event: 'invoice.paid', amount: 7 } });
  expect(receiver.requests).toHaveLength(1);
  expect(receiver.requests[0].body).toBe(events[0].body);
  expect((await inbox(ws.id))[0].publishedEventId).toBe(events[0].id);
});
