import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwiseWithLlm, type Hookwise } from '../support/hookwise.js';
import { expectError, orgApi, postRoomEvent, roomBacklog, roomFixture } from '../support/fixtures.js';
import { waitFor } from '../support/wait.js';

// The room and workspace admin routes: validation, capabilities, org isolation, secrets never shown.

let h: Hookwise;
let stop = async () => {};
beforeAll(async () => {
  ({ h, stop } = await startHookwiseWithLlm(() => 'agent answer', { HOOKWISE_ROOM_TICK_SECONDS: '3600' }));
});
afterAll(() => stop());

const TWILIO_TOKEN = 'twilio-auth-token-never-shown-0123456789';
const VERIFICATION_SECRET = 'whsec_verification_secret_never_shown';

/** An org with a workspace, a room (Twilio configured), a verified source, a definition, an event and a chat. */
async function populatedOrg() {
  const api = await orgApi(h);
  const { call } = api;
  const { workspaceId, room, source } = await roomFixture(api, {
    workspaceName: 'acme',
    room: { name: 'billing', instructions: 'Handle billing.', modelTier: 'fast', twilioAuthToken: TWILIO_TOKEN },
    source: { name: 'stripe', verification: { scheme: 'stripe', secret: VERIFICATION_SECRET } },
  });
  const plainSource = await call('POST', `/api/v1/rooms/${room.id}/event-sources`, { name: 'plain' });
  const def = await call('POST', `/api/v1/event-sources/${plainSource.id}/definitions`, {
    name: 'paid',
    description: 'an invoice was paid',
    priority: 1,
    rule: { path: 'type', equals: 'invoice.paid' },
  });
  const ack = (await postRoomEvent(h, plainSource.token, { type: 'invoice.paid' })).body;
  expect(ack).toMatchObject({ ok: true });
  const reply = await call('POST', `/api/v1/rooms/${room.id}/replies`, { text: 'hello room' });
  // The event is admitted (and run) before the test looks at the backlog.
  await waitFor(async () => (await roomBacklog(api, room.id)).data.length === 1);
  return { ...api, ws: { id: workspaceId }, room, source, plainSource, def, chatId: reply.chatId as string, eventId: ack.eventId as string };
}

let a: Awaited<ReturnType<typeof populatedOrg>>;
beforeAll(async () => {
  a = await populatedOrg();
});

describe('validation', () => {
  const cases: Array<[string, () => string, unknown]> = [
    ['workspace without a name', () => '/api/v1/workspaces', {}],
    ['workspace with a blank name', () => '/api/v1/workspaces', { name: '   ' }],
    ['workspace with an unknown field', () => '/api/v1/workspaces', { name: 'x', color: 'red' }],
    ['room without instructions', () => `/api/v1/workspaces/${a.ws.id}/rooms`, { name: 'r' }],
    ['room with empty instructions', () => `/api/v1/workspaces/${a.ws.id}/rooms`, { name: 'r', instructions: '' }],
    ['room with an unknown model tier', () => `/api/v1/workspaces/${a.ws.id}/rooms`, { name: 'r', instructions: 'i', modelTier: 'huge' }],
    ['source without a name', () => `/api/v1/rooms/${a.room.id}/event-sources`, {}],
    [
      'hmac verification without a header',
      () => `/api/v1/rooms/${a.room.id}/event-sources`,
      { name: 's', verification: { scheme: 'hmac-sha256', secret: 'k' } },
    ],
    [
      'hmac-sha512 verification without a header',
      () => `/api/v1/rooms/${a.room.id}/event-sources`,
      { name: 's', verification: { scheme: 'hmac-sha512', secret: 'k' } },
    ],
    [
      'verification with an invalid header name',
      () => `/api/v1/rooms/${a.room.id}/event-sources`,
      { name: 's', verification: { scheme: 'hmac-sha256', secret: 'k', header: 'X Bad Header' } },
    ],
    [
      'verification with a header name over 100 characters',
      () => `/api/v1/rooms/${a.room.id}/event-sources`,
      { name: 's', verification: { scheme: 'hmac-sha256', secret: 'k', header: `X-${'a'.repeat(99)}` } },
    ],
    [
      'an unknown verification scheme',
      () => `/api/v1/rooms/${a.room.id}/event-sources`,
      { name: 's', verification: { scheme: 'md5', secret: 'k' } },
    ],
    [
      'verification without a secret',
      () => `/api/v1/rooms/${a.room.id}/event-sources`,
      { name: 's', verification: { scheme: 'github', secret: '' } },
    ],
    [
      'definition without a priority',
      () => `/api/v1/event-sources/${a.plainSource.id}/definitions`,
      { name: 'd', description: 'x' },
    ],
    [
      'definition with a fractional priority',
      () => `/api/v1/event-sources/${a.plainSource.id}/definitions`,
      { name: 'd', description: 'x', priority: 1.5 },
    ],
    [
      'definition without a description',
      () => `/api/v1/event-sources/${a.plainSource.id}/definitions`,
      { name: 'd', priority: 1 },
    ],
    [
      'a rule with an unknown operator',
      () => `/api/v1/event-sources/${a.plainSource.id}/definitions`,
      { name: 'd', description: 'x', priority: 1, rule: { path: 'type', like: 'invoice.%' } },
    ],
    [
      'a rule with an empty path segment',
      () => `/api/v1/event-sources/${a.plainSource.id}/definitions`,
      { name: 'd', description: 'x', priority: 1, rule: { path: 'data..id', exists: true } },
    ],
    [
      'a rule with an empty "in"',
      () => `/api/v1/event-sources/${a.plainSource.id}/definitions`,
      { name: 'd', description: 'x', priority: 1, rule: { path: 'type', in: [] } },
    ],
    [
      'a rule "all" with a bad child',
      () => `/api/v1/event-sources/${a.plainSource.id}/definitions`,
      { name: 'd', description: 'x', priority: 1, rule: { all: [{ path: 'type', equals: 'a' }, { path: 'x', equals: { nested: 1 } }] } },
    ],
    [
      'a rule nested too deeply',
      () => `/api/v1/event-sources/${a.plainSource.id}/definitions`,
      {
        name: 'd',
        description: 'x',
        priority: 1,
        rule: Array.from({ length: 12 }).reduce<unknown>((inner) => ({ all: [inner] }), { path: 'a', exists: true }),
      },
    ],
    ['a reply without text', () => `/api/v1/rooms/${a.room.id}/replies`, {}],
    ['a reply with empty text', () => `/api/v1/rooms/${a.room.id}/replies`, { text: '' }],
  ];
  for (const [what, path, body] of cases) {
    it(`422 validation_error: ${what}`, async () => {
      const res = await h.request('POST', path(), { key: a.key, body });
      expectError(res, 422, 'validation_error');
      expect(res.body.error.details.issues.length).toBeGreaterThan(0);
    });
  }

  it('the hmac refusal names the missing header; bad query params are 422 too; nothing invalid was stored', async () => {
    const res = await h.request('POST', `/api/v1/rooms/${a.room.id}/event-sources`, {
      key: a.key,
      body: { name: 'hmac', verification: { scheme: 'hmac-sha256', secret: 'k' } },
    });
    expect(res.body.error.details.issues).toEqual([expect.objectContaining({ path: 'verification.header' })]);
    expectError(await h.request('GET', `/api/v1/rooms/${a.room.id}/backlog?status=weird`, { key: a.key }), 422, 'validation_error');
    expectError(await h.request('GET', `/api/v1/rooms/${a.room.id}/match-log?limit=0`, { key: a.key }), 422, 'validation_error');
    const sources = (await a.call('GET', `/api/v1/rooms/${a.room.id}/event-sources`)).data;
    expect(sources.map((s: any) => s.name).sort()).toEqual(['plain', 'stripe']);
    const defs = (await a.call('GET', `/api/v1/event-sources/${a.plainSource.id}/definitions`)).data;
    expect(defs.map((d: any) => d.id)).toEqual([a.def.id]);
  });

  it('valid bodies of every rule form are accepted and returned as given', async () => {
    const rule = {
      any: [
        { all: [{ path: 'type', equals: 'invoice.paid' }, { path: 'data.object.status', in: ['paid', 'open'] }] },
        { path: 'data.id', exists: true },
      ],
    };
    const created = await a.call('POST', `/api/v1/event-sources/${a.plainSource.id}/definitions`, {
      name: 'complex',
      description: 'several conditions',
      priority: -3,
      rule,
      instructions: 'Do the thing.',
    });
    expect(created).toMatchObject({ sourceId: a.plainSource.id, priority: -3, rule, instructions: 'Do the thing.' });
    const gone = await h.request('DELETE', `/api/v1/definitions/${created.id}`, { key: a.key });
    expect(gone.status).toBe(204);
  });
});

describe('bounds', () => {
  it('an event source holds at most 200 definitions: the 201st is 409 conflict, and one deleted makes room', async () => {
    const api = await orgApi(h);
    const { source } = await roomFixture(api, { workspaceName: 'many', room: { name: 'r', instructions: 'i' }, source: { name: 's' } });
    // 199 straight into the table (the route is what is tested), then the 200th through the API.
    await h.db.query(
      `INSERT INTO event_definitions (id, organization_id, source_id, name, description, priority)
       SELECT 'def_bulk_' || $2 || '_' || n, $1, $2, 'd' || n, 'bulk', n FROM generate_series(1, 199) n`,
      [api.orgId, source.id],
    );
    const body = { name: 'one more', description: 'an event', priority: 1000 };
    const last = await api.call('POST', `/api/v1/event-sources/${source.id}/definitions`, body);
    const refused = await api.request('POST', `/api/v1/event-sources/${source.id}/definitions`, { body });
    expectError(refused, 409, 'conflict');
    expect(refused.body.error.details).toEqual({ limit: 200 });
    expect((await api.call('GET', `/api/v1/event-sources/${source.id}/definitions`)).data).toHaveLength(200);
    expect((await api.request('DELETE', `/api/v1/definitions/${last.id}`)).status).toBe(204);
    await api.call('POST', `/api/v1/event-sources/${source.id}/definitions`, body);
  });
});

describe('capabilities', () => {
  it('a read key can GET everything but change nothing', async () => {
    const read = await h.newKey(a.orgId, ['read']);
    for (const path of [
      '/api/v1/workspaces',
      `/api/v1/workspaces/${a.ws.id}`,
      `/api/v1/workspaces/${a.ws.id}/rooms`,
      `/api/v1/rooms/${a.room.id}`,
      `/api/v1/rooms/${a.room.id}/event-sources`,
      `/api/v1/event-sources/${a.plainSource.id}/definitions`,
      `/api/v1/rooms/${a.room.id}/backlog`,
      `/api/v1/rooms/${a.room.id}/match-log`,
      `/api/v1/workspaces/${a.ws.id}/chats`,
      `/api/v1/chats/${a.chatId}`,
    ]) {
      const res = await h.request('GET', path, { key: read });
      expect(res.status, `GET ${path}: ${res.text}`).toBe(200);
    }
    const writes: Array<[string, string, unknown?]> = [
      ['POST', '/api/v1/workspaces', { name: 'nope' }],
      ['POST', `/api/v1/workspaces/${a.ws.id}/rooms`, { name: 'nope', instructions: 'nope' }],
      ['POST', `/api/v1/rooms/${a.room.id}/event-sources`, { name: 'nope' }],
      ['POST', `/api/v1/event-sources/${a.plainSource.id}/regenerate-token`],
      ['POST', `/api/v1/event-sources/${a.plainSource.id}/definitions`, { name: 'nope', description: 'nope', priority: 1 }],
      ['DELETE', `/api/v1/definitions/${a.def.id}`],
      ['POST', `/api/v1/rooms/${a.room.id}/replies`, { text: 'nope' }],
    ];
    for (const [method, path, body] of writes) {
      const res = await h.request(method, path, { key: read, body });
      expectError(res, 403, 'forbidden');
    }
    // Nothing changed: the old token still works, the definition is still there, no extra rows.
    const defs = (await a.call('GET', `/api/v1/event-sources/${a.plainSource.id}/definitions`)).data;
    expect(defs.map((d: any) => d.id)).toEqual([a.def.id]);
    expect((await a.call('GET', '/api/v1/workspaces')).data).toHaveLength(1);
    const ack = await (await fetch(`${h.baseUrl}/webhooks/${a.plainSource.token}`, { method: 'POST', body: '{"type":"noop"}' })).json();
    expect(ack).toMatchObject({ ok: true });
  });

  it('manage is needed to change the room setup; send (not manage) posts replies', async () => {
    const send = await h.newKey(a.orgId, ['send', 'read']);
    expectError(await h.request('POST', '/api/v1/workspaces', { key: send, body: { name: 'nope' } }), 403, 'forbidden');
    expectError(
      await h.request('POST', `/api/v1/rooms/${a.room.id}/event-sources`, { key: send, body: { name: 'nope' } }),
      403,
      'forbidden',
    );
    const reply = await h.request('POST', `/api/v1/rooms/${a.room.id}/replies`, { key: send, body: { text: 'from a send key' } });
    expect(reply.status, reply.text).toBe(202);

    const manage = await h.newKey(a.orgId, ['manage']);
    const ws = await h.request('POST', '/api/v1/workspaces', { key: manage, body: { name: 'managed' } });
    expect(ws.status, ws.text).toBe(201);
    // manage alone doesn't read.
    expectError(await h.request('GET', `/api/v1/rooms/${a.room.id}/backlog`, { key: manage }), 403, 'forbidden');
    // No key at all.
    expectError(await h.request('GET', `/api/v1/rooms/${a.room.id}`), 401, 'unauthorized');
  });
});

describe('org isolation', () => {
  it("another org gets 404 for every one of this org's workspaces, rooms, sources, definitions, backlog, match log, replies and chats", async () => {
    const other = await h.newOrg();
    const probes: Array<[string, string, unknown?]> = [
      ['GET', `/api/v1/workspaces/${a.ws.id}`],
      ['GET', `/api/v1/workspaces/${a.ws.id}/rooms`],
      ['POST', `/api/v1/workspaces/${a.ws.id}/rooms`, { name: 'x', instructions: 'x' }],
      ['GET', `/api/v1/rooms/${a.room.id}`],
      ['GET', `/api/v1/rooms/${a.room.id}/event-sources`],
      ['POST', `/api/v1/rooms/${a.room.id}/event-sources`, { name: 'x' }],
      ['POST', `/api/v1/event-sources/${a.plainSource.id}/regenerate-token`],
      ['GET', `/api/v1/event-sources/${a.plainSource.id}/definitions`],
      ['POST', `/api/v1/event-sources/${a.plainSource.id}/definitions`, { name: 'x', description: 'x', priority: 1 }],
      ['DELETE', `/api/v1/definitions/${a.def.id}`],
      ['GET', `/api/v1/rooms/${a.room.id}/backlog`],
      ['GET', `/api/v1/rooms/${a.room.id}/match-log`],
      ['POST', `/api/v1/rooms/${a.room.id}/replies`, { text: 'intruder' }],
      ['GET', `/api/v1/workspaces/${a.ws.id}/chats`],
      ['GET', `/api/v1/chats/${a.chatId}`],
    ];
    for (const [method, path, body] of probes) {
      const res = await h.request(method, path, { key: other.key, body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
      expect(res.body.error.code).toBe('not_found');
      // The answer is the same as for an id that exists nowhere.
      expect(res.text).not.toContain('billing');
    }
    const unknown = await h.request('GET', '/api/v1/rooms/room_does_not_exist', { key: other.key });
    expect(unknown.status).toBe(404);

    // Their own listings don't show this org's things.
    expect((await h.request('GET', '/api/v1/workspaces', { key: other.key })).body.data).toEqual([]);

    // And nothing was changed here: same token, same definition, no intruder message, no extra source or room.
    const ack = await (
      await fetch(`${h.baseUrl}/webhooks/${a.plainSource.token}`, { method: 'POST', body: '{"type":"still.works"}' })
    ).json();
    expect(ack).toMatchObject({ ok: true });
    expect((await a.call('GET', `/api/v1/event-sources/${a.plainSource.id}/definitions`)).data.map((d: any) => d.id)).toContain(a.def.id);
    const chat = await a.call('GET', `/api/v1/chats/${a.chatId}`);
    expect(chat.messages.map((m: any) => m.content)).not.toContain('intruder');
    expect((await a.call('GET', `/api/v1/workspaces/${a.ws.id}/rooms`)).data).toHaveLength(1);
    expect((await a.call('GET', `/api/v1/rooms/${a.room.id}/event-sources`)).data).toHaveLength(2);
  });
});

describe('secrets are never shown again', () => {
  it('a source token is shown on create and regenerate only; verification secrets never; only hashes are stored', async () => {
    const created = await a.call('POST', `/api/v1/rooms/${a.room.id}/event-sources`, {
      name: 'github',
      verification: { scheme: 'github', secret: VERIFICATION_SECRET },
    });
    expect(created).toMatchObject({ id: expect.any(String), token: expect.any(String), url: expect.stringMatching(/\/webhooks\//) });
    expect(created.url.endsWith(`/webhooks/${created.token}`)).toBe(true);
    expect(created.verification).toEqual({ scheme: 'github', header: null });
    expect(JSON.stringify(created)).not.toContain(VERIFICATION_SECRET);

    const regen = await a.call('POST', `/api/v1/event-sources/${created.id}/regenerate-token`);
    const listed = await h.request('GET', `/api/v1/rooms/${a.room.id}/event-sources`, { key: a.key });
    expect(listed.status).toBe(200);
    for (const s of listed.body.data) expect(s).not.toHaveProperty('token');
    for (const secret of [created.token, regen.token, a.source.token, a.plainSource.token, VERIFICATION_SECRET]) {
      expect(listed.text).not.toContain(secret);
    }
    expect(listed.body.data.find((s: any) => s.id === a.source.id).verification).toEqual({ scheme: 'stripe', header: null });

    const { rows } = await h.db.query(
      `SELECT token_hash, verification_keys::text AS keys FROM event_sources WHERE id = ANY($1)`,
      [[created.id, a.source.id]],
    );
    for (const row of rows) {
      expect(row.token_hash).not.toContain(regen.token);
      expect(row.token_hash).not.toContain(a.source.token);
      expect(row.keys ?? '').not.toContain(VERIFICATION_SECRET);
    }
  });

  it('the Twilio auth token is never returned, only whether it is configured', async () => {
    const texts = [
      (await h.request('GET', `/api/v1/rooms/${a.room.id}`, { key: a.key })).text,
      (await h.request('GET', `/api/v1/workspaces/${a.ws.id}/rooms`, { key: a.key })).text,
      (await h.request('GET', `/api/v1/workspaces/${a.ws.id}/chats`, { key: a.key })).text,
    ];
    for (const text of texts) expect(text).not.toContain(TWILIO_TOKEN);
    expect(a.room.twilioConfigured).toBe(true);
    expect(JSON.stringify(a.room)).not.toContain(TWILIO_TOKEN);
    const room = (await a.call('GET', `/api/v1/rooms/${a.room.id}`)) as Record<string, unknown>;
    expect(room.twilioConfigured).toBe(true);
    expect(Object.keys(room).filter((k) => /token/i.test(k))).toEqual([]);

    const plain = await a.call('POST', `/api/v1/workspaces/${a.ws.id}/rooms`, { name: 'no twilio', instructions: 'x' });
    expect(plain.twilioConfigured).toBe(false);
    const { rows } = await h.db.query(`SELECT twilio_auth_token_sealed FROM rooms WHERE id = $1`, [a.room.id]);
    expect(rows[0].twilio_auth_token_sealed).toEqual(expect.any(String));
    expect(rows[0].twilio_auth_token_sealed).not.toContain(TWILIO_TOKEN);
  });
});
