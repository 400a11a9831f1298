import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startReceiver } from '../support/receiver.js';
import { kill, spawnEntry } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

let h: Hookwise;
beforeAll(async () => {
  // The worker runs as a real separate process here, so it can be killed mid-delivery.
  h = await startHookwise({ worker: false, env: { HOOKWISE_DELIVERY_TIMEOUT_MS: '1000' } });
});
afterAll(async () => {
  await h.stop();
});

it('a worker killed mid-delivery: a new worker completes it with exactly one recorded success', async () => {
  const receiver = await startReceiver({ replies: ['hang'], fallback: { status: 200 } });
  const { orgId, key } = await h.newOrg();
  const created = await h.request('POST', '/api/v1/webhooks', { key, body: { url: receiver.url, events: ['*'] } });
  const secret: string = created.body.secret;

  const first = spawnEntry('worker', h.env);
  const published = await h.request('POST', '/api/v1/events', { key, body: { type: 'crash.test', data: { orgId } } });
  const deliveryId = published.body.deliveries[0];
  // The receiver holds the first request open: the worker is in the middle of the POST.
  await waitFor(() => receiver.requests.length === 1, { timeoutMs: 30_000, what: 'the first POST' });
  await kill(first.child);

  const second = spawnEntry('worker', h.env);
  const done = await waitFor(
    async () => {
      const d = (await h.request('GET', `/api/v1/deliveries/${deliveryId}`, { key })).body;
      return d.status === 'succeeded' ? d : null;
    },
    { timeoutMs: 45_000, what: 'the delivery to succeed on the second worker' },
  );
  await kill(second.child, 'SIGTERM');

  expect(done.attempts.filter((a: any) => a.status === 'succeeded')).toHaveLength(1);
  expect(done.attempts[0]).toMatchObject({ status: 'lost', error: 'worker lost during the attempt' });
  expect(receiver.requests).toHaveLength(2);
  expect(new Set(receiver.requests.map((r) => r.headers['x-webhook-request-id']))).toEqual(new Set([published.body.id]));
  const webhook = (await h.request('GET', `/api/v1/webhooks/${created.body.id}`, { key })).body;
  expect(webhook.successCount).toBe(1);
  // Neither worker printed the secret.
  expect(first.output() + second.output()).not.toContain(secret);
  await receiver.close();
}, 90_000);
