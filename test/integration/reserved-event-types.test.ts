import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { countRows, expectError, expectNoServerErrors, orgApi } from '../support/fixtures.js';

// The event types hookwise publishes itself (operational events, webhook.test, room and agent
// outcomes, the generic ingress's webhook.<source>.<type>) can't be published through POST /events:
// receivers get every event signed alike and could not tell a forged one from hookwise's own.

let h: Hookwise;

beforeAll(async () => {
  h = await startHookwise({ worker: false });
});
afterEach(() => {
  expectNoServerErrors(h);
});
afterAll(async () => {
  await h?.stop();
});

const hook = { url: 'http://127.0.0.1:9/reserved', events: ['*'] };

it.each<[string, string]>([
  ['webhook.disabled', 'webhook.*'],
  ['webhook.failing', 'webhook.*'],
  ['webhook.recovered', 'webhook.*'],
  ['webhook.test', 'webhook.*'],
  ['webhook.stripe.payment_succeeded', 'webhook.*'],
  ['webhook.generic.received', 'webhook.*'],
  ['Webhook.Disabled', 'webhook.*'],
  ['delivery.dead', 'delivery.dead'],
  ['DELIVERY.DEAD', 'delivery.dead'],
  ['room.agent.completed', 'room.agent.*'],
  ['room.agent.failed', 'room.agent.*'],
  ['agent.run.completed', 'agent.run.*'],
  ['agent.run.failed', 'agent.run.*'],
])('POST /events refuses %s with 422, naming %s', async (type, reserved) => {
  const { orgId, key } = await h.newOrg();
  const send = await h.newKey(orgId, ['send']);
  expect((await h.request('POST', '/api/v1/webhooks', { key, body: hook })).status).toBe(201);

  const res = await h.request('POST', '/api/v1/events', { key: send, body: { type, data: { forged: true } } });
  expectError(res, 422, 'validation_error');
  expect(res.body.error.details.issues).toEqual([
    { path: 'type', message: `"${reserved}" is reserved for events hookwise publishes itself; choose another type` },
  ]);
  // Nothing recorded, nothing delivered.
  expect(await countRows(h, `SELECT count(*) AS n FROM events WHERE organization_id = $1`, [orgId])).toBe(0);
});

it('POST /events takes every other type, the seeds’ included, and names next to the reserved ones', async () => {
  const { call } = await orgApi(h);
  await call('POST', '/api/v1/webhooks', hook, { status: 201 });
  for (const type of ['LEAD_CREATED', 'lead.created', 'invoice.paid', 'webhooks.created', 'webhook', 'delivery.created', 'room.agent', 'agent.running', 'my.webhook.disabled']) {
    const sent = await call('POST', '/api/v1/events', { type, data: {} }, { status: 202 });
    expect(sent).toMatchObject({ type, deliveries: [expect.any(String)] });
  }
});

it('hookwise’s own routes still use the reserved names: webhook tests, and webhooks (chatbot surface too) subscribe to them', async () => {
  const { call } = await orgApi(h);
  const webhook = await call('POST', '/api/v1/webhooks', { ...hook, events: ['webhook.test', 'webhook.disabled', 'delivery.dead', 'agent.run.completed'] }, { status: 201 });
  const test = await call('POST', `/api/v1/webhooks/${webhook.id}/test`, undefined, { status: 202 });
  expect(test.event).toMatchObject({ type: 'webhook.test' });
  expect(test.deliveryId).toEqual(expect.any(String));

  const chatbot = await call('POST', '/api/v1/chatbots/bot_1/webhooks', { url: hook.url, eventTypes: ['LEAD_CREATED', 'webhook.test'] }, { status: 201 });
  const chatbotTest = await call('POST', `/api/v1/webhooks/${chatbot.webhook.id}/test`, undefined, { status: 202 });
  expect(chatbotTest.event).toMatchObject({ type: 'webhook.test', sessionId: 'bot_1' });
  const lead = await call('POST', '/api/v1/events', { type: 'LEAD_CREATED', sessionId: 'bot_1', data: { id: 'lead_123' } }, { status: 202 });
  expect(lead.deliveries).toHaveLength(1);
});
