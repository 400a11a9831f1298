import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { orgApi, type Receiver } from '../support/fixtures.js';
import { startReceiver } from '../support/receiver.js';
import { openSse } from '../support/sse.js';
import { waitFor } from '../support/wait.js';

// What the console reads: filtered, paginated delivery lists, delivery and inbound statistics, and
// the live stream opened the way a browser's EventSource can (token in the query).

let h: Hookwise;
let receiver: Receiver;

beforeAll(async () => {
  h = await startHookwise();
  receiver = await startReceiver({ replies: [{ status: 500 }, { status: 500 }], fallback: { status: 200 } });
});
afterAll(async () => {
  await receiver?.close();
  await h?.stop();
});

const org = () => orgApi(h);

describe('GET /deliveries', () => {
  it('filters by status, webhook, event type and time, and pages with a cursor, newest first', async () => {
    const { call } = await org();
    const hook = await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['*'], retryPolicy: { policy: 'fixed', attempts: 1, delaySeconds: 0 } });
    const before = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await call('POST', '/api/v1/events', { type: i % 2 ? 'odd' : 'even', data: { i } })).deliveries[0]);
    await waitFor(async () => (await call('GET', '/api/v1/deliveries?limit=100')).data.every((d: any) => d.status !== 'pending'), { what: 'all deliveries ended' });

    const pages: string[][] = [];
    let cursor = '';
    do {
      const p = await call('GET', `/api/v1/deliveries?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(p.data.map((d: any) => d.id));
      cursor = p.nextCursor;
    } while (cursor);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual([...ids].reverse());

    const odd = await call('GET', `/api/v1/deliveries?eventType=odd&webhookId=${hook.id}`);
    expect(odd.data.map((d: any) => d.eventType)).toEqual(['odd', 'odd', 'odd']);
    // The receiver's first two answers were 500s (one attempt each): two dead letters, whichever came first.
    const dead = await call('GET', '/api/v1/deliveries?status=dead');
    expect(dead.data).toHaveLength(2);
    expect(dead.data.every((d: any) => d.status === 'dead' && ids.includes(d.id))).toBe(true);
    expect((await call('GET', `/api/v1/deliveries?since=${Date.now() + 60_000}`)).data).toEqual([]);
    expect((await call('GET', `/api/v1/deliveries?until=${new Date(before).toISOString()}`)).data).toEqual([]);

    const bad = await h.request('GET', '/api/v1/deliveries?cursor=not-a-cursor', { key: (await org()).key });
    expect(bad.status).toBe(422);
  });

  it('pages through one fan-out’s deliveries (created in one statement, at one instant) without skipping any', async () => {
    // A cursor carries milliseconds; created_at keeps microseconds, the same for the whole fan-out.
    const { call } = await org();
    for (let i = 0; i < 3; i++) await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['fan.out'] });
    const { deliveries } = await call('POST', '/api/v1/events', { type: 'fan.out', data: {} });
    expect(deliveries).toHaveLength(3);
    const seen: string[] = [];
    let cursor = '';
    do {
      const p = await call('GET', `/api/v1/deliveries?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...p.data.map((d: any) => d.id));
      cursor = p.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...deliveries].sort());
  });

  it('an instant or a cursor out of range is a 422, not a 500', async () => {
    const { key } = await org();
    const tooLate = String(9e15);
    const cursor = Buffer.from(JSON.stringify({ t: 9e15, i: 'dlv_x' })).toString('base64url');
    for (const path of [`/api/v1/deliveries?since=${tooLate}`, `/api/v1/dead-letters?until=${tooLate}`, `/api/v1/deliveries?cursor=${cursor}`]) {
      const res = await h.request('GET', path, { key });
      expect(res.status, path).toBe(422);
    }
    const hook = (await h.request('POST', '/api/v1/webhooks', { key, body: { url: receiver.url, events: ['*'] } })).body;
    const recover = await h.request('POST', `/api/v1/webhooks/${hook.id}/recover`, { key, body: { since: 9e15 } });
    expect(recover.status).toBe(422);
    expect(JSON.stringify(recover.body.error.details)).toContain('since');
  });
});

describe('statistics', () => {
  it('GET /stats/deliveries: attempts, success rate, latency percentiles and dead letters over the window, with a series', async () => {
    const { call } = await org();
    const r = await startReceiver({ replies: [{ status: 503 }], fallback: { status: 200 } });
    try {
      await call('POST', '/api/v1/webhooks', { url: r.url, events: ['*'], retryPolicy: { policy: 'fixed', attempts: 1, delaySeconds: 0 } });
      for (let i = 0; i < 4; i++) await call('POST', '/api/v1/events', { type: 'x', data: {} });
      const stats = await waitFor(
        async () => {
          const s = await call('GET', '/api/v1/stats/deliveries?window=1h');
          return s.totals.succeeded + s.totals.failed === 4 && s.totals.dead === 1 ? s : null;
        },
        { what: 'four attempts answered' },
      );
      expect(stats.totals).toMatchObject({ attempts: 4, succeeded: 3, failed: 1, inFlight: 0, dead: 1, successRate: 0.75 });
      expect(stats.totals.p50LatencyMs).toEqual(expect.any(Number));
      expect(stats.series).toHaveLength(60);
      expect(stats.series.reduce((n: number, b: any) => n + b.attempts, 0)).toBe(4);
      expect((await call('GET', '/api/v1/stats/deliveries?window=24h')).series).toHaveLength(96);
    } finally {
      await r.close();
    }
  });

  it('GET /stats/inbound: acknowledged events per event source and per generic source', async () => {
    const { call } = await org();
    const ws = await call('POST', '/api/v1/workspaces', { name: 'w' });
    const room = await call('POST', `/api/v1/workspaces/${ws.id}/rooms`, { name: 'r', instructions: 'x' });
    const source = await call('POST', `/api/v1/rooms/${room.id}/event-sources`, { name: 'stripe' });
    for (let i = 0; i < 2; i++) await fetch(`${h.baseUrl}/webhooks/${source.token}`, { method: 'POST', body: '{}' });
    await fetch(`${h.baseUrl}/api/v1/webhooks/generic/${ws.id}?source=shop`, { method: 'POST', body: '{}' });
    const stats = await call('GET', '/api/v1/stats/inbound?window=24h');
    expect(stats.data).toEqual([
      { kind: 'generic', id: ws.id, name: 'w', roomId: null, workspaceId: ws.id, sourceKind: 'webhook.shop', accepted: 1 },
      { kind: 'room', id: source.id, name: 'stripe', roomId: room.id, workspaceId: ws.id, sourceKind: null, accepted: 2 },
    ]);
  });
});

describe('the live stream in a browser', () => {
  it('takes the token from ?access_token= (EventSource cannot send headers), and only on the stream', async () => {
    const { key, call } = await org();
    const stream = await openSse(`${h.baseUrl}/api/v1/events/stream?access_token=${encodeURIComponent(key)}`);
    try {
      expect(stream.status).toBe(200);
      await call('POST', '/api/v1/events', { type: 'tail.me', data: {} });
      const [event] = await stream.waitForEvents(1);
      expect(event.event).toBe('tail.me');
    } finally {
      stream.close();
    }
    const elsewhere = await fetch(`${h.baseUrl}/api/v1/webhooks?access_token=${encodeURIComponent(key)}`);
    expect(elsewhere.status).toBe(401);
  });
});

describe('GET /me', () => {
  it('names the caller’s org and capabilities, so a console shows only what the key may do', async () => {
    const { orgId, key } = await org();
    const me = (await h.request('GET', '/api/v1/me', { key })).body;
    expect(me).toMatchObject({ organization: { id: orgId, name: expect.stringMatching(/^org-/) }, capabilities: ['manage', 'send', 'read'] });
    const readOnly = await h.newKey(orgId, ['read']);
    expect((await h.request('GET', '/api/v1/me', { key: readOnly })).body.capabilities).toEqual(['read']);
    expect((await h.request('GET', '/api/v1/me')).status).toBe(401);
  });
});
