/**
 * Whether an event fans out to a webhook: it must be active, subscribed to the type (or `*`), and
 * either unscoped (`sessionId` null) or scoped to the event's session.
 */
export function webhookMatches(
  w: { events: string[]; sessionId: string | null; active: boolean },
  e: { type: string; sessionId?: string | null },
): boolean {
  if (!w.active) return false;
  if (!w.events.includes('*') && !w.events.includes(e.type)) return false;
  return w.sessionId === null || w.sessionId === e.sessionId;
}
