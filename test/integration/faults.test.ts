import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { orgApi, postGeneric, postRoomEvent, roomFixture } from '../support/fixtures.js';
import { startFakeLlm } from '../support/fake-llm.js';
import { startReceiver } from '../support/receiver.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { kill, spawnEntry } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { createPool, withTransaction } from '../../src/db/pool.js';
import { createEventFeed } from '../../src/stream/event-feed.js';
import { newId } from '../../src/domain/ids.js';
import { roomEventWorkflowId } from '../../src/flows/room-event.js';
import { genericEventWorkflowId } from '../../src/flows/generic-event.js';
import { recoverUnstarted, recoveryPass } from '../../src/temporal/recovery.js';
import { engineBacklogSeconds } from '../../src/temporal/backlog.js';

// The defects a fault drill and a code review found, each with the test that keeps it out: processes
// ride out their dependencies, recovery survives poisoned rows, settings are read when they are used,
// payloads stay out of workflow history, and slow stream clients cannot make the API buffer.

let h: Hookwise;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  h = await startHookwise();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await h?.stop();
});

/** A proxy in front of the test's PostgreSQL that a test can cut, and the database URL through it. */
async function databaseProxy() {
  const db = new URL(h.config.DATABASE_URL);
  const proxy = await startTcpProxy({ host: db.hostname, port: Number(db.port || 5432) });
  cleanups.push(() => proxy.close());
  const viaProxy = new URL(db);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  return { proxy, viaProxy };
}

describe('PostgreSQL unreachable', () => {
  it('answers 503 unavailable, never 500, on the authenticated API and on both ingress routes', async () => {
    const down = await startHookwise({ worker: false, env: { DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:1/none' } });
    cleanups.push(() => down.stop());
    const events = await down.request('POST', '/api/v1/events', { key: 'hw_some_key', body: { type: 't', data: {} } });
    expect(events.status, events.text).toBe(503);
    expect(events.body.error.code).toBe('unavailable');
    const generic = await down.request('POST', '/api/v1/webhooks/generic/ws_x', { body: { a: 1 } });
    expect(generic.status, generic.text).toBe(503);
    expect(generic.body.error.code).toBe('unavailable');
    const token = await down.request('POST', '/webhooks/some-token', { body: { a: 1 } });
    expect(token.status, token.text).toBe(503);
    expect(down.logs.join('\n')).not.toMatch(/internal_error|at .*\.ts:\d+/);
  });

  it('/readyz answers 503 within seconds when PostgreSQL takes connections but never answers', async () => {
    // A black hole: the port accepts, nothing ever comes back (the pool would wait 30 s to connect).
    const held = new Set<net.Socket>();
    const silent = net.createServer((s) => void held.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const down = await startHookwise({ worker: false, env: { DATABASE_URL: `postgres://nobody:nothing@127.0.0.1:${(silent.address() as net.AddressInfo).port}/none` } });
    cleanups.push(async () => {
      for (const s of held) s.destroy();
      silent.close();
      await down.stop();
    });
    const askedAt = Date.now();
    const ready = await down.request('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ ok: false, postgres: false });
    // Within an orchestrator's probe timeout (5 s in docker-compose.yml), not the pool's 30 s.
    expect(Date.now() - askedAt).toBeLessThan(5_000);
  });

  it('a connection lost inside a transaction fails that transaction and nothing else', async () => {
    const db = createPool(h.config.DATABASE_URL, 2);
    try {
      // The server ends the connection mid-transaction, as a PostgreSQL restart does; the client then
      // emits 'error', which must not become an uncaught exception that kills the process.
      await expect(withTransaction(db, (tx) => tx.query('SELECT pg_terminate_backend(pg_backend_pid())'))).rejects.toThrow();
      // A sleep on purpose: the client's 'error' comes asynchronously, and an uncaught one would end the run.
      await new Promise((r) => setTimeout(r, 200));
      // The pool threw the broken connection away and serves the next caller.
      expect((await db.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    } finally {
      await db.end();
    }
  });
});

describe('PostgreSQL away during work', () => {
  it('an agent run outlasts a database outage longer than its retries: it ends done, never failed', async () => {
    // The worker reaches PostgreSQL through a proxy the test cuts while the model is answering, for
    // longer than the agent run's bounded retries (1 s, then 2 s) last, and for two rounds of them.
    const { proxy, viaProxy } = await databaseProxy();
    let cutAt = 0;
    const llm = await startFakeLlm();
    cleanups.push(() => llm.close());
    llm.script(() => {
      if (!cutAt) {
        cutAt = Date.now();
        proxy.cut();
        setTimeout(() => proxy.restore(), 20_000);
      }
      return { content: 'noted', delayMs: 200 };
    });
    const split = await startHookwise({
      env: { OPENAI_BASE_URL: llm.baseURL, HOOKWISE_RECOVERY_INTERVAL_SECONDS: '3600' },
      workerEnv: { DATABASE_URL: viaProxy.toString() },
    });
    cleanups.push(() => split.stop());
    const { orgId, call } = await orgApi(split);
    const ws = await call('POST', '/api/v1/workspaces', { name: 'outage' });
    const agent = await call('POST', `/api/v1/workspaces/${ws.id}/agents`, { name: 'a', instructions: 'Note it.', roles: ['webhook.stripe.payment_succeeded'] });
    await postGeneric(split, ws.id, { id: 'pi_outage', type: 'payment.succeeded' }, { query: '?source=stripe', accepted: true });

    const run = await waitFor(
      async () => (await h.db.query(`SELECT status, answer FROM agent_runs WHERE agent_id = $1 AND status <> 'queued'`, [agent.id])).rows[0],
      { timeoutMs: 60_000, what: 'the agent run to end' },
    );
    expect(cutAt).toBeGreaterThan(0);
    expect(run).toEqual({ status: 'done', answer: 'noted' });
    expect(Number((await h.db.query(`SELECT count(*) AS n FROM events WHERE organization_id = $1 AND type = 'agent.run.failed'`, [orgId])).rows[0].n)).toBe(0);

    // Between rounds it waited, longer each time (a fixed pause ran a day-long outage into Temporal's
    // history limit): 5 s, then 10 s.
    const inbox = (await h.db.query(`SELECT id, dedupe_key FROM event_inbox WHERE workspace_id = $1`, [ws.id])).rows[0];
    const history = await split.temporal.client.workflow.getHandle(genericEventWorkflowId(ws.id, inbox.dedupe_key, inbox.id)).fetchHistory();
    const pauses = history.events!.flatMap((e) => (e.timerStartedEventAttributes ? [Number(e.timerStartedEventAttributes.startToFireTimeout!.seconds)] : []));
    expect(pauses).toEqual([5, 10]);
  }, 90_000);

  it('a delivery outlasts a database outage longer than its attempt’s retries: it waits between rounds, then succeeds', async () => {
    // The worker reaches PostgreSQL through a proxy the test cuts while the first POST is answered, so
    // the attempt cannot record its result, for longer than the attempt's own retries (1, 2, 4 s) last.
    const { proxy, viaProxy } = await databaseProxy();
    // The first answer takes 3 s: the proxy is cut well before the attempt records it.
    const receiver = await startReceiver({ replies: [{ status: 200, delayMs: 3_000 }], fallback: { status: 200 } });
    cleanups.push(() => receiver.close());
    const split = await startHookwise({ env: { HOOKWISE_RECOVERY_INTERVAL_SECONDS: '3600' }, workerEnv: { DATABASE_URL: viaProxy.toString() } });
    cleanups.push(() => split.stop());
    const { call } = await orgApi(split);
    await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['outage.test'] });
    const published = await call('POST', '/api/v1/events', { type: 'outage.test', data: {} });
    await waitFor(() => receiver.requests.length === 1, { what: 'the first POST' });
    proxy.cut();
    setTimeout(() => proxy.restore(), 20_000);

    const delivered = await waitFor(
      async () => {
        const d = await call('GET', `/api/v1/deliveries/${published.deliveries[0]}`);
        return d.status === 'succeeded' ? d : null;
      },
      { timeoutMs: 60_000, what: 'the delivery to succeed after the outage' },
    );
    // The POST whose result could not be recorded counts as lost and is sent again (at least once).
    expect(delivered.attempts.map((a: { status: string }) => a.status)).toEqual(['lost', 'succeeded']);
    expect(receiver.requests).toHaveLength(2);
    // Between rounds it waited in the workflow, longer each time, instead of retrying inside its
    // workflow task without end (which holds the task and, past Temporal's limit, loses it).
    const history = await split.temporal.client.workflow.getHandle(delivered.workflowId).fetchHistory();
    const pauses = history.events!.flatMap((e) => (e.timerStartedEventAttributes ? [Number(e.timerStartedEventAttributes.startToFireTimeout!.seconds)] : []));
    expect(pauses.length).toBeGreaterThanOrEqual(1);
    expect(pauses).toEqual([5, 10, 20].slice(0, pauses.length));
  }, 90_000);
});

describe('Temporal unreachable at start', () => {
  it('a worker started while Temporal is down waits, then connects and works once it is up', async () => {
    // A port that leads nowhere until the proxy behind it opens.
    const [host, port] = h.config.TEMPORAL_ADDRESS.split(':');
    const proxy = await startTcpProxy({ host, port: Number(port) }, { cut: true });
    cleanups.push(() => proxy.close());
    const child = spawnEntry('worker', { ...h.env, TEMPORAL_ADDRESS: `127.0.0.1:${proxy.port}` });
    cleanups.push(() => kill(child.child));
    await waitFor(() => /not reachable/.test(child.output()), { timeoutMs: 30_000, what: 'the worker to report Temporal unreachable' });
    // A sleep on purpose: what is proved is that the worker stays alive while Temporal stays down.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(child.child.exitCode, child.output()).toBeNull();

    await h.stopWorker();
    proxy.restore();

    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const { call } = await orgApi(h);
    await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['*'] });
    await call('POST', '/api/v1/events', { type: 'after.outage', data: {} });
    // Only the spawned worker polls this task queue now.
    await waitFor(() => receiver.requests.length === 1, { timeoutMs: 45_000, what: 'the delivery by the late worker' });
    expect(child.child.exitCode).toBeNull();
    await h.startWorker();
  }, 90_000);
});

describe('recovery', () => {
  it('a row Temporal refuses for good is marked and skipped; the rows behind it are started', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const { orgId, call } = await orgApi(h);
    const webhook = await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['*'] });
    // Recorded while Temporal was away: the oldest has a workflow id no engine accepts.
    const rows: Array<{ delivery: string; workflowId: string }> = [];
    for (let i = 0; i < 4; i++) {
      const eventId = newId('evt');
      const body = JSON.stringify({ id: eventId, type: 'recovered', timestamp: Date.now(), organizationId: orgId, data: { i } });
      await h.db.query(`INSERT INTO events (id, organization_id, type, body) VALUES ($1, $2, 'recovered', $3)`, [eventId, orgId, body]);
      const delivery = newId('dlv');
      const workflowId = i === 0 ? `deliver:${eventId}:${'x'.repeat(2000)}` : `deliver:${webhook.id}:${eventId}`;
      await h.db.query(
        `INSERT INTO deliveries (id, organization_id, webhook_id, event_id, workflow_id, created_at)
         VALUES ($1, $2, $3, $4, $5, now() - make_interval(mins => 10 - $6))`,
        [delivery, orgId, webhook.id, eventId, workflowId, i],
      );
      rows.push({ delivery, workflowId });
    }

    const first = await h.recoverDetailed();
    expect(first).toMatchObject({ started: 3, refused: 1 });
    await waitFor(() => receiver.requests.length === 3, { what: 'the three recoverable deliveries' });
    const { rows: marked } = await h.db.query(`SELECT start_error FROM deliveries WHERE id = $1`, [rows[0].delivery]);
    expect(marked[0].start_error).toEqual(expect.any(String));
    // Skipped from now on: the next pass neither retries it nor counts it.
    expect(await h.recoverDetailed()).toMatchObject({ refused: 0 });
  });
});

describe('recovery on a busy engine', () => {
  it('a row whose workflow already runs is not started again, counted as running, and left alone on the next pass', async () => {
    const { orgId, call } = await orgApi(h);
    const webhook = await call('POST', '/api/v1/webhooks', { url: 'https://example.com/hook', events: ['*'] });
    const eventId = newId('evt');
    const body = JSON.stringify({ id: eventId, type: 'busy', timestamp: Date.now(), organizationId: orgId, data: {} });
    await h.db.query(`INSERT INTO events (id, organization_id, type, body) VALUES ($1, $2, 'busy', $3)`, [eventId, orgId, body]);
    const delivery = newId('dlv');
    const workflowId = `deliver:${webhook.id}:${eventId}`;
    await h.db.query(
      `INSERT INTO deliveries (id, organization_id, webhook_id, event_id, workflow_id, created_at) VALUES ($1, $2, $3, $4, $5, now() - interval '1 minute')`,
      [delivery, orgId, webhook.id, eventId, workflowId],
    );
    // Its workflow is running but no worker has picked it up yet (a task queue nobody polls): as on
    // an engine with a long backlog, the row still looks unstarted in PostgreSQL.
    const handle = await h.temporal.client.workflow.start('deliverEvent', {
      workflowId,
      taskQueue: `nobody-polls-${delivery}`,
      args: [{ deliveryId: delivery }],
    });
    cleanups.push(() => handle.terminate('test over'));

    expect(await h.recoverDetailed()).toMatchObject({ started: 0, running: 1, retrying: 0, refused: 0 });
    expect(await h.recoverDetailed()).toMatchObject({ started: 0, running: 0 });
    const { rows } = await h.db.query(`SELECT start_error, start_retry_at > now() AS later FROM deliveries WHERE id = $1`, [delivery]);
    expect(rows[0]).toEqual({ start_error: null, later: true });
  });

  it('a worker’s pass counts work as overdue only past the engine’s backlog, and skips while another worker is in a pass', async () => {
    const { orgId, call } = await orgApi(h);
    // A queue holding a workflow nobody picks up stands for an engine that is behind.
    const queue = `nobody-polls-${newId('evt')}`;
    const behind = { ...h.temporal, taskQueue: queue };
    const handle = await h.temporal.client.workflow.start('deliverEvent', { workflowId: `backlog:${queue}`, taskQueue: queue, args: [{ deliveryId: 'none' }] });
    cleanups.push(() => handle.terminate('test over'));
    const age = await waitFor(
      async () => {
        const seconds = await engineBacklogSeconds(behind);
        return seconds >= 8 ? seconds : null;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'Temporal to report the waiting task’s age' },
    );
    // A delivery recorded 34 s ago and never started: past the 30 s interval, but not past the
    // interval plus the engine's backlog, so this pass leaves it to the engine.
    const webhook = await call('POST', '/api/v1/webhooks', { url: 'https://example.com/hook', events: ['*'] });
    const eventId = newId('evt');
    const body = JSON.stringify({ id: eventId, type: 'young', timestamp: Date.now(), organizationId: orgId, data: {} });
    await h.db.query(`INSERT INTO events (id, organization_id, type, body) VALUES ($1, $2, 'young', $3)`, [eventId, orgId, body]);
    const delivery = newId('dlv');
    await h.db.query(
      `INSERT INTO deliveries (id, organization_id, webhook_id, event_id, workflow_id, created_at) VALUES ($1, $2, $3, $4, $5, now() - interval '34 seconds')`,
      [delivery, orgId, webhook.id, eventId, `deliver:${webhook.id}:${eventId}`],
    );
    const ctx = { db: h.db, temporal: behind, organizationIds: [orgId], log: () => {}, roomTickSeconds: 1 };
    const pass = await recoveryPass(ctx, 30);
    expect(pass?.olderThanSeconds).toBeGreaterThanOrEqual(30 + Math.floor(age));
    expect(pass?.result).toMatchObject({ started: 0, running: 0, retrying: 0, refused: 0 });
    // The same row with no backlog to allow for is overdue: what the pass above left alone was only young.
    expect((await recoverUnstarted({ ...ctx, olderThanSeconds: 30 })).started).toBe(1);
    cleanups.push(() => h.temporal.client.workflow.getHandle(`deliver:${webhook.id}:${eventId}`).terminate('test over'));

    // Another worker's pass holds the lock: this worker's pass does nothing and says so.
    const other = await h.db.connect();
    let unlocked = false;
    try {
      await other.query(`SELECT pg_advisory_lock(hashtext('hookwise:recovery'))`);
      expect(await recoveryPass(ctx, 30)).toBeNull();
      await other.query(`SELECT pg_advisory_unlock(hashtext('hookwise:recovery'))`);
      unlocked = true;
    } finally {
      // A connection still holding the lock must not go back to the pool.
      other.release(!unlocked);
    }
    expect(await recoveryPass(ctx, 30)).not.toBeNull();
  });
});

describe('settings come from the worker when the work runs', () => {
  it('a delivery waits for the worker’s HTTP timeout, whatever the API process was configured with', async () => {
    // An API that thinks deliveries time out after 100 ms, a worker configured for 8 s, and a receiver
    // that answers after 3 s: the attempt must wait for the answer, once, not time out and repeat.
    const split = await startHookwise({ env: { HOOKWISE_DELIVERY_TIMEOUT_MS: '100' }, workerEnv: { HOOKWISE_DELIVERY_TIMEOUT_MS: '8000' } });
    cleanups.push(() => split.stop());
    const receiver = await startReceiver({ fallback: { status: 200, delayMs: 3_000 } });
    cleanups.push(() => receiver.close());
    const { key } = await split.newOrg();
    const call = async (method: string, path: string, body?: unknown) => (await split.request(method, path, { key, body })).body;
    await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['*'], retryPolicy: { policy: 'fixed', attempts: 3, delaySeconds: 0.1 } });
    const published = await call('POST', '/api/v1/events', { type: 'slow.receiver', data: {} });
    const delivery = await waitFor(
      async () => {
        const d = await call('GET', `/api/v1/deliveries/${published.deliveries[0]}`);
        return d.status === 'succeeded' ? d : null;
      },
      { timeoutMs: 30_000, what: 'the delivery to succeed' },
    );
    expect(delivery.attempts).toHaveLength(1);
    expect(receiver.requests).toHaveLength(1);
  }, 60_000);
});

describe('workflow history', () => {
  it('a room event’s payload stays in PostgreSQL: its workflow carries only ids', async () => {
    const { room, token } = await roomFixture(await orgApi(h), {
      workspaceName: 'history',
      room: { name: 'r', instructions: 'x' },
      source: { name: 's' },
      definitions: [{ name: 'order', description: 'an order', priority: 1, rule: { path: 'type', equals: 'order' } }],
    });
    const marker = `payload-marker-${newId('evt')}`;
    const res = await postRoomEvent(h, token, { type: 'order', note: marker, padding: 'p'.repeat(20_000) });
    const { eventId } = res.body as { eventId: string };
    const handle = h.temporal.client.workflow.getHandle(roomEventWorkflowId(room.id, eventId));
    // Started right after the answer.
    await waitFor(() => handle.describe().then(() => true, () => false), { what: 'the workflow to start' });
    expect(await handle.result()).toMatchObject({ outcome: 'admitted' });
    const history = JSON.stringify(await handle.fetchHistory());
    expect(history).not.toContain(marker);
    expect(history.length).toBeLessThan(20_000);
  });
});

describe('the live stream', () => {
  it('stops reading for a client that cannot keep up, and goes on where it left off when it can', async () => {
    const { orgId, call } = await orgApi(h);
    for (let i = 0; i < 5; i++) await call('POST', '/api/v1/events', { type: 'stream.test', data: { i } });
    const feed = createEventFeed(h.db, h.config.DATABASE_URL, () => {});
    cleanups.push(() => feed.close());
    const received: number[] = [];
    let accept = false;
    const from = await feed.startAt(orgId, '0');
    const subscription = feed.subscribe(orgId, from, () => true, (e) => {
      received.push(JSON.parse(e.body).data.i);
      return accept;
    });
    cleanups.push(async () => subscription.close());
    await waitFor(() => received.length === 1, { what: 'the first event' });
    // The client's buffer is full (send said false): nothing more is read until it drains. A sleep on
    // purpose: the feed's pause is internal, and what is proved is that nothing arrives for a while.
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toEqual([0]);
    subscription.resume();
    await waitFor(() => received.length === 2, { what: 'the second event after resume' });
    accept = true;
    subscription.resume();
    await waitFor(() => received.length === 5, { what: 'the rest' });
    expect(received).toEqual([0, 1, 2, 3, 4]);
  });
});
