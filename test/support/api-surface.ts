import { expect } from 'vitest';
import type Router from '@koa/router';
import { createApp } from '../../src/api/app.js';
import type { ApiDeps } from '../../src/api/context.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import type { Hookwise } from './hookwise.js';

export interface RouteInfo {
  method: string;
  /** The pattern, e.g. `/api/v1/webhooks/:id`. */
  path: string;
}

/**
 * Every route the HTTP app serves, read from its Koa routers (`router.stack`) rather than written
 * by hand, so a new route is covered by the tests that walk this list. HEAD is left out (Koa answers
 * it from GET). The WebSocket at /api/v1/events/ws is an `upgrade` handler, not a route.
 */
export function listRoutes(): RouteInfo[] {
  // Building the app only wires closures: nothing here is called until a request arrives.
  const app = createApp({
    trustProxy: false,
    log() {},
    logger: createLogger({ level: 'silent', service: 'routes' }),
    metrics: createMetrics('api'),
    config: {},
    temporal: { client: {} },
  } as unknown as ApiDeps);
  const routes: RouteInfo[] = [];
  for (const middleware of app.middleware as Array<{ router?: Router }>) {
    for (const layer of middleware.router?.stack ?? []) {
      for (const method of layer.methods) if (method !== 'HEAD') routes.push({ method, path: String(layer.path) });
    }
  }
  return routes;
}

/** One org with one of everything, so that every route's path can name something that exists. */
export interface Seeded {
  orgId: string;
  key: string;
  webhookId: string;
  deliveryId: string;
  chatbotId: string;
  chatbotWebhookId: string;
  workspaceId: string;
  roomId: string;
  sourceId: string;
  token: string;
  definitionId: string;
  agentId: string;
  chatId: string;
}

export async function seedOrg(h: Hookwise): Promise<Seeded> {
  const { orgId, key } = await h.newOrg();
  const post = async (path: string, body: unknown, status = 201) => {
    const res = await h.request('POST', path, { key, body });
    expect(res.status, `${path}: ${res.text}`).toBe(status);
    return res.body;
  };
  const webhook = await post('/api/v1/webhooks', { url: 'http://127.0.0.1:9/seed', events: ['seed.event'], retryPolicy: { attempts: 1 } });
  const event = await post('/api/v1/events', { type: 'seed.event', data: { n: 1 } }, 202);
  const chatbotId = 'bot-seed';
  const chatbot = await post(`/api/v1/chatbots/${chatbotId}/webhooks`, { url: 'http://127.0.0.1:9/bot', eventTypes: ['lead.created'] });
  const ws = await post('/api/v1/workspaces', { name: 'seed' });
  const room = await post(`/api/v1/workspaces/${ws.id}/rooms`, { name: 'seed room', instructions: 'Handle events.' });
  const source = await post(`/api/v1/rooms/${room.id}/event-sources`, { name: 'seed source' });
  const definition = await post(`/api/v1/event-sources/${source.id}/definitions`, {
    name: 'seed def',
    description: 'the seed event',
    priority: 1,
    rule: { path: 'type', equals: 'seed' },
  });
  const agent = await post(`/api/v1/workspaces/${ws.id}/agents`, { name: 'seed agent', instructions: 'x', roles: ['webhook.seed.thing'] });
  const reply = await post(`/api/v1/rooms/${room.id}/replies`, { text: 'hello' }, 202);
  return {
    orgId,
    key,
    webhookId: webhook.id,
    deliveryId: event.deliveries[0],
    chatbotId,
    chatbotWebhookId: chatbot.webhook.id,
    workspaceId: ws.id,
    roomId: room.id,
    sourceId: source.id,
    token: source.token,
    definitionId: definition.id,
    agentId: agent.id,
    chatId: reply.chatId,
  };
}

/** A route pattern with its parameters filled from the seeded org. */
export function fillPath(pattern: string, s: Seeded): string {
  const byPrefix: Record<string, string> = {
    webhooks: s.webhookId,
    deliveries: s.deliveryId,
    workspaces: s.workspaceId,
    rooms: s.roomId,
    'event-sources': s.sourceId,
    definitions: s.definitionId,
    agents: s.agentId,
    chats: s.chatId,
  };
  return pattern
    .replace('/api/v1/chatbots/:chatbotId/webhooks/:id', `/api/v1/chatbots/${s.chatbotId}/webhooks/${s.chatbotWebhookId}`)
    .replace(':chatbotId', s.chatbotId)
    .replace('/webhooks/generic/:workspaceId', `/webhooks/generic/${s.workspaceId}`)
    .replace('/webhooks/channel/twilio/:roomId', `/webhooks/channel/twilio/${s.roomId}`)
    .replace(/^\/webhooks\/:token$/, `/webhooks/${s.token}`)
    .replace(/\/([a-z-]+)\/:id/, (_m, prefix: string) => `/${prefix}/${byPrefix[prefix] ?? 'unknown'}`);
}
