import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm.js';
import { startReceiver } from '../support/receiver.js';
import { kill, spawnEntry } from '../support/processes.js';
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
      // The agent activity's startToClose is this + 10 s: the lost attempt times out in 12 s.
      HOOKWISE_LLM_TIMEOUT_MS: '2000',
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
    const { key } = await h.newOrg();
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await h.request(method, path, { key, body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(300);
      return res.body;
    };
    await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['room.agent.completed', 'room.agent.failed'] });
    const ws = await call('POST', '/api/v1/workspaces', { name: 'crash' });
    const room = await call('POST', `/api/v1/workspaces/${ws.id}/rooms`, { name: 'crash room', instructions: 'You survive crashes.' });
    const source = await call('POST', `/api/v1/rooms/${room.id}/event-sources`, { name: 'source' });
    const def = await call('POST', `/api/v1/event-sources/${source.id}/definitions`, {
      name: 'job',
      description: 'a job to do',
      priority: 1,
      rule: { path: 'type', equals: 'job' },
    });

    // The first agent call never gets its answer in time; later ones are answered at once.
    let agentCalls = 0;
    llm.script(() => (++agentCalls === 1 ? { content: 'answer from the killed worker', delayMs: 120_000 } : 'answer after the crash'));

    const first = spawnEntry('worker', h.env);
    children.push(first);
    const ack = await fetch(`${h.baseUrl}/webhooks/${source.token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'job', data: { id: 'job_1' } }),
    });
    const { eventId } = (await ack.json()) as { eventId: string };
    expect(eventId).toEqual(expect.any(String));
    // Admitted, it waits for the room's hour-long tick: a reply runs it now.
    await waitFor(async () => (await call('GET', `/api/v1/rooms/${room.id}/backlog?status=pending`)).data.length === 1, {
      timeoutMs: 30_000,
      what: 'the item admitted',
    });
    await call('POST', `/api/v1/rooms/${room.id}/replies`, { text: 'go' });

    // The agent is waiting on the model: kill the worker now (well inside the 2 s LLM timeout).
    await waitFor(() => llm.requests.length >= 1, { timeoutMs: 60_000, intervalMs: 10, what: 'the first agent call' });
    await kill(first.child, 'SIGKILL');
    expect(first.child.signalCode).toBe('SIGKILL');

    const item = (await call('GET', `/api/v1/rooms/${room.id}/backlog`)).data[0];
    expect(item).toMatchObject({ eventId, definitionId: def.id, status: 'processing', result: null });

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

    await waitFor(() => receiver.requests.length >= 1, { timeoutMs: 15_000, what: 'the room.agent.completed delivery' });
    // Give a duplicate every chance to show up before counting.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(receiver.requests).toHaveLength(1);
    expect(JSON.parse(receiver.requests[0].body)).toMatchObject({
      type: 'room.agent.completed',
      sessionId: room.id,
      data: { itemId: item.id, eventId, definitionId: def.id, result: 'answer after the crash' },
    });

    const chats = (await call('GET', `/api/v1/workspaces/${ws.id}/chats`)).data;
    expect(chats).toHaveLength(1);
    const chat = await call('GET', `/api/v1/chats/${chats[0].id}`);
    expect(chat.messages.filter((m: any) => m.role === 'assistant').map((m: any) => m.content)).toEqual(['answer after the crash']);

    await kill(second.child, 'SIGTERM');
    expect(first.output() + second.output()).not.toMatch(/unhandled|TypeError|ReferenceError/i);
  } finally {
    await receiver.close();
  }
}, 150_000);
