import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { expectError, expectNoServerErrors } from '../support/fixtures.js';

// The signed-lead seed's surface, `/api/v1/chatbots/:chatbotId/webhooks`, mapped onto the same
// webhooks as the gateway API (chatbotId = sessionId, maxRetries + 1 = attempts, retryDelay ms).

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let h: Hookwise;
let org: { orgId: string; key: string };

beforeAll(async () => {
  h = await startHookwise({ worker: false });
  org = await h.newOrg();
});

afterEach(() => {
  expectNoServerErrors(h);
});

afterAll(async () => {
  await h?.stop();
});

const base = (chatbotId: string) => `/api/v1/chatbots/${chatbotId}/webhooks`;
const seedBody = {
  name: 'Lead Notifications',
  url: 'http://127.0.0.1:9/webhooks/leads',
  eventTypes: ['LEAD_CREATED'],
  maxRetries: 3,
  retryDelay: 1000,
};

describe('chatbot webhooks', () => {
  it("create answers the seed's shape with the secret and the security note", async () => {
    const before = Date.now();
    const res = await h.request('POST', base('bot-create'), { key: org.key, body: seedBody });
    expect(res.status, res.text).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['message', 'security', 'webhook']);
    expect(res.body.message).toBe('Webhook created successfully');
    expect(res.body.security).toEqual({
      note: expect.stringMatching(/secret/i),
      headerName: 'X-Webhook-Signature',
      format: 'sha256=<hmac_signature>',
    });
    const w = res.body.webhook;
    expect(w).toMatchObject({
      id: expect.stringMatching(/^wh_/),
      name: 'Lead Notifications',
      url: seedBody.url,
      secret: expect.stringMatching(/^whsec_.{20,}/),
      eventTypes: ['LEAD_CREATED'],
      isActive: true,
      maxRetries: 3,
      retryDelay: 1000,
      successCount: 0,
      failureCount: 0,
    });
    expect(w.createdAt).toMatch(ISO);
    expect(w.updatedAt).toMatch(ISO);
    expect(Date.parse(w.createdAt)).toBeGreaterThanOrEqual(before - 5_000);
    expect(Date.parse(w.createdAt)).toBeLessThanOrEqual(Date.now() + 5_000);
  });

  it('defaults maxRetries to 3 and retryDelay to 1000 ms', async () => {
    const res = await h.request('POST', base('bot-defaults'), {
      key: org.key,
      body: { name: 'n', url: seedBody.url, eventTypes: ['LEAD_CREATED'] },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.webhook).toMatchObject({ maxRetries: 3, retryDelay: 1000 });
    const core = await h.request('GET', `/api/v1/webhooks/${res.body.webhook.id}`, { key: org.key });
    expect(core.body.retryPolicy).toEqual({ policy: 'exponential', attempts: 4, delaySeconds: 1 });
  });

  it("lists only this chatbot's webhooks, without secrets", async () => {
    const bot = 'bot-list';
    const one = await h.request('POST', base(bot), { key: org.key, body: seedBody });
    const two = await h.request('POST', base(bot), { key: org.key, body: { ...seedBody, name: 'Second' } });
    const other = await h.request('POST', base('bot-list-other'), { key: org.key, body: seedBody });
    for (const r of [one, two, other]) expect(r.status).toBe(201);

    const list = await h.request('GET', base(bot), { key: org.key });
    expect(list.status).toBe(200);
    expect(Object.keys(list.body).sort()).toEqual(['total', 'webhooks']);
    expect(list.body.total).toBe(2);
    expect(list.body.webhooks.map((w: any) => w.id).sort()).toEqual([one.body.webhook.id, two.body.webhook.id].sort());
    for (const w of list.body.webhooks) {
      expect(w).not.toHaveProperty('secret');
      expect(w).toMatchObject({ eventTypes: ['LEAD_CREATED'], isActive: true, maxRetries: 3, retryDelay: 1000 });
      expect(w).toHaveProperty('lastTriggeredAt', null);
      expect(w).toHaveProperty('lastSuccessAt', null);
    }
    expect(list.text).not.toContain(one.body.webhook.secret);
    expect(list.text).not.toContain(two.body.webhook.secret);
    expect(list.text).not.toContain(other.body.webhook.id);

    // Another org using the same chatbot id sees none of them.
    const stranger = await h.newOrg();
    const theirs = await h.request('GET', base(bot), { key: stranger.key });
    expect(theirs.body).toEqual({ webhooks: [], total: 0 });
  });

  it('update, the gateway view of the same webhook, other chatbots, delete', async () => {
    const bot = 'clp123chatbot456';
    const created = await h.request('POST', base(bot), { key: org.key, body: seedBody });
    expect(created.status).toBe(201);
    const id: string = created.body.webhook.id;
    const secret: string = created.body.webhook.secret;

    // The seed's update body, with PUT.
    const put = await h.request('PUT', `${base(bot)}/${id}`, {
      key: org.key,
      body: { name: 'Updated Lead Notifications', isActive: false },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body.webhook).toMatchObject({
      id,
      name: 'Updated Lead Notifications',
      isActive: false,
      url: seedBody.url,
      eventTypes: ['LEAD_CREATED'],
      maxRetries: 3,
      retryDelay: 1000,
    });
    expect(put.body.webhook).not.toHaveProperty('secret');
    expect(put.text).not.toContain(secret);

    // PATCH works the same and can change the retry settings.
    const patch = await h.request('PATCH', `${base(bot)}/${id}`, {
      key: org.key,
      body: { maxRetries: 5, retryDelay: 2500, eventTypes: ['LEAD_CREATED', 'LEAD_UPDATED'] },
    });
    expect(patch.status, patch.text).toBe(200);
    expect(patch.body.webhook).toMatchObject({
      name: 'Updated Lead Notifications',
      isActive: false,
      maxRetries: 5,
      retryDelay: 2500,
      eventTypes: ['LEAD_CREATED', 'LEAD_UPDATED'],
    });

    const one = await h.request('GET', `${base(bot)}/${id}`, { key: org.key });
    expect(one.status).toBe(200);
    expect(one.body.webhook).toEqual(patch.body.webhook);

    // The same webhook through the gateway API.
    const core = await h.request('GET', `/api/v1/webhooks/${id}`, { key: org.key });
    expect(core.status).toBe(200);
    expect(core.body).toMatchObject({
      id,
      organizationId: org.orgId,
      name: 'Updated Lead Notifications',
      url: seedBody.url,
      sessionId: bot,
      events: ['LEAD_CREATED', 'LEAD_UPDATED'],
      active: false,
      retryPolicy: { policy: 'exponential', attempts: 6, delaySeconds: 2.5 },
    });
    expect(core.text).not.toContain(secret);

    // A change through the gateway API shows on the chatbot surface.
    await h.request('PATCH', `/api/v1/webhooks/${id}`, { key: org.key, body: { active: true } });
    const reread = await h.request('GET', `${base(bot)}/${id}`, { key: org.key });
    expect(reread.body.webhook.isActive).toBe(true);

    // Another chatbot's path (same org) does not reach it.
    const wrong = `${base('some-other-bot')}/${id}`;
    expectError(await h.request('GET', wrong, { key: org.key }), 404, 'not_found');
    expectError(await h.request('PUT', wrong, { key: org.key, body: { name: 'hijack' } }), 404, 'not_found');
    expectError(await h.request('PATCH', wrong, { key: org.key, body: { isActive: false } }), 404, 'not_found');
    expectError(await h.request('DELETE', wrong, { key: org.key }), 404, 'not_found');
    // Nor does another org on the right path.
    const stranger = await h.newOrg();
    expectError(await h.request('GET', `${base(bot)}/${id}`, { key: stranger.key }), 404, 'not_found');
    expectError(await h.request('DELETE', `${base(bot)}/${id}`, { key: stranger.key }), 404, 'not_found');
    const untouched = await h.request('GET', `${base(bot)}/${id}`, { key: org.key });
    expect(untouched.body.webhook).toMatchObject({ name: 'Updated Lead Notifications', isActive: true });

    const del = await h.request('DELETE', `${base(bot)}/${id}`, { key: org.key });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ message: 'Webhook deleted successfully' });
    expectError(await h.request('GET', `/api/v1/webhooks/${id}`, { key: org.key }), 404, 'not_found');
    expectError(await h.request('DELETE', `${base(bot)}/${id}`, { key: org.key }), 404, 'not_found');
    const list = await h.request('GET', base(bot), { key: org.key });
    expect(list.body).toEqual({ webhooks: [], total: 0 });
  });

  it('validates the body and needs the manage capability', async () => {
    for (const body of [
      { ...seedBody, url: undefined },
      { ...seedBody, url: 'not a url' },
      { ...seedBody, eventTypes: [] },
      { ...seedBody, maxRetries: -1 },
      { ...seedBody, retryDelay: 'soon' },
      { ...seedBody, unknown: true },
    ]) {
      expectError(await h.request('POST', base('bot-valid'), { key: org.key, body }), 422, 'validation_error');
    }
    const read = await h.newKey(org.orgId, ['read', 'send']);
    expectError(await h.request('POST', base('bot-valid'), { key: read, body: seedBody }), 403, 'forbidden');
    expectError(await h.request('GET', base('bot-valid'), { key: read }), 403, 'forbidden');
    expectError(await h.request('GET', base('bot-valid')), 401, 'unauthorized');
    const list = await h.request('GET', base('bot-valid'), { key: org.key });
    expect(list.body.total).toBe(0);
  });
});
