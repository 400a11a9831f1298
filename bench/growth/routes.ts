import type { Queryable } from '../../src/db/pool.js';
import { FANOUT_ORG, MEASURED_ORG } from './dataset.js';

// What bench:growth calls: every GET route of the admin API that lists or reads the measured org's
// data, with ids and cursors that are the same in both databases (the measured org's rows are).

export interface MeasuredIds {
  orgId: string;
  fanoutOrgId: string;
  webhookId: string;
  workspaceId: string;
  roomId: string;
  sourceId: string;
  roomChatId: string;
  agentChatId: string;
  operationId: string;
  deadDeliveryId: string;
  /** The dead delivery's event. */
  eventId: string;
  definitionId: string;
}

async function one(db: Queryable, what: string, sql: string, params: unknown[]): Promise<string> {
  const { rows } = await db.query(sql, params);
  if (!rows[0]) throw new Error(`growth data: no ${what}`);
  return rows[0].id;
}

export async function measuredIds(db: Queryable): Promise<MeasuredIds> {
  const orgId = await one(db, 'measured org', `SELECT id FROM organizations WHERE name = $1`, [MEASURED_ORG]);
  const roomId = await one(db, 'room', `SELECT id FROM rooms WHERE organization_id = $1 AND name = 'payments'`, [orgId]);
  const sourceId = await one(db, 'event source', `SELECT id FROM event_sources WHERE room_id = $1 ORDER BY id LIMIT 1`, [roomId]);
  const deadDeliveryId = await one(db, 'dead delivery', `SELECT id FROM deliveries WHERE organization_id = $1 AND status = 'dead' ORDER BY created_at DESC, id LIMIT 1`, [orgId]);
  return {
    orgId,
    fanoutOrgId: await one(db, 'fan-out org', `SELECT id FROM organizations WHERE name = $1`, [FANOUT_ORG]),
    webhookId: await one(db, 'webhook', `SELECT id FROM webhooks WHERE organization_id = $1 AND name = 'endpoint 1'`, [orgId]),
    workspaceId: await one(db, 'workspace', `SELECT id FROM workspaces WHERE organization_id = $1`, [orgId]),
    roomId,
    sourceId,
    roomChatId: await one(db, 'room chat', `SELECT id FROM chats WHERE room_id = $1`, [roomId]),
    agentChatId: await one(db, 'agent chat', `SELECT id FROM chats WHERE organization_id = $1 AND agent_id IS NOT NULL ORDER BY created_at DESC, id LIMIT 1`, [orgId]),
    operationId: await one(db, 'operation', `SELECT id FROM operations WHERE organization_id = $1 ORDER BY created_at DESC, id LIMIT 1`, [orgId]),
    deadDeliveryId,
    eventId: await one(db, 'event', `SELECT event_id AS id FROM deliveries WHERE id = $1`, [deadDeliveryId]),
    definitionId: await one(db, 'definition', `SELECT id FROM event_definitions WHERE source_id = $1 ORDER BY id LIMIT 1`, [sourceId]),
  };
}

export interface Route {
  name: string;
  /** Path and query under the origin. */
  path: string;
  /** The OpenAPI path it exercises (to list the GET routes left out). */
  template: string;
}

/** `cursors`: the third page of /deliveries and the second of /dead-letters (found beforehand). */
export function routes(ids: MeasuredIds, anchor: Date, cursors: { deliveries: string; deadLetters: string }): Route[] {
  const day = 86_400_000;
  const since = new Date(anchor.getTime() - 8 * day).toISOString();
  const until = new Date(anchor.getTime() - 7 * day).toISOString();
  const v1 = '/api/v1';
  const r = (name: string, template: string, path: string = template): Route => ({ name, template: `${v1}${template}`, path: `${v1}${path}` });
  return [
    r('me', '/me'),
    r('webhooks', '/webhooks'),
    r('webhook', '/webhooks/{id}', `/webhooks/${ids.webhookId}`),
    r('webhook deliveries', '/webhooks/{id}/deliveries', `/webhooks/${ids.webhookId}/deliveries`),
    r('chatbot webhooks', '/chatbots/{chatbotId}/webhooks', '/chatbots/bot-1/webhooks'),
    r('deliveries', '/deliveries'),
    r('deliveries, page 3 (cursor)', '/deliveries', `/deliveries?cursor=${cursors.deliveries}`),
    r('deliveries ?status=dead', '/deliveries', '/deliveries?status=dead'),
    r('deliveries ?status=retrying', '/deliveries', '/deliveries?status=retrying'),
    r('deliveries ?status=pending', '/deliveries', '/deliveries?status=pending'),
    r('deliveries ?eventType=agent.run.failed', '/deliveries', '/deliveries?eventType=agent.run.failed'),
    r('deliveries ?webhookId&status=succeeded', '/deliveries', `/deliveries?webhookId=${ids.webhookId}&status=succeeded`),
    r('deliveries ?since&until (one day, a week ago)', '/deliveries', `/deliveries?since=${since}&until=${until}`),
    r('deliveries ?eventId', '/deliveries', `/deliveries?eventId=${ids.eventId}`),
    r('delivery with attempts', '/deliveries/{id}', `/deliveries/${ids.deadDeliveryId}`),
    r('event with delivery counts', '/events/{id}', `/events/${ids.eventId}`),
    r('dead-letters', '/dead-letters'),
    r('dead-letters, page 2 (cursor)', '/dead-letters', `/dead-letters?cursor=${cursors.deadLetters}`),
    r('dead-letters ?eventType=tool.called', '/dead-letters', '/dead-letters?eventType=tool.called'),
    r('operations', '/operations'),
    r('operation', '/operations/{id}', `/operations/${ids.operationId}`),
    r('stats/deliveries 1h', '/stats/deliveries', '/stats/deliveries?window=1h'),
    r('stats/deliveries 24h', '/stats/deliveries', '/stats/deliveries?window=24h'),
    r('stats/inbound 1h', '/stats/inbound', '/stats/inbound?window=1h'),
    r('stats/inbound 24h', '/stats/inbound', '/stats/inbound?window=24h'),
    r('workspaces', '/workspaces'),
    r('workspace', '/workspaces/{id}', `/workspaces/${ids.workspaceId}`),
    r('rooms', '/workspaces/{id}/rooms', `/workspaces/${ids.workspaceId}/rooms`),
    r('room', '/rooms/{id}', `/rooms/${ids.roomId}`),
    r('event sources', '/rooms/{id}/event-sources', `/rooms/${ids.roomId}/event-sources`),
    r('definitions', '/event-sources/{id}/definitions', `/event-sources/${ids.sourceId}/definitions`),
    r('definition', '/definitions/{id}', `/definitions/${ids.definitionId}`),
    r('backlog', '/rooms/{id}/backlog', `/rooms/${ids.roomId}/backlog`),
    r('backlog ?status=pending', '/rooms/{id}/backlog', `/rooms/${ids.roomId}/backlog?status=pending`),
    r('match log', '/rooms/{id}/match-log', `/rooms/${ids.roomId}/match-log`),
    r('chats', '/workspaces/{id}/chats', `/workspaces/${ids.workspaceId}/chats`),
    r('room chat with messages', '/chats/{id}', `/chats/${ids.roomChatId}`),
    r('agent chat with messages', '/chats/{id}', `/chats/${ids.agentChatId}`),
    r('agents', '/workspaces/{id}/agents', `/workspaces/${ids.workspaceId}/agents`),
  ];
}
