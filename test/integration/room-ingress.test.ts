import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, startHookwiseWithLlm, type Hookwise } from '../support/hookwise.js';
import { expectError, matchLogEntry, orgApi, postRoomEvent, roomFixture } from '../support/fixtures.js';
import { rawRequest } from '../support/raw-http.js';
import { waitFor } from '../support/wait.js';
import { endRotationOverlap } from '../support/key-overlap.js';

// Every answer `POST /webhooks/:token` can give a sender, against the real API, PostgreSQL and Temporal.

let h: Hookwise;
let stop = async () => {};
beforeAll(async () => {
  // Matching here is by rules only; the fake LLM just answers the agent runs that admissions cause.
  ({ h, stop } = await startHookwiseWithLlm(() => 'noted', { HOOKWISE_ROOM_TICK_SECONDS: '3600' }));
});
afterAll(() => stop());

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

  it('a JSON body that starts with a UTF-8 BOM is parsed without it; the signature still covers the bytes sent', async () => {
    const secret = 'bom-hmac-secret';
    const s = await roomWithSource(h, { verification: { scheme: 'hmac-sha256', secret, header: 'X-Signature' } });
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ type: 'test.event', n: 1 }))]);
    const signature = createHmac('sha256', secret).update(body).digest('hex');
    const ack = await send(h.baseUrl, s.token, body, { 'x-signature': signature });
    expect(ack.body).toEqual({ ok: true, eventId: expect.any(String) });
    const { rows } = await h.db.query(`SELECT payload FROM room_events WHERE id = $1`, [ack.body.eventId]);
    expect(JSON.parse(rows[0].payload)).toEqual({ type: 'test.event', n: 1 });
    await matchLogEntry(s, s.roomId, ack.body.eventId);
    // Signed without the BOM it is not what was sent.
    const unsigned = createHmac('sha256', secret).update(body.subarray(3)).digest('hex');
    expect((await send(h.baseUrl, s.token, body, { 'x-signature': unsigned })).body).toMatchObject({ ok: false, error: expect.stringMatching(/signature/) });
    // Only one BOM is an encoding mark: a second is content, and JSON can't start with it.
    const twice = await send(h.baseUrl, s.token, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]));
    expect(twice.body).toEqual({ ok: false, error: 'unparsable body' });
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

/**
 * Twilio's algorithm as its own helper library has it (twilio-node getExpectedTwilioSignature): the
 * URL, then for each param name in order the name and each of its distinct values, sorted.
 */
function twilioSign(authToken: string, url: string, pairs: Array<[string, string]>): string {
  const byName = new Map<string, Set<string>>();
  for (const [name, value] of pairs) byName.set(name, (byName.get(name) ?? new Set<string>()).add(value));
  let data = url;
  for (const name of [...byName.keys()].sort()) for (const value of [...byName.get(name)!].sort()) data += name + value;
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

describe('Twilio channel POST /webhooks/channel/twilio/:roomId', () => {
  // No HOOKWISE_PUBLIC_URL here: the Host header is the public URL's host.
  const HOST = 'hooks.example.com';
  const AUTH_TOKEN = 'twilio_auth_token_ingress_0123456789';
  const urlOf = (roomId: string, origin = `http://${HOST}`) => `${origin}/webhooks/channel/twilio/${roomId}`;

  async function twilioRoom() {
    const api = await orgApi(h);
    const room = await roomFixture(api, { workspaceName: 'twilio', room: { name: 'sms', instructions: 'Answer.', twilioAuthToken: AUTH_TOKEN } });
    return { ...api, roomId: room.roomId };
  }

  const message = (sid: string, extra: Array<[string, string]> = []): Array<[string, string]> => [
    ['AccountSid', 'AC00000000000000000000000000000000'],
    ['MessageSid', sid],
    ['From', '+15551230000'],
    ['To', '+15557650000'],
    ['Body', `message ${sid}`],
    ...extra,
  ];

  const post = (roomId: string, pairs: Array<[string, string]>, signature: string | undefined) =>
    rawRequest(h.baseUrl, {
      method: 'POST',
      path: `/webhooks/channel/twilio/${roomId}`,
      headers: {
        host: HOST,
        'content-type': 'application/x-www-form-urlencoded',
        ...(signature ? { 'x-twilio-signature': signature } : {}),
      },
      body: new URLSearchParams(pairs).toString(),
    });

  const userMessages = async (roomId: string) =>
    (
      await h.db.query(
        `SELECT m.id, m.author, m.content FROM chat_messages m JOIN chats c ON c.id = m.chat_id WHERE c.room_id = $1 AND m.role = 'user' ORDER BY m.created_at`,
        [roomId],
      )
    ).rows;

  async function twilioAcks(outcome: string): Promise<number> {
    const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('hookwise_inbound_acks_total{') && l.includes('route="twilio"') && l.includes(`outcome="${outcome}"`));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  it('a signature over the URL with the default port (:80 here) passes as well as one without, as Twilio’s validateRequest has it', async () => {
    const s = await twilioRoom();
    const without = message('SM_port_without');
    expect((await post(s.roomId, without, twilioSign(AUTH_TOKEN, urlOf(s.roomId), without))).status).toBe(200);
    const withPort = message('SM_port_with');
    const res = await post(s.roomId, withPort, twilioSign(AUTH_TOKEN, urlOf(s.roomId, `http://${HOST}:80`), withPort));
    expect(res.status, res.text).toBe(200);
    // Any other port is another URL.
    const other = message('SM_port_other');
    expect((await post(s.roomId, other, twilioSign(AUTH_TOKEN, urlOf(s.roomId, `http://${HOST}:8080`), other))).status).toBe(403);
    expect((await userMessages(s.roomId)).map((m) => m.content)).toEqual(['message SM_port_without', 'message SM_port_with']);
  });

  it('a repeated param is signed with each of its values, sorted (Twilio’s algorithm), not only its last', async () => {
    const s = await twilioRoom();
    const pairs = message('SM_repeated', [
      ['MediaUrl', 'https://media.example.com/b'],
      ['MediaUrl', 'https://media.example.com/a'],
    ]);
    const lastOnly = twilioSign(AUTH_TOKEN, urlOf(s.roomId), pairs.filter(([k, v]) => k !== 'MediaUrl' || v.endsWith('/a')));
    expect((await post(s.roomId, pairs, lastOnly)).status).toBe(403);
    const res = await post(s.roomId, pairs, twilioSign(AUTH_TOKEN, urlOf(s.roomId), pairs));
    expect(res.status, res.text).toBe(200);
    expect(await userMessages(s.roomId)).toEqual([expect.objectContaining({ author: '+15551230000', content: 'message SM_repeated' })]);
  });

  it('the same MessageSid again (a redelivery, a replayed request) → 200 and nothing stored or woken again', async () => {
    const s = await twilioRoom();
    const pairs = message('SM_once');
    const signature = twilioSign(AUTH_TOKEN, urlOf(s.roomId), pairs);
    const duplicatesBefore = await twilioAcks('duplicate');
    const first = await post(s.roomId, pairs, signature);
    expect(first.status, first.text).toBe(200);
    const again = await post(s.roomId, pairs, signature);
    expect(again.status, again.text).toBe(200);
    expect(again.text).toBe(first.text);
    expect(await userMessages(s.roomId)).toHaveLength(1);
    // Answered as a duplicate: the branch that neither stores nor fires triggerImmediate.
    expect((await twilioAcks('duplicate')) - duplicatesBefore).toBe(1);

    const next = message('SM_twice');
    expect((await post(s.roomId, next, twilioSign(AUTH_TOKEN, urlOf(s.roomId), next))).status).toBe(200);
    expect((await userMessages(s.roomId)).map((m) => m.content)).toEqual(['message SM_once', 'message SM_twice']);
  });

  it('an unknown room, a room without Twilio and a bad signature get one and the same 403', async () => {
    const s = await twilioRoom();
    const plain = await roomWithSource(h);
    const pairs = message('SM_probe');
    const answers = [
      await post('room_0000000000DEADBEEF000000', pairs, twilioSign(AUTH_TOKEN, urlOf('room_0000000000DEADBEEF000000'), pairs)),
      await post(plain.roomId, pairs, twilioSign(AUTH_TOKEN, urlOf(plain.roomId), pairs)),
      await post(s.roomId, pairs, twilioSign('not-the-token', urlOf(s.roomId), pairs)),
      await post(s.roomId, pairs, undefined),
    ];
    for (const res of answers) {
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: { code: 'forbidden', message: 'invalid X-Twilio-Signature', details: expect.anything() } });
    }
    expect(new Set(answers.map((res) => res.text)).size).toBe(1);
    expect(await userMessages(s.roomId)).toEqual([]);
  });

  // Twilio's rotation: the customer promotes a secondary token, and from then on Twilio signs with it.
  const tokenPath = (roomId: string) => `/api/v1/rooms/${roomId}/twilio-auth-token`;
  /** A message with a fresh MessageSid, signed with `token` over the URL the route is called at. */
  const signedWith = (s: { roomId: string }, token: string, sid: string) => {
    const pairs = message(sid);
    return post(s.roomId, pairs, twilioSign(token, urlOf(s.roomId), pairs));
  };

  it('PUT twilio-auth-token: the new token verifies at once and every previous one until the overlap ends; DELETE turns Twilio off', async () => {
    const s = await twilioRoom();
    const SECOND = 'twilio_auth_token_second_0123456789';
    const THIRD = 'twilio_auth_token_third_0123456789';
    const secrets = [AUTH_TOKEN, SECOND, THIRD];
    const expectNoToken = (text: string) => {
      for (const token of secrets) expect(text).not.toContain(token);
    };

    const first = await s.request('PUT', tokenPath(s.roomId), { body: { token: SECOND } });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ id: s.roomId, twilioConfigured: true, previousTokensExpireAt: expect.any(Number) });
    // The default overlap is 24 hours.
    expect(first.body.previousTokensExpireAt).toBeGreaterThan(Date.now() + 23 * 3600 * 1000);
    expectNoToken(first.text);
    expect((await signedWith(s, AUTH_TOKEN, 'SM_rot_old')).status).toBe(200);
    expect((await signedWith(s, SECOND, 'SM_rot_new')).status).toBe(200);

    // A second rotation inside the window keeps the first token too.
    const second = await s.request('PUT', tokenPath(s.roomId), { body: { token: THIRD } });
    expect(second.status, second.text).toBe(200);
    expectNoToken(second.text);
    for (const [i, token] of secrets.entries()) expect((await signedWith(s, token, `SM_rot_twice_${i}`)).status).toBe(200);
    // A process of the previous release, still up during a deploy, reads only the old column: it has the newest token.
    const { rows } = await h.db.query(`SELECT twilio_auth_token_sealed = twilio_auth_keys->0->>'secret' AS newest FROM rooms WHERE id = $1`, [s.roomId]);
    expect(rows[0].newest).toBe(true);

    // End the overlap window now, as 24 hours later would.
    await endRotationOverlap(h.db, 'rooms', s.roomId);
    for (const token of [AUTH_TOKEN, SECOND]) expect((await signedWith(s, token, `SM_rot_expired_${token}`)).status).toBe(403);
    expect((await signedWith(s, THIRD, 'SM_rot_after')).status).toBe(200);
    const room = await s.request('GET', `/api/v1/rooms/${s.roomId}`);
    expect(room.body.twilioConfigured).toBe(true);
    expectNoToken(room.text);

    const deleted = await s.request('DELETE', tokenPath(s.roomId));
    expect(deleted.status, deleted.text).toBe(204);
    for (const token of secrets) {
      const res = await signedWith(s, token, `SM_rot_deleted_${token}`);
      expect(res.status).toBe(403);
      expect(res.body.error.message).toBe('invalid X-Twilio-Signature');
    }
    expect((await s.request('GET', `/api/v1/rooms/${s.roomId}`)).body.twilioConfigured).toBe(false);
    const { rows: after } = await h.db.query(`SELECT twilio_auth_keys, twilio_auth_token_sealed FROM rooms WHERE id = $1`, [s.roomId]);
    expect(after[0]).toEqual({ twilio_auth_keys: null, twilio_auth_token_sealed: null });
    // A rotation after DELETE turns Twilio on again with the new token alone.
    const again = await s.request('PUT', tokenPath(s.roomId), { body: { token: SECOND } });
    expect(again.body).toMatchObject({ twilioConfigured: true, previousTokensExpireAt: null });
    expect((await signedWith(s, SECOND, 'SM_rot_again')).status).toBe(200);
    expect((await signedWith(s, THIRD, 'SM_rot_again_old')).status).toBe(403);
    for (const line of h.logs) expectNoToken(line);
  });

  it('a room made by the previous release during a deploy (its token only in the old column) still verifies its token', async () => {
    const s = await twilioRoom();
    await h.db.query(`UPDATE rooms SET twilio_auth_keys = NULL WHERE id = $1`, [s.roomId]);
    const pairs = message('SM_old_release');
    expect((await post(s.roomId, pairs, twilioSign(AUTH_TOKEN, urlOf(s.roomId), pairs))).status).toBe(200);
    expect((await s.call('GET', `/api/v1/rooms/${s.roomId}`)).twilioConfigured).toBe(true);
  });

  it('the twilio-auth-token routes: another org’s room is 404, a bad body 422, a key without manage 403; none changes the token', async () => {
    const s = await twilioRoom();
    const stranger = await orgApi(h);
    for (const method of ['PUT', 'DELETE']) {
      expectError(await stranger.request(method, tokenPath(s.roomId), { body: { token: 'stranger_token' } }), 404, 'not_found');
    }
    const readOnly = await h.newKey(s.orgId, ['read', 'send']);
    for (const method of ['PUT', 'DELETE']) {
      expectError(await s.request(method, tokenPath(s.roomId), { key: readOnly, body: { token: 'read_only_token' } }), 403, 'forbidden');
    }
    for (const body of [{}, { token: '' }, { token: 'x'.repeat(201) }, { token: 42 }, { token: 'nul\u0000token' }, { token: 'ok', extra: true }]) {
      const res = await s.request('PUT', tokenPath(s.roomId), { body });
      expectError(res, 422, 'validation_error');
    }
    expect((await s.request('PUT', tokenPath('room_0000000000DEADBEEF000000'), { body: { token: 'nobody' } })).status).toBe(404);
    // The room still verifies its one token, and only it.
    expect((await signedWith(s, AUTH_TOKEN, 'SM_rot_unchanged')).status).toBe(200);
    for (const token of ['stranger_token', 'read_only_token', 'ok']) expect((await signedWith(s, token, `SM_rot_refused_${token}`)).status).toBe(403);
  });
});
