import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { orgApi } from '../support/fixtures.js';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { quiesce } from '../support/quiesce.js';
import { startReceiver, type ReceivedRequest } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';
import { endRotationOverlap } from '../support/key-overlap.js';
import { HookwiseDeliveryStatus } from '../../workflows/search-attributes.js';
import { claimAttempt, ensureSlots, finishAttempt, type Claim } from '../../src/db/delivery-attempts.js';
import { recordEvent } from '../../src/db/events.js';
import { newId } from '../../src/domain/ids.js';

// The seeds' own verification recipes, written out independently of src/domain/signing.ts.
// As the seeds' receiver code does: the whole header value against the one expected signature.
function verifySha256(body: string, signature: string, secret: string): boolean {
  const expected = createHmac('sha256', secret).update(body).digest('hex');
  const received = signature.replace('sha256=', '');
  return received.length === expected.length && timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(received, 'hex'));
}
function verifySha512(body: string, hmac: string, secret: string): boolean {
  return hmac === createHmac('sha512', secret).update(body).digest('hex');
}
function verifyStandard(req: ReceivedRequest, secret: string): unknown {
  return new Webhook(secret).verify(req.body, {
    'webhook-id': String(req.headers['webhook-id']),
    'webhook-timestamp': String(req.headers['webhook-timestamp']),
    'webhook-signature': String(req.headers['webhook-signature']),
  });
}

const fast = (attempts: number) => ({ policy: 'fixed', attempts, delaySeconds: 0.05 });

let h: Hookwise;
let org: { orgId: string; key: string };

beforeAll(async () => {
  h = await startHookwise({ env: { HOOKWISE_DELIVERY_TIMEOUT_MS: '500' } });
});
// Each test gets its own org, so no test's webhooks receive another test's events.
beforeEach(async () => {
  org = await h.newOrg();
});
afterAll(async () => {
  await h.stop();
});

async function createWebhook(body: Record<string, unknown>, key = org.key) {
  const res = await h.request('POST', '/api/v1/webhooks', { key, body: { events: ['*'], ...body } });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

async function publish(body: Record<string, unknown>, key = org.key) {
  const res = await h.request('POST', '/api/v1/events', { key, body });
  expect(res.status, res.text).toBe(202);
  return res.body;
}

async function deliveryOf(deliveryId: string, until: (d: any) => boolean, key = org.key) {
  return waitFor(
    async () => {
      const res = await h.request('GET', `/api/v1/deliveries/${deliveryId}`, { key });
      return until(res.body) ? res.body : null;
    },
    { what: `delivery ${deliveryId}` },
  );
}

describe('delivery', () => {
  it('POSTs the event envelope with every signature of the SPEC', async () => {
    const receiver = await startReceiver();
    const webhook = await createWebhook({ url: receiver.url, retryPolicy: fast(2) });
    const published = await publish({ type: 'message', sessionId: 'sess-1', data: { text: 'hi' } });
    expect(published.deliveries).toHaveLength(1);
    await deliveryOf(published.deliveries[0], (d) => d.status === 'succeeded');

    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0];
    const envelope = JSON.parse(req.body);
    expect(envelope).toEqual({
      id: published.id,
      type: 'message',
      timestamp: published.timestamp,
      organizationId: org.orgId,
      sessionId: 'sess-1',
      data: { text: 'hi' },
    });
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['user-agent']).toMatch(/^hookwise\/\d+\.\d+\.\d+$/);
    expect(req.headers['x-webhook-request-id']).toBe(published.id);
    expect(Number(req.headers['x-webhook-timestamp'])).toBeGreaterThan(Date.now() - 60_000);
    expect(verifySha256(req.body, String(req.headers['x-webhook-signature']), webhook.secret)).toBe(true);
    expect(req.headers['x-webhook-hmac-algorithm']).toBe('sha512');
    expect(verifySha512(req.body, String(req.headers['x-webhook-hmac']), webhook.secret)).toBe(true);
    expect(req.headers['webhook-id']).toBe(published.id);
    expect(verifyStandard(req, webhook.secret)).toEqual(envelope);
    await receiver.close();
  });

  it('signs with a caller-set secret the same way', async () => {
    const receiver = await startReceiver();
    const secret = 'my-own-secret-of-some-length';
    await createWebhook({ url: receiver.url, secret });
    await publish({ type: 'lead.created', data: { id: 1 } });
    await waitFor(() => receiver.requests.length === 1);
    const req = receiver.requests[0];
    expect(verifySha256(req.body, String(req.headers['x-webhook-signature']), secret)).toBe(true);
    expect(verifySha512(req.body, String(req.headers['x-webhook-hmac']), secret)).toBe(true);
    await receiver.close();
  });

  it('retries on 500, on timeout and on connection refused, then succeeds, with one request id', async () => {
    const receiver = await startReceiver({
      replies: [{ status: 500 }, { status: 200, delayMs: 1_500 }, { status: 503 }],
      fallback: { status: 200 },
    });
    // A port with nothing listening: connection refused until the receiver answers there.
    const webhook = await createWebhook({ url: receiver.url, retryPolicy: fast(6) });
    const published = await publish({ type: 'retry.me', data: {} });
    const done = await deliveryOf(published.deliveries[0], (d) => d.status === 'succeeded');

    expect(receiver.requests.length).toBe(4);
    expect(new Set(receiver.requests.map((r) => r.headers['x-webhook-request-id']))).toEqual(new Set([published.id]));
    expect(done.attempts.map((a: any) => a.statusCode)).toEqual([500, null, 503, 200]);
    expect(done.attempts[1].error).toMatch(/timeout after 500 ms/);
    expect(done.attempts.every((a: any) => typeof a.latencyMs === 'number')).toBe(true);
    expect(done.attemptCount).toBe(4);

    const stats = (await h.request('GET', `/api/v1/webhooks/${webhook.id}`, { key: org.key })).body;
    expect(stats).toMatchObject({ successCount: 1, failureCount: 3 });
    expect(stats.lastSuccessAt).toBeGreaterThan(0);
    expect(stats.lastTriggeredAt).toBeGreaterThanOrEqual(stats.lastSuccessAt);
    await receiver.close();
  });

  it('retries on connection refused until the endpoint comes up', async () => {
    const probe = await startReceiver();
    const port = probe.port;
    await probe.close();
    const webhook = await createWebhook({
      url: `http://127.0.0.1:${port}/hook`,
      retryPolicy: { policy: 'fixed', attempts: 50, delaySeconds: 0.2 },
    });
    const published = await publish({ type: 'refused', data: {} });
    await deliveryOf(published.deliveries[0], (d) => d.attemptCount >= 2);
    const first = (await h.request('GET', `/api/v1/deliveries/${published.deliveries[0]}`, { key: org.key })).body;
    expect(first.status).toBe('retrying');
    expect(first.attempts[0].error).toMatch(/refused/i);

    // Bring a receiver up on that very port.
    const { createServer } = await import('node:http');
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(String(req.headers['x-webhook-request-id']));
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    await deliveryOf(published.deliveries[0], (d) => d.status === 'succeeded');
    expect(seen).toEqual([published.id]);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await h.request('DELETE', `/api/v1/webhooks/${webhook.id}`, { key: org.key });
  });

  it('dead-letters after the last attempt, and a replay delivers it', async () => {
    const receiver = await startReceiver({ fallback: { status: 500, body: 'broken' } });
    const webhook = await createWebhook({ url: receiver.url, retryPolicy: { scheduleSeconds: [0.05, 0.05] } });
    const published = await publish({ type: 'doomed', data: { n: 1 } });
    const dead = await deliveryOf(published.deliveries[0], (d) => d.status === 'dead');
    expect(dead.attemptCount).toBe(3);
    expect(dead.lastError).toMatch(/gave up after 3 attempts/);
    expect(dead.attempts.map((a: any) => a.responseBody)).toEqual(['broken', 'broken', 'broken']);

    const letters = (await h.request('GET', '/api/v1/dead-letters', { key: org.key })).body;
    expect(letters.data.map((d: any) => d.id)).toContain(dead.id);

    receiver.setScript({ fallback: { status: 204 } });
    const replay = await h.request('POST', `/api/v1/deliveries/${dead.id}/replay`, { key: org.key });
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ replayOf: dead.id, webhookId: webhook.id, eventId: published.id });
    const delivered = await deliveryOf(replay.body.id, (d) => d.status === 'succeeded');
    expect(delivered.attempts).toHaveLength(1);
    expect(receiver.requests.at(-1)!.headers['x-webhook-request-id']).toBe(published.id);
    // The dead letter stays as it was; the replay is its own record.
    expect((await h.request('GET', `/api/v1/deliveries/${dead.id}`, { key: org.key })).body.status).toBe('dead');
    await receiver.close();
  });

  it('fans out by events filter and session scope', async () => {
    const receiver = await startReceiver();
    const all = await createWebhook({ url: `${receiver.url}?w=all`, events: ['*'] });
    const messages = await createWebhook({ url: `${receiver.url}?w=messages`, events: ['message', 'poll.vote'] });
    const scoped = await createWebhook({ url: `${receiver.url}?w=scoped`, events: ['*'], sessionId: 'sess-A' });
    const paused = await createWebhook({ url: `${receiver.url}?w=paused`, events: ['*'], active: false });
    const other = await h.newOrg();
    await createWebhook({ url: `${receiver.url}?w=other-org`, events: ['*'] }, other.key);

    const count = async (body: Record<string, unknown>) => (await publish(body)).deliveries.length;
    expect(await count({ type: 'message', sessionId: 'sess-A', data: {} })).toBeGreaterThanOrEqual(3);
    const target = async (body: Record<string, unknown>) => {
      const p = await publish(body);
      await waitFor(() => receiver.requests.filter((r) => JSON.parse(r.body).id === p.id).length === p.deliveries.length);
      return receiver.requests
        .filter((r) => JSON.parse(r.body).id === p.id)
        .map((r) => new URL(r.path, 'http://x').searchParams.get('w'))
        .sort();
    };
    expect(await target({ type: 'message', sessionId: 'sess-B', data: {} })).toEqual(['all', 'messages']);
    expect(await target({ type: 'poll.vote', sessionId: 'sess-A', data: {} })).toEqual(['all', 'messages', 'scoped']);
    expect(await target({ type: 'other.thing', data: {} })).toEqual(['all']);
    expect(receiver.requests.some((r) => r.path.includes('paused') || r.path.includes('other-org'))).toBe(false);
    for (const w of [all, messages, scoped, paused]) await h.request('DELETE', `/api/v1/webhooks/${w.id}`, { key: org.key });
    await receiver.close();
  });

  it('applies customHeaders last, overriding the defaults', async () => {
    const receiver = await startReceiver();
    const webhook = await createWebhook({
      url: receiver.url,
      customHeaders: { 'X-Tenant': 'acme', 'user-agent': 'custom-agent/1', 'X-Webhook-Timestamp': 'overridden' },
    });
    await h.request('POST', `/api/v1/webhooks/${webhook.id}/test`, { key: org.key });
    await waitFor(() => receiver.requests.length === 1);
    const req = receiver.requests[0];
    expect(req.headers['x-tenant']).toBe('acme');
    expect(req.headers['user-agent']).toBe('custom-agent/1');
    expect(req.headers['x-webhook-timestamp']).toBe('overridden');
    expect(JSON.parse(req.body)).toMatchObject({ type: 'webhook.test', data: { webhookId: webhook.id } });
    await h.request('DELETE', `/api/v1/webhooks/${webhook.id}`, { key: org.key });
    await receiver.close();
  });

  it('signs with both secrets during a rotation, and with the new one alone after the overlap', async () => {
    const receiver = await startReceiver();
    const webhook = await createWebhook({ url: receiver.url, events: ['rotation.check'] });
    const rotated = await h.request('POST', `/api/v1/webhooks/${webhook.id}/rotate-secret`, { key: org.key });
    expect(rotated.status).toBe(200);
    const newSecret: string = rotated.body.secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(webhook.secret);
    expect(rotated.body.previousSecretExpiresAt).toBeGreaterThan(Date.now() + 23 * 3600 * 1000);

    await publish({ type: 'rotation.check', data: {} });
    await waitFor(() => receiver.requests.length === 1);
    const during = receiver.requests[0];
    // Standard Webhooks carries both signatures (a receiver holding either verifies); the seed headers
    // carry one value, which the seeds' receiver code compares whole: the newest secret's.
    for (const secret of [webhook.secret, newSecret]) expect(verifyStandard(during, secret)).toBeTruthy();
    expect(verifySha256(during.body, String(during.headers['x-webhook-signature']), newSecret)).toBe(true);
    expect(verifySha512(during.body, String(during.headers['x-webhook-hmac']), newSecret)).toBe(true);
    expect(verifySha256(during.body, String(during.headers['x-webhook-signature']), webhook.secret)).toBe(false);

    // End the overlap window now, as 24 hours later would.
    await endRotationOverlap(h.db, 'webhooks', webhook.id);
    await publish({ type: 'rotation.check', data: {} });
    await waitFor(() => receiver.requests.length === 2);
    const after = receiver.requests[1];
    expect(verifySha256(after.body, String(after.headers['x-webhook-signature']), newSecret)).toBe(true);
    expect(verifySha256(after.body, String(after.headers['x-webhook-signature']), webhook.secret)).toBe(false);
    expect(() => verifyStandard(after, webhook.secret)).toThrow();
    await receiver.close();
  });

  it('keeps every key inside its overlap window when rotated twice', async () => {
    const receiver = await startReceiver();
    const webhook = await createWebhook({ url: receiver.url, retryPolicy: fast(2) });
    const second = (await h.request('POST', `/api/v1/webhooks/${webhook.id}/rotate-secret`, { key: org.key, body: {} })).body;
    const third = (await h.request('POST', `/api/v1/webhooks/${webhook.id}/rotate-secret`, { key: org.key, body: {} })).body;
    expect(third.signingKeys).toHaveLength(3);

    await publish({ type: 'rotation.twice', data: {} });
    await waitFor(() => receiver.requests.length === 1);
    const req = receiver.requests[0];
    // A receiver still holding the first secret keeps verifying: a second rotation must not drop it.
    for (const secret of [webhook.secret, second.secret, third.secret]) expect(verifyStandard(req, secret)).toBeTruthy();
    expect(verifySha256(req.body, String(req.headers['x-webhook-signature']), third.secret)).toBe(true);
    await receiver.close();
  });

  it('honours Retry-After on 429', async () => {
    const receiver = await startReceiver({
      replies: [{ status: 429, headers: { 'Retry-After': '1' } }],
      fallback: { status: 200 },
    });
    await createWebhook({ url: receiver.url, events: ['slow.down'], retryPolicy: fast(3) });
    const published = await publish({ type: 'slow.down', data: {} });
    await deliveryOf(published.deliveries[0], (d) => d.status === 'succeeded');
    expect(receiver.requests).toHaveLength(2);
    // The schedule alone would have come back after 50 ms.
    expect(receiver.requests[1].at - receiver.requests[0].at).toBeGreaterThanOrEqual(950);
    await receiver.close();
  });

  it('stops on 410 Gone and disables the webhook', async () => {
    const receiver = await startReceiver({ fallback: { status: 410 } });
    const webhook = await createWebhook({ url: receiver.url, events: ['gone.check'], retryPolicy: fast(5) });
    const published = await publish({ type: 'gone.check', data: {} });
    const dead = await deliveryOf(published.deliveries[0], (d) => d.status === 'dead');
    expect(dead.attemptCount).toBe(1);
    expect(dead.lastError).toMatch(/410 Gone/);
    const after = (await h.request('GET', `/api/v1/webhooks/${webhook.id}`, { key: org.key })).body;
    expect(after.active).toBe(false);
    expect(after.disabledReason).toMatch(/410 Gone/);
    // A disabled webhook gets no more deliveries, and a replay says why it can't run.
    expect((await publish({ type: 'gone.check', data: {} })).deliveries).toHaveLength(0);
    const replay = await h.request('POST', `/api/v1/deliveries/${dead.id}/replay`, { key: org.key });
    expect(replay.status).toBe(409);
    expect(replay.body.error.code).toBe('conflict');
    await receiver.close();
  });

  it('holds an endpoint to its in-flight limit without dropping any delivery', async () => {
    let inFlight = 0;
    let peak = 0;
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        res.end('ok');
      }, 150);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await createWebhook({
      url: `http://127.0.0.1:${port}/limited`,
      events: ['burst'],
      rateLimit: { maxInFlight: 2 },
    });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await publish({ type: 'burst', data: { i } })).deliveries[0]);
    for (const id of ids) await deliveryOf(id, (d) => d.status === 'succeeded');
    expect(peak).toBeLessThanOrEqual(2);
    expect(peak).toBe(2);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('spreads deliveries over the next minute when the per-minute limit is reached', async () => {
    const receiver = await startReceiver();
    const webhook = await createWebhook({ url: receiver.url, events: ['metered'], rateLimit: { maxPerMinute: 2 } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await publish({ type: 'metered', data: { i } })).deliveries[0]);
    // Whichever two got the minute's slots succeed; the other waits for the window (about a minute):
    // pending, no attempt made, not dropped.
    const settled = await waitFor(async () => {
      const all = await Promise.all(ids.map(async (id) => (await h.request('GET', `/api/v1/deliveries/${id}`, { key: org.key })).body));
      return all.filter((d) => d.status === 'succeeded').length === 2 ? all : null;
    });
    const waiting = settled.filter((d: any) => d.status !== 'succeeded');
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatchObject({ status: 'pending', attemptCount: 0 });
    // The two are done and the third waits on its timer for the next minute: nothing can be sent before then.
    await quiesce(h, org.orgId, { parked: [waiting[0].workflowId], leftPending: [waiting[0].id] });
    expect(receiver.requests).toHaveLength(2);
    await h.request('DELETE', `/api/v1/webhooks/${webhook.id}`, { key: org.key });
    await receiver.close();
  });

  it('repeats nothing when the same fan-out runs twice', async () => {
    const receiver = await startReceiver();
    await createWebhook({ url: receiver.url, events: ['once'] });
    const published = await publish({ type: 'once', data: {} });
    await waitFor(() => receiver.requests.length === 1);
    // Recovery re-starts unstarted deliveries; on one that already ran it must be a no-op.
    await h.db.query(`UPDATE deliveries SET started_at = NULL, status = 'pending', created_at = now() - interval '1 hour' WHERE id = $1`, [
      published.deliveries[0],
    ]);
    // Its workflow id is taken (closed, never reused): recovery starts nothing and counts it as found.
    expect(await h.recoverDetailed()).toMatchObject({ started: 0, running: 1 });
    // The delivery's workflow is closed and no other runs: whatever recovery did has had its effect.
    const { workflowId } = (await h.request('GET', `/api/v1/deliveries/${published.deliveries[0]}`, { key: org.key })).body;
    await quiesce(h, org.orgId, { closed: [workflowId], leftPending: [published.deliveries[0]] });
    expect(receiver.requests).toHaveLength(1);
    await receiver.close();
  });
});

describe('endpoint slots under contention', () => {
  // Deliveries recorded here and claimed by the test alone: no workflow, and recovery skips them.
  async function heldDeliveries(webhookId: string, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = newId('dlv');
      const eventId = newId('evt');
      await recordEvent(h.db, { id: eventId, organizationId: org.orgId, type: 'slots.test', sessionId: null, body: '{}' }, [
        { id, webhookId, workflowId: `test:${id}` },
      ]);
      ids.push(id);
    }
    await h.db.query(`UPDATE deliveries SET start_error = 'claimed by the test' WHERE id = ANY($1)`, [ids]);
    return ids;
  }
  const claimAll = (ids: string[]) =>
    Promise.all(ids.map((deliveryId) => claimAttempt(h.db, { deliveryId, attemptId: newId('atm'), leaseMs: 60_000, maxInFlight: 10, maxPerMinute: 100 })));
  const held = async (webhookId: string, kind: 'f' | 'm') =>
    Number((await h.db.query(`SELECT count(*) FROM endpoint_slots WHERE webhook_id = $1 AND kind = $2 AND free_at > now()`, [webhookId, kind])).rows[0].count);

  it('30 concurrent claims take exactly the 7 starts of a minute, on 7 distinct slots', async () => {
    const webhook = await createWebhook({ url: 'http://127.0.0.1:9/never', events: ['slots.test'], rateLimit: { maxInFlight: 50, maxPerMinute: 7 } });
    await ensureSlots(h.db, webhook.id, { inFlight: 50, perMinute: 7 });
    const claims: Claim[] = await claimAll(await heldDeliveries(webhook.id, 30));
    expect(claims.filter((c) => c.kind === 'granted')).toHaveLength(7);
    expect(claims.filter((c) => c.kind === 'refused' && c.reason === 'per_minute')).toHaveLength(23);
    expect(await held(webhook.id, 'm')).toBe(7);
    expect(await held(webhook.id, 'f')).toBe(7);
    await h.request('DELETE', `/api/v1/webhooks/${webhook.id}`, { key: org.key });
  });

  it('a claim finds the one free slot wherever its search starts (10 claims, only slot 1 free each time)', async () => {
    const webhook = await createWebhook({ url: 'http://127.0.0.1:9/never', events: ['slots.test'], rateLimit: { maxInFlight: 5, maxPerMinute: 5 } });
    await ensureSlots(h.db, webhook.id, { inFlight: 5, perMinute: 5 });
    for (const deliveryId of await heldDeliveries(webhook.id, 10)) {
      // Every slot held but the first, of both kinds: a search starting past it must wrap around.
      await h.db.query(
        `UPDATE endpoint_slots SET free_at = CASE WHEN n = 1 THEN '-infinity' ELSE now() + interval '1 hour' END, attempt_id = NULL WHERE webhook_id = $1`,
        [webhook.id],
      );
      expect(await claimAll([deliveryId])).toEqual([expect.objectContaining({ kind: 'granted' })]);
    }
    await h.request('DELETE', `/api/v1/webhooks/${webhook.id}`, { key: org.key });
  });

  it('a lowered limit holds: the slot rows above it stay unused', async () => {
    const webhook = await createWebhook({ url: 'http://127.0.0.1:9/never', events: ['slots.test'], rateLimit: { maxInFlight: 8, maxPerMinute: 8 } });
    await ensureSlots(h.db, webhook.id, { inFlight: 8, perMinute: 8 });
    const lowered = await h.request('PATCH', `/api/v1/webhooks/${webhook.id}`, { key: org.key, body: { rateLimit: { maxInFlight: 2, maxPerMinute: 3 } } });
    expect(lowered.status, lowered.text).toBe(200);
    const claims = await claimAll(await heldDeliveries(webhook.id, 12));
    expect(claims.filter((c) => c.kind === 'granted')).toHaveLength(2);
    const taken = await h.db.query(`SELECT kind, n FROM endpoint_slots WHERE webhook_id = $1 AND free_at > now() ORDER BY kind, n`, [webhook.id]);
    expect(taken.rows.filter((r) => r.kind === 'f').every((r) => r.n <= 2)).toBe(true);
    expect(taken.rows.filter((r) => r.kind === 'm').every((r) => r.n <= 3)).toBe(true);
    await h.request('DELETE', `/api/v1/webhooks/${webhook.id}`, { key: org.key });
  });

  it('30 concurrent claims hold exactly 3 in flight; a finished attempt frees its slot for the next claim', async () => {
    const webhook = await createWebhook({ url: 'http://127.0.0.1:9/never', events: ['slots.test'], rateLimit: { maxInFlight: 3, maxPerMinute: 1000 } });
    await ensureSlots(h.db, webhook.id, { inFlight: 3, perMinute: 1000 });
    const ids = await heldDeliveries(webhook.id, 31);
    const claims = await claimAll(ids.slice(0, 30));
    const granted = claims.flatMap((c, i) => (c.kind === 'granted' ? [{ deliveryId: ids[i]!, attemptId: '' }] : []));
    expect(granted).toHaveLength(3);
    expect(claims.filter((c) => c.kind === 'refused' && c.reason === 'in_flight')).toHaveLength(27);
    expect(await held(webhook.id, 'f')).toBe(3);
    const [first] = (await h.db.query(`SELECT id, delivery_id FROM delivery_attempts WHERE delivery_id = $1`, [granted[0]!.deliveryId])).rows;
    await finishAttempt(h.db, {
      attemptId: first.id,
      deliveryId: first.delivery_id,
      webhookId: webhook.id,
      succeeded: true,
      statusCode: 200,
      latencyMs: 1,
      error: null,
      responseBody: null,
      deliveryStatus: 'succeeded',
      deliveryError: null,
      nextAttemptInMs: null,
      disableWebhookReason: null,
      autoDisableAfterHours: 24,
    });
    expect(await claimAll([ids[30]!])).toEqual([expect.objectContaining({ kind: 'granted' })]);
    expect(await held(webhook.id, 'f')).toBe(3);
    await h.request('DELETE', `/api/v1/webhooks/${webhook.id}`, { key: org.key });
  });
});

describe('delivery ended from outside', () => {
  it('a delivery whose workflow is cancelled between attempts ends cancelled, and so does the workflow', async () => {
    const receiver = await startReceiver({ fallback: { status: 500 } });
    await createWebhook({ url: receiver.url, events: ['cancel.me'], retryPolicy: { policy: 'fixed', attempts: 5, delaySeconds: 3600 } });
    const published = await publish({ type: 'cancel.me', data: {} });
    const retrying = await deliveryOf(published.deliveries[0], (d) => d.status === 'retrying');
    const handle = h.temporal.client.workflow.getHandle(retrying.workflowId);
    await handle.cancel();

    const cancelled = await waitFor(
      async () => {
        const d = (await h.request('GET', `/api/v1/deliveries/${retrying.id}`, { key: org.key })).body;
        return d.status === 'retrying' ? null : d;
      },
      { timeoutMs: 5_000, what: 'the delivery to end' },
    );
    expect(cancelled).toMatchObject({ status: 'cancelled', attemptCount: 1, nextAttemptAt: null, lastError: expect.stringMatching(/cancelled/) });
    expect(cancelled.completedAt).toEqual(expect.any(Number));
    const closed = await waitFor(async () => {
      const described = await handle.describe();
      return described.status.name === 'RUNNING' ? null : described;
    });
    expect(closed.status.name).toBe('CANCELLED');
    expect(closed.typedSearchAttributes.get(HookwiseDeliveryStatus)).toBe('cancelled');
    expect(receiver.requests).toHaveLength(1);
    await receiver.close();
  });

  it('an attempt run again after its result was recorded (its workflow task lost) waits out the retry delay: no early POST', async () => {
    const receiver = await startReceiver({ fallback: { status: 500 } });
    await createWebhook({ url: receiver.url, retryPolicy: { policy: 'fixed', attempts: 3, delaySeconds: 60 } });
    const published = await publish({ type: 'retried.later', data: {} });
    const deliveryId = published.deliveries[0];
    const retrying = await deliveryOf(deliveryId, (d) => d.status === 'retrying' && d.attemptCount === 1);
    // What a re-run of that attempt does first (attempts run inside their workflow's task, so a task
    // lost after the attempt recorded its result runs it again): its claim takes nothing.
    const claim = await claimAttempt(h.db, { deliveryId, attemptId: newId('atm'), leaseMs: 10_000, maxInFlight: 10, maxPerMinute: 100 });
    expect(claim).toEqual({ kind: 'early', retryInMs: expect.any(Number) });
    expect((claim as { retryInMs: number }).retryInMs).toBeGreaterThan(50_000);
    expect((claim as { retryInMs: number }).retryInMs).toBeLessThanOrEqual(60_000);
    const after = (await h.request('GET', `/api/v1/deliveries/${deliveryId}`, { key: org.key })).body;
    expect(after).toMatchObject({ status: 'retrying', attemptCount: 1, nextAttemptAt: retrying.nextAttemptAt });
    expect(after.attempts).toHaveLength(1);
    expect(receiver.requests).toHaveLength(1);
    await h.temporal.client.workflow.getHandle(retrying.workflowId).terminate('test over');
    await receiver.close();
  });
});

// The attempts these tests act on must still be in flight when they act: a longer delivery timeout.
describe('delivery, acted on mid-attempt', () => {
  let slow: Hookwise;
  beforeAll(async () => {
    slow = await startHookwise({ env: { HOOKWISE_DELIVERY_TIMEOUT_MS: '5000' } });
  });
  afterAll(async () => {
    await slow?.stop();
  });

  it('a delivery cancelled mid-attempt ends cancelled when its attempt ends, and the slot goes to the next delivery then', async () => {
    const { orgId, call } = await orgApi(slow);
    const receiver = await startReceiver({ replies: ['hang'], fallback: { status: 200 } });
    await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['one.at.a.time'], rateLimit: { maxInFlight: 1 } });
    const first = await call('POST', '/api/v1/events', { type: 'one.at.a.time', data: { n: 1 } });
    await waitFor(() => receiver.requests.length === 1, { what: 'the first POST' });
    const second = await call('POST', '/api/v1/events', { type: 'one.at.a.time', data: { n: 2 } });
    await waitFor(async () => (await slow.db.query(`SELECT waiting_since FROM deliveries WHERE id = $1`, [second.deliveries[0]])).rows[0]?.waiting_since, {
      what: 'the second delivery to wait for the slot',
    });

    const { workflowId } = await call('GET', `/api/v1/deliveries/${first.deliveries[0]}`);
    const handle = slow.temporal.client.workflow.getHandle(workflowId);
    await handle.cancel();
    // The attempt runs inside the workflow's task (a local activity): the cancellation is seen once it
    // ends, here when the hanging POST times out (5 s). Its result is recorded like any other.
    const cancelled = await waitFor(
      async () => {
        const d = await call('GET', `/api/v1/deliveries/${first.deliveries[0]}`);
        return d.status === 'cancelled' ? d : null;
      },
      { timeoutMs: 15_000, what: 'the first delivery cancelled' },
    );
    expect(cancelled.attempts).toMatchObject([{ status: 'failed', error: expect.stringMatching(/timeout after 5000 ms/) }]);
    const { rows } = await slow.db.query(`SELECT count(*)::int AS n FROM endpoint_slots WHERE attempt_id = $1`, [cancelled.attempts[0].id]);
    expect(rows[0].n).toBe(0);
    await waitFor(
      async () => (await call('GET', `/api/v1/deliveries/${second.deliveries[0]}`)).status === 'succeeded',
      { timeoutMs: 10_000, what: 'the second delivery' },
    );
    const closed = await waitFor(async () => {
      const described = await handle.describe();
      return described.status.name === 'RUNNING' ? null : described;
    });
    expect(closed.status.name).toBe('CANCELLED');
    expect(closed.typedSearchAttributes.get(HookwiseDeliveryStatus)).toBe('cancelled');
    await quiesce(slow, orgId);
    expect(receiver.requests).toHaveLength(2);
    await receiver.close();
  });

  it('an attempt superseded by another run of it (marked lost meanwhile) does not end the delivery on what it saw', async () => {
    const { call } = await orgApi(slow);
    const receiver = await startReceiver({ replies: [{ status: 200, delayMs: 2_000 }], fallback: { status: 200 } });
    const hook = await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['superseded'], retryPolicy: { policy: 'fixed', attempts: 5, delaySeconds: 0.5 } });
    const published = await call('POST', '/api/v1/events', { type: 'superseded', data: {} });
    const deliveryId = published.deliveries[0];
    await waitFor(() => receiver.requests.length === 1, { what: 'the first POST' });
    // Another run of the same attempt (its workflow task taken for lost on a starved worker) claims
    // meanwhile, which marks the first one lost, and fails.
    const otherId = newId('atm');
    expect(await claimAttempt(slow.db, { deliveryId, attemptId: otherId, leaseMs: 10_000, maxInFlight: 10, maxPerMinute: 100 })).toMatchObject({ kind: 'granted' });
    await finishAttempt(slow.db, {
      attemptId: otherId,
      deliveryId,
      webhookId: hook.id,
      succeeded: false,
      statusCode: 500,
      latencyMs: 1,
      error: null,
      responseBody: null,
      deliveryStatus: 'retrying',
      deliveryError: null,
      nextAttemptInMs: 500,
      disableWebhookReason: null,
      autoDisableAfterHours: 120,
    });
    // The first run's POST then succeeds, but the row follows the other run: the workflow looks again
    // and delivers, where it used to end "succeeded" and leave the row retrying for good.
    const delivered = await waitFor(
      async () => {
        const d = await call('GET', `/api/v1/deliveries/${deliveryId}`);
        return d.status === 'succeeded' ? d : null;
      },
      { timeoutMs: 15_000, what: 'the delivery to end succeeded' },
    );
    expect(delivered.attempts.map((a: { status: string }) => a.status).sort()).toEqual(['failed', 'lost', 'succeeded']);
    expect(await slow.temporal.client.workflow.getHandle(delivered.workflowId).result()).toMatchObject({ kind: 'done', status: 'succeeded' });
    expect(receiver.requests).toHaveLength(2);
    await receiver.close();
  });

  it('an operator disabling a webhook mid-attempt yields webhook.failing, not webhook.disabled', async () => {
    const { orgId, call } = await orgApi(slow);
    const target = await startReceiver({ fallback: { status: 500, delayMs: 1_000 } });
    const watcher = await startReceiver();
    const hook = await call('POST', '/api/v1/webhooks', { url: target.url, events: ['order.created'], retryPolicy: fast(3) });
    await call('POST', '/api/v1/webhooks', { url: watcher.url, events: ['webhook.disabled', 'webhook.failing'] });
    const published = await call('POST', '/api/v1/events', { type: 'order.created', data: {} });
    await waitFor(() => target.requests.length === 1, { what: 'the attempt in flight' });
    await call('PATCH', `/api/v1/webhooks/${hook.id}`, { active: false });
    const patchedAt = Date.now();

    await waitFor(() => watcher.requests.length >= 1, { what: 'an operational event' });
    await quiesce(slow, orgId);
    expect(watcher.requests.map((r) => JSON.parse(r.body).type)).toEqual(['webhook.failing']);
    // The attempt ended after the PATCH; the next one was not made.
    const delivery = await call('GET', `/api/v1/deliveries/${published.deliveries[0]}`);
    expect(delivery).toMatchObject({ status: 'cancelled', attemptCount: 1 });
    expect(delivery.attempts[0]).toMatchObject({ statusCode: 500 });
    expect(delivery.attempts[0].finishedAt).toBeGreaterThan(patchedAt);
    expect(target.requests).toHaveLength(1);
    await target.close();
    await watcher.close();
  });
});

// A delivery attempt holds its workflow task while its POST waits: with the SDK's default of 40 task
// slots per worker, 40 slow receivers stopped every other workflow on it. HOOKWISE_WORKER_TASK_SLOTS
// raises that.
describe('many receivers hanging at once', () => {
  let wide: Hookwise;
  beforeAll(async () => {
    // The default delivery timeout (30 s): the hanging POSTs outlast the test.
    wide = await startHookwise({ env: { HOOKWISE_WORKER_TASK_SLOTS: '100' } });
  });
  afterAll(async () => {
    await wide?.stop();
  });

  it('45 attempts waiting on slow receivers at once leave the worker free for other deliveries (HOOKWISE_WORKER_TASK_SLOTS=100)', async () => {
    const { call } = await orgApi(wide);
    const stuck = await startReceiver({ fallback: 'hang' });
    const quick = await startReceiver();
    const stuckHook = await call('POST', '/api/v1/webhooks', { url: stuck.url, events: ['slow.one'], rateLimit: { maxInFlight: 50 } });
    await call('POST', '/api/v1/webhooks', { url: quick.url, events: ['quick.one'] });
    await Promise.all(Array.from({ length: 45 }, (_, n) => call('POST', '/api/v1/events', { type: 'slow.one', data: { n } })));
    const inFlight = async () =>
      (await wide.db.query(`SELECT count(*)::int AS n FROM delivery_attempts WHERE webhook_id = $1 AND status = 'in_flight'`, [stuckHook.id])).rows[0].n;
    // Counted by their attempts, not by requests: on a loaded machine an attempt may run twice.
    await waitFor(async () => (await inFlight()) === 45, { timeoutMs: 15_000, what: '45 attempts in flight at once' });

    const published = await call('POST', '/api/v1/events', { type: 'quick.one', data: {} });
    await waitFor(async () => (await call('GET', `/api/v1/deliveries/${published.deliveries[0]}`)).status === 'succeeded', {
      timeoutMs: 15_000,
      what: 'the other delivery, while the 45 still wait',
    });
    expect(quick.requests).toHaveLength(1);
    // Delivered while all 45 were still open.
    expect(await inFlight()).toBe(45);
    // Deleting the webhook, then dropping the connections, ends the 45 (their claims find it gone).
    await call('DELETE', `/api/v1/webhooks/${stuckHook.id}`, undefined, { status: 204 });
    await stuck.close();
    await quick.close();
  });
});
