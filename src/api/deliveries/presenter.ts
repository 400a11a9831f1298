import type { AttemptRow, DeliveryRow } from '../../db/deliveries.js';

const ms = (d: Date | null) => (d ? d.getTime() : null);

export function presentDelivery(d: DeliveryRow, attempts?: AttemptRow[]) {
  return {
    id: d.id,
    webhookId: d.webhookId,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attemptCount: d.attemptCount,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    nextAttemptAt: ms(d.nextAttemptAt),
    replayOf: d.replayOf,
    workflowId: d.workflowId,
    createdAt: ms(d.createdAt),
    updatedAt: ms(d.updatedAt),
    completedAt: ms(d.completedAt),
    ...(attempts
      ? {
          attempts: attempts.map((a) => ({
            id: a.id,
            attemptNumber: a.attemptNumber,
            status: a.status,
            statusCode: a.statusCode,
            latencyMs: a.latencyMs,
            error: a.error,
            responseBody: a.responseBody,
            startedAt: ms(a.startedAt),
            finishedAt: ms(a.finishedAt),
          })),
        }
      : {}),
  };
}
