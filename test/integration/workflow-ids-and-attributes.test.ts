import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startReceiver } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';
import { genericEventWorkflowId } from '../../src/flows/generic-event.js';

// What operators see in Temporal: workflow ids that fit every engine (255 bytes on the production
// one) even when a sender controls part of them, and search attributes on every workflow.

let h: Hookwise;
let temporal: Client;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  h = await startHookwise({ env: { HOOKWISE_ROOM_TICK_SECONDS: '0.2' } });
  temporal = new Client({ connection: await Connection.connect({ address: h.config.TEMPORAL_ADDRESS }) });
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await temporal?.connection.close();
  await h?.stop();
});

async function setup() {
  const { key, orgId } = await h.newOrg();
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await h.request(method, path, { key, body });
    expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(300);
    return res.body;
  };
  const ws = await call('POST', '/api/v1/workspaces', { name: 'ids' });
  return { key, orgId, call, ws };
}

const postGeneric = (workspaceId: string, dedupeKey: string, body: unknown) =>
  fetch(`${h.baseUrl}/api/v1/webhooks/generic/${workspaceId}?source=shop&dedupe_key=${encodeURIComponent(dedupeKey)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

describe('long dedupe keys on the generic ingress', () => {
  for (const length of [300, 1_000, 5_000, 20_000]) {
    it(`a ${length}-character key: processed once, and a repeat is accepted: false`, async () => {
      const { orgId, ws, call } = await setup();
      const key = `order-${length}-`.padEnd(length, 'k');
      const first = await postGeneric(ws.id, key, { type: 'order.created', n: 1 });
      expect(first).toEqual({ status: 202, body: { accepted: true } });
      const repeat = await postGeneric(ws.id, key, { type: 'order.created', n: 2 });
      expect(repeat).toEqual({ status: 202, body: { accepted: false } });

      // Published exactly once, with the whole key in the envelope and the row.
      const events = await waitFor(
        async () => {
          const { rows } = await h.db.query(`SELECT body FROM events WHERE organization_id = $1`, [orgId]);
          return rows.length === 1 ? rows : null;
        },
        { what: 'the event published' },
      );
      expect(JSON.parse(events[0].body).data).toMatchObject({ dedupe_key: key, payload: { n: 1 } });
      const { rows: inbox } = await h.db.query(`SELECT id, dedupe_key FROM event_inbox WHERE workspace_id = $1`, [ws.id]);
      expect(inbox).toEqual([{ id: expect.any(String), dedupe_key: key }]);
      // Its workflow id fits, and the memo keeps the key whole for operators.
      const workflowId = genericEventWorkflowId(ws.id, key, inbox[0].id);
      expect(Buffer.byteLength(workflowId)).toBeLessThanOrEqual(255);
      const handle = temporal.workflow.getHandle(workflowId);
      await handle.result();
      const description = await handle.describe();
      expect(description.status.name).toBe('COMPLETED');
      expect(description.memo).toMatchObject({ dedupeKey: key });
    });
  }
});

describe('search attributes', () => {
  it('every workflow can be found by the attributes operators filter on', async () => {
    const { orgId, ws, call } = await setup();
    const webhook = await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['*'] });
    const published = await call('POST', '/api/v1/events', { type: 'order.shipped', data: {} });
    const room = await call('POST', `/api/v1/workspaces/${ws.id}/rooms`, { name: 'r', instructions: 'x' });
    const source = await call('POST', `/api/v1/rooms/${room.id}/event-sources`, { name: 's' });
    await call('POST', `/api/v1/event-sources/${source.id}/definitions`, {
      name: 'any',
      description: 'anything',
      priority: 1,
      rule: { path: 'kind', exists: true },
    });
    await fetch(`${h.baseUrl}/webhooks/${source.token}`, { method: 'POST', body: JSON.stringify({ kind: 'x' }) });
    await postGeneric(ws.id, 'attr-1', { type: 'order.created' });

    const find = async (query: string, atLeast: number) =>
      waitFor(
        async () => {
          const found: string[] = [];
          for await (const w of temporal.workflow.list({ query })) found.push(w.type);
          return found.length >= atLeast ? found.sort() : null;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: `workflows matching ${query}` },
      );

    // Deliveries: of the published event, the room agent's result, and the generic event.
    expect(await find(`HookwiseOrg = "${orgId}" AND HookwiseWebhook = "${webhook.id}" AND HookwiseEventType = "order.shipped"`, 1)).toEqual(['deliverWebhook']);
    expect(await find(`HookwiseWebhook = "${webhook.id}" AND HookwiseDeliveryStatus = "succeeded"`, 3)).toEqual(
      expect.arrayContaining(['deliverWebhook']),
    );
    expect(await find(`HookwiseRoom = "${room.id}"`, 2)).toEqual(['ingestRoomEvent', 'roomScheduler']);
    expect(await find(`HookwiseWorkspace = "${ws.id}" AND HookwiseEventType = "webhook.shop.order_created"`, 1)).toEqual(['ingestGenericEvent']);
    expect(published.deliveries).toHaveLength(1);
  });
});
