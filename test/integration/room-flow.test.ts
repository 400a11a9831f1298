import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm.js';
import { orgApi, postRoomEvent, roomFixture, subscribeReceiver } from '../support/fixtures.js';
import { AT_ONCE_MS } from '../support/quiesce.js';
import { waitFor } from '../support/wait.js';

let h: Hookwise;
let llm: FakeLlm;
beforeAll(async () => {
  llm = await startFakeLlm();
  h = await startHookwise({
    env: {
      OPENAI_BASE_URL: llm.baseURL,
      HOOKWISE_ROOM_TICK_SECONDS: '3600',
      HOOKWISE_LLM_TIMEOUT_MS: '2000',
    },
  });
});
afterAll(async () => {
  await h.stop();
  await llm.close();
});

it('an inbound event is matched by rule, admitted, run by the agent on a reply, and emitted outbound', async () => {
  const api = await orgApi(h);
  const { call } = api;
  const { receiver } = await subscribeReceiver(api, { events: ['room.agent.completed'] });
  const { room, source, definitions } = await roomFixture(api, {
    workspaceName: 'acme',
    room: { name: 'billing', instructions: 'You handle billing.' },
    source: { name: 'stripe' },
    definitions: [
      { name: 'invoice paid', description: 'An invoice was paid', priority: 1, rule: { path: 'type', equals: 'invoice.paid' }, instructions: 'Thank the customer.' },
    ],
  });
  expect(source.url).toMatch(new RegExp(`/webhooks/${source.token}$`));
  const paidId = definitions['invoice paid'];

  llm.script(() => 'Thanks for paying!');
  const ack = await postRoomEvent(h, source.token, { type: 'invoice.paid', data: { id: 'in_1' } });
  expect(ack.status).toBe(200);
  const ackBody = ack.body as { ok: boolean; eventId: string };
  expect(ackBody).toMatchObject({ ok: true });

  const log = await waitFor(async () => {
    const l = await call('GET', `/api/v1/rooms/${room.id}/match-log`);
    return l.data.length === 1 ? l : null;
  });
  expect(log.data[0]).toMatchObject({ eventId: ackBody.eventId, sourceId: source.id, matched: paidId });
  expect(log.data[0].reason).toMatch(/rule matched: type = "invoice.paid"/);

  // Admitted, it waits for the room's tick (an hour here); a reply runs it at once.
  await waitFor(async () => (await call('GET', `/api/v1/rooms/${room.id}/backlog?status=pending`)).data.length === 1);
  await call('POST', `/api/v1/rooms/${room.id}/replies`, { text: 'please handle it' });
  const done = await waitFor(async () => {
    const b = await call('GET', `/api/v1/rooms/${room.id}/backlog?status=done`);
    return b.data.length === 1 ? b : null;
  });
  expect(done.data[0]).toMatchObject({ eventId: ackBody.eventId, definitionId: paidId, result: 'Thanks for paying!' });
  expect(done.depth).toEqual({ [source.id]: 0 });
  expect(done.dropped).toEqual({ [source.id]: 0 });
  const agentCall = llm.requests.at(-1)!;
  expect(agentCall.model).toBe('gpt-4o');
  expect(JSON.stringify(agentCall.messages)).toContain('You handle billing.');
  expect(JSON.stringify(agentCall.messages)).toContain('Thank the customer.');

  await waitFor(() => receiver.requests.length === 1);
  const emitted = JSON.parse(receiver.requests[0].body);
  expect(emitted).toMatchObject({ type: 'room.agent.completed', sessionId: room.id, data: { result: 'Thanks for paying!' } });

  // A second event waits for the tick too; another reply runs it at once.
  await postRoomEvent(h, source.token, { type: 'invoice.paid', data: { id: 'in_2' } });
  await waitFor(async () => (await call('GET', `/api/v1/rooms/${room.id}/backlog?status=pending`)).data.length === 1);
  const replied = Date.now();
  await call('POST', `/api/v1/rooms/${room.id}/replies`, { text: 'go ahead' });
  const both = await waitFor(
    async () => {
      const b = await call('GET', `/api/v1/rooms/${room.id}/backlog?status=done`);
      return b.data.length === 2 ? b.data : null;
    },
    { timeoutMs: 2 * AT_ONCE_MS },
  );
  // Timed by the item's own timestamps, so the polling above doesn't count against it.
  const second = both.find((i: any) => i.eventId !== ackBody.eventId);
  expect(second.completedAt - replied).toBeLessThan(AT_ONCE_MS);
  await receiver.close();
});

it('an item that ends while its agent waits on the model (its attempt taken for lost): the late answer writes nothing', async () => {
  const api = await orgApi(h);
  const { call } = api;
  const { workspaceId, room, token } = await roomFixture(api, {
    workspaceName: 'late answer',
    room: { name: 'late', instructions: 'You answer late.' },
    definitions: [{ name: 'job', description: 'a job', priority: 1, rule: { path: 'type', equals: 'job' } }],
  });
  // While the model "thinks", the item ends elsewhere, as failBacklogItem ends it when every attempt
  // was taken for lost while one still ran on a starved worker.
  llm.script(async () => {
    await h.db.query(`UPDATE backlog_items SET status = 'failed', error = 'ended elsewhere', completed_at = now() WHERE room_id = $1`, [room.id]);
    return { content: 'too late', delayMs: 300 };
  });
  const before = llm.requests.length;
  await postRoomEvent(h, token, { type: 'job' });
  await waitFor(async () => (await call('GET', `/api/v1/rooms/${room.id}/backlog?status=pending`)).data.length === 1);
  await call('POST', `/api/v1/rooms/${room.id}/replies`, { text: 'go' });
  // The round ends with the item: the scheduler closes once its attempt returned.
  await waitFor(() => llm.requests.length > before, { what: 'the agent call' });
  await h.temporal.client.workflow.getHandle(`room-scheduler:${room.id}`).result();

  const [item] = (await call('GET', `/api/v1/rooms/${room.id}/backlog`)).data;
  expect(item).toMatchObject({ status: 'failed', error: 'ended elsewhere', result: null });
  const chats = (await call('GET', `/api/v1/workspaces/${workspaceId}/chats`)).data;
  const chat = await call('GET', `/api/v1/chats/${chats[0].id}`);
  expect(chat.messages.map((m: any) => m.role)).toEqual(['user']);
  expect(llm.requests.length - before).toBe(1);
});
