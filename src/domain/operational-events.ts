/**
 * Operational events: what hookwise tells an org about its own webhooks, published like any other
 * event to the org's subscribers and stream (Svix's `endpoint.disabled`, `message.attempt.exhausted`,
 * `…failing`, `…recovered`). Generic ingress types always have three segments (`webhook.<source>.<type>`),
 * so these two-segment names cannot collide with them.
 */
export const OPERATIONAL_EVENT_TYPES = ['webhook.disabled', 'webhook.failing', 'webhook.recovered', 'delivery.dead'] as const;
export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];

export function isOperationalEvent(type: string): boolean {
  return (OPERATIONAL_EVENT_TYPES as readonly string[]).includes(type);
}

interface About {
  webhookId: string;
  url: string;
  /** The delivery and event whose attempt caused it. */
  deliveryId: string;
  eventId: string;
  /** The attempt behind it: the event's id derives from it, so it is published once. */
  attemptId: string;
}

export type Notice =
  | ({ type: 'webhook.failing'; error: string } & About)
  | ({ type: 'webhook.recovered' } & About)
  | ({ type: 'webhook.disabled'; reason: string } & About)
  | ({ type: 'delivery.dead'; eventType: string; reason: string; attempts: number } & About);
