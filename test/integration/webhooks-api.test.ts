import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { expectError, expectNoServerErrors } from '../support/fixtures.js';

// The gateway seed's admin API (`/api/v1/webhooks`, `/deliveries`, `/events`) over real HTTP against the
// real app, PostgreSQL and Temporal. No worker runs: deliveries started here are only recorded and
// started as workflows, never sent.

const DEFAULT_RETRY_POLICY = { attempts: 15, delaySeconds: 2, policy: 'exponential' };
const ID = /^wh_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Every key anywhere in a JSON value, so a nested `secret` cannot hide. */
function allKeys(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) allKeys(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      allKeys(v, out);
    }
  }
  return out;
}

function expectNoSecret(res: { text: string; body: unknown }, ...secrets: string[]) {
  expect(allKeys(res.body)).not.toContain('secret');
  expect(res.text).not.toMatch(/"secret"\s*:/);
  for (const s of secrets) expect(res.text).not.toContain(s);
}

let h: Hookwise;
let org: { orgId: string; key: string };
const startedWorkflows: string[] = [];

beforeAll(async () => {
  h = await startHookwise({ worker: false });
  org = await h.newOrg();
});

afterEach(() => {
  // The error handler logs every 500; none may happen, whatever a caller sends.
  expectNoServerErrors(h);
});

afterAll(async () => {
  // Delivery workflows started by /test and /events have no worker here; end them so they don't linger.
  if (h && startedWorkflows.length > 0) {
    await Promise.all(
      startedWorkflows.map((id) => h.temporal.client.workflow.getHandle(id).terminate('test cleanup').catch(() => undefined)),
    );
  }
  await h?.stop();
});

const create = (key: string, body: unknown) => h.request('POST', '/api/v1/webhooks', { key, body });

describe('POST /webhooks', () => {
  it('creates a webhook in the gateway shape and shows a generated secret once', async () => {
    const before = Date.now();
    const res = await create(org.key, {
      url: 'http://127.0.0.1:9/hooks/a',
      events: ['message', 'poll.vote'],
      sessionId: 'sess-1',
      customHeaders: { 'X-Tenant': 'acme' },
    });
    expect(res.status, res.text).toBe(201);
    const w = res.body;
    expect(w).toMatchObject({
      organizationId: org.orgId,
      url: 'http://127.0.0.1:9/hooks/a',
      events: ['message', 'poll.vote'],
      sessionId: 'sess-1',
      customHeaders: { 'X-Tenant': 'acme' },
      retryPolicy: DEFAULT_RETRY_POLICY,
      active: true,
      successCount: 0,
      failureCount: 0,
      lastTriggeredAt: null,
      lastSuccessAt: null,
    });
    expect(w.id).toMatch(ID);
    expect(typeof w.createdAt).toBe('number');
    expect(typeof w.updatedAt).toBe('number');
    expect(w.createdAt).toBeGreaterThanOrEqual(before - 5_000);
    expect(w.createdAt).toBeLessThanOrEqual(Date.now() + 5_000);
    expect(w.updatedAt).toBeGreaterThanOrEqual(w.createdAt);

    // whsec_ + base64 of 32 random bytes
    expect(w.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const secret: string = w.secret;

    const one = await h.request('GET', `/api/v1/webhooks/${w.id}`, { key: org.key });
    expect(one.status).toBe(200);
    expect(one.body.id).toBe(w.id);
    expectNoSecret(one, secret);

    const list = await h.request('GET', '/api/v1/webhooks', { key: org.key });
    expect(list.status).toBe(200);
    expect(list.body.data.map((x: any) => x.id)).toContain(w.id);
    expectNoSecret(list, secret);

    const patched = await h.request('PATCH', `/api/v1/webhooks/${w.id}`, { key: org.key, body: { name: 'renamed' } });
    expect(patched.status).toBe(200);
    expect(patched.body.name).toBe('renamed');
    expectNoSecret(patched, secret);

    const callerSecret = 'my-own-rotated-secret-0123456789';
    const rotated = await h.request('POST', `/api/v1/webhooks/${w.id}/rotate-secret`, {
      key: org.key,
      body: { secret: callerSecret },
    });
    expect(rotated.status, rotated.text).toBe(200);
    expectNoSecret(rotated, secret, callerSecret);
    // The old secret keeps signing for 24 h (the default overlap).
    expect(rotated.body.previousSecretExpiresAt).toBeGreaterThan(Date.now() + 86_400_000 - 60_000);
    expect(rotated.body.previousSecretExpiresAt).toBeLessThanOrEqual(Date.now() + 86_400_000 + 5_000);

    const afterRotation = await h.request('GET', `/api/v1/webhooks/${w.id}`, { key: org.key });
    expectNoSecret(afterRotation, secret, callerSecret);
  });

  it('never returns a secret the caller set', async () => {
    const callerSecret = 'caller-chosen-secret-abcdefghijkl';
    const res = await create(org.key, { url: 'http://127.0.0.1:9/hooks/b', events: ['*'], secret: callerSecret });
    expect(res.status, res.text).toBe(201);
    expect(res.body).not.toHaveProperty('secret');
    expectNoSecret(res, callerSecret);
    expect(res.body.events).toEqual(['*']);
    expect(res.body.sessionId).toBeNull();
    expect(res.body.customHeaders).toEqual({});
  });

  it('rotating without a secret generates a new one and shows it once, in that response', async () => {
    const created = await create(org.key, { url: 'http://127.0.0.1:9/hooks/c', events: ['*'] });
    const first = created.body.secret as string;
    const rotated = await h.request('POST', `/api/v1/webhooks/${created.body.id}/rotate-secret`, { key: org.key });
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(first);
    expect(rotated.text).not.toContain(first);
    const again = await h.request('GET', `/api/v1/webhooks/${created.body.id}`, { key: org.key });
    expectNoSecret(again, first, rotated.body.secret);
  });

  it('keeps a full retry policy as given', async () => {
    const retryPolicy = { policy: 'fixed', attempts: 3, delaySeconds: 5, maxDelaySeconds: 60 };
    const res = await create(org.key, { url: 'http://127.0.0.1:9/hooks/d', events: ['a'], retryPolicy });
    expect(res.status, res.text).toBe(201);
    expect(res.body.retryPolicy).toEqual(retryPolicy);
    const schedule = { scheduleSeconds: [4, 8, 10] };
    const res2 = await create(org.key, { url: 'http://127.0.0.1:9/hooks/e', events: ['a'], retryPolicy: schedule });
    expect(res2.status, res2.text).toBe(201);
    expect(res2.body.retryPolicy).toEqual(schedule);
  });
});

describe('GET /webhooks', () => {
  it('lists the whole set of this org only, with an empty nextCursor', async () => {
    const a = await h.newOrg();
    const b = await h.newOrg();
    const a1 = await create(a.key, { url: 'http://127.0.0.1:9/a1', events: ['*'] });
    const a2 = await create(a.key, { url: 'http://127.0.0.1:9/a2', events: ['x'] });
    const b1 = await create(b.key, { url: 'http://127.0.0.1:9/b1', events: ['*'] });

    const listA = await h.request('GET', '/api/v1/webhooks', { key: a.key });
    expect(listA.status).toBe(200);
    expect(Object.keys(listA.body).sort()).toEqual(['data', 'nextCursor']);
    expect(listA.body.nextCursor).toBe('');
    expect(listA.body.data.map((w: any) => w.id).sort()).toEqual([a1.body.id, a2.body.id].sort());
    for (const w of listA.body.data) {
      expect(w.organizationId).toBe(a.orgId);
      expect(w).toMatchObject({ successCount: 0, failureCount: 0, lastTriggeredAt: null, lastSuccessAt: null });
    }
    expectNoSecret(listA, a1.body.secret, a2.body.secret);

    const listB = await h.request('GET', '/api/v1/webhooks', { key: b.key });
    expect(listB.body.data.map((w: any) => w.id)).toEqual([b1.body.id]);
    expect(listB.text).not.toContain(a1.body.id);

    const fresh = await h.newOrg();
    const empty = await h.request('GET', '/api/v1/webhooks', { key: fresh.key });
    expect(empty.body).toEqual({ data: [], nextCursor: '' });
  });
});

describe('validation', () => {
  const valid = { url: 'http://127.0.0.1:9/v', events: ['*'] };
  const cases: Array<[string, unknown, string]> = [
    ['url missing', { events: ['*'] }, 'url'],
    ['url not a URL', { ...valid, url: 'not a url' }, 'url'],
    ['ftp:// url', { ...valid, url: 'ftp://example.com/x' }, 'url'],
    ['events empty', { ...valid, events: [] }, 'events'],
    ['events missing', { url: valid.url }, 'events'],
    ['unknown field', { ...valid, colour: 'blue' }, 'colour'],
    ['CRLF in a custom header value', { ...valid, customHeaders: { 'X-A': 'a\r\nX-Injected: 1' } }, 'customHeaders'],
    ['bad custom header name', { ...valid, customHeaders: { 'Bad Header': 'x' } }, 'customHeaders'],
    ['negative retry delay', { ...valid, retryPolicy: { delaySeconds: -1 } }, 'retryPolicy'],
    ['unknown retry policy kind', { ...valid, retryPolicy: { policy: 'linear' } }, 'retryPolicy'],
    ['secret too short', { ...valid, secret: 'short' }, 'secret'],
    ['whsec_ secret that is not base64', { ...valid, secret: 'whsec_!!!!!!!!!!!!!!!!' }, 'secret'],
    ['whsec_ secret of 16 bytes', { ...valid, secret: `whsec_${'A'.repeat(22)}==` }, 'secret'],
    ['body is an array', [valid], ''],
  ];

  it.each(cases)('create with %s → 422 validation_error', async (_name, body, field) => {
    const res = await create(org.key, body);
    expectError(res, 422, 'validation_error');
    if (field) expect(JSON.stringify(res.body.error)).toContain(field);
  });

  it('reports every zod issue with its path', async () => {
    const res = await create(org.key, { url: 'nope', events: [] });
    expectError(res, 422, 'validation_error');
    const paths = res.body.error.details.issues.map((i: any) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['url', 'events']));
  });

  // Buffer.from(…, 'base64') skips what isn't base64: `whsec_!!!…` would sign Standard Webhooks with an
  // empty key. The spec asks for 24 to 64 random bytes.
  it('a whsec_ secret must be base64 of at least 24 bytes, on create and on rotate', async () => {
    const refused = async (res: { status: number; body: any; text: string }, message: RegExp, secret: string) => {
      expectError(res, 422, 'validation_error');
      expect(res.body.error.details.issues).toEqual([{ path: 'secret', message: expect.stringMatching(message) }]);
      expect(res.text).not.toContain(secret.slice('whsec_'.length));
    };
    const notBase64 = 'whsec_!!!!!!!!!!!!!!!!';
    const tooShort = `whsec_${randomBytes(23).toString('base64')}`;
    await refused(await create(org.key, { ...valid, secret: notBase64 }), /must be base64/, notBase64);
    await refused(await create(org.key, { ...valid, secret: tooShort }), /at least 24 bytes/, tooShort);

    const w = await create(org.key, { ...valid, secret: `whsec_${randomBytes(24).toString('base64')}` });
    expect(w.status, w.text).toBe(201);
    const rotate = (secret: string) => h.request('POST', `/api/v1/webhooks/${w.body.id}/rotate-secret`, { key: org.key, body: { secret } });
    await refused(await rotate(notBase64), /must be base64/, notBase64);
    await refused(await rotate(tooShort), /at least 24 bytes/, tooShort);
    const after = await h.request('GET', `/api/v1/webhooks/${w.body.id}`, { key: org.key });
    expect(after.body.signingKeys).toHaveLength(1);

    // Unpadded base64 and free-form secrets (keyed by their UTF-8 bytes) are accepted.
    expect((await rotate(`whsec_${randomBytes(32).toString('base64').replace(/=+$/, '')}`)).status).toBe(200);
    expect((await rotate('a-free-form-secret-!!!-0123456789')).status).toBe(200);
  });

  it('PATCH validates too, and a refused change leaves the webhook as it was', async () => {
    const w = await create(org.key, valid);
    for (const body of [{ url: 'nope' }, { events: [] }, { customHeaders: { 'X-A': 'a\nb' } }, { secret: 'x'.repeat(20) }, { id: 'wh_x' }]) {
      expectError(await h.request('PATCH', `/api/v1/webhooks/${w.body.id}`, { key: org.key, body }), 422, 'validation_error');
    }
    const after = await h.request('GET', `/api/v1/webhooks/${w.body.id}`, { key: org.key });
    expect(after.body).toMatchObject({ url: valid.url, events: ['*'], customHeaders: {} });
  });

  it('an invalid JSON body → 400 in the envelope', async () => {
    const res = await h.request('POST', '/api/v1/webhooks', { key: org.key, rawBody: '{"url": "http://x", ' });
    expectError(res, 400, 'bad_request');
  });

  it('a NUL character in a text field or an id → 422 in the envelope, never a 500', async () => {
    const named = await create(org.key, { url: 'http://127.0.0.1/a', events: ['*'], name: 'a\u0000b' });
    expect(named.status).toBe(422);
    expect(named.body.error.code).toBe('validation_error');
    const event = await h.request('POST', '/api/v1/events', { key: org.key, body: { type: 'a\u0000', data: {} } });
    expect(event.status).toBe(422);
    const byId = await h.request('GET', '/api/v1/webhooks/a%00b', { key: org.key });
    expect(byId.status).toBe(422);
    expect(byId.body.error.message).toMatch(/NUL/);
  });

  it('a method a route does not take → 405 in the envelope', async () => {
    const res = await h.request('PUT', '/api/v1/webhooks', { key: org.key });
    expect(res.status).toBe(405);
    expect(res.body.error).toMatchObject({ code: 'method_not_allowed' });
    expect(res.body.error.message).toMatch(/allowed: .*GET/);
  });

  it('an unknown route under /api/v1 → 404 in the envelope', async () => {
    expectError(await h.request('GET', '/api/v1/no-such-thing', { key: org.key }), 404, 'not_found');
  });
});

describe('auth', () => {
  it('no Authorization header → 401 unauthorized', async () => {
    expectError(await h.request('GET', '/api/v1/webhooks'), 401, 'unauthorized');
    expectError(await create('', { url: 'http://127.0.0.1:9/x', events: ['*'] }), 401, 'unauthorized');
  });

  it('a caller without a valid key gets 401 before its body is read: malformed or over-deep JSON is not parsed for it', async () => {
    const deep = '['.repeat(5_000) + ']'.repeat(5_000);
    for (const rawBody of ['{"unterminated": ', deep]) {
      expectError(await h.request('POST', '/api/v1/events', { rawBody }), 401, 'unauthorized');
      expectError(await h.request('POST', '/api/v1/events', { rawBody, key: 'hw_not-a-real-key' }), 401, 'unauthorized');
    }
  });

  it('an unknown key → 401', async () => {
    expectError(await h.request('GET', '/api/v1/webhooks', { key: 'hw_not-a-real-key' }), 401, 'unauthorized');
    expectError(await h.request('GET', '/api/v1/webhooks', { key: 'eyJ.not.ajwt' }), 401, 'unauthorized');
  });

  it('a key with only `read` or `send` → 403 forbidden on the webhook routes', async () => {
    const valid = { url: 'http://127.0.0.1:9/x', events: ['*'] };
    const existing = await create(org.key, valid);
    for (const caps of [['read'], ['send'], ['read', 'send']] as const) {
      const key = await h.newKey(org.orgId, [...caps]);
      const post = await create(key, valid);
      expectError(post, 403, 'forbidden');
      expect(post.body.error.message).toContain('manage');
      expectError(await h.request('GET', '/api/v1/webhooks', { key }), 403, 'forbidden');
      expectError(await h.request('GET', `/api/v1/webhooks/${existing.body.id}`, { key }), 403, 'forbidden');
      expectError(await h.request('DELETE', `/api/v1/webhooks/${existing.body.id}`, { key }), 403, 'forbidden');
    }
    // Nothing was created or deleted by the refused calls.
    const still = await h.request('GET', `/api/v1/webhooks/${existing.body.id}`, { key: org.key });
    expect(still.status).toBe(200);
  });

  it('POST /events needs `send`: a send-only key gets 202, a read-only key 403', async () => {
    const o = await h.newOrg(); // no webhooks: nothing is delivered
    const send = await h.newKey(o.orgId, ['send']);
    const read = await h.newKey(o.orgId, ['read']);
    const ok = await h.request('POST', '/api/v1/events', { key: send, body: { type: 'lead.created', data: { id: 1 } } });
    expect(ok.status, ok.text).toBe(202);
    expect(ok.body).toMatchObject({ type: 'lead.created', organizationId: o.orgId, data: { id: 1 }, deliveries: [] });
    expect(ok.body.id).toMatch(/^evt_/);
    expectError(
      await h.request('POST', '/api/v1/events', { key: read, body: { type: 'lead.created', data: {} } }),
      403,
      'forbidden',
    );
    expectError(await h.request('POST', '/api/v1/events', { key: send, body: { data: {} } }), 422, 'validation_error');
  });
});

describe('org isolation', () => {
  it("another org gets 404 for every route on org A's webhook and deliveries, exactly as for a missing id", async () => {
    const a = await h.newOrg();
    const b = await h.newOrg();
    const created = await create(a.key, { url: 'http://127.0.0.1:9/iso', events: ['*'], name: 'a-hook' });
    expect(created.status).toBe(201);
    const id = created.body.id;

    const test = await h.request('POST', `/api/v1/webhooks/${id}/test`, { key: a.key });
    expect(test.status, test.text).toBe(202);
    const deliveryId: string = test.body.deliveryId;
    expect(deliveryId).toMatch(/^dlv_/);
    const ownDelivery = await h.request('GET', `/api/v1/deliveries/${deliveryId}`, { key: a.key });
    expect(ownDelivery.status).toBe(200);
    expect(ownDelivery.body).toMatchObject({ id: deliveryId, webhookId: id, eventType: 'webhook.test' });
    startedWorkflows.push(ownDelivery.body.workflowId);

    const calls: Array<[string, string, unknown?]> = [
      ['GET', `/api/v1/webhooks/${id}`],
      ['PATCH', `/api/v1/webhooks/${id}`, { name: 'stolen', active: false }],
      ['DELETE', `/api/v1/webhooks/${id}`],
      ['POST', `/api/v1/webhooks/${id}/rotate-secret`],
      ['POST', `/api/v1/webhooks/${id}/test`],
      ['GET', `/api/v1/webhooks/${id}/deliveries`],
      ['GET', `/api/v1/deliveries/${deliveryId}`],
      ['POST', `/api/v1/deliveries/${deliveryId}/replay`],
    ];
    for (const [method, path, body] of calls) {
      const res = await h.request(method, path, { key: b.key, body });
      expectError(res, 404, 'not_found');
      expect(res.text).not.toContain(id);
      expect(res.text).not.toContain(deliveryId);
      // Indistinguishable from an id that does not exist at all.
      const missing = await h.request(
        method,
        path.replace(id, 'wh_00000000000000000000000000').replace(deliveryId, 'dlv_00000000000000000000000000'),
        { key: b.key, body },
      );
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual(res.body);
    }

    const listB = await h.request('GET', '/api/v1/webhooks', { key: b.key });
    expect(listB.body.data).toEqual([]);
    const deadB = await h.request('GET', '/api/v1/dead-letters', { key: b.key });
    expect(deadB.status).toBe(200);
    expect(deadB.text).not.toContain(deliveryId);

    // None of org B's calls changed anything of org A's.
    const after = await h.request('GET', `/api/v1/webhooks/${id}`, { key: a.key });
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ name: 'a-hook', active: true, previousSecretExpiresAt: null });
    const deliveries = await h.request('GET', `/api/v1/webhooks/${id}/deliveries`, { key: a.key });
    expect(deliveries.body.data.map((d: any) => d.id)).toEqual([deliveryId]);
  });
});

describe('PATCH and DELETE', () => {
  it('PATCH changes url, events, active, retryPolicy and clears sessionId', async () => {
    const created = await create(org.key, {
      url: 'http://127.0.0.1:9/p1',
      events: ['a'],
      sessionId: 'sess-p',
      customHeaders: { 'X-One': '1' },
    });
    const id = created.body.id;
    const retryPolicy = { policy: 'fixed', attempts: 4, delaySeconds: 10 };
    const res = await h.request('PATCH', `/api/v1/webhooks/${id}`, {
      key: org.key,
      body: { url: 'http://127.0.0.1:9/p2', events: ['b', 'c'], active: false, retryPolicy, sessionId: null },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      id,
      url: 'http://127.0.0.1:9/p2',
      events: ['b', 'c'],
      active: false,
      retryPolicy,
      sessionId: null,
      customHeaders: { 'X-One': '1' }, // untouched
      createdAt: created.body.createdAt,
    });
    expect(res.body.updatedAt).toBeGreaterThanOrEqual(created.body.updatedAt);

    const got = await h.request('GET', `/api/v1/webhooks/${id}`, { key: org.key });
    expect(got.body).toEqual(res.body);

    // A disabled webhook takes no test event until it is re-enabled.
    expectError(await h.request('POST', `/api/v1/webhooks/${id}/test`, { key: org.key }), 409, 'conflict');
    const back = await h.request('PATCH', `/api/v1/webhooks/${id}`, {
      key: org.key,
      body: { active: true, customHeaders: {} },
    });
    expect(back.body).toMatchObject({ active: true, customHeaders: {}, disabledReason: null });
  });

  it('DELETE → 204, then the webhook is gone', async () => {
    const created = await create(org.key, { url: 'http://127.0.0.1:9/del', events: ['*'] });
    const id = created.body.id;
    const del = await h.request('DELETE', `/api/v1/webhooks/${id}`, { key: org.key });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expectError(await h.request('GET', `/api/v1/webhooks/${id}`, { key: org.key }), 404, 'not_found');
    expectError(await h.request('DELETE', `/api/v1/webhooks/${id}`, { key: org.key }), 404, 'not_found');
    expectError(
      await h.request('PATCH', `/api/v1/webhooks/${id}`, { key: org.key, body: { name: 'x' } }),
      404,
      'not_found',
    );
    const list = await h.request('GET', '/api/v1/webhooks', { key: org.key });
    expect(list.body.data.map((w: any) => w.id)).not.toContain(id);
  });
});

describe('target policy', () => {
  it('the test deployment allows http:// and loopback targets', async () => {
    const res = await create(org.key, { url: 'http://127.0.0.1/hooks/local', events: ['*'] });
    expect(res.status, res.text).toBe(201);
    expect(res.body.url).toBe('http://127.0.0.1/hooks/local');
  });

  describe('a deployment that allows neither http nor private targets', () => {
    let strict: Hookwise;
    let key: string;
    beforeAll(async () => {
      strict = await startHookwise({
        worker: false,
        env: { HOOKWISE_ALLOW_HTTP: 'false', HOOKWISE_ALLOW_PRIVATE_TARGETS: 'false' },
      });
      key = (await strict.newOrg()).key;
    });
    afterAll(async () => {
      await strict?.stop();
    });

    it('refuses plain http with a message naming https', async () => {
      const res = await strict.request('POST', '/api/v1/webhooks', {
        key,
        body: { url: 'http://example.com/hook', events: ['*'] },
      });
      expectError(res, 422, 'validation_error');
      expect(res.body.error.message).toMatch(/https/);
      expect(res.body.error.details).toMatchObject({ field: 'url' });
    });

    it.each([
      ['https://127.0.0.1/x', /loopback/],
      ['https://169.254.169.254/latest', /link-local/],
      ['https://localhost/x', /loopback/],
      ['https://[::1]/', /loopback/],
      ['https://10.0.0.7/x', /private/],
    ])('refuses %s and says why', async (url, why) => {
      const res = await strict.request('POST', '/api/v1/webhooks', { key, body: { url, events: ['*'] } });
      expectError(res, 422, 'validation_error');
      expect(res.body.error.message).toMatch(why);
      expect(res.body.error.message).toContain('HOOKWISE_ALLOW_PRIVATE_TARGETS');
    });

    it('accepts a public https target, and refuses changing it to a private one', async () => {
      const ok = await strict.request('POST', '/api/v1/webhooks', {
        key,
        body: { url: 'https://example.com/hook', events: ['*'] },
      });
      expect(ok.status, ok.text).toBe(201);
      const patch = await strict.request('PATCH', `/api/v1/webhooks/${ok.body.id}`, {
        key,
        body: { url: 'https://169.254.169.254/latest' },
      });
      expectError(patch, 422, 'validation_error');
      const after = await strict.request('GET', `/api/v1/webhooks/${ok.body.id}`, { key });
      expect(after.body.url).toBe('https://example.com/hook');
    });
  });
});

describe('health', () => {
  it('/healthz → 200 and /readyz → 200 with both dependencies up', async () => {
    const health = await h.request('GET', '/healthz');
    expect(health.status).toBe(200);
    const ready = await h.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ postgres: true, temporal: true });
  });
});
