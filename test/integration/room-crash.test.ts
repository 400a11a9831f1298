import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm.js';
import { orgApi, postRoomEvent, roomFixture } from '../support/fixtures.js';
import { kill, spawnEntry } from '../support/processes.js';
import { quiesce } from '../support/quiesce.js';
import { startReceiver } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';

// A worker process killed while the room's agent is running: another worker finishes the item, and
// the result is stored, written to the chat and emitted exactly once.

let h: Hookwise;
let llm: FakeLlm;
const children: Array<ReturnType<typeof spawnEntry>> = [];

beforeAll(async () => {
  llm = await startFakeLlm();
  h = await startHookwise({
    // The worker runs as a real separate process here, so it can be killed mid-run.
    worker: false,
    env: {
      OPENAI_BASE_URL: llm.baseURL,
      // Long: a lost attempt must be noticed by its missing heartbeats, not by waiting this out.
      HOOKWISE_LLM_TIMEOUT_MS: '120000',
      HOOKWISE_ROOM_TICK_SECONDS: '3600',
      // These workers' recovery loops would scan the whole shared test database; nothing here needs them.
      HOOKWISE_RECOVERY_INTERVAL_SECONDS: '3600',
    },
  });
});
afterAll(async () => {
  for (const c of children) await kill(c.child);
  await h?.stop();
  await llm?.close();
});

it('a worker SIGKILLed while the agent runs: a new worker finishes the item once, one delivery, one chat message', async () => {
  const receiver = await startReceiver();
  try {
    const api = await orgApi(h);
    const { orgId, call } = api;
    await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['room.agent.completed', 'room.agent.failed'] });
    const { workspaceId, room, token, definitions } = await roomFixture(api, {
      workspaceName: 'crash',
      room: { name: 'crash room', instructions: 'You survive crashes.' },
      definitions: [{ name: 'job', description: 'a job to do', priority: 1, rule: { path: 'type', equals: 'job' } }],
    });
    const definitionId = definitions.job;

    // The first agent call never gets its answer in time; later ones are answered at once.
    let agentCalls = 0;
    llm.script(() => (++agentCalls === 1 ? { content: 'answer from the killed worker', delayMs: 120_000 } : 'answer after the crash'));

    const first = spawnEntry('worker', h.env);
    children.push(first);
    const { eventId } = (await postRoomEvent(h, token, { type: 'job', data: { id: 'job_1' } })).body as { eventId: string };
    expect(eventId).toEqual(expect.any(String));
    // Admitted, it waits for the room's hour-long tick: a reply runs it now.
    await waitFor(async () => (await call('GET', `/api/v1/rooms/${room.id}/backlog?status=pending`)).data.length === 1, {
      timeoutMs: 30_000,
      what: 'the item admitted',
    });
    await call('POST', `/api/v1/rooms/${room.id}/replies`, { text: 'go' });

    // The agent is waiting on the model: kill the worker now.
    await waitFor(() => llm.requests.length >= 1, { timeoutMs: 60_000, intervalMs: 10, what: 'the first agent call' });
    await kill(first.child, 'SIGKILL');
    expect(first.child.signalCode).toBe('SIGKILL');
    const killedAt = Date.now();

    const item = (await call('GET', `/api/v1/rooms/${room.id}/backlog`)).data[0];
    expect(item).toMatchObject({ eventId, definitionId, status: 'processing', result: null });

    const second = spawnEntry('worker', h.env);
    children.push(second);
    const done = await waitFor(
      async () => {
        const items = (await call('GET', `/api/v1/rooms/${room.id}/backlog`)).data;
        return items[0]?.status === 'done' || items[0]?.status === 'failed' ? items : null;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'the item to finish on the second worker' },
    );
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ id: item.id, status: 'done', result: 'answer after the crash', error: null });
    expect(agentCalls).toBe(2);
    // The activity heartbeats: its loss is noticed within the 10 s heartbeat timeout, far before the
    // 2-minute model timeout or the activity's 6-minute ceiling.
    expect(done[0].completedAt - killedAt).toBeLessThan(30_000);

    await waitFor(() => receiver.requests.length >= 1, { timeoutMs: 15_000, what: 'the room.agent.completed delivery' });
    // Counted once nothing more can run: a duplicate would be here by now.
    await quiesce(h, orgId);
    expect(receiver.requests).toHaveLength(1);
    expect(JSON.parse(receiver.requests[0].body)).toMatchObject({
      type: 'room.agent.completed',
      sessionId: room.id,
      data: { itemId: item.id, eventId, definitionId, result: 'answer after the crash' },
    });

    const chats = (await call('GET', `/api/v1/workspaces/${workspaceId}/chats`)).data;
    expect(chats).toHaveLength(1);
    const chat = await call('GET', `/api/v1/chats/${chats[0].id}`);
    expect(chat.messages.filter((m: any) => m.role === 'assistant').map((m: any) => m.content)).toEqual(['answer after the crash']);

    await kill(second.child, 'SIGTERM');
    expect(first.output() + second.output()).not.toMatch(/unhandled|TypeError|ReferenceError/i);
  } finally {
    await receiver.close();
  }
}, 150_000);

it('a worker SIGKILLed while the model judges a match: a new worker matches the event within seconds', async () => {
  const api = await orgApi(h);
  const { call } = api;
  const { room, token, definitions } = await roomFixture(api, {
    workspaceName: 'judge crash',
    room: { name: 'judge room', instructions: 'You judge.' },
    definitions: [{ name: 'refund request', description: 'a customer asks for their money back', priority: 1 }],
  });
  const definitionId = definitions['refund request'];
  // The first matcher call never answers in time; later ones pick the definition.
  let matcherCalls = 0;
  const before = llm.requests.length;
  llm.script(() =>
    ++matcherCalls === 1 ? { content: JSON.stringify({ definitionId, reason: 'too late' }), delayMs: 120_000 } : JSON.stringify({ definitionId, reason: 'asks for a refund' }),
  );
  const first = spawnEntry('worker', h.env);
  children.push(first);
  const { eventId } = (await postRoomEvent(h, token, { text: 'I want my money back' })).body as { eventId: string };
  await waitFor(() => llm.requests.length > before, { timeoutMs: 60_000, intervalMs: 10, what: 'the matcher call' });
  await kill(first.child, 'SIGKILL');
  const killedAt = Date.now();

  const second = spawnEntry('worker', h.env);
  children.push(second);
  const log = await waitFor(
    async () => {
      const entries = (await call('GET', `/api/v1/rooms/${room.id}/match-log`)).data;
      return entries.length === 1 ? entries : null;
    },
    { timeoutMs: 60_000, intervalMs: 200, what: 'the event matched on the second worker' },
  );
  expect(log[0]).toMatchObject({ eventId, matched: definitionId, reason: 'LLM: asks for a refund' });
  // Noticed by its missing heartbeats, not after the matcher activity's 6-minute ceiling.
  expect(log[0].at - killedAt).toBeLessThan(30_000);
  await kill(second.child, 'SIGTERM');
}, 150_000);

it('a worker lost three times over in one agent run: the lost attempts are not counted, the run ends done', async () => {
  const api = await orgApi(h);
  const { call } = api;
  const { room, token } = await roomFixture(api, {
    workspaceName: 'lost workers',
    room: { name: 'lost room', instructions: 'You outlive workers.' },
    definitions: [{ name: 'job', description: 'a job to do', priority: 1, rule: { path: 'type', equals: 'job' } }],
  });
  // The agent run's retry policy allows 3 attempts. Each of the first three is lost with its worker;
  // lost work is not the run's failure (as a database outage is not), so a fourth attempt answers.
  const LOSSES = 3;
  let agentCalls = 0;
  llm.script(() => (++agentCalls <= LOSSES ? { content: 'never heard', delayMs: 120_000 } : 'answer after three lost workers'));

  let worker = spawnEntry('worker', h.env);
  children.push(worker);
  await postRoomEvent(h, token, { type: 'job', data: { id: 'job_lost' } });
  await waitFor(async () => (await call('GET', `/api/v1/rooms/${room.id}/backlog?status=pending`)).data.length === 1, {
    timeoutMs: 30_000,
    what: 'the item admitted',
  });
  await call('POST', `/api/v1/rooms/${room.id}/replies`, { text: 'go' });
  for (let loss = 1; loss <= LOSSES; loss++) {
    await waitFor(() => agentCalls >= loss, { timeoutMs: 60_000, intervalMs: 10, what: `agent call ${loss}` });
    await kill(worker.child, 'SIGKILL');
    worker = spawnEntry('worker', h.env);
    children.push(worker);
  }
  const done = await waitFor(
    async () => {
      const items = (await call('GET', `/api/v1/rooms/${room.id}/backlog`)).data;
      return items[0]?.status === 'done' || items[0]?.status === 'failed' ? items : null;
    },
    { timeoutMs: 90_000, intervalMs: 200, what: 'the item to finish' },
  );
  expect(done[0]).toMatchObject({ status: 'done', result: 'answer after three lost workers', error: null });
  expect(agentCalls).toBe(LOSSES + 1);
  await kill(worker.child, 'SIGTERM');
}, 180_000);
