import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm.js';
import { orgApi, postGeneric, subscribeReceiver } from '../support/fixtures.js';
import { waitFor } from '../support/wait.js';
import { genericEventWorkflowId } from '../../src/flows/generic-event.js';
import { agentRunWorkflowId } from '../../src/flows/agent-run.js';

let h: Hookwise;
let llm: FakeLlm;
beforeAll(async () => {
  llm = await startFakeLlm();
  h = await startHookwise({ env: { OPENAI_BASE_URL: llm.baseURL, HOOKWISE_LLM_TIMEOUT_MS: '2000' } });
});
afterAll(async () => {
  await h.stop();
  await llm.close();
});

it('a generic event is normalized, published to webhooks, and answered by the agent holding its role', async () => {
  const api = await orgApi(h);
  const { orgId, call } = api;
  const { receiver } = await subscribeReceiver(api, { events: ['webhook.stripe.payment_succeeded', 'agent.run.completed'] });
  const ws = await call('POST', '/api/v1/workspaces', { name: 'acme' });
  const agent = await call('POST', `/api/v1/workspaces/${ws.id}/agents`, {
    name: 'billing-bot',
    instructions: 'You thank payers.',
    roles: ['webhook.stripe.payment_succeeded'],
  });
  llm.script(() => 'Thank you for your payment!');

  const post = () =>
    postGeneric(h, ws.id, { id: 'pi_1', type: 'payment.succeeded', amount: 42 }, {
      query: { source: 'stripe' },
      headers: { 'x-webhook-id': 'wh-msg-1', authorization: 'Bearer secret-of-sender' },
    });
  const first = await post();
  expect(first.status).toBe(202);
  expect(first.body).toEqual({ accepted: true });
  const again = await post();
  expect(again.status).toBe(202);
  expect(again.body).toEqual({ accepted: false });

  await waitFor(() => receiver.requests.length === 2, { what: 'the event and the agent result' });
  const byType = Object.fromEntries(receiver.requests.map((r) => [JSON.parse(r.body).type, JSON.parse(r.body)]));
  const published = byType['webhook.stripe.payment_succeeded'];
  expect(published.organizationId).toBe(orgId);
  expect(published.data).toMatchObject({
    workspace_id: ws.id,
    source_kind: 'webhook.stripe',
    event_type: 'payment.succeeded',
    source_identifier: 'wh-msg-1',
    dedupe_key: 'wh-msg-1',
    payload: { id: 'pi_1', type: 'payment.succeeded', amount: 42 },
    verified: { signature: null },
  });
  expect(published.data.headers.authorization).toBeUndefined();
  expect(byType['agent.run.completed'].data).toMatchObject({ agentId: agent.id, answer: 'Thank you for your payment!' });

  const chats = await call('GET', `/api/v1/workspaces/${ws.id}/chats`);
  expect(chats.data).toHaveLength(1);
  const chat = await call('GET', `/api/v1/chats/${chats.data[0].id}`);
  expect(chat.agentId).toBe(agent.id);
  expect(chat.messages.map((m: any) => m.role)).toEqual(['event', 'assistant']);
  expect(chat.messages[1].content).toBe('Thank you for your payment!');

  // One workflow for the event: the agent ran as its activity, named for the run, not as a child.
  const handle = h.temporal.client.workflow.getHandle(genericEventWorkflowId(ws.id, 'wh-msg-1', ''));
  const { inboxId } = (await handle.describe()).memo as { inboxId: string };
  const scheduled = (await handle.fetchHistory()).events!.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : []));
  expect(scheduled.map((a) => [a.activityType?.name, a.activityId])).toEqual([
    ['processInboxEvent', expect.any(String)],
    ['runAgentInChat', agentRunWorkflowId(agent.id, inboxId)],
  ]);
  expect((await h.temporal.client.workflow.count(`WorkflowType = 'agentRun' AND HookwiseWorkspace = '${ws.id}'`)).count).toBe(0);
  await receiver.close();
});
