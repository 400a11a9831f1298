import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { Webhook } from 'standardwebhooks';
import { startHookwiseWithLlm, type Hookwise } from '../support/hookwise.js';
import { expectError, expectNoServerErrors, matchLogEntry, orgApi, postRoomEvent, roomBacklog, roomFixture, twilioSignature, type OrgApi } from '../support/fixtures.js';
import { rawRequest } from '../support/raw-http.js';
import { AT_ONCE_MS, waitParked } from '../support/quiesce.js';
import { waitFor } from '../support/wait.js';
import { endRotationOverlap } from '../support/key-overlap.js';
import { roomSchedulerWorkflowId } from '../../src/flows/room-scheduler.js';

// Opt-in verification of room event sources, checked with what real senders use to sign, and the
// Twilio channel route, whose signature covers the public URL Twilio called.

const PUBLIC_URL = 'https://hooks.example.com';

let h: Hookwise;
let stop = async () => {};
beforeAll(async () => {
  ({ h, stop } = await startHookwiseWithLlm(() => 'agent answer', { HOOKWISE_PUBLIC_URL: PUBLIC_URL, HOOKWISE_ROOM_TICK_SECONDS: '3600', HOOKWISE_LLM_TIMEOUT_MS: '2000' }));
});
afterAll(() => stop());

async function setup(opts: { verification?: Record<string, string>; twilioAuthToken?: string } = {}) {
  const api = await orgApi(h);
  const room = await roomFixture(api, {
    workspaceName: 'signed',
    room: { name: 'signed room', instructions: 'Handle signed events.', ...(opts.twilioAuthToken ? { twilioAuthToken: opts.twilioAuthToken } : {}) },
    source: { name: 'sender', ...(opts.verification ? { verification: opts.verification } : {}) },
    definitions: [{ name: 'signed event', description: 'any event of type sig.event', priority: 1, rule: { path: 'type', equals: 'sig.event' } }],
  });
  return { ...api, workspaceId: room.workspaceId, roomId: room.roomId, sourceId: room.sourceId, token: room.token, url: room.url, definitionId: room.definitions['signed event'] };
}

async function send(token: string, body: string, headers: Record<string, string>) {
  const res = await postRoomEvent(h, token, body, { headers });
  expect(res.status).toBe(200);
  return res.body as { ok: boolean; error?: string; eventId?: string };
}

async function expectMatched(s: Awaited<ReturnType<typeof setup>>, eventId: string) {
  const entry = await matchLogEntry(s, s.roomId, eventId);
  expect(entry).toMatchObject({ sourceId: s.sourceId, matched: s.definitionId });
}

async function recordedEvents(sourceId: string): Promise<number> {
  const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM room_events WHERE source_id = $1`, [sourceId]);
  return rows[0].n;
}

const body = (n: number) => JSON.stringify({ id: `evt_${n}`, object: 'event', type: 'sig.event', data: { object: { amount: 100 * n } } });
const tamper = (b: string) => b.replace('"amount":', '"amount":9');

describe('room event source verification', () => {
  it('stripe: Stripe-Signature from the official library passes; tampered or stale fails', async () => {
    const secret = 'whsec_test_room_secret_0123456789';
    const s = await setup({ verification: { scheme: 'stripe', secret } });
    const stripe = new Stripe('sk_test_x');

    const payload = body(1);
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret });
    const ok = await send(s.token, payload, { 'stripe-signature': header });
    expect(ok).toEqual({ ok: true, eventId: expect.any(String) });
    await expectMatched(s, ok.eventId!);

    expect(await send(s.token, tamper(payload), { 'stripe-signature': header })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/signature/),
    });
    const staleHeader = stripe.webhooks.generateTestHeaderString({
      payload,
      secret,
      timestamp: Math.floor(Date.now() / 1000) - 10 * 60,
    });
    expect(await send(s.token, payload, { 'stripe-signature': staleHeader })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/tolerance/),
    });
    expect(await send(s.token, payload, {})).toMatchObject({ ok: false });
    const wrongSecret = stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_other' });
    expect(await send(s.token, payload, { 'stripe-signature': wrongSecret })).toMatchObject({ ok: false });
    expect(await recordedEvents(s.sourceId)).toBe(1);
  });

  it('github: X-Hub-Signature-256 = sha256=<hex HMAC-SHA256 of the body> passes; tampered fails', async () => {
    const secret = "It's a Secret to Everybody";
    const s = await setup({ verification: { scheme: 'github', secret } });
    const payload = JSON.stringify({ action: 'opened', type: 'sig.event', number: 1 });
    const signature = `sha256=${createHmac('sha256', secret).update(payload, 'utf8').digest('hex')}`;
    const ok = await send(s.token, payload, { 'x-hub-signature-256': signature, 'x-github-event': 'issues' });
    expect(ok).toEqual({ ok: true, eventId: expect.any(String) });
    await expectMatched(s, ok.eventId!);

    expect(await send(s.token, payload.replace('opened', 'closed'), { 'x-hub-signature-256': signature })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/signature/),
    });
    // The legacy SHA-1 header alone is not enough.
    const sha1 = `sha1=${createHmac('sha1', secret).update(payload).digest('hex')}`;
    expect(await send(s.token, payload, { 'x-hub-signature': sha1 })).toMatchObject({ ok: false });
    expect(await recordedEvents(s.sourceId)).toBe(1);
  });

  it('standard-webhooks: signed with the standardwebhooks library passes; tampered or stale fails', async () => {
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const s = await setup({ verification: { scheme: 'standard-webhooks', secret } });
    const wh = new Webhook(secret);
    const headersFor = (id: string, at: Date, payload: string) => ({
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': wh.sign(id, at, payload),
    });

    const payload = body(2);
    const now = new Date();
    const ok = await send(s.token, payload, headersFor('msg_1', now, payload));
    expect(ok).toEqual({ ok: true, eventId: expect.any(String) });
    await expectMatched(s, ok.eventId!);

    expect(await send(s.token, tamper(payload), headersFor('msg_2', now, payload))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/signature/),
    });
    const stale = new Date(Date.now() - 10 * 60 * 1000);
    expect(await send(s.token, payload, headersFor('msg_3', stale, payload))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/tolerance/),
    });
    // The id is signed too: the same signature under another id fails.
    expect(await send(s.token, payload, { ...headersFor('msg_4', now, payload), 'webhook-id': 'msg_5' })).toMatchObject({ ok: false });
    expect(await recordedEvents(s.sourceId)).toBe(1);
  });

  it('standard-webhooks: the signature header sent as two lines (a rotating sender) passes', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const s = await setup({ verification: { scheme: 'standard-webhooks', secret } });
    const other = new Webhook(`whsec_${randomBytes(32).toString('base64')}`);
    const payload = body(4);
    const now = new Date();
    const post = (id: string, signatures: string[]) =>
      rawRequest(h.baseUrl, {
        method: 'POST',
        path: `/webhooks/${s.token}`,
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          // Two header lines on the wire; Node hands them over joined as `v1,A, v1,B`.
          'webhook-signature': signatures,
        },
        body: payload,
      });

    // The matching signature on the first line is the case that used to fail.
    const first = await post('msg_a', [new Webhook(secret).sign('msg_a', now, payload), other.sign('msg_a', now, payload)]);
    expect(first.body, first.text).toEqual({ ok: true, eventId: expect.any(String) });
    const second = await post('msg_b', [other.sign('msg_b', now, payload), new Webhook(secret).sign('msg_b', now, payload)]);
    expect(second.body, second.text).toEqual({ ok: true, eventId: expect.any(String) });
    const neither = await post('msg_c', [other.sign('msg_c', now, payload), other.sign('msg_c', now, payload)]);
    expect(neither.body).toMatchObject({ ok: false, error: expect.stringMatching(/signature/) });
    expect(await recordedEvents(s.sourceId)).toBe(2);
  });

  it('standard-webhooks: a whsec_ secret that is not base64 of at least 24 bytes → 422; Stripe whsec_ secrets are not checked', async () => {
    const api = await orgApi(h);
    const { roomId } = await roomFixture(api, { workspaceName: 'secrets' });
    const createSource = (verification: Record<string, string>) =>
      api.request('POST', `/api/v1/rooms/${roomId}/event-sources`, { body: { name: 'sender', verification } });

    for (const [secret, message] of [
      // Read leniently, these were an empty key: a signature anyone can compute.
      ['whsec_', /base64/],
      ['whsec_!!!!!!!!!!!!!!!!', /base64/],
      ['whsec_test_room_secret_0123456789', /base64/],
      [`whsec_${randomBytes(16).toString('base64')}`, /at least 24 bytes/],
    ] as const) {
      const res = await createSource({ scheme: 'standard-webhooks', secret });
      expectError(res, 422, 'validation_error');
      expect(res.body.error.details.issues).toEqual([{ path: 'verification.secret', message: expect.stringMatching(message) }]);
      const payloadPart = secret.slice('whsec_'.length);
      if (payloadPart) expect(res.text).not.toContain(payloadPart);
    }
    // Stripe keys the HMAC with the whole string, so any Stripe secret stays acceptable.
    const stripe = await createSource({ scheme: 'stripe', secret: 'whsec_test_room_secret_0123456789' });
    expect(stripe.status, stripe.text).toBe(201);
    // A free-form secret is keyed by its UTF-8 bytes, and the Standard Webhooks range is accepted.
    for (const secret of ['a plain secret chosen by a person', `whsec_${randomBytes(24).toString('base64')}`]) {
      const ok = await createSource({ scheme: 'standard-webhooks', secret });
      expect(ok.status, ok.text).toBe(201);
    }
    expectNoServerErrors(h);
  });

  for (const [scheme, algorithm, header] of [
    ['hmac-sha256', 'sha256', 'X-Body-Signature'],
    ['hmac-sha512', 'sha512', 'X-Body-Hmac'],
  ] as const) {
    it(`${scheme}: hex HMAC of the raw body in the named header ${header} passes; tampered fails`, async () => {
      const secret = `plain-${scheme}-secret`;
      const s = await setup({ verification: { scheme, secret, header } });
      const payload = body(3);
      const digest = createHmac(algorithm, secret).update(payload).digest('hex');

      const ok = await send(s.token, payload, { [header.toLowerCase()]: digest });
      expect(ok).toEqual({ ok: true, eventId: expect.any(String) });
      await expectMatched(s, ok.eventId!);
      // The prefixed form (`sha256=<hex>`) is accepted as well.
      expect(await send(s.token, payload, { [header]: `${algorithm}=${digest}` })).toMatchObject({ ok: true });

      expect(await send(s.token, tamper(payload), { [header]: digest })).toMatchObject({
        ok: false,
        error: expect.stringMatching(/signature/),
      });
      // Right digest in the wrong header.
      expect(await send(s.token, payload, { 'x-other-header': digest })).toMatchObject({ ok: false });
      // The other algorithm's digest of the same body.
      const other = createHmac(algorithm === 'sha256' ? 'sha512' : 'sha256', secret).update(payload).digest('hex');
      expect(await send(s.token, payload, { [header]: other })).toMatchObject({ ok: false });
      expect(await recordedEvents(s.sourceId)).toBe(2);
    });
  }
});

async function postTwilio(roomId: string, params: Record<string, string>, signature: string | undefined) {
  const res = await fetch(`${h.baseUrl}/webhooks/channel/twilio/${roomId}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature ? { 'x-twilio-signature': signature } : {}),
    },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
}

async function backlog(s: OrgApi & { roomId: string }, status: string) {
  return (await roomBacklog(s, s.roomId, status)).data as any[];
}

async function roomChatMessages(s: OrgApi & { workspaceId: string; roomId: string }) {
  const chats = (await s.call('GET', `/api/v1/workspaces/${s.workspaceId}/chats`)).data as any[];
  const chat = chats.find((c) => c.roomId === s.roomId);
  if (!chat) return null;
  return (await s.call('GET', `/api/v1/chats/${chat.id}`)).messages as any[];
}

describe('PUT /event-sources/:id/verification: a sender rotates its secret', () => {
  const stripeHeader = (payload: string, secret: string) => new Stripe('sk_test_x').webhooks.generateTestHeaderString({ payload, secret });

  it('same scheme: the new secret verifies at once and the previous one until the overlap ends', async () => {
    const first = 'whsec_rotation_first_0123456789';
    const second = 'whsec_rotation_second_0123456789';
    const s = await setup({ verification: { scheme: 'stripe', secret: first } });
    const rotated = await s.request('PUT', `/api/v1/event-sources/${s.sourceId}/verification`, { body: { scheme: 'stripe', secret: second } });
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body).toMatchObject({ id: s.sourceId, verification: { scheme: 'stripe', header: null } });
    expect(rotated.body.previousSecretsExpireAt).toBeGreaterThan(Date.now() + 23 * 3600_000);
    expect(rotated.text).not.toContain(second);

    // Stripe signs with the old secret until the sender switches; both verify meanwhile.
    expect(await send(s.token, body(101), { 'stripe-signature': stripeHeader(body(101), first) })).toMatchObject({ ok: true });
    expect(await send(s.token, body(102), { 'stripe-signature': stripeHeader(body(102), second) })).toMatchObject({ ok: true });

    // End the overlap window now, as 24 hours later would: the old secret no longer verifies.
    await endRotationOverlap(h.db, 'event_sources', s.sourceId);
    expect(await send(s.token, body(103), { 'stripe-signature': stripeHeader(body(103), first) })).toMatchObject({ ok: false });
    expect(await send(s.token, body(104), { 'stripe-signature': stripeHeader(body(104), second) })).toMatchObject({ ok: true });
  });

  it('another scheme replaces the keys at once; DELETE turns verification off; bad bodies and other orgs are refused', async () => {
    const s = await setup({ verification: { scheme: 'github', secret: 'github-secret-1' } });
    const whsec = `whsec_${randomBytes(32).toString('base64')}`;
    const changed = await s.request('PUT', `/api/v1/event-sources/${s.sourceId}/verification`, { body: { scheme: 'standard-webhooks', secret: whsec } });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toMatchObject({ verification: { scheme: 'standard-webhooks' }, previousSecretsExpireAt: null });
    const payload = body(201);
    const gh = `sha256=${createHmac('sha256', 'github-secret-1').update(payload).digest('hex')}`;
    expect(await send(s.token, payload, { 'x-hub-signature-256': gh })).toMatchObject({ ok: false });
    const signed = new Webhook(whsec).sign('msg_rotation_1', new Date(), payload);
    expect(await send(s.token, payload, { 'webhook-id': 'msg_rotation_1', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': signed })).toMatchObject({ ok: true });

    expectError(await s.request('PUT', `/api/v1/event-sources/${s.sourceId}/verification`, { body: { scheme: 'hmac-sha256', secret: 'x' } }), 422, 'validation_error');
    expectError(await s.request('PUT', `/api/v1/event-sources/${s.sourceId}/verification`, { body: { scheme: 'standard-webhooks', secret: 'whsec_!!!!' } }), 422, 'validation_error');
    const other = await orgApi(h);
    expectError(await other.request('PUT', `/api/v1/event-sources/${s.sourceId}/verification`, { body: { scheme: 'github', secret: 'x' } }), 404, 'not_found');
    expectError(await other.request('DELETE', `/api/v1/event-sources/${s.sourceId}/verification`), 404, 'not_found');

    expect((await s.request('DELETE', `/api/v1/event-sources/${s.sourceId}/verification`)).status).toBe(204);
    expect(await send(s.token, body(202), {})).toMatchObject({ ok: true });
    const listed = await s.call('GET', `/api/v1/rooms/${s.roomId}/event-sources`);
    expect(listed.data[0].verification).toBeNull();
  });
});

describe('Twilio channel POST /webhooks/channel/twilio/:roomId', () => {
  it('a valid signature over the public URL → 200 TwiML, the message lands in the room chat and wakes the room', async () => {
    const authToken = 'twilio_auth_token_0123456789abcdef';
    const s = await setup({ twilioAuthToken: authToken });

    // An event: admitted, it waits on the scheduler's hour-long tick.
    const second = await send(s.token, body(2), {});
    expect(second).toMatchObject({ ok: true });
    await waitFor(async () => (await backlog(s, 'pending')).length === 1, { what: 'the item pending' });
    await waitParked(h, roomSchedulerWorkflowId(s.roomId));

    const params = {
      AccountSid: 'AC00000000000000000000000000000000',
      MessageSid: 'SM00000000000000000000000000000001',
      From: 'whatsapp:+15551234567',
      To: 'whatsapp:+15557654321',
      Body: 'Hello from WhatsApp — ça va?',
      NumMedia: '0',
    };
    const publicUrl = `${PUBLIC_URL}/webhooks/channel/twilio/${s.roomId}`;
    const sent = Date.now();
    const res = await postTwilio(s.roomId, params, twilioSignature(authToken, publicUrl, params));
    expect(res.status, res.text).toBe(200);
    expect(res.contentType).toMatch(/text\/xml/);
    expect(res.text).toContain('<Response>');

    const done = await waitFor(
      async () => {
        const items = await backlog(s, 'done');
        return items.length === 1 ? items : null;
      },
      { timeoutMs: 2 * AT_ONCE_MS, intervalMs: 25, what: 'the pending item processed after the channel message' },
    );
    // Timed by the item's own timestamps, so the polling above doesn't count against it.
    const woken = done.find((i) => i.eventId === second.eventId)!;
    expect(woken.completedAt - sent, `started after ${woken.startedAt - sent} ms`).toBeLessThan(AT_ONCE_MS);

    const messages = (await roomChatMessages(s))!;
    expect(messages.filter((m) => m.role === 'user')).toEqual([
      expect.objectContaining({ author: params.From, content: params.Body }),
    ]);
    expect(messages.filter((m) => m.role === 'assistant')).toHaveLength(1);
  });

  it('a bad signature → 403 and nothing stored', async () => {
    const authToken = 'twilio_auth_token_fedcba9876543210';
    const s = await setup({ twilioAuthToken: authToken });
    const params = { From: '+15550000001', To: '+15550000002', Body: 'forged message', MessageSid: 'SM1' };
    const publicUrl = `${PUBLIC_URL}/webhooks/channel/twilio/${s.roomId}`;
    const good = twilioSignature(authToken, publicUrl, params);

    const attempts: Array<[string, Record<string, string>, string | undefined]> = [
      ['signed with another token', params, twilioSignature('another-token', publicUrl, params)],
      // The URL this server sees is not the one Twilio called: a signature over it must not pass.
      ['signed over the local URL', params, twilioSignature(authToken, `${h.baseUrl}/webhooks/channel/twilio/${s.roomId}`, params)],
      ['a param changed after signing', { ...params, Body: 'changed' }, good],
      ['no signature', params, undefined],
    ];
    for (const [what, p, signature] of attempts) {
      const res = await postTwilio(s.roomId, p, signature);
      expect(res.status, what).toBe(403);
    }
    expect(await roomChatMessages(s)).toBeNull();
    const { rows } = await h.db.query(
      `SELECT count(*)::int AS n FROM chat_messages m JOIN chats c ON c.id = m.chat_id WHERE c.room_id = $1`,
      [s.roomId],
    );
    expect(rows[0].n).toBe(0);

    // A room without a Twilio token refuses every signature.
    const plain = await setup();
    const url = `${PUBLIC_URL}/webhooks/channel/twilio/${plain.roomId}`;
    expect((await postTwilio(plain.roomId, params, twilioSignature(authToken, url, params))).status).toBe(403);

    // And the correct signature is accepted, so the refusals above were about the signature.
    const accepted = await postTwilio(s.roomId, params, good);
    expect(accepted.status).toBe(200);
    const messages = (await roomChatMessages(s))!;
    expect(messages).toEqual([expect.objectContaining({ role: 'user', author: params.From, content: 'forged message' })]);
  });
});
