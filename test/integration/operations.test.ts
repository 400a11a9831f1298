import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { orgApi } from '../support/fixtures.js';
import { quiesce } from '../support/quiesce.js';
import { startReceiver } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';
import { createOperationActivities } from '../../activities/operations.js';
import { insertOperation } from '../../src/db/operations.js';
import { createDispatcher } from '../../src/delivery/dispatcher.js';
import { newId } from '../../src/domain/ids.js';

// What an operator gets beyond delivery itself: payload filters at fan-out, operational events about
// the org's own webhooks (disabled, failing, recovered, dead letters), auto-disable, and bulk recovery.

let h: Hookwise;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  h = await startHookwise();
});
afterAll(async () => {
  for (const c of closers) await c().catch(() => {});
  await h?.stop();
});

const org = (on: Hookwise = h) => orgApi(on);

async function receiver(script: Parameters<typeof startReceiver>[0] = {}) {
  const r = await startReceiver(script);
  closers.push(() => r.close());
  return r;
}

const typesSeen = (r: Awaited<ReturnType<typeof startReceiver>>) => r.requests.map((q) => JSON.parse(q.body).type as string);
const once = (policy: number) => ({ policy: 'fixed', attempts: policy, delaySeconds: 0.05 });

describe('payload filters', () => {
  it('a webhook’s filter decides at fan-out: rejected events create no delivery', async () => {
    const { orgId, call } = await org();
    const big = await receiver();
    const filtered = await call('POST', '/api/v1/webhooks', {
      url: big.url,
      events: ['*'],
      filter: { all: [{ path: 'type', equals: 'invoice.paid' }, { path: 'data.amount', in: [1000, 2000] }] },
    });
    expect(filtered.filter).toEqual({ all: [{ path: 'type', equals: 'invoice.paid' }, { path: 'data.amount', in: [1000, 2000] }] });
    const hit = await call('POST', '/api/v1/events', { type: 'invoice.paid', data: { amount: 1000 } });
    const miss = await call('POST', '/api/v1/events', { type: 'invoice.paid', data: { amount: 5 } });
    const otherType = await call('POST', '/api/v1/events', { type: 'invoice.voided', data: { amount: 1000 } });
    expect(hit.deliveries).toHaveLength(1);
    expect(miss.deliveries).toEqual([]);
    expect(otherType.deliveries).toEqual([]);
    const { rows } = await h.db.query(`SELECT event_id FROM deliveries WHERE organization_id = $1`, [orgId]);
    expect(rows.map((r) => r.event_id)).toEqual([hit.id]);
    await waitFor(() => big.requests.length === 1);

    // PATCH can change or clear it.
    await call('PATCH', `/api/v1/webhooks/${filtered.id}`, { filter: null });
    expect((await call('POST', '/api/v1/events', { type: 'invoice.voided', data: {} })).deliveries).toHaveLength(1);
  });

  it('a malformed filter is a 422 naming the field', async () => {
    const { key } = await org();
    const res = await h.request('POST', '/api/v1/webhooks', {
      key,
      body: { url: 'http://127.0.0.1:9/x', events: ['*'], filter: { path: 'a', equals: { nested: true } } },
    });
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body.error.details)).toContain('filter');
  });
});

describe('operational events', () => {
  it('410 Gone: exactly one webhook.disabled reaches the org’s other subscribers', async () => {
    const { orgId, call } = await org();
    const gone = await receiver({ fallback: { status: 410 } });
    const watcher = await receiver();
    const hook = await call('POST', '/api/v1/webhooks', { url: gone.url, events: ['order.created'], retryPolicy: once(3) });
    await call('POST', '/api/v1/webhooks', { url: watcher.url, events: ['webhook.disabled'] });
    await call('POST', '/api/v1/events', { type: 'order.created', data: {} });
    await waitFor(() => watcher.requests.length >= 1, { what: 'webhook.disabled' });
    await quiesce(h, orgId);
    expect(typesSeen(watcher)).toEqual(['webhook.disabled']);
    expect(JSON.parse(watcher.requests[0].body).data).toMatchObject({ webhookId: hook.id, url: gone.url, reason: expect.stringContaining('410') });
    expect(gone.requests).toHaveLength(1);
    expect((await call('GET', `/api/v1/webhooks/${hook.id}`)).active).toBe(false);
  });

  it('exhaustion: one webhook.failing at the first failure, one delivery.dead, and webhook.recovered after a success', async () => {
    const { orgId, call } = await org();
    const flaky = await receiver({ fallback: { status: 500 } });
    const watcher = await receiver();
    const hook = await call('POST', '/api/v1/webhooks', { url: flaky.url, events: ['order.created'], retryPolicy: once(2) });
    await call('POST', '/api/v1/webhooks', { url: watcher.url, events: ['webhook.failing', 'webhook.recovered', 'delivery.dead'] });
    const published = await call('POST', '/api/v1/events', { type: 'order.created', data: { n: 1 } });
    await waitFor(() => watcher.requests.length >= 2, { what: 'webhook.failing and delivery.dead' });
    await quiesce(h, orgId);
    expect(typesSeen(watcher)).toEqual(['webhook.failing', 'delivery.dead']);
    expect(JSON.parse(watcher.requests[1].body).data).toMatchObject({
      webhookId: hook.id,
      deliveryId: published.deliveries[0],
      eventId: published.id,
      eventType: 'order.created',
      attempts: 2,
    });
    expect((await call('GET', `/api/v1/webhooks/${hook.id}`)).failingSince).toEqual(expect.any(Number));

    flaky.setScript({ fallback: { status: 200 } });
    await call('POST', `/api/v1/deliveries/${published.deliveries[0]}/replay`);
    await waitFor(() => watcher.requests.length >= 3, { what: 'webhook.recovered' });
    await quiesce(h, orgId);
    expect(typesSeen(watcher)).toEqual(['webhook.failing', 'delivery.dead', 'webhook.recovered']);
    expect((await call('GET', `/api/v1/webhooks/${hook.id}`)).failingSince).toBeNull();
  });

  it('a webhook failing every attempt for HOOKWISE_AUTO_DISABLE_AFTER_HOURS is disabled, with its reason', async () => {
    // Disabled after 2 s of failures here (the default is 120 hours).
    const quick = await startHookwise({ env: { HOOKWISE_AUTO_DISABLE_AFTER_HOURS: String(2 / 3600) } });
    closers.push(() => quick.stop());
    const { orgId, call } = await org(quick);
    const down = await receiver({ fallback: { status: 503 } });
    const watcher = await receiver();
    const hook = await call('POST', '/api/v1/webhooks', { url: down.url, events: ['tick'], retryPolicy: { policy: 'fixed', attempts: 100, delaySeconds: 0.5 } });
    await call('POST', '/api/v1/webhooks', { url: watcher.url, events: ['webhook.disabled'] });
    await call('POST', '/api/v1/events', { type: 'tick', data: {} });
    const disabled = await waitFor(
      async () => {
        const w = await call('GET', `/api/v1/webhooks/${hook.id}`);
        return w.active ? null : w;
      },
      { timeoutMs: 20_000, what: 'the auto-disable' },
    );
    expect(disabled.disabledReason).toMatch(/every attempt failed for/);
    await waitFor(() => watcher.requests.length >= 1, { what: 'webhook.disabled' });
    await quiesce(quick, orgId);
    expect(typesSeen(watcher)).toEqual(['webhook.disabled']);
  }, 40_000);
});

describe('bulk recovery', () => {
  it('recovers 500 failed deliveries with visible progress: each arrives once, never more in flight than the limit', async () => {
    const { call } = await org();
    const target = await receiver({ fallback: { status: 500 } });
    const hook = await call('POST', '/api/v1/webhooks', {
      url: target.url,
      events: ['*'],
      retryPolicy: once(1),
      rateLimit: { maxInFlight: 100, maxPerMinute: 10_000 },
    });
    const since = Date.now() - 1_000;
    const ids: string[] = [];
    for (let i = 0; i < 500; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => call('POST', '/api/v1/events', { type: 'bulk', data: { n: i + j } })));
      ids.push(...batch.map((e) => e.id));
    }
    await waitFor(async () => (await call('GET', `/api/v1/dead-letters?limit=500`)).data.length === 500, {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: '500 dead letters',
    });

    // The endpoint comes back, slowly: answers take 50 ms, so replays overlap if allowed to.
    target.setScript({ fallback: { status: 200, delayMs: 50 } });
    target.requests.length = 0;
    target.resetMaxConcurrent();
    await call('PATCH', `/api/v1/webhooks/${hook.id}`, { rateLimit: { maxInFlight: 5, maxPerMinute: 10_000 } });

    const started = await call('POST', `/api/v1/webhooks/${hook.id}/recover`, { since });
    expect(started).toEqual({ operationId: expect.stringMatching(/^op_/), total: 500 });
    const progress: number[] = [];
    const done = await waitFor(
      async () => {
        const op = await call('GET', `/api/v1/operations/${started.operationId}`);
        progress.push(op.succeeded);
        return op.status === 'completed' ? op : null;
      },
      { timeoutMs: 180_000, intervalMs: 200, what: 'the operation to complete' },
    );
    expect(done).toMatchObject({ kind: 'webhook.recover', total: 500, started: 500, succeeded: 500, failed: 0, inFlight: 0 });
    // Progress was visible along the way, not only at the end.
    expect(new Set(progress).size).toBeGreaterThan(3);
    // Each event arrived once.
    const received = target.requests.map((r) => JSON.parse(r.body).id as string);
    expect(new Set(received).size).toBe(500);
    expect(received.sort()).toEqual([...ids].sort());
    // Never more replays open at once than the endpoint's in-flight limit.
    expect(target.maxConcurrent()).toBeLessThanOrEqual(5);

    // A second recovery finds nothing left to do.
    const again = await call('POST', `/api/v1/webhooks/${hook.id}/recover`, { since });
    expect(again.total).toBe(0);
  }, 300_000);

  it('replays dead letters by type and time, once each', async () => {
    const { orgId, call } = await org();
    const target = await receiver({ fallback: { status: 500 } });
    await call('POST', '/api/v1/webhooks', { url: target.url, events: ['*'], retryPolicy: once(1) });
    for (const type of ['a', 'b', 'a']) await call('POST', '/api/v1/events', { type, data: {} });
    await waitFor(async () => (await call('GET', '/api/v1/dead-letters')).data.length === 3, { what: '3 dead letters' });
    target.setScript({ fallback: { status: 200 } });
    target.requests.length = 0;
    const op = await call('POST', '/api/v1/dead-letters/replay', { type: 'a', since: new Date(Date.now() - 60_000).toISOString() });
    expect(op.total).toBe(2);
    await waitFor(async () => (await call('GET', `/api/v1/operations/${op.operationId}`)).status === 'completed', { what: 'the replay' });
    await quiesce(h, orgId);
    expect(typesSeen(target)).toEqual(['a', 'a']);
    const listed = await call('GET', '/api/v1/operations');
    expect(listed.data[0]).toMatchObject({ id: op.operationId, kind: 'dead_letters.replay', succeeded: 2 });
  });

  it('a recovery whose replays fail again ends, having replayed each one once', async () => {
    // The cursor used to be read back through a JavaScript Date (milliseconds) while created_at keeps
    // microseconds: it named its own row again, which was replayed every round, without end.
    const { call } = await org();
    const target = await receiver({ fallback: { status: 500 } });
    const hook = await call('POST', '/api/v1/webhooks', { url: target.url, events: ['*'], retryPolicy: once(1) });
    for (let i = 0; i < 2; i++) await call('POST', '/api/v1/events', { type: 'still.failing', data: { i } });
    await waitFor(async () => (await call('GET', '/api/v1/dead-letters')).data.length === 2, { what: '2 dead letters' });
    target.requests.length = 0;
    const op = await call('POST', `/api/v1/webhooks/${hook.id}/recover`, { since: Date.now() - 60_000 });
    expect(op.total).toBe(2);
    const done = await waitFor(
      async () => {
        const o = await call('GET', `/api/v1/operations/${op.operationId}`);
        return o.status === 'completed' ? o : null;
      },
      { timeoutMs: 30_000, what: 'the operation to complete' },
    );
    expect(done).toMatchObject({ total: 2, started: 2, succeeded: 0, failed: 2, inFlight: 0 });
    expect(target.requests).toHaveLength(2);
  });

  it('two tries of one batch at once (a timed-out try still running) replay each original once', async () => {
    const { orgId, call } = await org();
    const target = await receiver({ fallback: { status: 500 } });
    const hook = await call('POST', '/api/v1/webhooks', { url: target.url, events: ['*'], retryPolicy: once(1) });
    for (let i = 0; i < 3; i++) await call('POST', '/api/v1/events', { type: 'twice.tried', data: { i } });
    await waitFor(async () => (await call('GET', '/api/v1/dead-letters')).data.length === 3, { what: '3 dead letters' });
    target.setScript({ fallback: { status: 200 } });

    // The operation's workflow is not started: this test plays both of its tries itself.
    const operationId = newId('op');
    await insertOperation(h.db, { id: operationId, organizationId: orgId, kind: 'webhook.recover', params: { webhookId: hook.id, statuses: ['dead', 'cancelled'] }, total: 3 });
    const dispatcher = createDispatcher({ db: h.db, temporal: h.temporal, log: () => {} });
    const { replayNextBatch } = createOperationActivities({ db: h.db, dispatcher, defaultInFlight: 10 });
    await Promise.all([replayNextBatch({ operationId }), replayNextBatch({ operationId })]);

    const { rows } = await h.db.query(`SELECT replay_of, count(*)::int AS n FROM deliveries WHERE operation_id = $1 GROUP BY replay_of`, [operationId]);
    expect(rows.map((r) => r.n)).toEqual([1, 1, 1]);
    const delivered = async () =>
      (await h.db.query(`SELECT count(*)::int AS n FROM deliveries WHERE operation_id = $1 AND status = 'succeeded'`, [operationId])).rows[0].n;
    await waitFor(async () => (await delivered()) === 3, { what: 'the 3 replays delivered' });
    // Each event reached the receiver twice in all: its failed first delivery and its one replay.
    expect(typesSeen(target).filter((t) => t === 'twice.tried')).toHaveLength(3 + 3);
  });
});
