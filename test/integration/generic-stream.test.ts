import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApi } from '../../src/roots/api.js';
import { createLogger } from '../../src/log.js';
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

/**
 * A second API on the same database, built by the same root, for tests that look into its event feed
 * (how many subscriptions it holds). Its log lines are kept.
 */
async function ownApi() {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const api = buildApi(h.config, { logger: createLogger({ level: 'info', service: 'test', destination }) });
  const baseUrl = await api.listen(0, '127.0.0.1');
  cleanups.push(() => api.close());
  return { baseUrl, feed: api.deps.feed, logs };
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

it('SSE: an event type holding CR or LF cannot add fields to its frame (no forged id, no forged data)', async () => {
  const { orgId, publish, sse } = await setup();
  const client = await sse();
  const type = 'x\nid: 999999999\ndata: forged\r\rid: 999999998\r\ndata: forged again';
  const sent = await publish(type, { real: true });
  const marker = await publish('after', { n: 2 });
  await waitFor(() => client.events.some((e) => e.data.includes(marker.id)), { what: 'the event after it' });

  const { rows } = await h.db.query(`SELECT id, seq FROM events WHERE organization_id = $1 ORDER BY xid, seq`, [orgId]);
  expect(client.events.map((e) => e.id)).toEqual(rows.map((r) => String(r.seq)));
  // Its line breaks are spaces in the event name; the envelope (the data line) keeps the type as sent.
  expect(client.events[0].event).toBe('x id: 999999999 data: forged  id: 999999998  data: forged again');
  expect(JSON.parse(client.events[0].data)).toMatchObject({ id: sent.id, type, data: { real: true } });
  expect(client.events[1].event).toBe('after');
});

it('SSE: clients that leave while their stream is set up leave no subscription behind', async () => {
  const { readKey } = await setup();
  const own = await ownApi();
  expect(own.feed.subscriptions()).toBe(0);

  // Gone right after asking, while authentication or the start's lookup still runs.
  const { hostname, port } = new URL(own.baseUrl);
  const openAndLeave = (i: number) =>
    new Promise<void>((resolve) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(`GET /api/v1/events/stream HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\nAuthorization: Bearer ${readKey}\r\n\r\n`);
        setTimeout(() => socket.destroy(), i % 4);
      });
      socket.once('close', () => resolve());
      socket.once('error', () => {});
    });
  await Promise.all(Array.from({ length: 30 }, (_, i) => openAndLeave(i)));
  await new Promise((r) => setTimeout(r, 1_000));
  expect(own.feed.subscriptions()).toBe(0);

  // A stream that is open holds one, and gives it back when its client leaves.
  const client = await openSse(`${own.baseUrl}/api/v1/events/stream`, { key: readKey });
  expect(client.status).toBe(200);
  expect(own.feed.subscriptions()).toBe(1);
  client.close();
  await waitFor(() => own.feed.subscriptions() === 0, { timeoutMs: 5_000, what: 'the subscription closed' });
});

it('WebSocket: clients that reset the connection during the handshake neither crash the API nor leave a subscription', async () => {
  const { readKey } = await setup();
  const own = await ownApi();
  // The API runs in this process: an error event nobody listens for would land here.
  const uncaught: unknown[] = [];
  const record = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', record);
  cleanups.push(() => process.off('uncaughtException', record));

  const { hostname, port } = new URL(own.baseUrl);
  const resetDuringHandshake = (token: string) =>
    new Promise<void>((resolve) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(
          [
            'GET /api/v1/events/ws HTTP/1.1',
            `Host: ${hostname}:${port}`,
            'Connection: Upgrade',
            'Upgrade: websocket',
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
            'Sec-WebSocket-Version: 13',
            `Authorization: Bearer ${token}`,
            '',
            '',
          ].join('\r\n'),
        );
        setTimeout(() => {
          socket.resetAndDestroy();
          resolve();
        }, 1);
      });
      socket.once('error', () => resolve());
    });
  // A bad key (refused after its lookup) and a good one (upgraded after the start's lookup).
  for (let i = 0; i < 15; i++) await Promise.all([resetDuringHandshake('hw_bogus'), resetDuringHandshake(readKey)]);
  await new Promise((r) => setTimeout(r, 1_000));

  expect(uncaught).toEqual([]);
  expect((await fetch(`${own.baseUrl}/healthz`)).status).toBe(200);
  expect(own.feed.subscriptions()).toBe(0);
  // The upgrade still works.
  const socket = new WebSocket(`${own.baseUrl.replace(/^http/, 'ws')}/api/v1/events/ws?access_token=${readKey}`);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  expect(own.feed.subscriptions()).toBe(1);
  socket.terminate();
  await waitFor(() => own.feed.subscriptions() === 0, { timeoutMs: 5_000, what: 'the subscription closed' });
});

it('WebSocket: the API’s close() ends its WebSocket clients with 1001 rather than waiting on them', async () => {
  const { orgId } = await orgApi(h);
  const key = await h.newKey(orgId, ['read']);
  const api = buildApi(h.config);
  const baseUrl = await api.listen(0, '127.0.0.1');
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/v1/events/ws?access_token=${key}`);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const closedWith = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await api.close();
  expect(await closedWith).toBe(1001);
});

it('WebSocket: the server reads nothing from clients, and a message over 4 KiB closes the socket (1009) instead of being buffered', async () => {
  const { readKey, publish } = await setup();
  const small = await openWs(`?access_token=${readKey}`);
  const big = await openWs(`?access_token=${readKey}`);
  let closedWith = 0;
  big.socket.once('close', (code) => (closedWith = code));
  let closedSmall = false;
  small.socket.once('close', () => (closedSmall = true));

  small.socket.send('x'.repeat(4 * 1024));
  big.socket.send(Buffer.alloc(4 * 1024 + 1));
  // ws's own default would take up to 100 MiB, silently.
  expect(await waitFor(() => closedWith, { timeoutMs: 10_000, what: 'the socket closed' })).toBe(1009);

  // A message within the limit is ignored: the socket goes on carrying events.
  await publish('after.small.message', {});
  await small.waitForMessages(1);
  expect(closedSmall).toBe(false);
});
