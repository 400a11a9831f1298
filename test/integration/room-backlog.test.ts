import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startFakeLlm, type FakeLlm, type FakeReply, type FakeRequest } from '../support/fake-llm.js';
import { orgApi, postRoomEvent, roomBacklog, roomFixture } from '../support/fixtures.js';
import { AT_ONCE_MS, quiesce, waitParked } from '../support/quiesce.js';
import { startReceiver } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';
import { roomSchedulerWorkflowId } from '../../src/flows/room-scheduler.js';
import { SCHEDULER_HISTORY_LIMIT } from '../../workflows/room-scheduler.js';

// The room backlog: the per-source cap, priority order, the scheduler's tick and triggerImmediate,
// and what a failing agent leaves behind.

let slow: Hookwise; // tick of an hour: only a reply or a channel message runs items
let fast: Hookwise; // tick of half a second
let llm: FakeLlm;

/** Agent answers per room, keyed by a marker in the room's instructions (the agent's system prompt). */
const agents = new Map<string, (req: FakeRequest) => FakeReply>();
const agentCalls = (marker: string) => llm.requests.filter((r) => String(r.messages[0]?.content).includes(marker));

beforeAll(async () => {
  llm = await startFakeLlm();
  llm.script((req) => {
    const system = String(req.messages[0]?.content ?? '');
    for (const [marker, answer] of agents) if (system.includes(marker)) return answer(req);
    return 'agent answer';
  });
  const env = { OPENAI_BASE_URL: llm.baseURL, HOOKWISE_LLM_TIMEOUT_MS: '2000' };
  slow = await startHookwise({ env: { ...env, HOOKWISE_ROOM_TICK_SECONDS: '3600' } });
  fast = await startHookwise({ env: { ...env, HOOKWISE_ROOM_TICK_SECONDS: '0.5' } });
});
afterAll(async () => {
  await fast?.stop();
  await slow?.stop();
  await llm?.close();
});

async function setup(hw: Hookwise, defs: Array<{ name: string; priority: number; type: string }>) {
  const api = await orgApi(hw);
  const marker = `room-marker-${randomUUID()}`;
  const room = await roomFixture(api, {
    workspaceName: 'backlog',
    room: { name: 'room', instructions: `You are ${marker}.` },
    definitions: defs.map((d) => ({ name: d.name, description: `an event of type ${d.type}`, priority: d.priority, rule: { path: 'type', equals: d.type } })),
  });
  return { ...api, hw, marker, workspaceId: room.workspaceId, roomId: room.roomId, sourceId: room.sourceId, token: room.token, ids: room.definitions };
}
type Setup = Awaited<ReturnType<typeof setup>>;

async function send(s: Setup, payload: object): Promise<string> {
  return (await postRoomEvent(s.hw, s.token, payload, { accepted: true })).body.eventId;
}

const backlog = (s: Setup, status?: string) => roomBacklog(s, s.roomId, status);

async function waitForItems(s: Setup, status: string, n: number, timeoutMs = 20_000, intervalMs = 50) {
  return waitFor(
    async () => {
      const b = await backlog(s, status);
      return b.data.length === n ? b : null;
    },
    { timeoutMs, intervalMs, what: `${n} ${status} item(s) in room ${s.roomId}` },
  );
}

/** The room's scheduler is running and waits on its tick timer, with nothing else to do. */
const waitSchedulerParked = (s: Setup) => waitParked(s.hw, roomSchedulerWorkflowId(s.roomId));

describe('admission', () => {
  it('caps pending items at 100 per source: of 150 concurrent matched events, 100 wait and 50 are dropped and counted', async () => {
    const s = await setup(slow, [{ name: 'ping', priority: 1, type: 'ping' }]);

    const acks = await Promise.all(Array.from({ length: 150 }, (_, i) => send(s, { type: 'ping', n: i })));
    expect(new Set(acks).size).toBe(150);

    const settled = await waitFor(
      async () => {
        const b = await backlog(s, 'pending');
        return b.depth[s.sourceId] + b.dropped[s.sourceId] === 150 ? b : null;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'all 150 events admitted or dropped' },
    );
    expect(settled.depth).toEqual({ [s.sourceId]: 100 });
    expect(settled.dropped).toEqual({ [s.sourceId]: 50 });
    expect(settled.data).toHaveLength(100);
    expect(settled.data.every((i: any) => i.status === 'pending' && i.sourceId === s.sourceId)).toBe(true);

    // Every one of the 150 was matched (the drops are silent to the sender, visible here) and none was run.
    const log = await s.call('GET', `/api/v1/rooms/${s.roomId}/match-log?limit=1000`);
    expect(log.data).toHaveLength(150);
    expect(log.data.every((e: any) => e.matched === s.ids.ping)).toBe(true);
    expect((await backlog(s)).data).toHaveLength(100);
    expect(agentCalls(s.marker)).toHaveLength(0);
    const source = (await s.call('GET', `/api/v1/rooms/${s.roomId}/event-sources`)).data[0];
    expect(source.droppedCount).toBe(50);
  }, 90_000);

  it('lists and runs pending items by priority (lower number first), oldest first within a priority', async () => {
    const s = await setup(slow, [
      { name: 'low', priority: 50, type: 'low' },
      { name: 'high', priority: 5, type: 'high' },
      { name: 'mid', priority: 20, type: 'mid' },
    ]);
    const sent: string[] = [];
    for (const type of ['low', 'mid', 'high', 'low', 'mid']) {
      sent.push(await send(s, { type, n: sent.length }));
      await waitForItems(s, 'pending', sent.length);
    }
    const pending = (await backlog(s, 'pending')).data;
    expect(pending.map((i: any) => i.eventId)).toEqual([sent[2], sent[1], sent[4], sent[0], sent[3]]);
    expect(pending.map((i: any) => i.priority)).toEqual([5, 20, 20, 50, 50]);
    expect(agentCalls(s.marker)).toHaveLength(0);

    await s.call('POST', `/api/v1/rooms/${s.roomId}/replies`, { text: 'run them' });
    const done = await waitForItems(s, 'done', 5);
    expect([...done.data].sort((a: any, b: any) => a.completedAt - b.completedAt).map((i: any) => i.eventId)).toEqual([
      sent[2],
      sent[1],
      sent[4],
      sent[0],
      sent[3],
    ]);
    // The agent saw them in that order too.
    const seen = agentCalls(s.marker).map((r) => JSON.parse(String(r.messages.at(-1).content).replace(/^Event [^\n]*\n/, '')).n);
    expect(seen).toEqual([2, 1, 4, 0, 3]);
  });
});

describe('the scheduler', () => {
  it('an admitted event waits for the next tick, even the first one, and the scheduler exists only while there is work', async () => {
    const s = await setup(slow, [{ name: 'wait', priority: 1, type: 'wait' }]);
    await send(s, { type: 'wait' });
    const [item] = (await waitForItems(s, 'pending', 1)).data;
    // The admission started the scheduler, and it waits on its hour-long tick instead of running at once:
    // with the event's own workflow done, nothing else can run the item before that tick.
    await quiesce(s.hw, s.orgId, { parked: [roomSchedulerWorkflowId(s.roomId)], leftPending: [item.id] });
    expect((await backlog(s, 'pending')).data).toHaveLength(1);
    expect(agentCalls(s.marker)).toHaveLength(0);
  });

  it('a short tick runs pending items with no reply, and the scheduler ends once the backlog is empty', async () => {
    const s = await setup(fast, [{ name: 'tick', priority: 1, type: 'tick' }]);
    const started = Date.now();
    const eventId = await send(s, { type: 'tick' });
    const done = await waitForItems(s, 'done', 1, 10_000);
    expect(done.data[0]).toMatchObject({ eventId, result: 'agent answer' });
    // Tick 0.5 s: well under the time anything else would have run it.
    expect(Date.now() - started).toBeLessThan(5_000);
    const handle = s.hw.temporal.client.workflow.getHandle(roomSchedulerWorkflowId(s.roomId));
    // An idle room keeps no workflow: the scheduler completes when its round finds nothing new.
    await handle.result();
    const history = await handle.fetchHistory();
    expect(history.events!.some((e) => e.timerFiredEventAttributes)).toBe(true);
    // Nothing but the admission signalled it: no triggerImmediate.
    const signals = history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes).map((e) => e.workflowExecutionSignaledEventAttributes!.signalName);
    expect(signals).toEqual(['backlogChanged']);

    // The next admission starts a new scheduler run, which runs it on its tick too.
    const next = await send(s, { type: 'tick' });
    const both = await waitForItems(s, 'done', 2, 10_000);
    expect(both.data.map((i: any) => i.eventId)).toContain(next);
  });

  it('a long round hands over to a new run past the history limit, and every item still runs once', async () => {
    const s = await setup(slow, [{ name: 'bulk', priority: 1, type: 'bulk' }]);
    const items = 95;
    // In groups of 10: this is about the round, not about admission under a burst (tested above).
    for (let i = 0; i < items; i += 10) {
      await Promise.all(Array.from({ length: Math.min(10, items - i) }, (_, j) => send(s, { type: 'bulk', n: i + j })));
    }
    await waitForItems(s, 'pending', items);
    await waitSchedulerParked(s);
    // One round over all of them, at once: about 6 history events per item, past the limit of 500.
    const reply = await s.hw.request('POST', `/api/v1/rooms/${s.roomId}/replies`, { key: s.key, body: { text: 'go', author: 'op' } });
    expect(reply.status, reply.text).toBe(202);
    await waitForItems(s, 'done', items, 120_000, 200);
    expect(agentCalls(s.marker)).toHaveLength(items);

    const runs = await waitFor(
      async () => {
        const found = [];
        for await (const w of s.hw.temporal.client.workflow.list({ query: `WorkflowId = '${roomSchedulerWorkflowId(s.roomId)}'` })) found.push(w);
        return found.length >= 2 ? found : null;
      },
      { timeoutMs: 20_000, what: 'the scheduler to have handed over to a second run' },
    );
    const closed = runs.filter((w) => w.status.name === 'CONTINUED_AS_NEW');
    expect(closed.length).toBeGreaterThanOrEqual(1);
    // Each run stopped near the limit: at most one batch of items (10 by default) past it.
    for (const w of closed) expect(w.historyLength).toBeLessThan(SCHEDULER_HISTORY_LIMIT + 100);
  }, 180_000);

  it('an agent that keeps failing: the item ends failed with an error, and room.agent.failed is delivered', async () => {
    const s = await setup(fast, [{ name: 'doomed', priority: 1, type: 'doomed' }]);
    const receiver = await startReceiver();
    try {
      await s.call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['room.agent.failed', 'room.agent.completed'] });
      agents.set(s.marker, () => ({ status: 500 }));
      const eventId = await send(s, { type: 'doomed' });

      const failed = await waitForItems(s, 'failed', 1, 30_000);
      const item = failed.data[0];
      expect(item).toMatchObject({ eventId, status: 'failed', result: null });
      expect(item.error).toEqual(expect.any(String));
      expect(item.error.length).toBeGreaterThan(0);
      // Retried (3 attempts) before giving up.
      expect(agentCalls(s.marker)).toHaveLength(3);

      await waitFor(() => receiver.requests.length >= 1, { timeoutMs: 15_000, what: 'the room.agent.failed delivery' });
      const delivered = JSON.parse(receiver.requests[0].body);
      expect(delivered).toMatchObject({
        type: 'room.agent.failed',
        sessionId: s.roomId,
        data: { roomId: s.roomId, itemId: item.id, eventId, definitionId: s.ids.doomed, error: item.error },
      });
      // Nothing completed, and the failure was announced once: counted once nothing more can run.
      await quiesce(s.hw, s.orgId);
      expect(receiver.requests.map((r) => JSON.parse(r.body).type)).toEqual(['room.agent.failed']);
    } finally {
      await receiver.close();
    }
  }, 60_000);

  it('POST /rooms/:id/replies stores the reply in the room chat and runs a pending item at once, not on the hour-long tick', async () => {
    const s = await setup(slow, [{ name: 'ask', priority: 1, type: 'ask' }]);
    let n = 0;
    agents.set(s.marker, () => `answer ${++n}`);
    // Admitted, it waits on the scheduler's hour-long tick.
    const first = await send(s, { type: 'ask', q: 1 });
    await waitForItems(s, 'pending', 1);
    await waitSchedulerParked(s);

    const replied = Date.now();
    const reply = await s.hw.request('POST', `/api/v1/rooms/${s.roomId}/replies`, {
      key: s.key,
      body: { text: 'please go on', author: 'Maria' },
    });
    expect(reply.status, reply.text).toBe(202);
    expect(reply.body).toMatchObject({ id: expect.any(String), chatId: expect.any(String), triggered: true });
    const done = await waitForItems(s, 'done', 1, 2 * AT_ONCE_MS, 20);
    const woken = done.data.find((i: any) => i.eventId === first);
    expect(woken).toMatchObject({ result: 'answer 1' });
    // Timed by the item's own timestamps, so the polling above doesn't count against it. Well under a
    // second on an idle machine; the bound only has to tell "at once" from the tick of an hour, on a
    // machine busy with the rest of the suite.
    expect(woken.completedAt - replied, `started after ${woken.startedAt - replied} ms`).toBeLessThan(AT_ONCE_MS);

    // With nothing left, the scheduler ended; a reply still starts one that runs what is pending at once.
    await s.hw.temporal.client.workflow.getHandle(roomSchedulerWorkflowId(s.roomId)).result();
    const second = await send(s, { type: 'ask', q: 2 });
    await waitForItems(s, 'pending', 1);
    const again = Date.now();
    await s.call('POST', `/api/v1/rooms/${s.roomId}/replies`, { text: 'and this one', author: 'Maria' });
    const both = await waitForItems(s, 'done', 2, 2 * AT_ONCE_MS, 20);
    const woken2 = both.data.find((i: any) => i.eventId === second);
    expect(woken2.completedAt - again).toBeLessThan(AT_ONCE_MS);

    const chats = (await s.call('GET', `/api/v1/workspaces/${s.workspaceId}/chats`)).data;
    expect(chats).toEqual([expect.objectContaining({ id: reply.body.chatId, roomId: s.roomId })]);
    const chat = await s.call('GET', `/api/v1/chats/${reply.body.chatId}`);
    expect(chat.messages.map((m: any) => [m.role, m.author, m.content])).toEqual([
      ['user', 'Maria', 'please go on'],
      ['assistant', 'agent', 'answer 1'],
      ['user', 'Maria', 'and this one'],
      ['assistant', 'agent', 'answer 2'],
    ]);
    // The agent's run had the reply in its conversation.
    expect(JSON.stringify(agentCalls(s.marker)[0].messages)).toContain('Maria: please go on');
  });
});
