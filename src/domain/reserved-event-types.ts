import { OPERATIONAL_EVENT_TYPES } from './operational-events.js';

/**
 * Event types hookwise publishes itself. Receivers get every event signed alike, so one published
 * through `POST /events` under these names would pass for hookwise's own: the API refuses them.
 * - `webhook.*`: operational events (`webhook.disabled`, `…failing`, `…recovered`), `webhook.test`
 *   (POST /webhooks/:id/test) and the generic ingress's `webhook.<source>.<type>`;
 * - `room.agent.*`: a room's agent outcomes (activities/rooms.ts);
 * - `agent.run.*`: a workspace agent's run outcomes (activities/generic-events.ts);
 * - the operational events outside those namespaces (`delivery.dead`).
 */
const RESERVED_PREFIXES = ['webhook.', 'room.agent.', 'agent.run.'] as const;

/**
 * The reserved name (`delivery.dead`) or namespace (`webhook.*`) a type falls under, or null. Case
 * doesn't matter: `Webhook.Disabled` would read as hookwise's to a receiver comparing loosely.
 */
export function reservedEventType(type: string): string | null {
  const lower = type.toLowerCase();
  const prefix = RESERVED_PREFIXES.find((p) => lower.startsWith(p));
  if (prefix) return `${prefix}*`;
  return (OPERATIONAL_EVENT_TYPES as readonly string[]).includes(lower) ? lower : null;
}
