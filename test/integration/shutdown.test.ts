import net from 'node:net';
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, testEnv, type Hookwise } from '../support/hookwise.js';
import { startReceiver } from '../support/receiver.js';
import { kill, spawnEntry } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { startFakeLlm } from '../support/fake-llm.js';
import { orgApi, postGeneric } from '../support/fixtures.js';
import { loadConfig } from '../../src/config.js';
import { buildApi } from '../../src/roots/api.js';

// Stopping a process on purpose (a deploy, a scale-down) must not cost what a crash costs: requests in
// flight get their answers, deliveries in flight finish and are recorded once.

let h: Hookwise;
beforeAll(async () => {
  h = await startHookwise({ worker: false, env: { HOOKWISE_DELIVERY_TIMEOUT_MS: '8000' } });
});
afterAll(async () => {
  await h.stop();
});

it('an API told to stop answers the requests in flight, ends streams at once, and takes no new connections', async () => {
  const api = buildApi(loadConfig(testEnv()));
  const base = await api.listen(0, '127.0.0.1');
  const { port } = new URL(base);
  const { key } = await h.newOrg();

  // An SSE stream, open when the stop comes: it has no end of its own and must not hold the stop.
  let streamEnded = false;
  const stream = await new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get(`${base}/api/v1/events/stream`, { headers: { authorization: `Bearer ${key}` } }, resolve).on('error', reject),
  );
  stream.on('data', () => {}).on('close', () => (streamEnded = true));

  // A publish whose body is still arriving when the stop comes (a slow sender, a big body).
  const body = JSON.stringify({ type: 'sent.during.shutdown', data: { n: 1 } });
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let answer = '';
  socket.on('data', (d) => (answer += d));
  socket.write(
    `POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
  );
  // The request is in flight once its headers are in.
  await new Promise((r) => setTimeout(r, 200));

  let closed = false;
  const closing = api.close().then(() => (closed = true));
  await waitFor(() => streamEnded, { timeoutMs: 1_000, what: 'the SSE stream to end at once' });
  // New connections are refused while the request in flight is served.
  await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  // A sleep on purpose: the rest of the body comes later than the old 2 s cut-off.
  await new Promise((r) => setTimeout(r, 3_000));
  expect(closed).toBe(false);
  socket.write(body.slice(10));
  await waitFor(() => /\r\n\r\n\{/.test(answer) && answer.trim().endsWith('}'), { timeoutMs: 5_000, what: 'the answer to the slow publish' });
  expect(answer).toMatch(/^HTTP\/1\.1 202/);
  const { id } = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
  expect((await h.db.query(`SELECT type FROM events WHERE id = $1`, [id])).rows).toEqual([{ type: 'sent.during.shutdown' }]);
  // Its keep-alive connection is closed once idle, and the stop completes without waiting it out.
  await waitFor(() => closed, { timeoutMs: 3_000, what: 'close() to finish' });
  await closing;
  socket.destroy();
}, 30_000);

it('a worker told to stop (SIGTERM) finishes the delivery in flight: one POST, one recorded success, exit 0', async () => {
  const receiver = await startReceiver({ replies: [{ status: 200, delayMs: 3_000 }] });
  const { key } = await h.newOrg();
  await h.request('POST', '/api/v1/webhooks', { key, body: { url: receiver.url, events: ['*'] } });
  const worker = spawnEntry('worker', h.env);
  const published = await h.request('POST', '/api/v1/events', { key, body: { type: 'stop.test', data: {} } });
  const deliveryId = published.body.deliveries[0];
  await waitFor(() => receiver.requests.length === 1, { timeoutMs: 30_000, what: 'the POST to begin' });

  const exited = new Promise<number | null>((r) => worker.child.once('exit', (code) => r(code)));
  worker.child.kill('SIGTERM');
  expect(await exited, worker.output()).toBe(0);

  const d = (await h.request('GET', `/api/v1/deliveries/${deliveryId}`, { key })).body;
  expect(d.status).toBe('succeeded');
  expect(d.attempts.map((a: any) => a.status)).toEqual(['succeeded']);
  // Another worker finds nothing left to do: the receiver never sees the event again.
  const next = spawnEntry('worker', h.env);
  try {
    await h.request('POST', '/api/v1/events', { key, body: { type: 'after.stop', data: {} } });
    await waitFor(() => receiver.requests.length === 2, { timeoutMs: 30_000, what: 'the next delivery' });
    expect(receiver.requests.map((r) => JSON.parse(r.body).type)).toEqual(['stop.test', 'after.stop']);
  } finally {
    await kill(next.child, 'SIGTERM');
    await receiver.close();
  }
}, 90_000);

it('a worker told to stop gives up work that outlasts the shutdown grace and exits; the work is retried elsewhere', async () => {
  // The model answers the first call after a minute: far past this worker's grace (1 s delivery timeout
  // + 5 s) and force time (+ 10 s).
  const llm = await startFakeLlm();
  let calls = 0;
  llm.script(() => (++calls === 1 ? { content: 'late', delayMs: 60_000 } : { content: 'on time' }));
  const workerEnv = { ...h.env, OPENAI_BASE_URL: llm.baseURL, HOOKWISE_DELIVERY_TIMEOUT_MS: '1000' };
  const worker = spawnEntry('worker', workerEnv);
  const { call } = await orgApi(h);
  const ws = await call('POST', '/api/v1/workspaces', { name: 'stop' });
  const agent = await call('POST', `/api/v1/workspaces/${ws.id}/agents`, { name: 'a', instructions: 'Note it.', roles: ['webhook.stripe.payment_succeeded'] });
  await postGeneric(h, ws.id, { id: 'pi_stop', type: 'payment.succeeded' }, { query: '?source=stripe', accepted: true });
  await waitFor(() => calls === 1, { timeoutMs: 30_000, what: 'the model call to begin' });

  const stoppedAt = Date.now();
  const exited = new Promise<number | null>((r) => worker.child.once('exit', (code) => r(code)));
  worker.child.kill('SIGTERM');
  expect(await exited, worker.output()).toBe(0);
  // Grace 6 s + force 10 s, and some room for a slow machine; the model's minute was not waited out.
  expect(Date.now() - stoppedAt).toBeLessThan(40_000);

  const next = spawnEntry('worker', workerEnv);
  try {
    const run = await waitFor(
      async () => (await h.db.query(`SELECT status, answer FROM agent_runs WHERE agent_id = $1 AND status <> 'queued'`, [agent.id])).rows[0],
      { timeoutMs: 60_000, what: 'the agent run to end on the next worker' },
    );
    expect(run).toEqual({ status: 'done', answer: 'on time' });
  } finally {
    await kill(next.child, 'SIGTERM');
    await llm.close();
  }
}, 150_000);

it.each(['api', 'worker'] as const)('a %s told to stop while it waits for PostgreSQL at start exits at once, cleanly', async (entry) => {
  // In a container the process is PID 1, which ignores a signal it has no handler for: the handler must
  // be there before the first wait.
  const child = spawnEntry(entry, { ...h.env, DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:1/none', PORT: '0' });
  await waitFor(() => /migrating the database failed/.test(child.output()), { timeoutMs: 30_000, what: 'the wait for PostgreSQL' });
  const exited = new Promise<[number | null, string | null]>((r) => child.child.once('exit', (code, signal) => r([code, signal])));
  child.child.kill('SIGTERM');
  expect(await exited, child.output()).toEqual([0, null]);
}, 60_000);
