import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm.js';
import { orgApi, postGeneric, postRoomEvent, roomBacklog, roomFixture } from '../support/fixtures.js';
import { startReceiver } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';
import { VERSION } from '../../src/version.js';

// Records one finished run of each workflow, on the paths that matter, as the code stands. Run it
// before changing a workflow (`npm run histories:record`), commit the files, then change the code:
// test/unit/workflow-replay.test.ts replays every set ever recorded, so runs in flight at a deploy
// stay replayable. Each set goes to histories/<commit it was recorded at>/ and is never overwritten.

const COMMIT = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { encoding: 'utf8' }).trim();
const DIR = join(import.meta.dirname, 'histories', COMMIT);
let h: Hookwise;
let llm: FakeLlm;
const ONLY_A_MODEL = 'something only a model can tell';

beforeAll(async () => {
  llm = await startFakeLlm();
  llm.script((req) => {
    const system = String(req.messages[0]?.content ?? '');
    // The matcher's prompt lists the description-only definition; agents get a plain answer.
    if (system.includes(ONLY_A_MODEL)) return { content: JSON.stringify({ definitionId: null, reason: 'none fits' }) };
    return 'agent answer';
  });
  if (existsSync(DIR)) throw new Error(`${DIR} exists: histories of commit ${COMMIT} were recorded already (commit the change first)`);
  h = await startHookwise({ env: { OPENAI_BASE_URL: llm.baseURL, HOOKWISE_LLM_TIMEOUT_MS: '2000', HOOKWISE_ROOM_TICK_SECONDS: '0.5' } });
  await mkdir(DIR, { recursive: true });
});
afterAll(async () => {
  await h?.stop();
  await llm?.close();
});

/**
 * Waits for the workflow to finish and saves its history as `<name>.pb` (protobuf, what Temporal
 * stores), listed in index.json with its workflow id and the hookwise version that made it.
 */
async function save(name: string, workflowId: string): Promise<void> {
  const handle = h.temporal.client.workflow.getHandle(workflowId);
  // Workflows start after the sender's answer: wait for it to exist first.
  await waitFor(async () => (await handle.describe().then(() => true, () => false)), { what: `workflow ${workflowId}` });
  await handle.result();
  const history = await handle.fetchHistory();
  await writeFile(join(DIR, `${name}.pb`), temporal.api.history.v1.History.encode(history).finish());
  const indexFile = join(DIR, 'index.json');
  const index = JSON.parse(await readFile(indexFile, 'utf8').catch(() => '{}'));
  index[name] = { workflowId, workflowType: history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name, recordedWith: `${VERSION} (${COMMIT})` };
  await writeFile(indexFile, JSON.stringify(index, null, 2) + '\n');
}

/** The ids of the workflows of `type` started since `since`, once there are `n` of them (visibility lags behind starts). */
const listed = (type: string, since: Date, n: number, what: string) =>
  waitFor(async () => {
    const ids = await workflowIdsOf(type, since);
    return ids.length === n ? ids : null;
  }, { what });

async function workflowIdsOf(type: string, since: Date): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of h.temporal.client.workflow.list({ query: `WorkflowType = '${type}' AND StartTime > '${since.toISOString()}'` })) ids.push(w.workflowId);
  return ids;
}

it('deliveries: a first-try success and a delivery retried once', async () => {
  const api = await orgApi(h);
  const receiver = await startReceiver({ replies: [{ status: 200 }, { status: 500 }], fallback: { status: 200 } });
  try {
    const hook = await api.call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['*'], retryPolicy: { policy: 'fixed', attempts: 3, delaySeconds: 0.2 } });
    const first = await api.call('POST', '/api/v1/events', { type: 'order.paid', data: { n: 1 } });
    const firstDelivery = await api.call('GET', `/api/v1/deliveries/${first.deliveries[0]}`);
    await save('deliver-event-first-try', firstDelivery.workflowId);
    const second = await api.call('POST', '/api/v1/events', { type: 'order.paid', data: { n: 2 } });
    const secondDelivery = await api.call('GET', `/api/v1/deliveries/${second.deliveries[0]}`);
    await save('deliver-event-retried', secondDelivery.workflowId);
    expect(receiver.requests).toHaveLength(3);
    expect(hook.id).toEqual(expect.any(String));
  } finally {
    await receiver.close();
  }
});

it('a room: an event matched by a rule, one asked of the model, and the scheduler round that runs the item', async () => {
  const since = new Date();
  const api = await orgApi(h);
  const room = await roomFixture(api, {
    definitions: [
      { name: 'paid', priority: 1, rule: { path: 'type', equals: 'invoice.paid' } },
      { name: 'vague', priority: 2, description: ONLY_A_MODEL },
    ],
  });
  const ruled = await postRoomEvent(h, room.token, { type: 'invoice.paid' }, { accepted: true });
  await waitFor(async () => (await roomBacklog(api, room.roomId, 'done')).data.length === 1, { what: 'the item run' });
  const asked = await postRoomEvent(h, room.token, { type: 'something.else' }, { accepted: true });
  const events = await listed('ingestRoomEvent', since, 2, 'both room event workflows listed');
  const idOf = (eventId: string) => events.find((id) => id.endsWith(eventId))!;
  await save('ingest-room-event-rule', idOf(ruled.body.eventId));
  await save('ingest-room-event-llm', idOf(asked.body.eventId));
  const schedulers = await workflowIdsOf('roomScheduler', since);
  expect(schedulers).toHaveLength(1);
  await save('room-scheduler-round', schedulers[0]);
});

it('a generic event routed to an agent, and its agent run', async () => {
  const since = new Date();
  const api = await orgApi(h);
  const ws = await api.call('POST', '/api/v1/workspaces', { name: 'replay' });
  await api.call('POST', `/api/v1/workspaces/${ws.id}/agents`, { name: 'bot', instructions: 'Answer.', roles: ['webhook.billing.invoice_paid'] });
  await postGeneric(h, ws.id, { event: 'invoice.paid', amount: 7 }, { query: '?source=billing', accepted: true });
  const generic = await listed('ingestGenericEvent', since, 1, 'the generic event workflow');
  await save('ingest-generic-event', generic[0]);
  // Code before agents ran inside the event's workflow started a child per agent: keep its history too.
  const children = await workflowIdsOf('agentRun', since);
  if (children.length > 0) await save('agent-run', children[0]);
});
