import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwiseWithLlm, type Hookwise } from '../support/hookwise.js';
import type { FakeLlm } from '../support/fake-llm.js';
import {
  expectError,
  expectNoServerErrors,
  matchLogEntry,
  orgApi,
  postGeneric,
  postRoomEvent,
  roomBacklog,
  roomFixture,
  whileRoomEventRowsRefused,
  type OrgApi,
} from '../support/fixtures.js';
import { waitFor } from '../support/wait.js';
import { roomSchedulerWorkflowId } from '../../src/flows/room-scheduler.js';
import { roomEventWorkflowId } from '../../src/flows/room-event.js';
import { genericEventWorkflowId } from '../../src/flows/generic-event.js';

// Rooms, their event sources and definitions, and workspaces change after they are made: an admin
// edits a room's instructions or a definition's rule, renames things, and deletes what is no longer
// wanted, with the work in flight ending cleanly rather than retrying against rows that are gone.

let h: Hookwise;
let llm: FakeLlm;
let api: OrgApi;
let other: OrgApi;
let stop = async () => {};
beforeAll(async () => {
  ({ h, llm, stop } = await startHookwiseWithLlm(() => 'handled', { HOOKWISE_ROOM_TICK_SECONDS: '1' }));
  api = await orgApi(h);
  other = await orgApi(h);
});
afterAll(() => stop());

const agentRequestsWith = (text: string) => llm.requests.filter((r) => JSON.stringify(r.messages).includes(text));

describe('PATCH /rooms/:id', () => {
  it('changes name, instructions and model tier; the agent takes the new instructions from its next item', async () => {
    const r = await roomFixture(api, { room: { instructions: 'Old instructions A1.' }, definitions: [{ name: 'ticket', priority: 1, rule: { path: 'type', equals: 'ticket' } }] });
    await postRoomEvent(h, r.token, { type: 'ticket', n: 1 }, { accepted: true });
    await waitFor(async () => (await roomBacklog(api, r.roomId, 'done')).data.length === 1, { what: 'the first item done' });
    expect(agentRequestsWith('Old instructions A1.')).toHaveLength(1);

    const updated = await api.call('PATCH', `/api/v1/rooms/${r.roomId}`, { name: 'renamed', instructions: 'New instructions B2.', modelTier: 'fast' }, { status: 200 });
    expect(updated).toMatchObject({ id: r.roomId, name: 'renamed', instructions: 'New instructions B2.', modelTier: 'fast' });
    expect(await api.call('GET', `/api/v1/rooms/${r.roomId}`)).toMatchObject({ name: 'renamed', instructions: 'New instructions B2.', modelTier: 'fast' });

    await postRoomEvent(h, r.token, { type: 'ticket', n: 2 }, { accepted: true });
    await waitFor(async () => (await roomBacklog(api, r.roomId, 'done')).data.length === 2, { what: 'the second item done' });
    expect(agentRequestsWith('New instructions B2.')).toHaveLength(1);
    expect(agentRequestsWith('Old instructions A1.')).toHaveLength(1);

    // Only what is given changes; bad input and other orgs are refused.
    expect(await api.call('PATCH', `/api/v1/rooms/${r.roomId}`, { name: 'again' })).toMatchObject({ name: 'again', instructions: 'New instructions B2.' });
    expectError(await api.request('PATCH', `/api/v1/rooms/${r.roomId}`, { body: { instructions: '' } }), 422, 'validation_error');
    expectError(await api.request('PATCH', `/api/v1/rooms/${r.roomId}`, { body: { twilioAuthToken: 'x' } }), 422, 'validation_error');
    expectError(await other.request('PATCH', `/api/v1/rooms/${r.roomId}`, { body: { name: 'theirs' } }), 404, 'not_found');
    expect((await api.call('GET', `/api/v1/rooms/${r.roomId}`)).name).toBe('again');
  });
});

describe('PATCH /definitions/:id', () => {
  it('matching uses the changed rule from the next event on; null removes a rule; GET shows it', async () => {
    const r = await roomFixture(api, { definitions: [{ name: 'refund', priority: 1, rule: { path: 'type', equals: 'refund.requested' } }] });
    const id = r.definitions.refund;
    const first = await postRoomEvent(h, r.token, { type: 'refund.created' }, { accepted: true });
    expect((await matchLogEntry(api, r.roomId, first.body.eventId)).matched).toBeNull();

    const version = async () => (await h.db.query(`SELECT definitions_version AS v FROM event_sources WHERE id = $1`, [r.sourceId])).rows[0].v;
    const before = await version();
    const changed = await api.call('PATCH', `/api/v1/definitions/${id}`, { rule: { path: 'type', equals: 'refund.created' }, priority: 5, instructions: 'Refund it.' }, { status: 200 });
    expect(changed).toMatchObject({ id, name: 'refund', priority: 5, rule: { path: 'type', equals: 'refund.created' }, instructions: 'Refund it.' });
    // Earlier model answers for this source were given about the old definitions: no longer reused.
    expect(await version()).toBe(before + 1);

    const second = await postRoomEvent(h, r.token, { type: 'refund.created' }, { accepted: true });
    expect((await matchLogEntry(api, r.roomId, second.body.eventId)).matched).toBe(id);

    const cleared = await api.call('PATCH', `/api/v1/definitions/${id}`, { rule: null, instructions: null }, { status: 200 });
    expect(cleared).toMatchObject({ id, rule: null, instructions: null, description: 'the refund event' });
    expect(await api.call('GET', `/api/v1/definitions/${id}`, undefined, { status: 200 })).toEqual(cleared);

    expectError(await api.request('PATCH', `/api/v1/definitions/${id}`, { body: { rule: { path: 'type', bogus: 1 } } }), 422, 'validation_error');
    expectError(await api.request('PATCH', `/api/v1/definitions/${id}`, { body: { description: null } }), 422, 'validation_error');
    expectError(await other.request('PATCH', `/api/v1/definitions/${id}`, { body: { name: 'theirs' } }), 404, 'not_found');
    expectError(await other.request('GET', `/api/v1/definitions/${id}`), 404, 'not_found');
  });
});

describe('event sources', () => {
  it('PATCH renames; DELETE stops its URL at once and takes its definitions and events with it', async () => {
    const r = await roomFixture(api, { definitions: [{ name: 'any', priority: 1, rule: { path: 'type', exists: true } }] });
    expect(await api.call('PATCH', `/api/v1/event-sources/${r.sourceId}`, { name: 'helpdesk' }, { status: 200 })).toMatchObject({ id: r.sourceId, name: 'helpdesk' });
    expectError(await other.request('DELETE', `/api/v1/event-sources/${r.sourceId}`), 404, 'not_found');
    const sent = await postRoomEvent(h, r.token, { type: 'x' }, { accepted: true });
    await matchLogEntry(api, r.roomId, sent.body.eventId);

    await api.call('DELETE', `/api/v1/event-sources/${r.sourceId}`, undefined, { status: 204 });
    const after = await postRoomEvent(h, r.token, { type: 'x' });
    expect(after.status).toBe(200);
    expect(after.body.ok).toBe(false);
    expect((await api.call('GET', `/api/v1/rooms/${r.roomId}/event-sources`)).data).toEqual([]);
    expectError(await api.request('GET', `/api/v1/event-sources/${r.sourceId}/definitions`), 404, 'not_found');
    expectError(await api.request('GET', `/api/v1/definitions/${r.definitions.any}`), 404, 'not_found');
    expect((await h.db.query(`SELECT count(*)::int AS n FROM room_events WHERE source_id = $1`, [r.sourceId])).rows[0].n).toBe(0);
    expectError(await api.request('DELETE', `/api/v1/event-sources/${r.sourceId}`), 404, 'not_found');
  });
});

describe('DELETE /rooms/:id', () => {
  it('with items waiting and its scheduler running: the scheduler ends (completed), nothing is left, the sibling room goes on', async () => {
    const workspaceId = (await api.create('/api/v1/workspaces', { name: 'two rooms' })).id;
    const spec = { definitions: [{ name: 'any', priority: 1, rule: { path: 'type', exists: true } }] };
    const doomed = await roomFixture(api, { workspaceId, ...spec });
    const sibling = await roomFixture(api, { workspaceId, ...spec });
    // The agent is slow, so items wait in the backlog while the scheduler works through them.
    llm.script(() => ({ content: 'slowly handled', delayMs: 1_500 }));
    try {
      for (let i = 0; i < 3; i++) await postRoomEvent(h, doomed.token, { type: 'job', i }, { accepted: true });
      await waitFor(async () => (await roomBacklog(api, doomed.roomId, 'processing')).data.length > 0, { what: 'an item in the agent' });
      const scheduler = h.temporal.client.workflow.getHandle(roomSchedulerWorkflowId(doomed.roomId));
      expect((await scheduler.describe()).status.name).toBe('RUNNING');

      expectError(await other.request('DELETE', `/api/v1/rooms/${doomed.roomId}`), 404, 'not_found');
      await api.call('DELETE', `/api/v1/rooms/${doomed.roomId}`, undefined, { status: 204 });

      await waitFor(async () => (await scheduler.describe()).status.name !== 'RUNNING', { timeoutMs: 30_000, what: 'the scheduler to end' });
      expect((await scheduler.describe()).status.name).toBe('COMPLETED');
      expectError(await api.request('GET', `/api/v1/rooms/${doomed.roomId}`), 404, 'not_found');
      expect((await postRoomEvent(h, doomed.token, { type: 'job' })).body.ok).toBe(false);
      for (const table of ['event_sources', 'room_events', 'backlog_items', 'chats']) {
        const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM ${table} WHERE room_id = $1`, [doomed.roomId]);
        expect(rows[0].n, table).toBe(0);
      }

      await postRoomEvent(h, sibling.token, { type: 'job' }, { accepted: true });
      await waitFor(async () => (await roomBacklog(api, sibling.roomId, 'done')).data.length === 1, { timeoutMs: 30_000, what: 'the sibling room’s item' });
    } finally {
      llm.script(() => 'handled');
    }
    expectNoServerErrors(h);
  });
});

describe('concurrent changes', () => {
  /** Whether a statement of the API like `pattern` is waiting for a lock. */
  const waitingOnLock = async (pattern: string) =>
    (await h.db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [pattern])).rows[0].n > 0;

  it('DELETE /workspaces/:id while a room is being created in it: the room counts (409), it is not deleted with the workspace', async () => {
    const workspaceId = (await api.create('/api/v1/workspaces', { name: 'racing' })).id;
    const creating = await h.db.connect();
    try {
      // A room's insert, not yet committed (as POST /workspaces/:id/rooms is between its insert and its commit).
      await creating.query('BEGIN');
      await creating.query(`INSERT INTO rooms (id, organization_id, workspace_id, name, instructions, model_tier) VALUES ($1, $2, $3, 'new', 'Do.', 'smart')`, [
        `room_race${Date.now()}`,
        api.orgId,
        workspaceId,
      ]);
      const deleting = api.request('DELETE', `/api/v1/workspaces/${workspaceId}`);
      await waitFor(() => waitingOnLock('%FROM workspaces%FOR UPDATE%'), { what: 'the delete to wait for the insert' });
      await creating.query('COMMIT');
      const answer = await deleting;
      expectError(answer, 409, 'conflict');
      expect(answer.body.error.details).toEqual({ rooms: 1, agents: 0 });
      expect((await h.db.query(`SELECT count(*)::int AS n FROM rooms WHERE workspace_id = $1`, [workspaceId])).rows[0].n).toBe(1);
    } finally {
      await creating.query('ROLLBACK').catch(() => undefined);
      creating.release();
    }
  });

  it('PATCH /definitions/:id while its source is being deleted: they wait for each other (404), no deadlock', async () => {
    const r = await roomFixture(api, { definitions: [{ name: 'd', priority: 1, rule: { path: 'type', equals: 'x' } }] });
    const deleting = await h.db.connect();
    try {
      // The order a source's delete takes its locks: the source, then (by the cascade) its definitions.
      await deleting.query('BEGIN');
      await deleting.query(`SELECT 1 FROM event_sources WHERE id = $1 FOR UPDATE`, [r.sourceId]);
      const patching = api.request('PATCH', `/api/v1/definitions/${r.definitions.d}`, { body: { name: 'renamed' } });
      await waitFor(() => waitingOnLock('%event_definitions%'), { what: 'the patch to wait' });
      await deleting.query(`DELETE FROM event_definitions WHERE id = $1`, [r.definitions.d]);
      await deleting.query(`DELETE FROM event_sources WHERE id = $1`, [r.sourceId]);
      await deleting.query('COMMIT');
      expectError(await patching, 404, 'not_found');
    } finally {
      await deleting.query('ROLLBACK').catch(() => undefined);
      deleting.release();
    }
    expectNoServerErrors(h);
  });
});

describe('events of a deleted room or source', () => {
  const resultOf = (roomId: string, eventId: string) => h.temporal.client.workflow.getHandle(roomEventWorkflowId(roomId, eventId)).result();

  it('events the model is still judging when their room is deleted end as deleted (they ended as a model refusal: "LLM can\'t judge this event")', async () => {
    const r = await roomFixture(api, { definitions: [{ name: 'refund', priority: 1, description: 'a customer asks for money back' }] });
    const judging = new Set<string>();
    llm.script((req) => {
      const text = JSON.stringify(req.messages);
      if (!text.includes('money back')) return 'handled';
      judging.add(text);
      return { content: JSON.stringify({ definitionId: r.definitions.refund, reason: 'asks for a refund', decidedBy: ['text'] }), delayMs: 1_500 };
    });
    try {
      const sent = [];
      for (const text of ['refund please', 'give it back']) sent.push((await postRoomEvent(h, r.token, { text }, { accepted: true })).body.eventId as string);
      await waitFor(() => judging.size >= 1, { what: 'the model judging' });
      await api.call('DELETE', `/api/v1/rooms/${r.roomId}`, undefined, { status: 204 });
      for (const eventId of sent) {
        expect(await resultOf(r.roomId, eventId)).toEqual({ outcome: 'deleted', eventId, reason: 'the event was deleted with its room or event source' });
      }
    } finally {
      llm.script(() => 'handled');
    }
  });

  it('an event whose only record was its workflow (PostgreSQL refused the row) and whose source is then deleted ends as deleted, not retried forever', async () => {
    const r = await roomFixture(api, { definitions: [{ name: 'any', priority: 1, rule: { path: 'type', exists: true } }] });
    const eventId = await whileRoomEventRowsRefused(h, r.sourceId, async () => {
      const sent = (await postRoomEvent(h, r.token, { type: 'x' }, { accepted: true })).body.eventId as string;
      await api.call('DELETE', `/api/v1/event-sources/${r.sourceId}`, undefined, { status: 204 });
      return sent;
    });
    // Its next try meets the foreign key of a source that is gone.
    expect(await resultOf(r.roomId, eventId)).toMatchObject({ outcome: 'deleted', eventId });
  }, 60_000);
});

describe('workspaces', () => {
  it('PATCH renames; DELETE refuses while rooms or agents remain (409 with counts), then deletes and its ingress stops', async () => {
    const r = await roomFixture(api, { workspaceName: 'to go' });
    const workspaceId = r.workspaceId;
    const agent = await api.create(`/api/v1/workspaces/${workspaceId}/agents`, { name: 'a', instructions: 'Do.', roles: ['webhook.x.y'] });
    expect(await api.call('PATCH', `/api/v1/workspaces/${workspaceId}`, { name: 'renamed' }, { status: 200 })).toMatchObject({ id: workspaceId, name: 'renamed' });
    expectError(await api.request('PATCH', `/api/v1/workspaces/${workspaceId}`, { body: { name: '' } }), 422, 'validation_error');
    expectError(await other.request('PATCH', `/api/v1/workspaces/${workspaceId}`, { body: { name: 'theirs' } }), 404, 'not_found');

    const refused = await api.request('DELETE', `/api/v1/workspaces/${workspaceId}`);
    expectError(refused, 409, 'conflict');
    expect(refused.body.error.details).toEqual({ rooms: 1, agents: 1 });
    await api.call('DELETE', `/api/v1/rooms/${r.roomId}`, undefined, { status: 204 });
    expect((await api.request('DELETE', `/api/v1/workspaces/${workspaceId}`)).body.error.details).toEqual({ rooms: 0, agents: 1 });
    await api.call('DELETE', `/api/v1/agents/${agent.id}`, undefined, { status: 204 });

    await postGeneric(h, workspaceId, { hello: 'before' }, { query: { source: 'x', event_type: 'y' }, accepted: true });
    expectError(await other.request('DELETE', `/api/v1/workspaces/${workspaceId}`), 404, 'not_found');
    await api.call('DELETE', `/api/v1/workspaces/${workspaceId}`, undefined, { status: 204 });
    expectError(await api.request('GET', `/api/v1/workspaces/${workspaceId}`), 404, 'not_found');
    expect((await postGeneric(h, workspaceId, { hello: 'after' }, { query: { source: 'x', event_type: 'y' } })).status).toBe(404);
    expectError(await api.request('DELETE', `/api/v1/workspaces/${workspaceId}`), 404, 'not_found');
  });

  it('a generic event accepted just before its workspace is deleted: its workflow ends completed with nothing to do (it failed before)', async () => {
    const workspaceId = (await api.create('/api/v1/workspaces', { name: 'short-lived' })).id;
    await h.stopWorker();
    try {
      await postGeneric(h, workspaceId, { hello: 'last' }, { query: { source: 'x', event_type: 'y', dedupe_key: 'last-one' }, accepted: true });
      await api.call('DELETE', `/api/v1/workspaces/${workspaceId}`, undefined, { status: 204 });
    } finally {
      await h.startWorker();
    }
    const result = await h.temporal.client.workflow.getHandle(genericEventWorkflowId(workspaceId, 'last-one', '')).result();
    expect(result).toMatchObject({ agentRuns: 0 });
  });
});
