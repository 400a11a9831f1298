import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/domain/json-limits.js';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { fillPath, listRoutes, seedOrg, type Seeded } from '../support/api-surface.js';
import { rawRequest } from '../support/raw-http.js';
import { waitFor } from '../support/wait.js';

// JSON nested 10,000 levels deep, on every route that takes JSON: refused at the door with the
// route's own kind of answer, never a 500 and never accepted to fail later in a workflow.

const DEEP = 10_000;

/** `levels` nested arrays around `inner`, as raw JSON text (built as text: JSON.stringify can't). */
const deepArray = (levels: number, inner = '1') => `${'['.repeat(levels)}${inner}${']'.repeat(levels)}`;
/** `levels` nested objects: {"a":{"a":…1…}}. */
const deepObject = (levels: number, inner = '1') => `${'{"a":'.repeat(levels)}${inner}${'}'.repeat(levels)}`;

let h: Hookwise;
let s: Seeded;
beforeAll(async () => {
  h = await startHookwise();
  s = await seedOrg(h);
});
afterAll(async () => {
  await h?.stop();
});

const send = (method: string, path: string, body: string, key: string | null = s.key) =>
  rawRequest(h.baseUrl, {
    method,
    path,
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body,
  });

function expectDepthRefusal(res: { status: number; text: string; body: any }) {
  expect(res.status, res.text).toBe(422);
  expect(res.body.error.code).toBe('validation_error');
  expect(res.body.error.message).toMatch(new RegExp(`nested too deeply.*max depth ${MAX_JSON_DEPTH}`));
  expect(res.text).not.toMatch(/RangeError|at .*\.[jt]s:\d+/);
}

describe(`/api/v1 JSON bodies nested ${DEEP} levels → 422 validation_error`, () => {
  // Every route that takes a body, straight from the router: the deep value at the top level.
  const bodyRoutes = listRoutes().filter(
    (r) => ['POST', 'PUT', 'PATCH'].includes(r.method) && r.path.startsWith('/api/v1/') && !r.path.startsWith('/api/v1/webhooks/generic/'),
  );

  it('covers every JSON route of the API', () => {
    expect(bodyRoutes.length).toBeGreaterThanOrEqual(18);
    expect(bodyRoutes).toContainEqual({ method: 'POST', path: '/api/v1/events' });
  });

  it.each(bodyRoutes.map((r) => [r.method, r.path] as const))('%s %s', async (method, pattern) => {
    const path = fillPath(pattern, s);
    expectDepthRefusal(await send(method, path, `{"deep": ${deepArray(DEEP)}}`));
    expectDepthRefusal(await send(method, path, deepObject(DEEP)));
  });

  // The deep value where each route's own fields are, including the JSON stored as jsonb.
  it.each([
    ['POST', '/api/v1/events', (d: string) => `{"type": "deep.event", "data": ${d}}`],
    ['POST', '/api/v1/webhooks', (d: string) => `{"url": "http://127.0.0.1:9/x", "events": ["*"], "customHeaders": {"X-A": ${d}}}`],
    ['POST', '/api/v1/webhooks', (d: string) => `{"url": "http://127.0.0.1:9/x", "events": ["*"], "retryPolicy": ${d}}`],
    ['PATCH', '/api/v1/webhooks/:id', (d: string) => `{"customHeaders": ${d}}`],
    ['POST', '/api/v1/event-sources/:id/definitions', (d: string) => `{"name": "n", "description": "d", "priority": 1, "rule": ${d}}`],
    [
      'POST',
      '/api/v1/event-sources/:id/definitions',
      () => `{"name": "n", "description": "d", "priority": 1, "rule": ${'{"all":['.repeat(DEEP)}{"path":"a","exists":true}${']}'.repeat(DEEP)}}`,
    ],
    ['POST', '/api/v1/chatbots/:chatbotId/webhooks', (d: string) => `{"url": "http://127.0.0.1:9/x", "eventTypes": ${d}}`],
    ['POST', '/api/v1/workspaces/:id/agents', (d: string) => `{"name": "a", "instructions": "i", "roles": ${d}}`],
    ['POST', '/api/v1/rooms/:id/replies', (d: string) => `{"text": ${d}}`],
  ])('%s %s with the deep value in a field', async (method, pattern, body) => {
    expectDepthRefusal(await send(method, fillPath(pattern, s), body(deepArray(DEEP))));
  });

  it(`accepts exactly ${MAX_JSON_DEPTH} levels and refuses ${MAX_JSON_DEPTH + 1}`, async () => {
    // The body object is level 1, so data holds MAX_JSON_DEPTH - 1 more.
    const ok = await send('POST', '/api/v1/events', `{"type": "deep.event", "data": ${deepArray(MAX_JSON_DEPTH - 1)}}`);
    expect(ok.status, ok.text).toBe(202);
    expectDepthRefusal(await send('POST', '/api/v1/events', `{"type": "deep.event", "data": ${deepArray(MAX_JSON_DEPTH)}}`));
  });

  it('the API still answers afterwards', async () => {
    expect((await h.request('GET', '/api/v1/webhooks', { key: s.key })).status).toBe(200);
  });
});

describe('POST /api/v1/webhooks/generic/:workspaceId', () => {
  const post = (body: string) => send('POST', `/api/v1/webhooks/generic/${s.workspaceId}`, body, null);

  it(`a body nested ${DEEP} levels → 400 bad_request, and nothing recorded`, async () => {
    const { rows: before } = await h.db.query(`SELECT count(*)::int AS n FROM event_inbox WHERE workspace_id = $1`, [s.workspaceId]);
    for (const body of [`{"type": "deep", "payload": ${deepArray(DEEP)}}`, deepObject(DEEP)]) {
      const res = await post(body);
      expect(res.status, res.text).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
      expect(res.body.error.message).toMatch(/nested too deeply/);
    }
    const { rows: after } = await h.db.query(`SELECT count(*)::int AS n FROM event_inbox WHERE workspace_id = $1`, [s.workspaceId]);
    expect(after[0].n).toBe(before[0].n);
  });

  it(`${MAX_JSON_DEPTH} levels are accepted and published; ${MAX_JSON_DEPTH + 1} are refused`, async () => {
    const ok = await send('POST', `/api/v1/webhooks/generic/${s.workspaceId}?dedupe_key=deep-ok`, `{"type": "deep", "p": ${deepArray(MAX_JSON_DEPTH - 1)}}`, null);
    expect(ok.status, ok.text).toBe(202);
    expect(ok.body).toEqual({ accepted: true });
    // Its workflow gets the event all the way to the outbox.
    await waitFor(async () => {
      const { rows } = await h.db.query(
        `SELECT published_event_id FROM event_inbox WHERE workspace_id = $1 AND dedupe_key = 'deep-ok'`,
        [s.workspaceId],
      );
      return rows[0]?.published_event_id ?? null;
    }, { what: 'the 64-deep generic event published' });
    expect((await post(`{"type": "deep", "p": ${deepArray(MAX_JSON_DEPTH)}}`)).status).toBe(400);
  });
});

describe('POST /webhooks/:token', () => {
  const post = (token: string, body: string) => send('POST', `/webhooks/${token}`, body, null);

  it(`a body nested ${DEEP} levels → 200 {ok: false, error: "payload nested too deeply"}`, async () => {
    for (const body of [deepArray(DEEP), `{"type": "x", "a": ${deepArray(DEEP)}}`, deepObject(DEEP)]) {
      const res = await post(s.token, body);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ ok: false, error: 'payload nested too deeply' });
    }
  });

  it(`${MAX_JSON_DEPTH} levels are accepted; ${MAX_JSON_DEPTH + 1} are refused`, async () => {
    const ok = await post(s.token, `{"type": "seed", "p": ${deepArray(MAX_JSON_DEPTH - 1)}}`);
    expect(ok.body, ok.text).toMatchObject({ ok: true });
    expect((await post(s.token, `{"type": "seed", "p": ${deepArray(MAX_JSON_DEPTH)}}`)).body).toEqual({
      ok: false,
      error: 'payload nested too deeply',
    });
  });

  it('an unknown token is still "unknown token", whatever the body', async () => {
    expect((await post('no-such-token', deepArray(DEEP))).body).toEqual({ ok: false, error: 'unknown token' });
  });
});
