// Workflow ids carry business meaning: they read well in the Temporal UI, and starting the same id
// twice is rejected by the server, which is what makes a repeated fan-out a no-op.

export function deliveryWorkflowId(webhookId: string, eventId: string, replayDeliveryId?: string): string {
  const first = `deliver:${webhookId}:${eventId}`;
  return replayDeliveryId ? `${first}:replay:${replayDeliveryId}` : first;
}

export function roomEventWorkflowId(roomId: string, eventId: string): string {
  return `room-event:${roomId}:${eventId}`;
}

/** One scheduler per room: signalWithStart on this id finds the running one or starts it. */
export function roomSchedulerWorkflowId(roomId: string): string {
  return `room-scheduler:${roomId}`;
}

/** Keyed by the dedupe key when there is one: a duplicate's start is rejected by Temporal too. */
export function genericEventWorkflowId(workspaceId: string, dedupeKey: string | null, inboxId: string): string {
  return dedupeKey === null ? `generic-event:${workspaceId}:${inboxId}` : `generic-event:${workspaceId}:dedupe:${dedupeKey}`;
}

export function agentRunWorkflowId(agentId: string, inboxId: string): string {
  return `agent-run:${agentId}:${inboxId}`;
}
