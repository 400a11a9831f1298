import type { IncomingMessage } from 'node:http';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { orgApi, postGeneric, subscribeReceiver } from '../support/fixtures.js';
import { streamCaughtUp } from '../support/quiesce.js';
import { openSse } from '../support/sse.js';
import { waitFor } from '../support/wait.js';

// The live event stream: SSE at /api/v1/events/stream and a WebSocket at /api/v1/events/ws carry the
// org's published events — the exact envelopes webhooks receive — resumable without gaps.

let h: Hookwise;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  h = await startHookwise({ env: { HOOKWISE_RECOVERY_INTERVAL_SECONDS: '3600' } });
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
afterAll(async () => {
  await h?.stop();
});

async function setup() {
  const api = await orgApi(h);
  const { orgId, call } = api;
  const readKey = await h.newKey(orgId, ['read']);
  const sendKey = await h.newKey(orgId, ['send']);
  const ws = await call('POST', '/api/v1/workspaces', { name: 'stream' });
  /** Publishes through the admin API; resolves to the event envelope (its id). */
  const publish = (type: string, data: unknown) => call('POST', '/api/v1/events', { type, data }, { key: sendKey });
  /** Publishes through the generic ingress; the event itself appears once the worker has run. */
  const ingest = async (body: object, query = '') => {
    await postGeneric(h, ws.id, body, { query, accepted: true });
  };
  const sse = async (opts: { lastEventId?: string; query?: string; key?: string } = {}) => {
    const client = await openSse(`${h.baseUrl}/api/v1/events/stream${opts.query ?? ''}`, { key: opts.key ?? readKey, lastEventId: opts.lastEventId });
    cleanups.push(() => client.close());
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toMatch(/^text\/event-stream/);
    return client;
  };
  return { ...api, readKey, sendKey, ws, publish, ingest, sse };
}

const wsUrl = (query: string) => `${h.baseUrl.replace(/^http/, 'ws')}/api/v1/events/ws${query}`;

/** A connected WebSocket collecting its messages as strings. */
async function openWs(query: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(wsUrl(query), { headers });
  const messages: string[] = [];
  socket.on('message', (data) => messages.push(data.toString()));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  cleanups.push(() => socket.terminate());
  const waitForMessages = async (n: number) => {
    await waitFor(() => messages.length >= n, { what: `${n} WebSocket message(s)` });
    return messages;
  };
  return { socket, messages, waitForMessages };
}

/** How the server answers an upgrade it refuses: the HTTP status and body. */
function refusedUpgrade(query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl(query), { headers });
    socket.once('open', () => {
      socket.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('unexpected-response', (_req, res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.once('error', () => {});
  });
}

it('SSE: events from POST /events and from the generic ingress arrive with id = seq, event = type and data = the webhook envelope', async () => {
  const api = await setup();
  const { publish, ingest, sse } = api;
  const { receiver } = await subscribeReceiver(api);
  cleanups.push(() => receiver.close());

  const client = await sse();
  const first = await publish('order.created', { order: 1, note: 'naïve ☕' });
  await ingest({ type: 'payment.succeeded', amount: 42 }, '?source=stripe');
  const events = await client.waitForEvents(2);

  expect(events[0]).toMatchObject({ event: 'order.created' });
  expect(events[1]).toMatchObject({ event: 'webhook.stripe.payment_succeeded' });
  // Ids are positions in the stream: integers, increasing (other orgs' events take numbers in between).
  const ids = events.map((e) => Number(e.id));
  expect(Number.isInteger(ids[0])).toBe(true);
  expect(ids[1]).toBeGreaterThan(ids[0]);
  const envelopes = events.map((e) => JSON.parse(e.data));
  expect(envelopes[0].id).toBe(first.id);
  expect(envelopes[0].data).toEqual({ order: 1, note: 'naïve ☕' });
  expect(envelopes[1].data).toMatchObject({ source_kind: 'webhook.stripe', event_type: 'payment.succeeded', payload: { amount: 42 } });

  // Byte for byte what the webhook receiver got for the same event id.
  await waitFor(() => receiver.requests.length >= 2, { what: 'both deliveries' });
  for (const e of events) {
    const delivered = receiver.requests.find((r) => JSON.parse(r.body).id === JSON.parse(e.data).id);
    expect(delivered, e.event).toBeDefined();
    expect(e.data).toBe(delivered!.body);
  }
});

it('SSE: a client that reconnects with Last-Event-ID gets exactly the events it missed, in order, then live ones', async () => {
  const { publish, ingest, sse } = await setup();
  const client = await sse();
  await publish('step', { n: 0 });
  const [seen] = await client.waitForEvents(1);
  client.close();

  // Missed while disconnected: three through the API, one through the ingress (published by the worker).
  for (let n = 1; n <= 3; n++) await publish('step', { n });
  await ingest({ event: 'missed', n: 4 });
  const orgId = JSON.parse(seen.data).organizationId as string;
  await waitFor(
    async () => Number((await h.db.query(`SELECT count(*) AS n FROM events WHERE organization_id = $1`, [orgId])).rows[0].n) === 5,
    { what: 'the ingress event published' },
  );

  const resumed = await sse({ lastEventId: seen.id });
  const missed = await resumed.waitForEvents(4);
  expect(missed.map((e) => JSON.parse(e.data).data.n ?? JSON.parse(e.data).data.payload.n)).toEqual([1, 2, 3, 4]);
  const missedIds = missed.map((e) => Number(e.id));
  expect(missedIds[0]).toBeGreaterThan(Number(seen.id));
  expect([...missedIds].sort((a, b) => a - b)).toEqual(missedIds);
  expect(missed.map((e) => e.event)).toEqual(['step', 'step', 'step', 'webhook.generic.missed']);

  await publish('step', { n: 5 });
  const all = await resumed.waitForEvents(5);
  expect(JSON.parse(all[4].data).data).toEqual({ n: 5 });
  expect(Number(all[4].id)).toBeGreaterThan(missedIds[3]);
  await streamCaughtUp(h, orgId, resumed);
  expect(resumed.events).toHaveLength(5);

  // An event id works as Last-Event-ID too (it is what a client finds inside an envelope).
  const n2 = JSON.parse(missed[1].data).id as string;
  const byEventId = await sse({ lastEventId: n2 });
  const after = await byEventId.waitForEvents(3);
  expect(after.map((e) => Number(e.id))).toEqual([missedIds[2], missedIds[3], Number(all[4].id)]);
  await streamCaughtUp(h, orgId, byEventId);
  expect(byEventId.events).toHaveLength(3);
});

it('SSE: ?types= filters by exact type or prefix*, and a filtered stream resumes with its filter', async () => {
  const { orgId, publish, ingest, sse } = await setup();
  const client = await sse({ query: '?types=webhook.*,invoice.paid' });
  const unfiltered = await sse();
  const marker = (e: { data: string }) => {
    const env = JSON.parse(e.data);
    return env.data.i ?? env.data.payload.i;
  };
  await publish('invoice.paid', { i: 1 });
  await publish('invoice.created', { i: 2 });
  await publish('invoice.paid.late', { i: 3 });
  await ingest({ type: 'ticket.created', i: 4 });
  // The ingress event is published by the worker: let it land before the next one, to know the order.
  await unfiltered.waitForEvents(4);
  await publish('invoice.paid', { i: 5 });
  await publish('other.thing', { i: 6 });

  await unfiltered.waitForEvents(6);
  await client.waitForEvents(3);
  await streamCaughtUp(h, orgId, client, { types: 'webhook.*,invoice.paid' });
  expect(client.events.map((e) => e.event)).toEqual(['invoice.paid', 'webhook.generic.ticket_created', 'invoice.paid']);
  expect(client.events.map(marker)).toEqual([1, 4, 5]);
  // Ids are still stream positions: the filtered-out events leave gaps.
  const seqOf = (i: number) => unfiltered.events.find((e) => marker(e) === i)!.id;
  expect(client.events.map((e) => e.id)).toEqual([seqOf(1), seqOf(4), seqOf(5)]);

  // Resuming after the first filtered event: only the later matches, nothing filtered out.
  const resumed = await sse({ query: '?types=webhook.*,invoice.paid', lastEventId: client.events[0].id });
  await resumed.waitForEvents(2);
  await streamCaughtUp(h, orgId, resumed, { types: 'webhook.*,invoice.paid' });
  expect(resumed.events.map(marker)).toEqual([4, 5]);
});

it('SSE: another org’s events never appear', async () => {
  const mine = await setup();
  const theirs = await setup();
  const client = await mine.sse();
  const theirClient = await theirs.sse();
  await theirs.publish('secret.thing', { theirs: true });
  await theirs.ingest({ type: 'secret.ingress', theirs: true });
  await mine.publish('my.thing', { mine: true });
  await theirClient.waitForEvents(2);
  await client.waitForEvents(1);
  await streamCaughtUp(h, mine.orgId, client);
  expect(client.events).toHaveLength(1);
  expect(client.events[0].event).toBe('my.thing');
  expect(JSON.parse(client.events[0].data).organizationId).toBe(mine.orgId);
  expect(theirClient.events.every((e) => JSON.parse(e.data).organizationId === theirs.orgId)).toBe(true);
  // Resuming from an early seq doesn't reach into the other org either.
  const resumed = await mine.sse({ lastEventId: '0' });
  await resumed.waitForEvents(1);
  await streamCaughtUp(h, mine.orgId, resumed);
  expect(resumed.events.map((e) => e.event)).toEqual(['my.thing']);
});

it('SSE: 401 without a key, 401 with a bad one, 403 for a key without read', async () => {
  const { sendKey } = await setup();
  const url = `${h.baseUrl}/api/v1/events/stream`;
  const anonymous = await openSse(url);
  expect(anonymous.status).toBe(401);
  expect(JSON.parse(await anonymous.text()).error.code).toBe('unauthorized');
  const bad = await openSse(url, { key: 'hw_not_a_real_key' });
  expect(bad.status).toBe(401);
  expect(JSON.parse(await bad.text()).error.code).toBe('unauthorized');
  const noRead = await openSse(url, { key: sendKey });
  expect(noRead.status).toBe(403);
  expect(JSON.parse(await noRead.text()).error.code).toBe('forbidden');
});

it('WebSocket: ?access_token= and an Authorization header both get the same envelopes as SSE, string for string', async () => {
  const { readKey, publish, ingest, sse } = await setup();
  const client = await sse();
  const byQuery = await openWs(`?access_token=${encodeURIComponent(readKey)}`);
  const byHeader = await openWs('', { authorization: `Bearer ${readKey}` });

  await publish('chat.message', { text: 'héllo 👋', nested: [[1], [2, [3]]] });
  await ingest({ event: 'lead.created', lead: { name: 'Zoë' } }, '?source=crm');
  const events = await client.waitForEvents(2);
  const q = await byQuery.waitForMessages(2);
  const hd = await byHeader.waitForMessages(2);
  expect(q).toEqual(events.map((e) => e.data));
  expect(hd).toEqual(events.map((e) => e.data));
  expect(JSON.parse(q[1])).toMatchObject({ type: 'webhook.crm.lead_created', data: { payload: { lead: { name: 'Zoë' } } } });
});

it('WebSocket: ?after=<event id> resumes after that event; ?types= filters', async () => {
  const { orgId, readKey, publish } = await setup();
  const first = await publish('a.one', { n: 1 });
  await publish('b.two', { n: 2 });
  await publish('a.three', { n: 3 });

  const resumed = await openWs(`?access_token=${readKey}&after=${first.id}`);
  const filtered = await openWs(`?access_token=${readKey}&after=${first.id}&types=a.*`);
  await resumed.waitForMessages(2);
  await publish('a.four', { n: 4 });
  const all = await resumed.waitForMessages(3);
  expect(all.map((m) => JSON.parse(m).data.n)).toEqual([2, 3, 4]);
  const some = await filtered.waitForMessages(2);
  await streamCaughtUp(h, orgId, filtered, { types: 'a.*' });
  await streamCaughtUp(h, orgId, resumed);
  expect(some.map((m) => JSON.parse(m).type)).toEqual(['a.three', 'a.four']);
  expect(resumed.messages).toHaveLength(3);
});

it('WebSocket: a missing or bad token is refused with 401 at the upgrade, a key without read with 403', async () => {
  const { sendKey } = await setup();
  const missing = await refusedUpgrade('');
  expect(missing.status).toBe(401);
  expect(JSON.parse(missing.body).error.code).toBe('unauthorized');
  const bad = await refusedUpgrade('?access_token=hw_not_a_real_key');
  expect(bad.status).toBe(401);
  expect(JSON.parse(bad.body).error.code).toBe('unauthorized');
  const badHeader = await refusedUpgrade('', { authorization: 'Bearer hw_not_a_real_key' });
  expect(badHeader.status).toBe(401);
  const noRead = await refusedUpgrade(`?access_token=${sendKey}`);
  expect(noRead.status).toBe(403);
  expect(JSON.parse(noRead.body).error.code).toBe('forbidden');
});
