import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startReceiver } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';

// A publisher that lost POST /events' answer (its timeout, a reset, an API killed after the commit) can
// only retry, and without a key its retry was a second event, delivered twice. With `Idempotency-Key`
// the retry is the first publish: same event, same deliveries, nothing new recorded or sent.

let h: Hookwise;
let unstarting: Hookwise;
const receivers: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  h = await startHookwise();
  // A second API on the same database whose Temporal never answers: what it records is never started.
  unstarting = await startHookwise({ worker: false, env: { TEMPORAL_ADDRESS: '127.0.0.1:1' } });
});
afterAll(async () => {
  for (const r of receivers) await r.close();
  await unstarting?.stop();
  await h?.stop();
});

async function orgWithWebhook(types = ['order.paid']) {
  const { orgId, key } = await h.newOrg();
  const receiver = await startReceiver();
  receivers.push(receiver);
  const webhook = await h.request('POST', '/api/v1/webhooks', { key, body: { url: receiver.url, events: types } });
  expect(webhook.status, webhook.text).toBe(201);
  return { orgId, key, receiver, webhookId: webhook.body.id as string };
}

async function publish(key: string, body: unknown, idempotencyKey?: string, via: Hookwise = h) {
  const res = await fetch(`${via.baseUrl}/api/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(idempotencyKey !== undefined ? { 'idempotency-key': idempotencyKey } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: (await res.json()) as any };
}

const eventsOf = async (orgId: string) => (await h.db.query(`SELECT id FROM events WHERE organization_id = $1`, [orgId])).rows;
const deliveriesOf = async (orgId: string) =>
  (await h.db.query(`SELECT id, status FROM deliveries WHERE organization_id = $1 ORDER BY created_at`, [orgId])).rows;

describe('POST /events with Idempotency-Key', () => {
  it('a repeat answers the first publish again (Idempotent-Replayed: true) and records and delivers nothing new', async () => {
    const { orgId, key, receiver } = await orgWithWebhook();
    const first = await publish(key, { type: 'order.paid', data: { order: 1 } }, 'order-1-paid');
    expect(first.status).toBe(202);
    expect(first.replayed).toBeNull();
    expect(first.body.deliveries).toHaveLength(1);

    const again = await publish(key, { type: 'order.paid', data: { order: 1 } }, 'order-1-paid');
    expect(again.status).toBe(202);
    expect(again.replayed).toBe('true');
    expect(again.body).toEqual(first.body);

    await waitFor(async () => (await deliveriesOf(orgId)).every((d) => d.status === 'succeeded'), { what: 'the delivery' });
    expect(await eventsOf(orgId)).toEqual([{ id: first.body.id }]);
    expect((await deliveriesOf(orgId)).map((d) => d.id)).toEqual(first.body.deliveries);
    expect(receiver.requests).toHaveLength(1);
    expect(JSON.parse(receiver.requests[0].body)).toMatchObject({ id: first.body.id, data: { order: 1 } });

    // Another key is another event.
    const other = await publish(key, { type: 'order.paid', data: { order: 1 } }, 'order-1-paid-again');
    expect(other.status).toBe(202);
    expect(other.body.id).not.toBe(first.body.id);
    expect(await eventsOf(orgId)).toHaveLength(2);
  });

  it('the same publish is recognised whatever the key order or number spelling of its data', async () => {
    const { key } = await orgWithWebhook();
    const first = await publish(key, '{"type":"order.paid","sessionId":"s1","data":{"a":1,"b":[1.0,{"c":true}]}}', 'k-json');
    const again = await publish(key, '{"data":{"b":[1,{"c":true}],"a":1e0},"sessionId":"s1","type":"order.paid"}', 'k-json');
    expect(again.status).toBe(202);
    expect(again.replayed).toBe('true');
    expect(again.body.id).toBe(first.body.id);
  });

  it('the same key with another type, session or data is a 422 naming the header, and records nothing', async () => {
    const { orgId, key } = await orgWithWebhook(['*']);
    expect((await publish(key, { type: 'order.paid', sessionId: 's1', data: { order: 2 } }, 'k-reused')).status).toBe(202);
    for (const body of [
      { type: 'order.paid', sessionId: 's1', data: { order: 3 } },
      { type: 'order.refunded', sessionId: 's1', data: { order: 2 } },
      { type: 'order.paid', sessionId: 's2', data: { order: 2 } },
      { type: 'order.paid', data: { order: 2 } },
    ]) {
      const res = await publish(key, body, 'k-reused');
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.code).toBe('validation_error');
      expect(res.body.error.details.issues).toEqual([{ path: 'Idempotency-Key', message: 'already used for another publish' }]);
    }
    expect(await eventsOf(orgId)).toHaveLength(1);
  });

  it('keys belong to their org: the same key in two orgs is two events', async () => {
    const a = await orgWithWebhook();
    const b = await orgWithWebhook();
    const inA = await publish(a.key, { type: 'order.paid', data: {} }, 'shared-key');
    const inB = await publish(b.key, { type: 'order.paid', data: {} }, 'shared-key');
    expect(inA.status).toBe(202);
    expect(inB.status).toBe(202);
    expect(inB.replayed).toBeNull();
    expect(inB.body.id).not.toBe(inA.body.id);
    expect(inB.body.organizationId).toBe(b.orgId);
  });

  it('is bounded: 1 to 255 printable ASCII characters, else 422 (an empty header too); no header is no key', async () => {
    const { orgId, key } = await orgWithWebhook();
    for (const bad of ['k'.repeat(256), 'tab\there', '']) {
      const res = await publish(key, { type: 'order.paid', data: {} }, bad);
      expect(res.status, JSON.stringify(bad)).toBe(422);
      expect(res.body.error.details.issues[0].path).toBe('Idempotency-Key');
    }
    expect((await publish(key, { type: 'order.paid', data: {} }, 'k'.repeat(255))).status).toBe(202);
    expect((await publish(key, { type: 'order.paid', data: {} })).status).toBe(202);
    expect((await publish(key, { type: 'order.paid', data: {} })).status).toBe(202);
    expect(await eventsOf(orgId)).toHaveLength(3);
  });

  it('data PostgreSQL could not hold as jsonb (NUL, a lone surrogate) is compared as well: a repeat is replayed, other data refused', async () => {
    const { orgId, key } = await orgWithWebhook();
    const body = '{"type":"order.paid","data":{"note":"a\\u0000b","odd":"\\ud800"}}';
    const first = await publish(key, body, 'k-nul');
    expect(first.status).toBe(202);
    const again = await publish(key, body, 'k-nul');
    expect(again.status).toBe(202);
    expect(again.replayed).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect((await publish(key, '{"type":"order.paid","data":{"note":"a\\u0000c","odd":"\\ud800"}}', 'k-nul')).status).toBe(422);
    expect(await eventsOf(orgId)).toHaveLength(1);
  });

  it('concurrent publishes with one key record one event; exactly one answer is the first', async () => {
    const { orgId, key, receiver } = await orgWithWebhook();
    const answers = await Promise.all(Array.from({ length: 12 }, () => publish(key, { type: 'order.paid', data: { burst: true } }, 'burst')));
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(202));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(new Set(answers.map((a) => JSON.stringify(a.body.deliveries))).size).toBe(1);
    expect(answers.filter((a) => a.replayed === null)).toHaveLength(1);
    expect(await eventsOf(orgId)).toHaveLength(1);
    await waitFor(async () => (await deliveriesOf(orgId)).every((d) => d.status === 'succeeded'), { what: 'the delivery' });
    expect(receiver.requests).toHaveLength(1);
  });

  it('a retry after a publish whose deliveries were never started (the API died after its commit) starts them', async () => {
    const { orgId, key, receiver } = await orgWithWebhook();
    // Recorded through an API that cannot reach Temporal: the row is committed, its start never happens.
    const first = await publish(key, { type: 'order.paid', data: { order: 'crash' } }, 'after-crash', unstarting);
    expect(first.status).toBe(202);
    expect((await h.db.query(`SELECT started_at FROM deliveries WHERE organization_id = $1`, [orgId])).rows).toEqual([{ started_at: null }]);

    // The publisher's retry reaches a healthy API: the same answer, and the delivery goes out now, not
    // when a recovery pass comes round (none runs in this test).
    const again = await publish(key, { type: 'order.paid', data: { order: 'crash' } }, 'after-crash');
    expect(again.replayed).toBe('true');
    expect(again.body).toEqual(first.body);
    await waitFor(() => receiver.requests.length === 1, { what: 'the delivery the retry started' });
    await waitFor(async () => (await deliveriesOf(orgId)).every((d) => d.status === 'succeeded'), { what: 'the delivery recorded' });
    expect(receiver.requests).toHaveLength(1);
    expect(await eventsOf(orgId)).toHaveLength(1);
  });

  it('a publisher that times out while the publish commits, and retries with its key, makes one event and one delivery', async () => {
    const { orgId, key, receiver } = await orgWithWebhook();
    // This org's event rows take a second to write: the publisher's 300 ms timeout fires first, while
    // the server goes on to commit and answers a socket that is gone (the answer is lost).
    const fn = `slow_${orgId.toLowerCase()}`;
    await h.db.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$`);
    await h.db.query(`CREATE TRIGGER ${fn} AFTER INSERT ON events FOR EACH ROW WHEN (NEW.organization_id = '${orgId}') EXECUTE FUNCTION ${fn}()`);
    try {
      const body = JSON.stringify({ type: 'order.paid', data: { order: 'slow' } });
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'order-slow-paid' };
      const lost = await fetch(`${h.baseUrl}/api/v1/events`, { method: 'POST', headers, body, signal: AbortSignal.timeout(300) }).then(
        () => 'answered',
        (err: Error) => err.name,
      );
      expect(lost).toBe('TimeoutError');
      // The retry, as soon as the timeout fires: it waits for the first publish to commit, then finds it.
      const retry = await publish(key, body, 'order-slow-paid');
      expect(retry.status).toBe(202);
      expect(retry.replayed).toBe('true');
      expect(retry.body.deliveries).toHaveLength(1);
    } finally {
      await h.db.query(`DROP TRIGGER ${fn} ON events`);
      await h.db.query(`DROP FUNCTION ${fn}()`);
    }
    await waitFor(async () => (await deliveriesOf(orgId)).every((d) => d.status === 'succeeded'), { what: 'the delivery' });
    expect(await eventsOf(orgId)).toHaveLength(1);
    expect(receiver.requests).toHaveLength(1);
  });

  it('is in the OpenAPI document as a header parameter of POST /events', async () => {
    const doc = (await (await fetch(`${h.baseUrl}/api/v1/openapi.json`)).json()) as any;
    const param = doc.paths['/api/v1/events'].post.parameters.find((p: any) => p.name === 'Idempotency-Key');
    expect(param).toMatchObject({ in: 'header', required: false, schema: { type: 'string', minLength: 1, maxLength: 255 } });
    expect(param.description).toContain('Idempotent-Replayed');
  });
});

describe('what became of a publish', () => {
  it('GET /events/:id answers the envelope and its deliveries by status; GET /deliveries?eventId= lists them', async () => {
    const { orgId, key, webhookId } = await orgWithWebhook();
    const second = await h.request('POST', '/api/v1/webhooks', { key, body: { url: 'https://example.com/hook', events: ['order.paid'] } });
    expect(second.status, second.text).toBe(201);
    const published = await publish(key, { type: 'order.paid', sessionId: 's9', data: { order: 9 } }, 'order-9');
    await waitFor(async () => (await deliveriesOf(orgId)).some((d) => d.status === 'succeeded'), { what: 'the loopback delivery' });

    const event = await h.request('GET', `/api/v1/events/${published.body.id}`, { key });
    expect(event.status, event.text).toBe(200);
    const { deliveries: _ids, ...envelope } = published.body;
    expect(event.body).toMatchObject(envelope);
    expect(event.body.deliveryCounts.succeeded).toBe(1);
    expect(Object.values(event.body.deliveryCounts).reduce((a: number, b) => a + (b as number), 0)).toBe(2);
    expect(Object.keys(event.body.deliveryCounts).sort()).toEqual(['cancelled', 'dead', 'pending', 'retrying', 'succeeded']);

    const listed = await h.request('GET', `/api/v1/deliveries?eventId=${published.body.id}&limit=1`, { key });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.data).toHaveLength(1);
    const rest = await h.request('GET', `/api/v1/deliveries?eventId=${published.body.id}&limit=1&cursor=${encodeURIComponent(listed.body.nextCursor)}`, { key });
    expect([...listed.body.data, ...rest.body.data].map((d: any) => d.id).sort()).toEqual([...published.body.deliveries].sort());
    expect(listed.body.data.concat(rest.body.data).map((d: any) => d.webhookId)).toContain(webhookId);

    // Another org's event is not found; nor is one that does not exist. The stream route is still the stream.
    const stranger = await h.newOrg();
    expect((await h.request('GET', `/api/v1/events/${published.body.id}`, { key: stranger.key })).status).toBe(404);
    expect((await h.request('GET', `/api/v1/events/evt_nothing`, { key })).status).toBe(404);
    expect((await h.request('GET', `/api/v1/deliveries?eventId=${published.body.id}`, { key: stranger.key })).body.data).toEqual([]);
    const stream = await fetch(`${h.baseUrl}/api/v1/events/stream`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(5_000) });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    await stream.body?.cancel();
  });
});
