import { afterAll, beforeAll, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { countRows, orgApi, postGeneric, subscribeReceiver, type Receiver } from '../support/fixtures.js';
import { quiesce } from '../support/quiesce.js';
import { waitFor } from '../support/wait.js';
import { endRotationOverlap } from '../support/key-overlap.js';

// The generic ingress (`POST /api/v1/webhooks/generic/:workspaceId`) seen from outside: what it
// answers, what it dedupes, and — through a real webhook receiver — the envelope it publishes.

let h: Hookwise;
const receivers: Receiver[] = [];

beforeAll(async () => {
  h = await startHookwise({ env: { HOOKWISE_RECOVERY_INTERVAL_SECONDS: '3600' } });
});
afterAll(async () => {
  for (const r of receivers) await r.close();
  await h?.stop();
});

/** A fresh org with one workspace and a receiver subscribed to everything the org publishes. */
async function setup() {
  const api = await orgApi(h);
  const { receiver } = await subscribeReceiver(api);
  receivers.push(receiver);
  const ws = await api.call('POST', '/api/v1/workspaces', { name: 'ingress' });
  /** The published envelopes (parsed), once at least n have arrived. */
  const published = async (n: number) => {
    await waitFor(() => receiver.requests.length >= n, { what: `${n} published event(s)` });
    return receiver.requests.map((r) => JSON.parse(r.body));
  };
  return { ...api, ws, receiver, published };
}

const inboxCount = (workspaceId: string) => countRows(h, `SELECT count(*) AS n FROM event_inbox WHERE workspace_id = $1`, [workspaceId]);

it('the body must be a JSON object: an array, a string, a number, null or invalid JSON get 400 bad_request', async () => {
  const { ws } = await setup();
  for (const raw of ['[1,2,3]', '[]', '"a string"', '42', 'null', 'true', '{"unterminated": ', 'not json at all', '']) {
    const res = await postGeneric(h, ws.id, raw);
    expect(res.status, `${JSON.stringify(raw)} → ${res.text}`).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
    expect(typeof res.body.error.message).toBe('string');
  }
  expect(await inboxCount(ws.id)).toBe(0);
  // The same route takes an object.
  expect(await postGeneric(h, ws.id, '{}')).toMatchObject({ status: 202, body: { accepted: true } });
});

it('a body starting with a UTF-8 BOM is accepted; the BOM is not part of the payload', async () => {
  const { ws, published } = await setup();
  await postGeneric(h, ws.id, '\uFEFF{"type":"bom.sent","id":"b1"}', { accepted: true });
  expect((await published(1))[0].data).toMatchObject({ payload: { type: 'bom.sent', id: 'b1' } });
});

it('an unknown workspace gets a 404 in the error envelope', async () => {
  const res = await postGeneric(h, 'ws_0000000000NOSUCHWORKSPACE0', { hello: 'world' });
  expect(res.status).toBe(404);
  expect(res.body).toMatchObject({ error: { code: 'not_found' } });
  expect(typeof res.body.error.message).toBe('string');
});

it('a repeated dedupe key is accepted:false and the first event is kept: query dedupe_key, then x-webhook-id, then x-request-id', async () => {
  const { ws, orgId, published } = await setup();
  const accepted = async (body: object, opts: Parameters<typeof postGeneric>[3]) => {
    const res = await postGeneric(h, ws.id, body, opts);
    expect(res.status, res.text).toBe(202);
    return res.body;
  };

  // Query dedupe_key; the second post differs in body and headers, the key alone decides.
  expect(await accepted({ n: 1 }, { query: { dedupe_key: 'k-query' } })).toEqual({ accepted: true });
  expect(await accepted({ n: 2 }, { query: { dedupe_key: 'k-query' }, headers: { 'x-webhook-id': 'other' } })).toEqual({ accepted: false });
  // The query param wins over the header: a header alone with that value is a duplicate.
  expect(await accepted({ n: 3 }, { headers: { 'x-webhook-id': 'k-query' } })).toEqual({ accepted: false });

  // x-webhook-id, which wins over x-request-id.
  expect(await accepted({ n: 4 }, { headers: { 'x-webhook-id': 'k-webhook', 'x-request-id': 'k-other' } })).toEqual({ accepted: true });
  expect(await accepted({ n: 5 }, { headers: { 'x-webhook-id': 'k-webhook' } })).toEqual({ accepted: false });
  expect(await accepted({ n: 6 }, { headers: { 'x-request-id': 'k-webhook' } })).toEqual({ accepted: false });
  // The x-request-id of the first post was not its key.
  expect(await accepted({ n: 7 }, { headers: { 'x-request-id': 'k-other' } })).toEqual({ accepted: true });

  // x-request-id alone.
  expect(await accepted({ n: 8 }, { headers: { 'x-request-id': 'k-request' } })).toEqual({ accepted: true });
  expect(await accepted({ n: 9 }, { headers: { 'x-request-id': 'k-request' } })).toEqual({ accepted: false });
  expect(await accepted({ n: 10 }, { query: { dedupe_key: 'k-request' } })).toEqual({ accepted: false });

  expect(await inboxCount(ws.id)).toBe(4);
  await published(4);
  // Everything published and delivered: a stray duplicate would be here by now.
  await quiesce(h, orgId);
  const events = await published(4);
  expect(events).toHaveLength(4);
  const byKey = Object.fromEntries(events.map((e) => [e.data.dedupe_key, e.data.payload.n]));
  expect(byKey).toEqual({ 'k-query': 1, 'k-webhook': 4, 'k-other': 7, 'k-request': 8 });
});

it('without a dedupe key every post is accepted and published, even identical ones', async () => {
  const { ws, published } = await setup();
  for (let i = 0; i < 3; i++) {
    expect((await postGeneric(h, ws.id, { same: 'body' })).body).toEqual({ accepted: true });
  }
  expect(await inboxCount(ws.id)).toBe(3);
  const events = await published(3);
  expect(new Set(events.map((e) => e.id)).size).toBe(3);
  expect(new Set(events.map((e) => e.data.id)).size).toBe(3);
  expect(events.every((e) => e.data.dedupe_key === null)).toBe(true);
});

it('dedupe keys are scoped to their workspace', async () => {
  const { call, ws } = await setup();
  const other = await call('POST', '/api/v1/workspaces', { name: 'second' });
  expect((await postGeneric(h, ws.id, {}, { query: { dedupe_key: 'shared' } })).body).toEqual({ accepted: true });
  expect((await postGeneric(h, other.id, {}, { query: { dedupe_key: 'shared' } })).body).toEqual({ accepted: true });
  expect((await postGeneric(h, other.id, {}, { query: { dedupe_key: 'shared' } })).body).toEqual({ accepted: false });
});

it('event_type falls back from the query to payload event, type, action, then "received"; the type published is webhook.<source>.<slug>', async () => {
  const { ws, published } = await setup();
  const cases: Array<{ m: string; query?: Record<string, string>; payload: object; eventType: string; published: string }> = [
    { m: 'q', query: { event_type: 'Order Created!' }, payload: { event: 'e', type: 't', action: 'a' }, eventType: 'Order Created!', published: 'webhook.generic.order_created' },
    { m: 'e', payload: { event: 'ticket.created', type: 't', action: 'a' }, eventType: 'ticket.created', published: 'webhook.generic.ticket_created' },
    { m: 't', payload: { type: 'payment.succeeded', action: 'a' }, eventType: 'payment.succeeded', published: 'webhook.generic.payment_succeeded' },
    { m: 'a', payload: { action: 'opened' }, eventType: 'opened', published: 'webhook.generic.opened' },
    { m: 'r', payload: { something: 'else' }, eventType: 'received', published: 'webhook.generic.received' },
  ];
  for (const c of cases) {
    const res = await postGeneric(h, ws.id, { m: c.m, ...c.payload }, { query: c.query });
    expect(res.body, res.text).toEqual({ accepted: true });
  }
  const events = await published(cases.length);
  for (const c of cases) {
    const e = events.find((x) => x.data.payload.m === c.m);
    expect(e, c.m).toBeDefined();
    expect(e.type, c.m).toBe(c.published);
    expect(e.data.event_type, c.m).toBe(c.eventType);
    expect(e.data.source_kind, c.m).toBe('webhook.generic');
  }
});

it('source_identifier falls back from explicit to dedupe key, payload id, then {source}:{workspaceId}; source_kind is webhook.<source>', async () => {
  const { ws, orgId, published } = await setup();
  const cases: Array<{ m: string; query?: Record<string, string>; headers?: Record<string, string>; payload: object; identifier: string; kind: string; type: string }> = [
    {
      m: 'explicit',
      query: { source: 'stripe', source_identifier: 'cus_123', dedupe_key: 'dk-1' },
      payload: { id: 'pi_1', type: 'payment.succeeded' },
      identifier: 'cus_123',
      kind: 'webhook.stripe',
      type: 'webhook.stripe.payment_succeeded',
    },
    {
      m: 'dedupe',
      query: { source: 'zendesk' },
      headers: { 'x-webhook-id': 'dk-2' },
      payload: { id: 'tk_9', event: 'ticket_created' },
      identifier: 'dk-2',
      kind: 'webhook.zendesk',
      type: 'webhook.zendesk.ticket_created',
    },
    { m: 'id', query: { source: 'github' }, payload: { id: 4242, action: 'opened' }, identifier: '4242', kind: 'webhook.github', type: 'webhook.github.opened' },
    { m: 'none-src', query: { source: 'shopify' }, payload: {}, identifier: `shopify:${ws.id}`, kind: 'webhook.shopify', type: 'webhook.shopify.received' },
    { m: 'none', payload: {}, identifier: `generic:${ws.id}`, kind: 'webhook.generic', type: 'webhook.generic.received' },
  ];
  for (const c of cases) {
    const res = await postGeneric(h, ws.id, { m: c.m, ...c.payload }, { query: c.query, headers: c.headers });
    expect(res.body, res.text).toEqual({ accepted: true });
  }
  const events = await published(cases.length);
  for (const c of cases) {
    const e = events.find((x) => x.data.payload.m === c.m);
    expect(e, c.m).toBeDefined();
    expect(e.organizationId).toBe(orgId);
    expect(e.type, c.m).toBe(c.type);
    expect(e.data.source_identifier, c.m).toBe(c.identifier);
    expect(e.data.source_kind, c.m).toBe(c.kind);
    expect(e.data.workspace_id).toBe(ws.id);
  }
  expect(events.find((x) => x.data.payload.m === 'explicit').data.dedupe_key).toBe('dk-1');
  expect(events.find((x) => x.data.payload.m === 'dedupe').data.dedupe_key).toBe('dk-2');
  expect(events.find((x) => x.data.payload.m === 'none').data.dedupe_key).toBeNull();
});

it('the payload is stored and published unchanged; headers are kept without credentials or signatures', async () => {
  const { ws, published } = await setup();
  // Unicode (raw and escaped, astral plane included), nested arrays, numbers, nulls, key order, odd spacing.
  const raw =
    '{ "zeta": 1, "alpha": "héllo wörld — 你好 🚀", "escaped": "\\u00e9\\ud83d\\ude80\\n\\t\\"q\\"",\n' +
    '  "nested": [[1, [2, [3, []]]], {"deep": [{"x": null}, true, false]}], "num": -12.5e3, "empty": {},\n' +
    '  "type": "caf\u00e9.bestellt" }';
  const res = await postGeneric(h, ws.id, raw, {
    query: { source: 'acme' },
    headers: {
      authorization: 'Bearer sender-secret',
      cookie: 'session=abc',
      'proxy-authorization': 'Basic eA==',
      'x-api-key': 'k',
      'stripe-signature': 't=1,v1=abc',
      'x-hub-signature-256': 'sha256=abc',
      'webhook-signature': 'v1,abc',
      'x-gitlab-token': 'tok',
      'x-acme-secret': 's',
      'x-custom-header': 'kept value',
      'user-agent': 'acme-sender/1.0',
    },
  });
  expect(res.status, res.text).toBe(202);
  expect(res.body).toEqual({ accepted: true });

  const [event] = await published(1);
  // The event type comes from the payload; the slug replaces the non-ASCII letter too.
  expect(event.type).toBe('webhook.acme.caf_bestellt');
  expect(event.data.event_type).toBe('café.bestellt');
  // The same value, the same key order, every code point intact.
  expect(event.data.payload).toStrictEqual(JSON.parse(raw));
  expect(JSON.stringify(event.data.payload)).toBe(JSON.stringify(JSON.parse(raw)));
  // The inbox keeps the exact bytes.
  const { rows } = await h.db.query(`SELECT payload FROM event_inbox WHERE workspace_id = $1`, [ws.id]);
  expect(rows).toHaveLength(1);
  expect(rows[0].payload).toBe(raw);

  const headers = event.data.headers as Record<string, string>;
  expect(headers['x-custom-header']).toBe('kept value');
  expect(headers['user-agent']).toBe('acme-sender/1.0');
  expect(headers['content-type']).toBe('application/json');
  for (const dropped of [
    'authorization',
    'cookie',
    'proxy-authorization',
    'x-api-key',
    'stripe-signature',
    'x-hub-signature-256',
    'webhook-signature',
    'x-gitlab-token',
    'x-acme-secret',
  ]) {
    expect(headers, dropped).not.toHaveProperty(dropped);
  }
  // Nothing sensitive anywhere in the published body, under any name.
  const body = JSON.stringify(event);
  for (const secret of ['sender-secret', 'session=abc', 'v1=abc', 'sha256=abc']) expect(body).not.toContain(secret);
  expect(event.data.verified).toEqual({ signature: null });
});

it('workspace signing: with an ingress secret only Standard Webhooks-signed posts are accepted; deleting it turns signing off', async () => {
  const { key, ws, call, published } = await setup();
  const created = await h.request('POST', `/api/v1/workspaces/${ws.id}/ingress-secret`, { key });
  expect(created.status, created.text).toBeLessThan(300);
  const secret: string = created.body.secret;
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
  // Shown once: nothing else returns it.
  expect(JSON.stringify(await call('GET', `/api/v1/workspaces/${ws.id}`))).not.toContain(secret.slice(6));
  expect(JSON.stringify(await call('GET', '/api/v1/workspaces'))).not.toContain(secret.slice(6));

  const signed = (s: string, body: string, msgId: string, at = new Date()) => ({
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(s).sign(msgId, at, body),
  });
  const expect401 = async (body: string, headers: Record<string, string>, what: string) => {
    const res = await postGeneric(h, ws.id, body, { headers });
    expect(res.status, `${what}: ${res.text}`).toBe(401);
    expect(res.body.error.code, what).toBe('unauthorized');
  };

  const body = JSON.stringify({ m: 'signed', type: 'invoice.paid' });
  await expect401(body, {}, 'unsigned');
  await expect401(body, signed(`whsec_${Buffer.from('another key of 32 bytes, not it!').toString('base64')}`, body, 'msg_bad'), 'signed with another secret');
  await expect401(body, { ...signed(secret, body, 'msg_tamper'), 'webhook-signature': 'v1,AAAA' }, 'garbage signature');
  await expect401(JSON.stringify({ m: 'tampered' }), signed(secret, body, 'msg_tamper'), 'body changed after signing');
  await expect401(body, signed(secret, body, 'msg_old', new Date(Date.now() - 10 * 60_000)), 'timestamp 10 minutes old');
  expect(await inboxCount(ws.id)).toBe(0);

  const ok = await postGeneric(h, ws.id, body, { headers: signed(secret, body, 'msg_good') });
  expect(ok.status, ok.text).toBe(202);
  expect(ok.body).toEqual({ accepted: true });
  const [event] = await published(1);
  expect(event.data.payload.m).toBe('signed');
  expect(event.data.verified).toEqual({ signature: true });
  expect(event.data.headers).not.toHaveProperty('webhook-signature');

  // A new secret takes over; the old one keeps verifying for the overlap window, so a sender can switch.
  const rotated = (await h.request('POST', `/api/v1/workspaces/${ws.id}/ingress-secret`, { key })).body.secret as string;
  expect(rotated).not.toBe(secret);
  const withOld = await postGeneric(h, ws.id, JSON.stringify({ m: 'old' }), { headers: signed(secret, JSON.stringify({ m: 'old' }), 'msg_old_secret') });
  expect(withOld.status, withOld.text).toBe(202);
  const withNew = await postGeneric(h, ws.id, JSON.stringify({ m: 'rotated' }), { headers: signed(rotated, JSON.stringify({ m: 'rotated' }), 'msg_new') });
  expect(withNew.status, withNew.text).toBe(202);
  // Once the window is over, only the new one does.
  await endRotationOverlap(h.db, 'workspaces', ws.id);
  await expect401(body, signed(secret, body, 'msg_old_secret_2'), 'signed with the replaced secret after the overlap');

  const deleted = await h.request('DELETE', `/api/v1/workspaces/${ws.id}/ingress-secret`, { key });
  expect(deleted.status, deleted.text).toBe(204);
  const unsigned = await postGeneric(h, ws.id, { m: 'unsigned-again' });
  expect(unsigned.status, unsigned.text).toBe(202);
  expect(unsigned.body).toEqual({ accepted: true });

  const events = await published(4);
  const byMarker = Object.fromEntries(events.map((e) => [e.data.payload.m, e.data.verified]));
  expect(byMarker).toEqual({
    signed: { signature: true },
    old: { signature: true },
    rotated: { signature: true },
    'unsigned-again': { signature: null },
  });
});

it('workspace signing: a retry with the same signed webhook-id is a duplicate whatever unsigned key a proxy adds', async () => {
  const { key, ws, orgId, published } = await setup();
  const created = await h.request('POST', `/api/v1/workspaces/${ws.id}/ingress-secret`, { key });
  expect(created.status, created.text).toBeLessThan(300);
  const body = JSON.stringify({ m: 'once', type: 'invoice.paid' });
  const at = new Date();
  const signedHeaders = {
    'webhook-id': 'msg_retried',
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(created.body.secret).sign('msg_retried', at, body),
  };

  const first = await postGeneric(h, ws.id, body, { headers: { ...signedHeaders, 'x-request-id': 'req-first' } });
  expect(first.status, first.text).toBe(202);
  expect(first.body).toEqual({ accepted: true });
  // Envoy/Istio give every attempt a fresh x-request-id; the unsigned query and x-webhook-id can change too.
  for (const opts of [
    { headers: { ...signedHeaders, 'x-request-id': 'req-retry' } },
    { headers: { ...signedHeaders, 'x-webhook-id': 'wh-retry' } },
    { headers: signedHeaders, query: { dedupe_key: 'q-retry' } },
  ]) {
    const again = await postGeneric(h, ws.id, body, opts);
    expect(again.status, again.text).toBe(202);
    expect(again.body, JSON.stringify(opts)).toEqual({ accepted: false });
  }

  expect(await inboxCount(ws.id)).toBe(1);
  await published(1);
  await quiesce(h, orgId);
  const events = await published(1);
  expect(events).toHaveLength(1);
  expect(events[0].data.dedupe_key).toBe('msg_retried');
});

it('the ingress-secret routes need manage and never reach another org’s workspace', async () => {
  const { orgId, ws } = await setup();
  const readOnly = await h.newKey(orgId, ['read', 'send']);
  for (const method of ['POST', 'DELETE']) {
    const res = await h.request(method, `/api/v1/workspaces/${ws.id}/ingress-secret`, { key: readOnly });
    expect(res.status, `${method}: ${res.text}`).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  }
  const stranger = await h.newOrg();
  for (const method of ['POST', 'DELETE']) {
    const res = await h.request(method, `/api/v1/workspaces/${ws.id}/ingress-secret`, { key: stranger.key });
    expect(res.status, `${method}: ${res.text}`).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  }
  const anonymous = await h.request('POST', `/api/v1/workspaces/${ws.id}/ingress-secret`);
  expect(anonymous.status).toBe(401);
  expect(anonymous.body.error.code).toBe('unauthorized');
  // None of that turned signing on.
  expect((await postGeneric(h, ws.id, { still: 'open' })).status).toBe(202);
});
