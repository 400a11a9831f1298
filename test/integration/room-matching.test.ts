import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startFakeLlm, type FakeLlm, type FakeReply, type FakeRequest } from '../support/fake-llm.js';
import { matchLogEntry, orgApi, postRoomEvent, roomBacklog, roomFixture, type DefinitionSpec } from '../support/fixtures.js';
import { waitFor } from '../support/wait.js';
import { roomEventWorkflowId } from '../../src/flows/room-event.js';

// Matching an inbound room event to a definition: rules in priority order, then the LLM (fast tier)
// over the description-only definitions — with a real OpenAI client talking to a local fake server.

const LLM_TIMEOUT_MS = 1_000;

let h: Hookwise;
let noLlm: Hookwise;
let llm: FakeLlm;

/** Matcher answers per test, keyed by a definition id that appears in the matcher's prompt. */
const matchers = new Map<string, (req: FakeRequest) => FakeReply | Promise<FakeReply>>();
const promptText = (req: FakeRequest) => req.messages.map((m: any) => String(m.content)).join('\n');
/** The matcher requests that listed this definition. */
const matcherCalls = (defId: string) => llm.requests.filter((r) => r.messages[0]?.content?.includes(`"${defId}"`));

beforeAll(async () => {
  llm = await startFakeLlm();
  llm.script((req) => {
    const text = promptText(req);
    for (const [defId, answer] of matchers) if (text.includes(`"${defId}"`)) return answer(req);
    // Everything else is an agent run on an admitted item.
    return 'agent answer';
  });
  h = await startHookwise({
    env: { OPENAI_BASE_URL: llm.baseURL, HOOKWISE_LLM_TIMEOUT_MS: String(LLM_TIMEOUT_MS), HOOKWISE_ROOM_TICK_SECONDS: '3600' },
  });
  noLlm = await startHookwise({ env: { HOOKWISE_ROOM_TICK_SECONDS: '3600' } });
});
afterAll(async () => {
  await noLlm?.stop();
  await h?.stop();
  await llm?.close();
});

async function setup(hw: Hookwise, defs: DefinitionSpec[]) {
  const api = await orgApi(hw);
  const room = await roomFixture(api, { workspaceName: 'matching', definitions: defs });
  return { ...api, roomId: room.roomId, sourceId: room.sourceId, token: room.token, ids: room.definitions };
}
type Setup = Awaited<ReturnType<typeof setup>>;

async function send(s: Setup, payload: object): Promise<string> {
  return (await postRoomEvent(s.h, s.token, payload, { accepted: true })).body.eventId;
}

const logEntry = (s: Setup, eventId: string, timeoutMs?: number) => matchLogEntry(s, s.roomId, eventId, timeoutMs);

/** The event's ingest workflow outcome: once it is there, nothing more happens to the event. */
async function outcome(s: Setup, eventId: string) {
  return s.h.temporal.client.workflow.getHandle(roomEventWorkflowId(s.roomId, eventId)).result();
}

const backlogItems = (s: Setup) => roomBacklog(s, s.roomId);

const choose = (definitionId: string | null, reason: string, decidedBy?: string[]) => JSON.stringify({ definitionId, reason, decidedBy });

describe('matching with an LLM configured', () => {
  it('priority order decides, between rules and between a rule and an LLM-judged definition', async () => {
    const s = await setup(h, [
      { name: 'typed', priority: 5, rule: { path: 'type', equals: 'order.created' } },
      { name: 'has id', priority: 1, rule: { path: 'data.id', exists: true } },
      { name: 'described', priority: 3 },
    ]);
    let llmSays: string | null = null;
    matchers.set(s.ids.described, () => choose(llmSays, llmSays ? 'it is described' : 'not this one'));
    const eventId = await send(s, { type: 'order.created', data: { id: 'o_1' } });
    const entry = await logEntry(s, eventId);
    expect(entry).toMatchObject({ matched: s.ids['has id'], reason: 'rule matched: data.id exists' });
    expect(await outcome(s, eventId)).toMatchObject({ outcome: 'admitted', definitionId: s.ids['has id'] });
    // The top-priority rule matched: nothing ranked above it for the LLM to judge.
    expect(matcherCalls(s.ids.described)).toHaveLength(0);

    // Only the priority-5 rule matches this one, and `described` (priority 3) ranks above it: the LLM
    // judges `described` first, says no, so the rule wins.
    const second = await send(s, { type: 'order.created', data: {} });
    expect(await logEntry(s, second)).toMatchObject({ matched: s.ids.typed, reason: 'rule matched: type = "order.created"' });
    expect(matcherCalls(s.ids.described)).toHaveLength(1);

    // When the LLM says it is `described`, the higher-priority definition wins over the matching rule.
    llmSays = s.ids.described;
    const third = await send(s, { type: 'order.created', data: { other: true } });
    expect(await logEntry(s, third)).toMatchObject({ matched: s.ids.described, reason: 'LLM: it is described' });
  });

  it('description-only definitions go to the LLM fast tier, only they, in priority order; its choice is logged with the reason', async () => {
    const s = await setup(h, [
      { name: 'third', priority: 30, description: 'a refund was issued' },
      { name: 'never', priority: 2, rule: { path: 'type', equals: 'never.sent' } },
      { name: 'first', priority: 10, description: 'a new customer signed up' },
      { name: 'second', priority: 20, description: 'an invoice was paid' },
    ]);
    matchers.set(s.ids.first, () => choose(s.ids.second, 'the payload is a paid invoice'));
    const payload = { kind: 'invoice', state: 'paid', amount: 4200 };
    const eventId = await send(s, payload);

    const entry = await logEntry(s, eventId);
    expect(entry).toMatchObject({ sourceId: s.sourceId, matched: s.ids.second });
    expect(entry.reason).toBe('LLM: the payload is a paid invoice');

    const calls = matcherCalls(s.ids.first);
    expect(calls).toHaveLength(1);
    const [req] = calls;
    expect(req.model).toBe('gpt-4o-mini');
    const system: string = req.messages[0].content;
    expect(system).not.toContain(s.ids.never);
    const positions = [s.ids.first, s.ids.second, s.ids.third].map((id) => system.indexOf(`"${id}"`));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(JSON.stringify(req.messages.slice(1))).toContain('4200');

    expect(await outcome(s, eventId)).toMatchObject({ outcome: 'admitted', definitionId: s.ids.second });
    const items = (await backlogItems(s)).data;
    expect(items).toEqual([expect.objectContaining({ eventId, definitionId: s.ids.second, priority: 20 })]);
  });

  it('the LLM says no definition fits → logged as unmatched, nothing in the backlog', async () => {
    const s = await setup(h, [{ name: 'refund', priority: 1, description: 'a refund was issued' }]);
    matchers.set(s.ids.refund, () => choose(null, 'this is a shipping notice'));
    const eventId = await send(s, { type: 'shipment.sent' });

    const entry = await logEntry(s, eventId);
    expect(entry).toMatchObject({ matched: null });
    expect(entry.reason).toMatch(/LLM found no match: this is a shipping notice/);
    expect(await outcome(s, eventId)).toMatchObject({ outcome: 'no_match' });
    const backlog = await backlogItems(s);
    expect(backlog.data).toEqual([]);
    expect(backlog.depth).toEqual({ [s.sourceId]: 0 });
    expect(backlog.dropped).toEqual({ [s.sourceId]: 0 });
  });

  it('malformed LLM output is retried by Temporal until a good answer: eventually matched', async () => {
    const s = await setup(h, [{ name: 'signup', priority: 1, description: 'a new customer signed up' }]);
    let n = 0;
    matchers.set(s.ids.signup, () => {
      n++;
      if (n === 1) return 'Sure! The event is a signup.';
      if (n === 2) return choose('def_that_does_not_exist', 'made up');
      return '```json\n' + choose(s.ids.signup, 'a user registered') + '\n```';
    });
    const eventId = await send(s, { event: 'user.registered', user: { email: 'a@example.com' } });
    const entry = await logEntry(s, eventId, 30_000);
    expect(entry).toMatchObject({ matched: s.ids.signup, reason: 'LLM: a user registered' });
    expect(matcherCalls(s.ids.signup)).toHaveLength(3);
    expect(await outcome(s, eventId)).toMatchObject({ outcome: 'admitted' });
  });

  it('a request the model refuses for good (HTTP 400 context_length_exceeded) is not asked again: the rule below decides', async () => {
    const s = await setup(h, [
      { name: 'described', priority: 1, description: 'something only a model can tell' },
      { name: 'typed', priority: 2, rule: { path: 'type', equals: 'invoice.paid' } },
    ]);
    matchers.set(s.ids.described, () => ({
      status: 400,
      raw: JSON.stringify({
        error: { message: "This model's maximum context length is 128000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' },
      }),
    }));
    const eventId = await send(s, { type: 'invoice.paid', data: { id: 'in_1' } });
    expect(await logEntry(s, eventId, 30_000)).toMatchObject({ matched: s.ids.typed, reason: 'rule matched: type = "invoice.paid"' });
    expect(await outcome(s, eventId)).toMatchObject({ outcome: 'admitted', definitionId: s.ids.typed });
    expect(matcherCalls(s.ids.described)).toHaveLength(1);
  });

  it('the chosen definition deleted while the LLM judged: the event still settles, by the rules as they stand', async () => {
    const s = await setup(h, [{ name: 'doomed', priority: 1, description: 'an order was created' }]);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    matchers.set(s.ids.doomed, async () => {
      await released;
      return choose(s.ids.doomed, 'an order');
    });
    const eventId = await send(s, { type: 'order.created' });
    await waitFor(() => matcherCalls(s.ids.doomed).length === 1, { what: 'the matcher call' });
    // Well inside the client's timeout, so this very call answers with the deleted definition.
    await s.call('DELETE', `/api/v1/definitions/${s.ids.doomed}`, undefined, { status: 204 });
    release();
    const entry = await logEntry(s, eventId, 10_000);
    expect(entry).toMatchObject({ matched: null, reason: `definition ${s.ids.doomed} was deleted while the event was matched` });
    expect(await outcome(s, eventId)).toMatchObject({ outcome: 'no_match' });
  });

  it('a run terminated while the model judges is started again by recovery: the event is matched, not dropped', async () => {
    const s = await setup(h, [{ name: 'refund', priority: 1, description: 'a customer asks for a refund' }]);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // The first call waits until the test lets it go (after the run is gone); later ones answer at once.
    matchers.set(s.ids.refund, async () => {
      if (matcherCalls(s.ids.refund).length === 1) await released;
      return choose(s.ids.refund, 'asks for a refund');
    });
    const eventId = await send(s, { type: 'ticket.created', text: 'I want my money back' });
    await waitFor(() => matcherCalls(s.ids.refund).length === 1, { what: 'the matcher call' });
    // An operator terminates the run while the model judges: the event is started, not matched.
    await h.temporal.client.workflow.getHandle(roomEventWorkflowId(s.roomId, eventId)).terminate('terminated by the test');
    release();
    const row = async () => (await h.db.query(`SELECT workflow_started_at IS NOT NULL AS started, outcome FROM room_events WHERE id = $1`, [eventId])).rows[0];
    expect(await row()).toEqual({ started: true, outcome: null });

    // Recovery starts it again (it used to skip every started row), once.
    const pass = await h.recoverDetailed(0);
    expect(pass.started).toBeGreaterThanOrEqual(1);
    const entry = await logEntry(s, eventId, 20_000);
    expect(entry).toMatchObject({ matched: s.ids.refund });
    expect(await outcome(s, eventId)).toMatchObject({ outcome: 'admitted', definitionId: s.ids.refund });
    expect((await backlogItems(s)).data.map((i: any) => i.eventId)).toEqual([eventId]);
    expect(await row()).toEqual({ started: true, outcome: 'matched' });
    expect((await h.recoverDetailed(0)).started).toBe(0);
  });

  it('a slow LLM (past HOOKWISE_LLM_TIMEOUT_MS) is retried: still matched, the event is not lost', async () => {
    const s = await setup(h, [{ name: 'churn', priority: 1, description: 'a subscription was cancelled' }]);
    let n = 0;
    matchers.set(s.ids.churn, () => {
      n++;
      const answer = choose(s.ids.churn, 'subscription cancelled');
      return n === 1 ? { content: answer, delayMs: LLM_TIMEOUT_MS * 4 } : answer;
    });
    const eventId = await send(s, { type: 'customer.subscription.deleted', data: { object: { id: 'sub_1' } } });
    const entry = await logEntry(s, eventId, 30_000);
    expect(entry).toMatchObject({ matched: s.ids.churn, reason: 'LLM: subscription cancelled' });
    expect(matcherCalls(s.ids.churn).length).toBeGreaterThanOrEqual(2);
    expect(await outcome(s, eventId)).toMatchObject({ outcome: 'admitted', definitionId: s.ids.churn });
    const items = (await backlogItems(s)).data;
    expect(items.map((i: any) => i.eventId)).toEqual([eventId]);
  });

  it('the LLM answer is reused for the same shape and the same values at the fields it named; other values ask again', async () => {
    const s = await setup(h, [{ name: 'order', priority: 1, description: 'an order was created' }]);
    matchers.set(s.ids.order, (req) =>
      promptText(req).includes('order.created') ? choose(s.ids.order, 'an order', ['type']) : choose(null, 'not an order', ['type']),
    );
    const first = await send(s, { type: 'order.created', data: { id: 'o_1', amount: 5, customer: 'Ada' } });
    expect(await logEntry(s, first)).toMatchObject({ matched: s.ids.order, reason: 'LLM: an order' });
    const second = await send(s, { type: 'order.created', data: { id: 'o_2', amount: 7, customer: 'Grace' } });
    const cached = await logEntry(s, second);
    expect(cached).toMatchObject({ matched: s.ids.order });
    expect(cached.reason).toMatch(/cached LLM answer/);
    expect(matcherCalls(s.ids.order)).toHaveLength(1);

    const third = await send(s, { type: 'order.cancelled', data: { id: 'o_3', amount: 7, customer: 'Grace' } });
    expect(await logEntry(s, third)).toMatchObject({ matched: null });
    expect(matcherCalls(s.ids.order)).toHaveLength(2);
  });
  it('a value-dependent definition is never answered from another value: the cache keys on the fields the model named', async () => {
    const s = await setup(h, [{ name: 'big invoice', priority: 1, description: 'an invoice over 1,000' }]);
    matchers.set(s.ids['big invoice'], (req) => {
      const amount = JSON.parse(String(req.messages.at(-1).content).replace(/^Event payload:\n/, '')).data.amount;
      return amount > 1000 ? choose(s.ids['big invoice'], 'over 1,000', ['data.amount']) : choose(null, 'not over 1,000', ['data.amount']);
    });
    const invoice = (id: string, amount: number) => ({ type: 'invoice.created', data: { id, amount, customer: id } });
    const big = await send(s, invoice('i1', 1500));
    expect(await logEntry(s, big)).toMatchObject({ matched: s.ids['big invoice'] });
    // Same shape, another amount: asked again, and answered differently.
    const small = await send(s, invoice('i2', 20));
    expect(await logEntry(s, small)).toMatchObject({ matched: null });
    expect(matcherCalls(s.ids['big invoice'])).toHaveLength(2);
    // Same amounts as before (other ids and customers): both answered from the cache.
    const big2 = await send(s, invoice('i3', 1500));
    const small2 = await send(s, invoice('i4', 20));
    expect(await logEntry(s, big2)).toMatchObject({ matched: s.ids['big invoice'], reason: expect.stringMatching(/cached LLM answer/) });
    expect(await logEntry(s, small2)).toMatchObject({ matched: null, reason: expect.stringMatching(/cached LLM answer/) });
    expect(matcherCalls(s.ids['big invoice'])).toHaveLength(2);
  });

  it('an answer keyed on a path that resolves in no payload (a bracket path) is not reused for another value', async () => {
    const s = await setup(h, [{ name: 'big order', priority: 1, description: 'an order whose first line is over 1,000' }]);
    matchers.set(s.ids['big order'], (req) => {
      const amount = JSON.parse(String(req.messages.at(-1).content).replace(/^Event payload:\n/, '')).data.lines[0].amount;
      const decidedBy = ['data.lines[0].amount'];
      return amount > 1000 ? choose(s.ids['big order'], 'over 1,000', decidedBy) : choose(null, 'not over 1,000', decidedBy);
    });
    const order = (amount: number) => ({ type: 'order.created', data: { lines: [{ amount }] } });
    const big = await send(s, order(5000));
    expect(await logEntry(s, big)).toMatchObject({ matched: s.ids['big order'] });
    const small = await send(s, order(50));
    expect(await logEntry(s, small)).toMatchObject({ matched: null, reason: 'LLM found no match: not over 1,000' });
    expect(matcherCalls(s.ids['big order'])).toHaveLength(2);
  });

  it('an answer that names no deciding fields is reused only for an identical payload', async () => {
    const s = await setup(h, [{ name: 'refund', priority: 1, description: 'a message asking for a refund' }]);
    matchers.set(s.ids.refund, (req) => (String(req.messages.at(-1).content).includes('I want a refund') ? choose(s.ids.refund, 'asks for a refund') : choose(null, 'no')));
    const a = await send(s, { text: 'I want a refund' });
    expect(await logEntry(s, a)).toMatchObject({ matched: s.ids.refund });
    const b = await send(s, { text: 'thanks, all good' });
    expect(await logEntry(s, b)).toMatchObject({ matched: null });
    const again = await send(s, { text: 'I want a refund' });
    expect(await logEntry(s, again)).toMatchObject({ matched: s.ids.refund, reason: expect.stringMatching(/cached/) });
    expect(matcherCalls(s.ids.refund)).toHaveLength(2);
  });
});

describe('matching with HOOKWISE_LLM_MATCH_CACHE=false', () => {
  it('asks the model for every event, even one its cache would answer', async () => {
    const uncached = await startHookwise({
      env: { OPENAI_BASE_URL: llm.baseURL, HOOKWISE_LLM_TIMEOUT_MS: String(LLM_TIMEOUT_MS), HOOKWISE_ROOM_TICK_SECONDS: '3600', HOOKWISE_LLM_MATCH_CACHE: 'false' },
    });
    try {
      const s = await setup(uncached, [{ name: 'order', priority: 1, description: 'an order was created' }]);
      matchers.set(s.ids.order, () => choose(s.ids.order, 'an order', ['type']));
      for (const id of ['o_1', 'o_2']) {
        const eventId = await send(s, { type: 'order.created', data: { id } });
        expect(await logEntry(s, eventId)).toMatchObject({ matched: s.ids.order, reason: 'LLM: an order' });
      }
      expect(matcherCalls(s.ids.order)).toHaveLength(2);
    } finally {
      await uncached.stop();
    }
  });
});

describe('matching with no LLM configured', () => {
  it('rule definitions still match; description-only definitions are never guessed', async () => {
    const s = await setup(noLlm, [
      { name: 'described', priority: 1, description: 'anything at all' },
      { name: 'ruled', priority: 2, rule: { path: 'type', equals: 'rule.hit' } },
    ]);
    const hit = await send(s, { type: 'rule.hit' });
    expect(await logEntry(s, hit)).toMatchObject({ matched: s.ids.ruled, reason: 'rule matched: type = "rule.hit"' });
    expect(await outcome(s, hit)).toMatchObject({ outcome: 'admitted', definitionId: s.ids.ruled });

    const miss = await send(s, { type: 'other' });
    const entry = await logEntry(s, miss);
    expect(entry.matched).toBeNull();
    expect(entry.reason).toMatch(/no LLM configured/);
    expect(await outcome(s, miss)).toMatchObject({ outcome: 'no_match' });
  });

  it('a source with only description-only definitions logs "no LLM configured" and admits nothing', async () => {
    const s = await setup(noLlm, [
      { name: 'a', priority: 1, description: 'an invoice was paid' },
      { name: 'b', priority: 2, description: 'anything else' },
    ]);
    const eventId = await send(s, { type: 'invoice.paid' });
    const entry = await logEntry(s, eventId);
    expect(entry).toMatchObject({ matched: null });
    expect(entry.reason).toMatch(/no LLM configured/);
    expect(await outcome(s, eventId)).toMatchObject({ outcome: 'no_match' });
    expect((await backlogItems(s)).data).toEqual([]);
  });
});
