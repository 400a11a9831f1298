import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startFakeLlm, type FakeLlm, type FakeReply, type FakeRequest } from '../support/fake-llm.js';
import { countRows, orgApi, postGeneric, subscribeReceiver, type OrgApi, type Receiver } from '../support/fixtures.js';
import { quiesce } from '../support/quiesce.js';
import { waitFor } from '../support/wait.js';

// Workspace agents: their admin routes, and role routing — an event whose role an agent holds opens
// a chat for that agent, runs it, and publishes its answer (or its failure).

let h: Hookwise;
let llm: FakeLlm;
const receivers: Receiver[] = [];
/** Each test's agents carry a unique marker in their instructions; the fake model answers by marker. */
const replies = new Map<string, (req: FakeRequest) => FakeReply>();
const callsFor = (marker: string) => llm.requests.filter((r) => String(r.messages[0]?.content ?? '').includes(marker));

beforeAll(async () => {
  llm = await startFakeLlm();
  llm.script((req) => {
    const system = String(req.messages[0]?.content ?? '');
    for (const [marker, reply] of replies) if (system.includes(marker)) return reply(req);
    return { status: 400 };
  });
  h = await startHookwise({
    env: { OPENAI_BASE_URL: llm.baseURL, HOOKWISE_LLM_TIMEOUT_MS: '2000', HOOKWISE_RECOVERY_INTERVAL_SECONDS: '3600' },
  });
});
afterAll(async () => {
  for (const r of receivers) await r.close();
  await h?.stop();
  await llm?.close();
});

async function setup() {
  const api = await orgApi(h);
  const ws = await api.call('POST', '/api/v1/workspaces', { name: 'agents' });
  const marker = `marker-${ws.id}`;
  return { ...api, ws, marker };
}

async function withReceiver(api: OrgApi) {
  const { receiver } = await subscribeReceiver(api);
  receivers.push(receiver);
  const of = (type: string) => receiver.requests.map((r) => JSON.parse(r.body)).filter((e) => e.type === type);
  return { receiver, of };
}

const ingest = async (workspaceId: string, query: string, body: object) => {
  await postGeneric(h, workspaceId, body, { query, accepted: true });
};

const count = (sql: string, params: unknown[]) => countRows(h, sql, params);

it('agents CRUD: create 201, list, get, patch, delete', async () => {
  const { key, ws, call } = await setup();
  const res = await h.request('POST', `/api/v1/workspaces/${ws.id}/agents`, {
    key,
    body: {
      name: 'billing-bot',
      instructions: 'You thank payers.',
      roles: ['webhook.stripe.payment_succeeded', 'webhook.stripe.payment_succeeded', 'webhook.generic.received'],
    },
  });
  expect(res.status, res.text).toBe(201);
  const agent = res.body;
  expect(agent).toMatchObject({
    id: expect.stringMatching(/^agent_/),
    workspaceId: ws.id,
    name: 'billing-bot',
    instructions: 'You thank payers.',
    modelTier: 'smart',
    roles: ['webhook.stripe.payment_succeeded', 'webhook.generic.received'],
  });
  const second = await call('POST', `/api/v1/workspaces/${ws.id}/agents`, { name: 'fast-bot', instructions: 'Be quick.', roles: [], modelTier: 'fast' });
  expect(second.modelTier).toBe('fast');

  const list = await call('GET', `/api/v1/workspaces/${ws.id}/agents`);
  expect(list.data.map((a: { id: string }) => a.id)).toEqual([agent.id, second.id]);
  expect(await call('GET', `/api/v1/agents/${agent.id}`)).toEqual(agent);

  const patched = await call('PATCH', `/api/v1/agents/${agent.id}`, { name: 'billing-bot-2', roles: ['webhook.zendesk.ticket_created'] });
  expect(patched).toMatchObject({ id: agent.id, name: 'billing-bot-2', instructions: 'You thank payers.', roles: ['webhook.zendesk.ticket_created'] });
  expect(patched.updatedAt).toBeGreaterThanOrEqual(agent.updatedAt);
  expect(await call('GET', `/api/v1/agents/${agent.id}`)).toMatchObject({ name: 'billing-bot-2', roles: ['webhook.zendesk.ticket_created'] });

  const deleted = await h.request('DELETE', `/api/v1/agents/${agent.id}`, { key });
  expect(deleted.status).toBe(204);
  expect((await h.request('DELETE', `/api/v1/agents/${agent.id}`, { key })).status).toBe(404);
  expect((await h.request('PATCH', `/api/v1/agents/${agent.id}`, { key, body: { name: 'zombie' } })).status).toBe(404);
  const gone = await h.request('GET', `/api/v1/agents/${agent.id}`, { key });
  expect(gone.status).toBe(404);
  expect(gone.body.error.code).toBe('not_found');
  expect((await call('GET', `/api/v1/workspaces/${ws.id}/agents`)).data.map((a: { id: string }) => a.id)).toEqual([second.id]);
});

it('422 for roles not shaped webhook.<source>.<event_type_slug> and other malformed bodies', async () => {
  const { key, ws, call } = await setup();
  const agent = await call('POST', `/api/v1/workspaces/${ws.id}/agents`, { name: 'a', instructions: 'b', roles: ['webhook.generic.received'] });
  const badRoles = [
    'stripe.payment_succeeded',
    'webhook.stripe',
    'webhook.stripe.payment.succeeded',
    'webhook.Stripe.payment_succeeded',
    'webhook.stripe.Payment_Succeeded',
    'webhook..received',
    'hook.generic.received',
    'webhook.generic.received ',
    '',
    // Longer than any event's role can be (source ≤ 64, event type ≤ 160).
    `webhook.${'s'.repeat(64)}.${'t'.repeat(161)}`,
  ];
  for (const role of badRoles) {
    const res = await h.request('POST', `/api/v1/workspaces/${ws.id}/agents`, { key, body: { name: 'a', instructions: 'b', roles: [role] } });
    expect(res.status, `${JSON.stringify(role)}: ${res.text}`).toBe(422);
    expect(res.body.error.code).toBe('validation_error');
    const patch = await h.request('PATCH', `/api/v1/agents/${agent.id}`, { key, body: { roles: ['webhook.generic.ok', role] } });
    expect(patch.status, `PATCH ${JSON.stringify(role)}: ${patch.text}`).toBe(422);
  }
  for (const body of [
    { instructions: 'b', roles: [] },
    { name: 'a', roles: [] },
    { name: 'a', instructions: 'b' },
    { name: 'a', instructions: 'b', roles: 'webhook.generic.received' },
    { name: 'a', instructions: 'b', roles: [], modelTier: 'huge' },
    { name: 'a', instructions: 'b', roles: [], unknown: true },
  ]) {
    const res = await h.request('POST', `/api/v1/workspaces/${ws.id}/agents`, { key, body });
    expect(res.status, `${JSON.stringify(body)}: ${res.text}`).toBe(422);
    expect(res.body.error.code).toBe('validation_error');
  }
  // Nothing was created or changed by the refused requests.
  const list = await call('GET', `/api/v1/workspaces/${ws.id}/agents`);
  expect(list.data).toHaveLength(1);
  expect(list.data[0].roles).toEqual(['webhook.generic.received']);
});

it('another org’s agents and workspaces are 404; changing agents needs manage; no key is 401', async () => {
  const { orgId, ws, call } = await setup();
  const agent = await call('POST', `/api/v1/workspaces/${ws.id}/agents`, { name: 'mine', instructions: 'b', roles: ['webhook.generic.received'] });

  const stranger = await h.newOrg();
  for (const [method, path, body] of [
    ['GET', `/api/v1/agents/${agent.id}`, undefined],
    ['PATCH', `/api/v1/agents/${agent.id}`, { name: 'stolen' }],
    ['DELETE', `/api/v1/agents/${agent.id}`, undefined],
    ['GET', `/api/v1/workspaces/${ws.id}/agents`, undefined],
    ['POST', `/api/v1/workspaces/${ws.id}/agents`, { name: 'intruder', instructions: 'b', roles: [] }],
  ] as const) {
    const res = await h.request(method, path, { key: stranger.key, body });
    expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  }

  const readOnly = await h.newKey(orgId, ['read', 'send']);
  for (const [method, path, body] of [
    ['PATCH', `/api/v1/agents/${agent.id}`, { name: 'renamed' }],
    ['DELETE', `/api/v1/agents/${agent.id}`, undefined],
    ['POST', `/api/v1/workspaces/${ws.id}/agents`, { name: 'x', instructions: 'b', roles: [] }],
  ] as const) {
    const res = await h.request(method, path, { key: readOnly, body });
    expect(res.status, `${method} ${path}: ${res.text}`).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  }
  // Reading only needs read.
  expect((await h.request('GET', `/api/v1/agents/${agent.id}`, { key: readOnly })).status).toBe(200);
  const manageOnly = await h.newKey(orgId, ['manage']);
  expect((await h.request('GET', `/api/v1/agents/${agent.id}`, { key: manageOnly })).status).toBe(403);

  const anonymous = await h.request('GET', `/api/v1/agents/${agent.id}`);
  expect(anonymous.status).toBe(401);
  expect(anonymous.body.error.code).toBe('unauthorized');

  // The agent is as it was.
  expect(await call('GET', `/api/v1/agents/${agent.id}`)).toMatchObject({ name: 'mine', roles: ['webhook.generic.received'] });
});

it('routing: two agents holding the role get a chat and a run each, answer in their chats, and agent.run.completed is emitted for each', async () => {
  const api = await setup();
  const { orgId, ws, call, marker } = api;
  const { of } = await withReceiver(api);
  const agent = (name: string, roles: string[]) =>
    call('POST', `/api/v1/workspaces/${ws.id}/agents`, { name, instructions: `You are ${name}. ${marker}`, roles });
  const alice = await agent('alice', ['webhook.stripe.payment_succeeded']);
  const bob = await agent('bob', ['webhook.zendesk.ticket_created', 'webhook.stripe.payment_succeeded']);
  const carol = await agent('carol', ['webhook.stripe.payment_failed']);
  replies.set(marker, (req) => {
    const system = String(req.messages[0].content);
    return `answer from ${['alice', 'bob', 'carol'].find((n) => system.includes(`You are ${n}.`))}`;
  });

  await ingest(ws.id, '?source=stripe', { id: 'pi_1', type: 'payment.succeeded', amount: 4200 });
  await waitFor(() => of('agent.run.completed').length >= 2, { what: 'two agent.run.completed' });
  await quiesce(h, orgId);

  // Two runs, two chats, two model calls; nothing for carol.
  expect(await count(`SELECT count(*) AS n FROM agent_runs r JOIN agents a ON a.id = r.agent_id WHERE a.workspace_id = $1`, [ws.id])).toBe(2);
  expect(await count(`SELECT count(*) AS n FROM agent_runs WHERE agent_id = $1`, [carol.id])).toBe(0);
  expect(callsFor(marker)).toHaveLength(2);
  // The model saw the event.
  for (const req of callsFor(marker)) {
    const last = String(req.messages.at(-1).content);
    expect(last).toContain('webhook.stripe.payment_succeeded');
    expect(last).toContain('pi_1');
  }

  const completed = of('agent.run.completed');
  expect(completed).toHaveLength(2);
  expect(completed.every((e) => e.organizationId === orgId)).toBe(true);
  const byAgent = Object.fromEntries(completed.map((e) => [e.data.agentId, e.data]));
  expect(Object.keys(byAgent).sort()).toEqual([alice.id, bob.id].sort());
  expect(byAgent[alice.id].answer).toBe('answer from alice');
  expect(byAgent[bob.id].answer).toBe('answer from bob');
  const [published] = of('webhook.stripe.payment_succeeded');
  expect(byAgent[alice.id].inboxEventId).toBe(published.data.id);

  const chats = (await call('GET', `/api/v1/workspaces/${ws.id}/chats`)).data as Array<{ id: string; agentId: string; workspaceId: string }>;
  expect(chats).toHaveLength(2);
  expect(chats.map((c) => c.agentId).sort()).toEqual([alice.id, bob.id].sort());
  for (const summary of chats) {
    expect(summary.workspaceId).toBe(ws.id);
    const chat = await call('GET', `/api/v1/chats/${summary.id}`);
    const run = byAgent[summary.agentId];
    expect(run.chatId).toBe(summary.id);
    expect(chat.messages.map((m: { role: string }) => m.role)).toEqual(['event', 'assistant']);
    // The event first, as the envelope subscribers got; then the answer.
    expect(JSON.parse(chat.messages[0].content)).toEqual(published.data);
    expect(chat.messages[1]).toMatchObject({ content: run.answer, author: summary.agentId === alice.id ? 'alice' : 'bob' });
    expect(chat.messages[0].createdAt).toBeLessThanOrEqual(chat.messages[1].createdAt);
  }
  const runs = await h.db.query(`SELECT status, answer FROM agent_runs WHERE agent_id = ANY($1) ORDER BY answer`, [[alice.id, bob.id]]);
  expect(runs.rows).toEqual([
    { status: 'done', answer: 'answer from alice' },
    { status: 'done', answer: 'answer from bob' },
  ]);
});

it('routing: an event whose role no agent holds opens no chat and runs nothing, but is still published', async () => {
  const api = await setup();
  const { orgId, ws, call, marker } = api;
  const { of } = await withReceiver(api);
  const agent = await call('POST', `/api/v1/workspaces/${ws.id}/agents`, {
    name: 'zendesk-only',
    instructions: `Tickets only. ${marker}`,
    roles: ['webhook.zendesk.ticket_created'],
  });
  replies.set(marker, () => 'should not be asked');

  // Same event type, other source; same source, other type.
  await ingest(ws.id, '?source=freshdesk', { type: 'ticket.created' });
  await ingest(ws.id, '?source=zendesk', { type: 'ticket.updated' });
  await waitFor(() => of('webhook.freshdesk.ticket_created').length + of('webhook.zendesk.ticket_updated').length === 2, {
    what: 'both events published',
  });
  await quiesce(h, orgId);
  expect(await count(`SELECT count(*) AS n FROM agent_runs WHERE agent_id = $1`, [agent.id])).toBe(0);
  expect((await call('GET', `/api/v1/workspaces/${ws.id}/chats`)).data).toEqual([]);
  expect(callsFor(marker)).toHaveLength(0);
  expect(of('agent.run.completed')).toHaveLength(0);

  // An agent in another workspace with the role doesn't answer for this one.
  const other = await call('POST', '/api/v1/workspaces', { name: 'other' });
  const elsewhere = await call('POST', `/api/v1/workspaces/${other.id}/agents`, {
    name: 'elsewhere',
    instructions: `Elsewhere. ${marker}`,
    roles: ['webhook.freshdesk.ticket_created'],
  });
  await ingest(ws.id, '?source=freshdesk', { type: 'ticket.created', n: 2 });
  await waitFor(() => of('webhook.freshdesk.ticket_created').length === 2, { what: 'the second event published' });
  await quiesce(h, orgId);
  expect(await count(`SELECT count(*) AS n FROM agent_runs WHERE agent_id = $1`, [elsewhere.id])).toBe(0);
  expect(callsFor(marker)).toHaveLength(0);
});

it('a run slowed past its heartbeat timeout by its own database work is not taken for dead: one model call, done', async () => {
  const api = await setup();
  const { orgId, ws, call, marker } = api;
  const { of } = await withReceiver(api);
  const agent = await call('POST', `/api/v1/workspaces/${ws.id}/agents`, { name: 'patient', instructions: `Answer. ${marker}`, roles: ['webhook.generic.received'] });
  // While the model answers, another transaction locks the run's row for longer than the activity's
  // 10 s heartbeat timeout, so storing the answer waits on it: only a heartbeat from the whole activity,
  // not just the model call, keeps Temporal from running the attempt again.
  const HELD_MS = 13_000;
  let locked: Promise<void> | null = null;
  replies.set(marker, () => {
    locked ??= (async () => {
      const client = await h.db.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT 1 FROM agent_runs WHERE agent_id = $1 FOR UPDATE', [agent.id]);
        setTimeout(() => void client.query('COMMIT').finally(() => client.release()), HELD_MS);
      } catch (err) {
        client.release();
        throw err;
      }
    })();
    return { content: 'Worth the wait.', delayMs: 500 };
  });

  await ingest(ws.id, '', { slow: true });
  await waitFor(() => of('agent.run.completed').length === 1, { timeoutMs: 40_000, what: 'agent.run.completed' });
  await locked;
  await quiesce(h, orgId);
  expect(callsFor(marker)).toHaveLength(1);
  expect(of('agent.run.failed')).toHaveLength(0);
  const runs = await h.db.query(`SELECT status, answer FROM agent_runs WHERE agent_id = $1`, [agent.id]);
  expect(runs.rows).toEqual([{ status: 'done', answer: 'Worth the wait.' }]);
}, 60_000);

it('an LLM that fails every time: the run ends failed, agent.run.failed is emitted, the chat holds only the event', async () => {
  const api = await setup();
  const { orgId, ws, call, marker } = api;
  const { of } = await withReceiver(api);
  const agent = await call('POST', `/api/v1/workspaces/${ws.id}/agents`, {
    name: 'unlucky',
    instructions: `You never get an answer. ${marker}`,
    roles: ['webhook.generic.received'],
  });
  replies.set(marker, () => ({ status: 500 }));

  await ingest(ws.id, '', { hello: 'anyone?' });
  await waitFor(() => of('agent.run.failed').length >= 1, { timeoutMs: 30_000, what: 'agent.run.failed' });
  await quiesce(h, orgId);

  const failed = of('agent.run.failed');
  expect(failed).toHaveLength(1);
  expect(failed[0].data).toMatchObject({ agentId: agent.id });
  expect(typeof failed[0].data.error).toBe('string');
  expect(failed[0].data.error.length).toBeGreaterThan(0);
  expect(of('agent.run.completed')).toHaveLength(0);
  // Retried, then given up: more than one call, and a bounded number of them.
  expect(callsFor(marker).length).toBeGreaterThan(1);
  expect(callsFor(marker).length).toBeLessThanOrEqual(3);

  const runs = await h.db.query(`SELECT id, status, answer, error, chat_id AS "chatId" FROM agent_runs WHERE agent_id = $1`, [agent.id]);
  expect(runs.rows).toHaveLength(1);
  expect(runs.rows[0]).toMatchObject({ status: 'failed', answer: null, id: failed[0].data.runId, chatId: failed[0].data.chatId });
  expect(runs.rows[0].error).toBe(failed[0].data.error);

  const chat = await call('GET', `/api/v1/chats/${failed[0].data.chatId}`);
  expect(chat.agentId).toBe(agent.id);
  expect(chat.messages.map((m: { role: string }) => m.role)).toEqual(['event']);
});

it('a request the model refuses for good (HTTP 400 context_length_exceeded): the run fails after one call, not three', async () => {
  const api = await setup();
  const { orgId, ws, call, marker } = api;
  const { of } = await withReceiver(api);
  await call('POST', `/api/v1/workspaces/${ws.id}/agents`, {
    name: 'too long',
    instructions: `Your context never fits. ${marker}`,
    roles: ['webhook.generic.received'],
  });
  replies.set(marker, () => ({
    status: 400,
    raw: JSON.stringify({ error: { message: "This model's maximum context length is 128000 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' } }),
  }));

  await ingest(ws.id, '', { hello: 'a very long story' });
  await waitFor(() => of('agent.run.failed').length >= 1, { timeoutMs: 30_000, what: 'agent.run.failed' });
  await quiesce(h, orgId);
  expect(of('agent.run.failed')[0].data.error).toContain('maximum context length');
  expect(callsFor(marker)).toHaveLength(1);
});

it('chats: listed per workspace newest first, each with its messages in order; 404 across orgs, 403 without read', async () => {
  const { orgId, key, ws, call, marker } = await setup();
  const agent = await call('POST', `/api/v1/workspaces/${ws.id}/agents`, {
    name: 'echo',
    instructions: `You echo. ${marker}`,
    roles: ['webhook.generic.note'],
  });
  let n = 0;
  replies.set(marker, () => `echo ${++n}`);

  await ingest(ws.id, '', { event: 'note', text: 'first' });
  await waitFor(async () => count(`SELECT count(*) AS n FROM agent_runs WHERE agent_id = $1 AND status = 'done'`, [agent.id]).then((c) => c === 1), {
    what: 'the first run',
  });
  await ingest(ws.id, '', { event: 'note', text: 'second' });
  await waitFor(async () => count(`SELECT count(*) AS n FROM agent_runs WHERE agent_id = $1 AND status = 'done'`, [agent.id]).then((c) => c === 2), {
    what: 'the second run',
  });

  const chats = (await call('GET', `/api/v1/workspaces/${ws.id}/chats`)).data as Array<{ id: string; agentId: string; title: string; createdAt: number }>;
  expect(chats).toHaveLength(2);
  expect(chats.every((c) => c.agentId === agent.id)).toBe(true);
  expect(chats[0].createdAt).toBeGreaterThanOrEqual(chats[1].createdAt);
  const texts: string[] = [];
  for (const summary of chats) {
    const chat = await call('GET', `/api/v1/chats/${summary.id}`);
    expect(chat).toMatchObject({ id: summary.id, workspaceId: ws.id, agentId: agent.id, title: summary.title });
    expect(chat.messages.map((m: { role: string }) => m.role)).toEqual(['event', 'assistant']);
    expect(chat.messages[1].content).toMatch(/^echo \d$/);
    texts.push(JSON.parse(chat.messages[0].content).payload.text);
  }
  // Newest first.
  expect(texts).toEqual(['second', 'first']);

  const stranger = await h.newOrg();
  const foreign = await h.request('GET', `/api/v1/chats/${chats[0].id}`, { key: stranger.key });
  expect(foreign.status).toBe(404);
  expect(foreign.body.error.code).toBe('not_found');
  expect((await h.request('GET', `/api/v1/workspaces/${ws.id}/chats`, { key: stranger.key })).status).toBe(404);
  const manageOnly = await h.newKey(orgId, ['manage']);
  const forbidden = await h.request('GET', `/api/v1/chats/${chats[0].id}`, { key: manageOnly });
  expect(forbidden.status).toBe(403);
  expect(forbidden.body.error.code).toBe('forbidden');
  expect((await h.request('GET', `/api/v1/chats/chat_0000000000NOSUCHCHAT00000`, { key: (await h.newOrg()).key })).status).toBe(404);

  // Bounded answers: the newest chats, and a chat's latest messages (oldest first), 100 unless `limit` says.
  expect((await call('GET', `/api/v1/workspaces/${ws.id}/chats?limit=1`)).data.map((c: { id: string }) => c.id)).toEqual([chats[0].id]);
  await h.db.query(
    `INSERT INTO chat_messages (id, chat_id, role, content, created_at)
     SELECT 'msg_bulk_' || lpad(i::text, 3, '0'), $1, 'user', 'note ' || i, now() + i * interval '1 millisecond' FROM generate_series(1, 150) i`,
    [chats[0].id],
  );
  const latest = (await call('GET', `/api/v1/chats/${chats[0].id}`)).messages.map((m: { content: string }) => m.content);
  expect(latest).toEqual(Array.from({ length: 100 }, (_, i) => `note ${51 + i}`));
  expect((await call('GET', `/api/v1/chats/${chats[0].id}?limit=1000`)).messages).toHaveLength(152);
  for (const path of [`/api/v1/chats/${chats[0].id}?limit=1001`, `/api/v1/workspaces/${ws.id}/chats?limit=0`]) {
    expect((await h.request('GET', path, { key })).status, path).toBe(422);
  }
});
