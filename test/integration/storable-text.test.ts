import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../../src/api/error-handler.js';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { fillPath, seedOrg, type Seeded } from '../support/api-surface.js';
import { rawRequest } from '../support/raw-http.js';

// Text PostgreSQL refuses: NUL (text and jsonb) and unpaired UTF-16 surrogates (jsonb refuses their
// escapes; text silently stores U+FFFD). Every stored field refuses them with a 422 naming the field,
// before the database sees them; the ingress routes refuse them with their own kind of answer.

const BAD: Array<[string, string]> = [
  ['NUL', 'a\u0000b'],
  ['a lone high surrogate', 'a\ud800b'],
  ['a lone low surrogate', '\udc00'],
];

let h: Hookwise;
let s: Seeded;
beforeAll(async () => {
  h = await startHookwise({ worker: false });
  s = await seedOrg(h);
});
afterAll(async () => {
  await h?.stop();
});

const hook = { url: 'http://127.0.0.1:9/t', events: ['*'] };
const def = { name: 'd', description: 'd', priority: 1 };

// [method, route, body with the bad text in one field, the field's path in the 422]
const FIELDS: Array<[string, string, (bad: string) => unknown, string]> = [
  ['POST', '/api/v1/webhooks', (b) => ({ ...hook, url: `http://127.0.0.1:9/${b}` }), 'url'],
  ['POST', '/api/v1/webhooks', (b) => ({ ...hook, events: ['ok', b] }), 'events.1'],
  ['POST', '/api/v1/webhooks', (b) => ({ ...hook, sessionId: b }), 'sessionId'],
  ['POST', '/api/v1/webhooks', (b) => ({ ...hook, name: b }), 'name'],
  ['POST', '/api/v1/webhooks', (b) => ({ ...hook, secret: `secret-0123456789-${b}` }), 'secret'],
  ['POST', '/api/v1/webhooks', (b) => ({ ...hook, customHeaders: { 'X-A': b } }), 'customHeaders.X-A'],
  ['POST', '/api/v1/webhooks', (b) => ({ ...hook, customHeaders: { [`X-${b}`]: 'v' } }), 'customHeaders'],
  ['POST', '/api/v1/webhooks', (b) => ({ ...hook, retryPolicy: { policy: b } }), 'retryPolicy.policy'],
  ['PATCH', '/api/v1/webhooks/:id', (b) => ({ name: b }), 'name'],
  ['PATCH', '/api/v1/webhooks/:id', (b) => ({ url: `https://example.com/${b}` }), 'url'],
  ['PATCH', '/api/v1/webhooks/:id', (b) => ({ events: [b] }), 'events.0'],
  ['PATCH', '/api/v1/webhooks/:id', (b) => ({ customHeaders: { 'X-B': `v${b}` } }), 'customHeaders.X-B'],
  ['POST', '/api/v1/webhooks/:id/rotate-secret', (b) => ({ secret: `rotated-secret-0123456789${b}` }), 'secret'],
  ['POST', '/api/v1/events', (b) => ({ type: b, data: {} }), 'type'],
  ['POST', '/api/v1/events', (b) => ({ type: 't', sessionId: b, data: {} }), 'sessionId'],
  ['POST', '/api/v1/chatbots/:chatbotId/webhooks', (b) => ({ url: 'http://127.0.0.1:9/b', eventTypes: ['x'], name: b }), 'name'],
  ['POST', '/api/v1/chatbots/:chatbotId/webhooks', (b) => ({ url: `http://127.0.0.1:9/${b}`, eventTypes: ['x'] }), 'url'],
  ['POST', '/api/v1/chatbots/:chatbotId/webhooks', (b) => ({ url: 'http://127.0.0.1:9/b', eventTypes: [b] }), 'eventTypes.0'],
  ['PUT', '/api/v1/chatbots/:chatbotId/webhooks/:id', (b) => ({ name: b }), 'name'],
  ['PATCH', '/api/v1/chatbots/:chatbotId/webhooks/:id', (b) => ({ eventTypes: [b] }), 'eventTypes.0'],
  ['POST', '/api/v1/workspaces', (b) => ({ name: b }), 'name'],
  ['POST', '/api/v1/workspaces/:id/rooms', (b) => ({ name: b, instructions: 'i' }), 'name'],
  ['POST', '/api/v1/workspaces/:id/rooms', (b) => ({ name: 'r', instructions: b }), 'instructions'],
  ['POST', '/api/v1/workspaces/:id/rooms', (b) => ({ name: 'r', instructions: 'i', twilioAuthToken: b }), 'twilioAuthToken'],
  ['POST', '/api/v1/rooms/:id/event-sources', (b) => ({ name: b }), 'name'],
  ['POST', '/api/v1/rooms/:id/event-sources', (b) => ({ name: 's', verification: { scheme: 'stripe', secret: b } }), 'verification.secret'],
  ['POST', '/api/v1/event-sources/:id/definitions', (b) => ({ ...def, name: b }), 'name'],
  ['POST', '/api/v1/event-sources/:id/definitions', (b) => ({ ...def, description: b }), 'description'],
  ['POST', '/api/v1/event-sources/:id/definitions', (b) => ({ ...def, instructions: b }), 'instructions'],
  ['POST', '/api/v1/event-sources/:id/definitions', (b) => ({ ...def, rule: { path: 'type', equals: b } }), 'rule.equals'],
  ['POST', '/api/v1/event-sources/:id/definitions', (b) => ({ ...def, rule: { path: b, exists: true } }), 'rule.path'],
  ['POST', '/api/v1/event-sources/:id/definitions', (b) => ({ ...def, rule: { path: 'type', in: ['ok', b] } }), 'rule.in.1'],
  [
    'POST',
    '/api/v1/event-sources/:id/definitions',
    (b) => ({ ...def, rule: { any: [{ path: 'a', exists: true }, { all: [{ path: 'b', equals: b }] }] } }),
    'rule.any.1.all.0.equals',
  ],
  ['POST', '/api/v1/rooms/:id/replies', (b) => ({ text: b }), 'text'],
  ['POST', '/api/v1/rooms/:id/replies', (b) => ({ text: 't', author: b }), 'author'],
  ['POST', '/api/v1/workspaces/:id/agents', (b) => ({ name: b, instructions: 'i', roles: [] }), 'name'],
  ['POST', '/api/v1/workspaces/:id/agents', (b) => ({ name: 'a', instructions: b, roles: [] }), 'instructions'],
  ['POST', '/api/v1/workspaces/:id/agents', (b) => ({ name: 'a', instructions: 'i', roles: [`webhook.x.${b}`] }), 'roles.0'],
  ['PATCH', '/api/v1/agents/:id', (b) => ({ instructions: b }), 'instructions'],
];

describe('admin routes: NUL and lone surrogates in every stored field → 422 naming the field', () => {
  const cases = FIELDS.flatMap(([method, route, body, path]) => BAD.map(([what, bad]) => [method, route, path, what, body(bad)] as const));

  it.each(cases)('%s %s: %s with %s', async (method, route, path, _what, body) => {
    const res = await h.request(method, fillPath(route, s), { key: s.key, body });
    expect(res.status, res.text).toBe(422);
    expect(res.body.error.code).toBe('validation_error');
    const paths: string[] = res.body.error.details.issues.map((i: { path: string }) => i.path);
    expect(paths.some((p) => p === path || p.startsWith(`${path}.`)), `issues: ${res.text}`).toBe(true);
  });

  it('ids and chatbot ids in the path: 422 naming the parameter', async () => {
    for (const path of ['/api/v1/webhooks/wh_a%00b', '/api/v1/rooms/a%00/backlog', '/api/v1/chats/%00']) {
      const res = await h.request('GET', path, { key: s.key });
      expect(res.status, `${path}: ${res.text}`).toBe(422);
      expect(res.body.error.details.issues[0].path).toBe('id');
    }
    const bot = await h.request('POST', '/api/v1/chatbots/bot%00x/webhooks', { key: s.key, body: { url: 'http://127.0.0.1:9/b', eventTypes: ['x'] } });
    expect(bot.status, bot.text).toBe(422);
    expect(bot.body.error.details.issues[0].path).toBe('chatbotId');
    const long = await h.request('GET', `/api/v1/chatbots/${'b'.repeat(201)}/webhooks`, { key: s.key });
    expect(long.status).toBe(422);
  });

  it('event data is JSON text, not a column of its own: NUL and lone surrogates in it are kept as JSON escapes', async () => {
    const res = await h.request('POST', '/api/v1/events', { key: s.key, body: { type: 'text.check', data: { a: 'x\u0000y', b: '\ud800' } } });
    expect(res.status, res.text).toBe(202);
    const { rows } = await h.db.query(`SELECT body FROM events WHERE id = $1`, [res.body.id]);
    expect(rows[0].body).toContain('"a":"x\\u0000y"');
    expect(rows[0].body).toContain('"b":"\\ud800"');
  });

  it('none of it reached PostgreSQL or left a stack trace in the log', () => {
    expect(h.logs.filter((l) => /PostgreSQL refused|failed:|\n\s+at /.test(l))).toEqual([]);
  });
});

describe('the error handler maps PostgreSQL invalid-text errors to 422, without a stack trace (safety net)', () => {
  let server: Server;
  let base: string;
  const logs: string[] = [];
  beforeAll(async () => {
    const app = new Koa();
    app.use(errorHandler((l) => logs.push(l)));
    // Real PostgreSQL errors: what a schema gap would let through.
    const queries: Record<string, [string, unknown[]]> = {
      '/nul-text': ['SELECT $1::text', ['a\u0000b']],
      '/nul-jsonb': ['SELECT $1::jsonb', ['{"a": "x\\u0000"}']],
      '/surrogate-jsonb': ['SELECT $1::jsonb', [JSON.stringify({ a: '\ud800' })]],
      '/bad-json': ['SELECT $1::jsonb', ['{"a": ']],
      '/broken': ['SELECT * FROM no_such_table', []],
    };
    app.use(async (ctx) => {
      const [sql, params] = queries[ctx.path];
      await h.db.query(sql, params);
      ctx.body = { ok: true };
    });
    server = createServer(app.callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it.each([
    ['/nul-text', '22021'],
    ['/nul-jsonb', '22P05'],
    ['/surrogate-jsonb', '22P02'],
    ['/bad-json', '22P02'],
  ])('%s (%s) → 422 validation_error, one log line, no stack', async (path, code) => {
    const before = logs.length;
    const res = await rawRequest(base, { path });
    expect(res.status, res.text).toBe(422);
    expect(res.body.error.code).toBe('validation_error');
    expect(logs.slice(before)).toEqual([expect.stringContaining(`PostgreSQL refused the input (${code}`)]);
    expect(logs.slice(before).join('\n')).not.toMatch(/\n\s+at /);
  });

  it('any other database error stays a 500 (logged with its stack, answered without it)', async () => {
    const res = await rawRequest(base, { path: '/broken' });
    expect(res.status).toBe(500);
    expect(res.text).not.toMatch(/no_such_table|\bat\b.*:\d+/);
  });
});

describe('generic ingress: NUL and lone surrogates in what it stores → 400, nothing recorded', () => {
  const inboxCount = async () =>
    (await h.db.query(`SELECT count(*)::int AS n FROM event_inbox WHERE workspace_id = $1`, [s.workspaceId])).rows[0].n as number;
  const post = (query: string, body: string) =>
    rawRequest(h.baseUrl, {
      method: 'POST',
      path: `/api/v1/webhooks/generic/${s.workspaceId}${query}`,
      headers: { 'content-type': 'application/json' },
      body,
    });

  it.each([
    ['event_type in the query', '?event_type=a%00b', '{}', /event_type/],
    ['source_identifier in the query', '?source_identifier=%00', '{}', /source_identifier/],
    ['dedupe_key in the query', '?dedupe_key=k%00', '{}', /dedupe_key/],
    ['a NUL in the payload', '', JSON.stringify({ type: 'x', deep: { v: 'a\u0000' } }), /body .*text that cannot be stored at deep\.v/],
    ['a lone surrogate as the event type', '', JSON.stringify({ type: '\ud800' }), /at type/],
    ['a lone surrogate in a payload key', '', JSON.stringify({ ['\udc00']: 1 }), /cannot be stored/],
  ])('%s', async (_what, query, body, message) => {
    const before = await inboxCount();
    const res = await post(query, body);
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
    expect(res.body.error.message).toMatch(message);
    expect(await inboxCount()).toBe(before);
  });

  it('a workspace id that cannot exist → 404, like any unknown workspace', async () => {
    const res = await rawRequest(h.baseUrl, { method: 'POST', path: '/api/v1/webhooks/generic/ws%00x', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status, res.text).toBe(404);
  });

  it('nothing was logged as "not recorded" (no 503 path taken)', () => {
    expect(h.logs.filter((l) => /not recorded|PostgreSQL refused/.test(l))).toEqual([]);
  });
});

describe('POST /webhooks/:token: NUL and lone surrogates → 200 {ok: false}', () => {
  const post = (token: string, body: string, contentType = 'application/json') =>
    rawRequest(h.baseUrl, { method: 'POST', path: `/webhooks/${token}`, headers: { 'content-type': contentType }, body });

  it.each([
    ['a NUL in a JSON value', JSON.stringify({ type: 'a\u0000' }), 'application/json'],
    ['a lone surrogate in a JSON key', JSON.stringify({ ['\ud800']: 1 }), 'application/json'],
    ['a NUL in a form field', 'type=x&note=%00', 'application/x-www-form-urlencoded'],
  ])('%s', async (_what, body, contentType) => {
    const res = await post(s.token, body, contentType);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ ok: false, error: 'payload contains text that cannot be stored (NUL or an unpaired UTF-16 surrogate)' });
  });

  it('an unknown token is still "unknown token"', async () => {
    expect((await post('nope', JSON.stringify({ type: 'a\u0000' }))).body).toEqual({ ok: false, error: 'unknown token' });
  });

  it('the Twilio route: a room id that cannot exist → 404', async () => {
    const res = await rawRequest(h.baseUrl, {
      method: 'POST',
      path: '/webhooks/channel/twilio/room%00x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Body=hi',
    });
    expect(res.status, res.text).toBe(404);
  });
});
