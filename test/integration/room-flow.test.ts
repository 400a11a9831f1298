import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm.js';
import { startReceiver } from '../support/receiver.js';
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
  const { key } = await h.newOrg();
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await h.request(method, path, { key, body });
    expect(res.status, res.text).toBeLessThan(300);
    return res.body;
  };
  const receiver = await startReceiver();
  await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['room.agent.completed'] });
  const ws = await call('POST', '/api/v1/workspaces', { name: 'acme' });
  const room = await call('POST', `/api/v1/workspaces/${ws.id}/rooms`, { name: 'billing', instructions: 'You handle billing.' });
  const source = await call('POST', `/api/v1/rooms/${room.id}/event-sources`, { name: 'stripe' });
  expect(source.url).toMatch(new RegExp(`/webhooks/${source.token}$`));
  const paid = await call('POST', `/api/v1/event-sources/${source.id}/definitions`, {
    name: 'invoice paid',
    description: 'An invoice was paid',
    priority: 1,
    rule: { path: 'type', equals: 'invoice.paid' },
    instructions: 'Thank the customer.',
  });

  llm.script(() => 'Thanks for paying!');
  const ack = await fetch(new URL(`/webhooks/${source.token}`, h.baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'invoice.paid', data: { id: 'in_1' } }),
  });
  expect(ack.status).toBe(200);
  const ackBody = (await ack.json()) as { ok: boolean; eventId: string };
  expect(ackBody).toMatchObject({ ok: true });

  const log = await waitFor(async () => {
    const l = await call('GET', `/api/v1/rooms/${room.id}/match-log`);
    return l.data.length === 1 ? l : null;
  });
  expect(log.data[0]).toMatchObject({ eventId: ackBody.eventId, sourceId: source.id, matched: paid.id });
  expect(log.data[0].reason).toMatch(/rule matched: type = "invoice.paid"/);

  // Admitted, it waits for the room's tick (an hour here); a reply runs it at once.
  await waitFor(async () => (await call('GET', `/api/v1/rooms/${room.id}/backlog?status=pending`)).data.length === 1);
  await call('POST', `/api/v1/rooms/${room.id}/replies`, { text: 'please handle it' });
  const done = await waitFor(async () => {
    const b = await call('GET', `/api/v1/rooms/${room.id}/backlog?status=done`);
    return b.data.length === 1 ? b : null;
  });
  expect(done.data[0]).toMatchObject({ eventId: ackBody.eventId, definitionId: paid.id, result: 'Thanks for paying!' });
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
  await fetch(new URL(`/webhooks/${source.token}`, h.baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'invoice.paid', data: { id: 'in_2' } }),
  });
  await waitFor(async () => (await call('GET', `/api/v1/rooms/${room.id}/backlog?status=pending`)).data.length === 1);
  const replied = Date.now();
  await call('POST', `/api/v1/rooms/${room.id}/replies`, { text: 'go ahead' });
  const both = await waitFor(
    async () => {
      const b = await call('GET', `/api/v1/rooms/${room.id}/backlog?status=done`);
      return b.data.length === 2 ? b.data : null;
    },
    { timeoutMs: 5_000 },
  );
  // Timed by the item's own timestamps, so the polling above doesn't count against it.
  const second = both.find((i: any) => i.eventId !== ackBody.eventId);
  expect(second.completedAt - replied).toBeLessThan(1_000);
  await receiver.close();
});
