import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { orgApi, postGeneric as post, roomFixture, type Receiver } from '../support/fixtures.js';
import { startReceiver } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';
import { genericEventWorkflowId } from '../../src/flows/generic-event.js';

// What operators see in Temporal: workflow ids that fit every engine (255 bytes on the production
// one) even when a sender controls part of them, and search attributes on every workflow.

let h: Hookwise;
let receiver: Receiver;

beforeAll(async () => {
  h = await startHookwise({ env: { HOOKWISE_ROOM_TICK_SECONDS: '0.2' } });
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await h?.stop();
});

async function setup() {
  const api = await orgApi(h);
  const ws = await api.call('POST', '/api/v1/workspaces', { name: 'ids' });
  return { ...api, ws };
}

const postGeneric = async (workspaceId: string, dedupeKey: string, body: unknown) => {
  const res = await post(h, workspaceId, body as object, { query: { source: 'shop', dedupe_key: dedupeKey } });
  return { status: res.status, body: res.body };
};

describe('long dedupe keys on the generic ingress', () => {
  for (const length of [300, 1_000, 5_000, 20_000]) {
    it(`a ${length}-character key: processed once, and a repeat is accepted: false`, async () => {
      const { orgId, ws } = await setup();
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
      const handle = h.temporal.client.workflow.getHandle(workflowId);
      await handle.result();
      const description = await handle.describe();
      expect(description.status.name).toBe('COMPLETED');
      expect(description.memo).toMatchObject({ dedupeKey: key });
    });
  }
});

describe('search attributes', () => {
  it('every workflow can be found by the attributes operators filter on', async () => {
    const api = await setup();
    const { orgId, ws, call } = api;
    const webhook = await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['*'] });
    const published = await call('POST', '/api/v1/events', { type: 'order.shipped', data: {} });
    const { room, token } = await roomFixture(api, {
      workspaceId: ws.id,
      room: { name: 'r', instructions: 'x' },
      source: { name: 's' },
      definitions: [{ name: 'any', description: 'anything', priority: 1, rule: { path: 'kind', exists: true } }],
    });
    await fetch(`${h.baseUrl}/webhooks/${token}`, { method: 'POST', body: JSON.stringify({ kind: 'x' }) });
    await postGeneric(ws.id, 'attr-1', { type: 'order.created' });

    const find = async (query: string, atLeast: number) =>
      waitFor(
        async () => {
          const found: string[] = [];
          for await (const w of h.temporal.client.workflow.list({ query })) found.push(w.type);
          return found.length >= atLeast ? found.sort() : null;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: `workflows matching ${query}` },
      );

    // Deliveries: of the published event, the room agent's result, and the generic event.
    expect(await find(`HookwiseOrg = "${orgId}" AND HookwiseWebhook = "${webhook.id}" AND HookwiseEventType = "order.shipped"`, 1)).toEqual(['deliverEvent']);
    expect(await find(`HookwiseWebhook = "${webhook.id}" AND HookwiseDeliveryStatus = "succeeded"`, 3)).toEqual(
      expect.arrayContaining(['deliverEvent']),
    );
    expect(await find(`HookwiseRoom = "${room.id}"`, 2)).toEqual(['ingestRoomEvent', 'roomScheduler']);
    expect(await find(`HookwiseWorkspace = "${ws.id}" AND HookwiseEventType = "webhook.shop.order_created"`, 1)).toEqual(['ingestGenericEvent']);
    expect(published.deliveries).toHaveLength(1);
  });
});
