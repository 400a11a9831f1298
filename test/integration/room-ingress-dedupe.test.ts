import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { Webhook } from 'standardwebhooks';
import { startHookwiseWithLlm, type Hookwise } from '../support/hookwise.js';
import { matchLogEntry, orgApi, postRoomEvent, roomFixture, whileRoomEventRowsRefused } from '../support/fixtures.js';
import { waitFor } from '../support/wait.js';
import { roomEventWorkflowId } from '../../src/flows/room-event.js';

// A sender's retry, or a captured request replayed, is the event already recorded: `POST /webhooks/:token`
// dedupes per source on the sender's own delivery id (webhook-id, X-GitHub-Delivery, a Stripe evt_ id).

let h: Hookwise;
let stop = async () => {};
beforeAll(async () => {
  ({ h, stop } = await startHookwiseWithLlm(() => 'noted', { HOOKWISE_ROOM_TICK_SECONDS: '3600' }));
});
afterAll(() => stop());

async function source(opts: { verification?: Record<string, string> } = {}) {
  const api = await orgApi(h);
  const room = await roomFixture(api, {
    workspaceName: 'dedupe',
    source: { name: 'sender', ...(opts.verification ? { verification: opts.verification } : {}) },
    definitions: [{ name: 'any', description: 'any event of type dup.event', priority: 1, rule: { path: 'type', equals: 'dup.event' } }],
  });
  return { ...api, roomId: room.roomId, sourceId: room.sourceId, token: room.token, definitionId: room.definitions.any };
}

async function send(token: string, body: string, headers: Record<string, string> = {}) {
  const res = await postRoomEvent(h, token, body, { headers });
  expect(res.status, res.text).toBe(200);
  return res.body as { ok: boolean; eventId?: string; duplicate?: boolean; error?: string };
}

const eventsOf = async (sourceId: string) =>
  (await h.db.query(`SELECT id, sender_event_id FROM room_events WHERE source_id = $1 ORDER BY received_at`, [sourceId])).rows;

/** Every match-log entry of the room, once matching has settled the events named. */
async function matchedOnce(s: Awaited<ReturnType<typeof source>>, eventIds: string[]) {
  for (const id of eventIds) await matchLogEntry(s, s.roomId, id);
  const log = (await s.call('GET', `/api/v1/rooms/${s.roomId}/match-log`, undefined, { status: 200 })).data as any[];
  expect(log.map((e) => e.eventId).sort()).toEqual([...eventIds].sort());
  // Admission follows the match log's entry (two statements): wait for it, then count.
  const backlog = async () => ((await s.call('GET', `/api/v1/rooms/${s.roomId}/backlog`, undefined, { status: 200 })).data as any[]).map((i) => i.eventId);
  await waitFor(async () => (await backlog()).length >= eventIds.length, { what: 'the admissions' });
  expect((await backlog()).sort()).toEqual([...eventIds].sort());
}

describe('POST /webhooks/:token deduplicates a sender’s redelivery', () => {
  it('webhook-id: a repeat answers 200 {ok: true, eventId: <the first>, duplicate: true} and is recorded and matched once', async () => {
    const s = await source();
    const body = JSON.stringify({ type: 'dup.event', n: 1 });
    const first = await send(s.token, body, { 'webhook-id': 'msg_2mTsZf1V1pVnSX0t' });
    expect(first).toEqual({ ok: true, eventId: expect.any(String) });
    const again = await send(s.token, body, { 'webhook-id': 'msg_2mTsZf1V1pVnSX0t' });
    expect(again).toEqual({ ok: true, eventId: first.eventId, duplicate: true });

    // Another delivery id is another event, even with the same body.
    const other = await send(s.token, body, { 'webhook-id': 'msg_other' });
    expect(other).toEqual({ ok: true, eventId: expect.any(String) });
    expect(other.eventId).not.toBe(first.eventId);

    expect(await eventsOf(s.sourceId)).toEqual([
      { id: first.eventId, sender_event_id: 'webhook-id:msg_2mTsZf1V1pVnSX0t' },
      { id: other.eventId, sender_event_id: 'webhook-id:msg_other' },
    ]);
    await matchedOnce(s, [first.eventId!, other.eventId!]);
  });

  it('a delivery id that comes again with another body keeps the first body, and the log says so', async () => {
    const s = await source();
    const first = await send(s.token, JSON.stringify({ type: 'dup.event', v: 1 }), { 'webhook-id': 'msg_reused' });
    const again = await send(s.token, JSON.stringify({ type: 'dup.event', v: 2 }), { 'webhook-id': 'msg_reused' });
    expect(again).toEqual({ ok: true, eventId: first.eventId, duplicate: true });
    expect((await h.db.query(`SELECT payload FROM room_events WHERE id = $1`, [first.eventId])).rows[0].payload).toContain('"v":1');
    await waitFor(() => h.logs.some((l) => l.includes('webhook-id:msg_reused came again with another body')), { what: 'the log line' });
    // The same body again is an ordinary retry: nothing to say.
    await send(s.token, JSON.stringify({ type: 'dup.event', v: 1 }), { 'webhook-id': 'msg_reused' });
    expect(h.logs.filter((l) => l.includes('msg_reused came again'))).toHaveLength(1);
  });

  it('per source: the same delivery id on two sources is two events', async () => {
    const a = await source();
    const b = await source();
    const body = JSON.stringify({ type: 'dup.event' });
    const onA = await send(a.token, body, { 'webhook-id': 'msg_shared' });
    const onB = await send(b.token, body, { 'webhook-id': 'msg_shared' });
    expect(onA).toEqual({ ok: true, eventId: expect.any(String) });
    expect(onB).toEqual({ ok: true, eventId: expect.any(String) });
    expect(onB.eventId).not.toBe(onA.eventId);
  });

  it('standard-webhooks verified: a captured request replayed within the tolerance is a duplicate', async () => {
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const s = await source({ verification: { scheme: 'standard-webhooks', secret } });
    const body = JSON.stringify({ type: 'dup.event', amount: 5 });
    const at = new Date();
    const headers = {
      'webhook-id': 'msg_replayed',
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign('msg_replayed', at, body),
    };
    const first = await send(s.token, body, headers);
    expect(first).toEqual({ ok: true, eventId: expect.any(String) });
    expect(await send(s.token, body, headers)).toEqual({ ok: true, eventId: first.eventId, duplicate: true });
    // The retry of a bad request is still refused: dedupe comes after verification.
    expect(await send(s.token, body, { ...headers, 'webhook-signature': 'v1,AAAA' })).toMatchObject({ ok: false });
    await matchedOnce(s, [first.eventId!]);
  });

  it('github: a redelivery with the same X-GitHub-Delivery is a duplicate', async () => {
    const secret = 'github-dedupe-secret';
    const s = await source({ verification: { scheme: 'github', secret } });
    const body = JSON.stringify({ action: 'opened', type: 'dup.event' });
    const delivery = randomUUID();
    const headers = {
      'x-github-event': 'issues',
      'x-github-delivery': delivery,
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    };
    const first = await send(s.token, body, headers);
    expect(first).toEqual({ ok: true, eventId: expect.any(String) });
    expect(await send(s.token, body, headers)).toEqual({ ok: true, eventId: first.eventId, duplicate: true });
    expect(await eventsOf(s.sourceId)).toEqual([{ id: first.eventId, sender_event_id: `github:${delivery}` }]);
  });

  it('stripe verified: a retry of the same evt_ (signed anew) is a duplicate; a bare payload id elsewhere is not', async () => {
    const secret = 'whsec_dedupe_room_secret_0123456789';
    const s = await source({ verification: { scheme: 'stripe', secret } });
    const stripe = new Stripe('sk_test_x');
    const body = JSON.stringify({ id: 'evt_1Rdedupe000000000000001', object: 'event', type: 'dup.event' });
    // Stripe signs each retry with a fresh timestamp: only the event id stays the same.
    const now = Math.floor(Date.now() / 1000);
    const first = await send(s.token, body, { 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: now - 60 }) });
    expect(first).toEqual({ ok: true, eventId: expect.any(String) });
    const retry = await send(s.token, body, { 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: now }) });
    expect(retry).toEqual({ ok: true, eventId: first.eventId, duplicate: true });
    // A payload id that is not a Stripe event id names nothing.
    const other = JSON.stringify({ id: 'obj_1', type: 'dup.event' });
    for (let i = 0; i < 2; i++) {
      const ack = await send(s.token, other, { 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: other, secret }) });
      expect(ack).toEqual({ ok: true, eventId: expect.any(String) });
    }
    expect(await eventsOf(s.sourceId)).toHaveLength(3);

    // Without Stripe verification a payload `id`, evt_ or not, may be a custom app's reused id: no dedupe.
    const plain = await source();
    const a = await send(plain.token, body);
    const b = await send(plain.token, body);
    expect(a).toEqual({ ok: true, eventId: expect.any(String) });
    expect(b).toEqual({ ok: true, eventId: expect.any(String) });
    expect(b.eventId).not.toBe(a.eventId);
    await matchedOnce(plain, [a.eventId!, b.eventId!]);
  });

  it('a delivery id up to 200 characters dedupes; a longer one is no id: the event is taken each time', async () => {
    const s = await source();
    const body = JSON.stringify({ type: 'dup.event' });
    const longest = 'm'.repeat(200);
    const first = await send(s.token, body, { 'webhook-id': longest });
    expect(await send(s.token, body, { 'webhook-id': longest })).toEqual({ ok: true, eventId: first.eventId, duplicate: true });

    const tooLong = 'm'.repeat(201);
    const a = await send(s.token, body, { 'webhook-id': tooLong });
    const b = await send(s.token, body, { 'webhook-id': tooLong });
    expect(a).toEqual({ ok: true, eventId: expect.any(String) });
    expect(b).toEqual({ ok: true, eventId: expect.any(String) });
    expect(b.eventId).not.toBe(a.eventId);
    expect((await eventsOf(s.sourceId)).map((e) => e.sender_event_id)).toEqual([`webhook-id:${longest}`, null, null]);
  });

  it('PostgreSQL refusing the insert: the workflow start is the record, and its id makes a repeat a no-op', async () => {
    const s = await source();
    // A real failure of the insert for this source only: the workflow start carries the event.
    const body = JSON.stringify({ type: 'dup.event', via: 'workflow' });
    const first = await whileRoomEventRowsRefused(h, s.sourceId, async () => {
      const sent = await send(s.token, body, { 'webhook-id': 'msg_fallback' });
      expect(sent).toEqual({ ok: true, eventId: expect.any(String) });
      expect(await send(s.token, body, { 'webhook-id': 'msg_fallback' })).toEqual({ ok: true, eventId: sent.eventId, duplicate: true });
      expect(await eventsOf(s.sourceId)).toEqual([]);
      return sent;
    });
    // The workflow writes the row once PostgreSQL takes it; a repeat now finds that row.
    await waitFor(async () => (await eventsOf(s.sourceId)).length === 1, { timeoutMs: 60_000, what: 'the row the workflow writes' });
    expect(await send(s.token, body, { 'webhook-id': 'msg_fallback' })).toEqual({ ok: true, eventId: first.eventId, duplicate: true });
    expect((await eventsOf(s.sourceId)).map((e) => e.id)).toEqual([first.eventId]);
    await matchedOnce(s, [first.eventId!]);
  }, 90_000);

  it('a run that was the event’s only record and ended before writing its row (terminated): the sender’s repeat is processed', async () => {
    const s = await source();
    // PostgreSQL refuses the first body for good, so the terminated run's attempts (a local activity may
    // still be retrying in the worker) can never write it; the sender's repeat comes with another body.
    const first = await whileRoomEventRowsRefused(
      h,
      s.sourceId,
      async () => {
        const sent = await send(s.token, JSON.stringify({ type: 'dup.event', via: 'first try' }), { 'webhook-id': 'msg_terminated' });
        expect(sent).toEqual({ ok: true, eventId: expect.any(String) });
        // An operator terminates the run while it still waits to write the row.
        await h.temporal.client.workflow.getHandle(roomEventWorkflowId(s.roomId, sent.eventId!)).terminate('terminated by the test');
        // The sender repeats: its row is written now, and the event's workflow runs again under the same
        // id (a terminated run did not process it). It used to answer "already started" and never match.
        expect(await send(s.token, JSON.stringify({ type: 'dup.event', via: 'repeat' }), { 'webhook-id': 'msg_terminated' })).toEqual({ ok: true, eventId: sent.eventId });
        return sent;
      },
      { onlyPayloadsWith: 'first try' },
    );
    await matchedOnce(s, [first.eventId!]);
    // A completed run is never started again: a further repeat is a duplicate.
    expect(await send(s.token, JSON.stringify({ type: 'dup.event', via: 'repeat' }), { 'webhook-id': 'msg_terminated' })).toEqual({ ok: true, eventId: first.eventId, duplicate: true });
  }, 90_000);
});
