import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm.js';
import { countRows, orgApi, postGeneric, subscribeReceiver, type Receiver } from '../support/fixtures.js';
import { quiesce } from '../support/quiesce.js';
import { startReceiver } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';

// Many senders at once: a retried webhook fired 50 times in parallel is still one event, one agent
// run, one answer; 50 different events at once are 50 events, none lost, numbered without gaps.

let h: Hookwise;
let llm: FakeLlm;
const receivers: Receiver[] = [];

beforeAll(async () => {
  llm = await startFakeLlm();
  h = await startHookwise({
    env: { OPENAI_BASE_URL: llm.baseURL, HOOKWISE_LLM_TIMEOUT_MS: '5000', HOOKWISE_RECOVERY_INTERVAL_SECONDS: '3600' },
  });
});
afterAll(async () => {
  for (const r of receivers) await r.close();
  await h?.stop();
  await llm?.close();
});

async function setup({ receiver: withReceiver = true } = {}) {
  const api = await orgApi(h);
  const { receiver } = withReceiver ? await subscribeReceiver(api) : { receiver: await startReceiver() };
  receivers.push(receiver);
  const ws = await api.call('POST', '/api/v1/workspaces', { name: 'concurrency' });
  return { ...api, ws, receiver };
}

const post = (workspaceId: string, query: string, body: object) => postGeneric(h, workspaceId, body, { query });

const count = (sql: string, params: unknown[]) => countRows(h, sql, params);

it('50 concurrent posts with one dedupe key: one accepted, one inbox row, one published event, one agent run, one answer', async () => {
  const { orgId, ws, call, receiver } = await setup();
  const marker = `concurrency-agent-${ws.id}`;
  const agent = await call('POST', `/api/v1/workspaces/${ws.id}/agents`, {
    name: 'once',
    instructions: `You answer exactly once. ${marker}`,
    roles: ['webhook.stripe.payment_succeeded'],
  });
  const callsForAgent = () => llm.requests.filter((r) => r.messages[0]?.content?.includes(marker)).length;
  llm.script((req) => (req.messages[0]?.content?.includes(marker) ? 'paid, thanks' : 'unexpected caller'));

  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) => post(ws.id, '?source=stripe&dedupe_key=pay-once', { type: 'payment.succeeded', attempt: i })),
  );
  expect(answers.map((a) => a.status)).toEqual(Array(50).fill(202));
  expect(answers.filter((a) => a.body.accepted === true)).toHaveLength(1);
  expect(answers.filter((a) => a.body.accepted === false)).toHaveLength(49);

  expect(await count(`SELECT count(*) AS n FROM event_inbox WHERE workspace_id = $1`, [ws.id])).toBe(1);

  // Wait for the whole chain to finish, then until nothing more can run before counting.
  await waitFor(
    () => count(`SELECT count(*) AS n FROM events WHERE organization_id = $1 AND type = 'agent.run.completed'`, [orgId]),
    { what: 'agent.run.completed' },
  );
  await waitFor(() => receiver.requests.length >= 2, { what: 'the event and the answer delivered' });
  await quiesce(h, orgId);

  expect(await count(`SELECT count(*) AS n FROM events WHERE organization_id = $1 AND type = 'webhook.stripe.payment_succeeded'`, [orgId])).toBe(1);
  expect(await count(`SELECT count(*) AS n FROM events WHERE organization_id = $1`, [orgId])).toBe(2);
  expect(await count(`SELECT count(*) AS n FROM agent_runs WHERE agent_id = $1`, [agent.id])).toBe(1);
  expect(await count(`SELECT count(*) AS n FROM agent_runs WHERE agent_id = $1 AND status = 'done'`, [agent.id])).toBe(1);
  expect(await count(`SELECT count(*) AS n FROM chats WHERE workspace_id = $1`, [ws.id])).toBe(1);
  expect(callsForAgent()).toBe(1);

  const delivered = receiver.requests.map((r) => JSON.parse(r.body));
  expect(delivered.map((e) => e.type).sort()).toEqual(['agent.run.completed', 'webhook.stripe.payment_succeeded']);
  const event = delivered.find((e) => e.type === 'webhook.stripe.payment_succeeded');
  const completed = delivered.find((e) => e.type === 'agent.run.completed');
  expect(event.data.dedupe_key).toBe('pay-once');
  expect(completed.data).toMatchObject({ agentId: agent.id, answer: 'paid, thanks', inboxEventId: event.data.id });

  // The answer is in the one chat, once.
  const chats = await call('GET', `/api/v1/workspaces/${ws.id}/chats`);
  expect(chats.data).toHaveLength(1);
  const chat = await call('GET', `/api/v1/chats/${chats.data[0].id}`);
  expect(chat.messages.map((m: { role: string }) => m.role)).toEqual(['event', 'assistant']);
  expect(chat.messages[1].content).toBe('paid, thanks');
});

it('50 concurrent posts without a dedupe key: 50 events, none lost, each with its own position in the stream', async () => {
  const { orgId, ws } = await setup({ receiver: false });
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => post(ws.id, '', { n: i })));
  expect(answers.every((a) => a.status === 202 && a.body.accepted === true)).toBe(true);
  expect(await count(`SELECT count(*) AS n FROM event_inbox WHERE workspace_id = $1`, [ws.id])).toBe(50);

  // The outbox is what this is about (deliveries have their own tests): every event in it, once.
  await waitFor(() => count(`SELECT count(*) AS n FROM events WHERE organization_id = $1`, [orgId]).then((n) => n >= 50), {
    what: '50 published events',
  });
  const { rows } = await h.db.query(`SELECT seq, body FROM events WHERE organization_id = $1 ORDER BY seq`, [orgId]);
  expect(new Set(rows.map((r) => Number(r.seq))).size).toBe(50);
  const ns = rows.map((r) => JSON.parse(r.body).data.payload.n as number).sort((a, b) => a - b);
  expect(ns).toEqual(Array.from({ length: 50 }, (_, i) => i));
});
