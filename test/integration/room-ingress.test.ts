import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm.js';
import { matchLogEntry, orgApi, postRoomEvent, roomFixture } from '../support/fixtures.js';
import { waitFor } from '../support/wait.js';

// Every answer `POST /webhooks/:token` can give a sender, against the real API, PostgreSQL and Temporal.

let h: Hookwise;
let llm: FakeLlm;
beforeAll(async () => {
  // Matching here is by rules only; the fake LLM just answers the agent runs that admissions cause.
  llm = await startFakeLlm();
  llm.script(() => 'noted');
  h = await startHookwise({ env: { OPENAI_BASE_URL: llm.baseURL, HOOKWISE_ROOM_TICK_SECONDS: '3600' } });
});
afterAll(async () => {
  await h?.stop();
  await llm?.close();
});

const send = (baseUrl: string, token: string, body: string | Buffer, headers: Record<string, string> = {}) => postRoomEvent(baseUrl, token, body, { headers });

/** A fresh org with a workspace, a room and one source whose definition matches `type == <type>`. */
async function roomWithSource(hw: Hookwise, opts: { type?: string; verification?: Record<string, string> } = {}) {
  const api = await orgApi(hw);
  const room = await roomFixture(api, {
    workspaceName: 'ingress',
    room: { name: 'inbox', instructions: 'Handle events.' },
    source: { name: 'sender', ...(opts.verification ? { verification: opts.verification } : {}) },
    definitions: [{ name: 'the event', description: 'the event the test sends', priority: 1, rule: { path: 'type', equals: opts.type ?? 'test.event' } }],
  });
  return { ...api, roomId: room.roomId, sourceId: room.sourceId, token: room.token, definitionId: room.definitions['the event'] };
}

/** A JSON document of exactly `bytes` bytes. */
function jsonOfSize(bytes: number): string {
  const skeleton = JSON.stringify({ type: 'test.event', pad: '' });
  const out = JSON.stringify({ type: 'test.event', pad: 'x'.repeat(bytes - skeleton.length) });
  expect(Buffer.byteLength(out)).toBe(bytes);
  return out;
}

describe('POST /webhooks/:token', () => {
  it('valid JSON → 200 {ok: true, eventId}, recorded and matched in the background', async () => {
    const s = await roomWithSource(h);
    const ack = await send(h.baseUrl, s.token, JSON.stringify({ type: 'test.event', data: { id: 'obj_1' } }));
    expect(ack.status).toBe(200);
    expect(ack.contentType).toMatch(/application\/json/);
    expect(ack.body).toEqual({ ok: true, eventId: expect.any(String) });

    const { rows } = await h.db.query(`SELECT room_id, source_id, payload FROM room_events WHERE id = $1`, [ack.body.eventId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ room_id: s.roomId, source_id: s.sourceId });
    expect(JSON.parse(rows[0].payload)).toEqual({ type: 'test.event', data: { id: 'obj_1' } });

    const entry = await matchLogEntry(s, s.roomId, ack.body.eventId);
    expect(entry).toMatchObject({ sourceId: s.sourceId, matched: s.definitionId });
  });

  it('form-urlencoded is accepted and parsed into an object a rule can match', async () => {
    const s = await roomWithSource(h, { type: 'form.sent' });
    const ack = await send(h.baseUrl, s.token, 'type=form.sent&name=Ada+Lovelace&tag=a&tag=b', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ ok: true, eventId: expect.any(String) });

    const { rows } = await h.db.query(`SELECT payload FROM room_events WHERE id = $1`, [ack.body.eventId]);
    expect(JSON.parse(rows[0].payload)).toEqual({ type: 'form.sent', name: 'Ada Lovelace', tag: ['a', 'b'] });
    const entry = await matchLogEntry(s, s.roomId, ack.body.eventId);
    expect(entry.matched).toBe(s.definitionId);
    expect(entry.reason).toContain('type = "form.sent"');
  });

  it('form fields named like Object.prototype members (constructor, __proto__, toString) are plain fields', async () => {
    const api = await orgApi(h);
    const rule = { all: [{ path: 'constructor', equals: 'x' }, { path: '__proto__', equals: 'y' }, { path: 'toString.1', equals: 'b' }] };
    const room = await roomFixture(api, { workspaceName: 'ingress', definitions: [{ name: 'proto fields', priority: 1, rule }] });
    const ack = await send(h.baseUrl, room.token, 'constructor=x&__proto__=y&toString=a&toString=b', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(ack.body).toMatchObject({ ok: true, eventId: expect.any(String) });

    const { rows } = await h.db.query(`SELECT payload FROM room_events WHERE id = $1`, [ack.body.eventId]);
    // Compared as text: an object literal with a __proto__ key would set its prototype instead.
    expect(rows[0].payload).toBe('{"constructor":"x","__proto__":"y","toString":["a","b"]}');
    const entry = await matchLogEntry(api, room.roomId, ack.body.eventId);
    expect(entry.matched).toBe(room.definitions['proto fields']);
  });

  it('an unknown token → 200 {ok: false, error: "unknown token"}', async () => {
    const ack = await send(h.baseUrl, 'whtok_does_not_exist_0123456789', JSON.stringify({ type: 'test.event' }));
    expect(ack).toMatchObject({ status: 200, body: { ok: false, error: 'unknown token' } });
  });

  it('exactly 64 KB is accepted; 64 KB + 1 byte → 200 {ok: false, error: "payload too large"}', async () => {
    const s = await roomWithSource(h);
    const atLimit = await send(h.baseUrl, s.token, jsonOfSize(64 * 1024));
    expect(atLimit.status).toBe(200);
    expect(atLimit.body).toMatchObject({ ok: true, eventId: expect.any(String) });

    const over = await send(h.baseUrl, s.token, jsonOfSize(64 * 1024 + 1));
    expect(over).toMatchObject({ status: 200, body: { ok: false, error: 'payload too large' } });

    // Only the one at the limit was recorded.
    const { rows } = await h.db.query(`SELECT id FROM room_events WHERE source_id = $1`, [s.sourceId]);
    expect(rows.map((r) => r.id)).toEqual([atLimit.body.eventId]);
    await matchLogEntry(s, s.roomId, atLimit.body.eventId);
  });

  it('an unparsable body → 200 {ok: false} and nothing recorded', async () => {
    const s = await roomWithSource(h);
    const ack = await send(h.baseUrl, s.token, '{"type": "test.event",');
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ ok: false, error: expect.stringMatching(/unparsable|parse/i) });
    const { rows } = await h.db.query(`SELECT id FROM room_events WHERE source_id = $1`, [s.sourceId]);
    expect(rows).toHaveLength(0);
  });

  it('a failed signature → 200 {ok: false} and nothing recorded', async () => {
    const secret = 'plain-hmac-secret';
    const s = await roomWithSource(h, { verification: { scheme: 'hmac-sha256', secret, header: 'X-Signature' } });
    const body = JSON.stringify({ type: 'test.event' });
    const wrong = createHmac('sha256', 'not-the-secret').update(body).digest('hex');
    const bad = await send(h.baseUrl, s.token, body, { 'x-signature': wrong });
    expect(bad.status).toBe(200);
    expect(bad.body).toMatchObject({ ok: false, error: expect.stringMatching(/signature/) });
    const missing = await send(h.baseUrl, s.token, body);
    expect(missing).toMatchObject({ status: 200, body: { ok: false } });
    const { rows } = await h.db.query(`SELECT id FROM room_events WHERE source_id = $1`, [s.sourceId]);
    expect(rows).toHaveLength(0);

    // The same body with the right digest goes through: the refusal was about the signature.
    const right = createHmac('sha256', secret).update(body).digest('hex');
    expect((await send(h.baseUrl, s.token, body, { 'x-signature': right })).body).toMatchObject({ ok: true });
  });

  it('regenerate-token: the old token answers "unknown token" at once, the new one works', async () => {
    const s = await roomWithSource(h);
    const body = JSON.stringify({ type: 'test.event' });
    expect((await send(h.baseUrl, s.token, body)).body).toMatchObject({ ok: true });

    const regen = await h.request('POST', `/api/v1/event-sources/${s.sourceId}/regenerate-token`, { key: s.key });
    expect(regen.status, regen.text).toBe(200);
    expect(regen.body).toMatchObject({ id: s.sourceId, token: expect.any(String) });
    expect(regen.body.token).not.toBe(s.token);
    expect(regen.body.url).toMatch(new RegExp(`/webhooks/${regen.body.token}$`));

    expect(await send(h.baseUrl, s.token, body)).toMatchObject({ status: 200, body: { ok: false, error: 'unknown token' } });
    const fresh = await send(h.baseUrl, regen.body.token, body);
    expect(fresh.body).toMatchObject({ ok: true, eventId: expect.any(String) });
    const entry = await matchLogEntry(s, s.roomId, fresh.body.eventId);
    expect(entry).toMatchObject({ sourceId: s.sourceId, matched: s.definitionId });
  });
});

describe('durability of the ack', () => {
  it('PostgreSQL and Temporal both unreachable → 503, never 200', async () => {
    const down = await startHookwise({
      worker: false,
      env: { DATABASE_URL: 'postgres://x@127.0.0.1:1/x', TEMPORAL_ADDRESS: '127.0.0.1:1' },
    });
    try {
      for (const token of ['whtok_any_token_at_all_0123456789', 'another-token']) {
        const ack = await send(down.baseUrl, token, JSON.stringify({ type: 'test.event' }));
        expect(ack.status).toBe(503);
        expect(ack.body).toMatchObject({ ok: false });
      }
      // The other refusals keep their 200: a body over the limit is refused before anything is looked up.
      const over = await send(down.baseUrl, 'whtok_any', jsonOfSize(64 * 1024 + 1));
      expect(over).toMatchObject({ status: 200, body: { ok: false, error: 'payload too large' } });
    } finally {
      await down.stop();
    }
  });

  it('Temporal unreachable but PostgreSQL fine → 200 ok, the row waits unstarted, recovery starts it and it is matched', async () => {
    const s = await roomWithSource(h);
    const api = await startHookwise({ worker: false, env: { TEMPORAL_ADDRESS: '127.0.0.1:1' } });
    let eventId: string;
    try {
      const pending = send(api.baseUrl, s.token, JSON.stringify({ type: 'test.event', data: { n: 1 } }));
      // The row is written at once, before the Temporal start gives up; fresh, it is still unstarted
      // (no recovery loop anywhere picks up rows this young).
      const row = await waitFor(
        async () => (await h.db.query(`SELECT id, workflow_started_at, outcome FROM room_events WHERE source_id = $1`, [s.sourceId])).rows[0],
        { timeoutMs: 5_000, what: 'the event row' },
      );
      expect(row).toMatchObject({ workflow_started_at: null, outcome: null });
      const ack = await pending;
      expect(ack.status).toBe(200);
      expect(ack.body).toEqual({ ok: true, eventId: row.id });
      eventId = ack.body.eventId;
    } finally {
      await api.stop();
    }

    // What the worker's recovery loop does: start the workflows of rows that never reached Temporal.
    await h.recover();
    const entry = await matchLogEntry(s, s.roomId, eventId);
    expect(entry).toMatchObject({ sourceId: s.sourceId, matched: s.definitionId });
    const started = await h.db.query(`SELECT workflow_started_at FROM room_events WHERE id = $1`, [eventId]);
    expect(started.rows[0].workflow_started_at).not.toBeNull();
    // …and admitted to the backlog like any other matched event: nothing lost.
    await waitFor(
      async () => {
        const backlog = await h.request('GET', `/api/v1/rooms/${s.roomId}/backlog`, { key: s.key });
        return backlog.body.data.some((i: any) => i.eventId === eventId);
      },
      { what: 'the recovered event in the backlog' },
    );
  }, 60_000);
});
