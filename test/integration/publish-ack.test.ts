import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startReceiver } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';
import { START_DEADLINE_MS } from '../../src/temporal/client.js';

// Found by the fault drill (npm run drill): while Temporal was slow (history restarting, workers down,
// a saturated machine), POST /events took 4–8 s, because it waited for each delivery's workflow start
// (up to START_DEADLINE_MS) before answering, where the inbound routes answer once the row commits.
// Publishers with a 5–15 s timeout gave up and retried, and each retry published the event again
// under a new id: 33 of 206 events went out twice in a 500-event drill. The answer now comes after
// the commit; the starts follow, and recovery starts whatever they miss.

let h: Hookwise;
let slow: Hookwise;
const receivers: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  h = await startHookwise();
  // A second API on the same database whose Temporal never answers: every start runs out its deadline.
  slow = await startHookwise({ worker: false, env: { TEMPORAL_ADDRESS: '127.0.0.1:1' } });
});
afterAll(async () => {
  for (const r of receivers) await r.close();
  await slow?.stop();
  await h?.stop();
});

it('POST /events answers once the event is recorded, without waiting for Temporal; recovery delivers it', async () => {
  const { orgId, key } = await h.newOrg();
  const receiver = await startReceiver();
  receivers.push(receiver);
  const webhook = await h.request('POST', '/api/v1/webhooks', { key, body: { url: receiver.url, events: ['order.paid'] } });
  expect(webhook.status, webhook.text).toBe(201);

  const started = Date.now();
  const res = await slow.request('POST', '/api/v1/events', { key, body: { type: 'order.paid', data: { n: 1 } } });
  const tookMs = Date.now() - started;
  expect(res.status, res.text).toBe(202);
  expect(res.body.deliveries).toHaveLength(1);
  // Waiting for the start would take the whole deadline.
  expect(tookMs).toBeLessThan(START_DEADLINE_MS / 2);

  // Recorded, not started: the start after the answer gives up and leaves it to recovery.
  const { rows } = await h.db.query(`SELECT started_at FROM deliveries WHERE organization_id = $1`, [orgId]);
  expect(rows).toHaveLength(1);
  await waitFor(() => slow.logs.some((l) => l.includes(`delivery ${res.body.deliveries[0]}`) && l.includes('recovery will start it')), {
    timeoutMs: START_DEADLINE_MS + 10_000,
    what: 'the start to give up',
  });

  // What a worker's recovery loop does: the event reaches the receiver, once.
  await h.recover();
  await waitFor(() => receiver.requests.length >= 1, { what: 'the recovered delivery' });
  expect(JSON.parse(receiver.requests[0].body)).toMatchObject({ id: res.body.id, type: 'order.paid', data: { n: 1 } });
  const events = await h.db.query(`SELECT id FROM events WHERE organization_id = $1`, [orgId]);
  expect(events.rows).toHaveLength(1);
});
