import { ActivityFailure, ApplicationFailure, continueAsNew, patched, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { RoomActivities } from '../activities/rooms.js';
import { llmCall } from './activity-profiles.js';
import { outlastingOutages } from './outages.js';
import { roomSteps } from './room-steps.js';

export interface IngestRoomEventInput {
  eventId: string;
  /**
   * Only when the ingress could not write the event's row (PostgreSQL was down but Temporal was not):
   * then this start is the durable record, and the first activity writes the row. Otherwise the
   * payload stays in PostgreSQL and out of the workflow's history.
   */
  unrecorded?: { organizationId: string; roomId: string; sourceId: string; payload: string; receivedAt: number };
}

export type IngestRoomEventResult =
  | { outcome: 'no_match'; reason: string }
  | { outcome: 'dropped'; definitionId: string }
  | { outcome: 'admitted'; definitionId: string; itemId: string }
  /** Its room or event source was deleted before it was settled. */
  | { outcome: 'deleted'; eventId: string; reason: string };

const { judgeRoomEvent } = proxyActivities<RoomActivities>(llmCall);

/** While the model can't be reached at all, ask again this often; the event is never dropped for it. */
const LLM_UNREACHABLE_PAUSE = '1 minute';

/** Runs started before a judgment failing for good settled the event waited on it; they replay so. */
const SETTLE_ON_REFUSAL_PATCH = 'room-judge-refusal-settles';
/** Runs started before the wait for the model continued as new kept waiting in one history; they replay so. */
const CONTINUE_WAIT_PATCH = 'room-judge-wait-continues';

/**
 * One inbound room event: which business event is it, and does it fit in the room's backlog? Rules
 * decide in the first activity (which also settles the event); only when a description-only definition
 * ranks above the first matching rule is the LLM asked, and then the rule (if any) is the fallback.
 */
export async function ingestRoomEvent(input: IngestRoomEventInput): Promise<IngestRoomEventResult> {
  const { matchRoomEvent, settleRoomEvent } = roomSteps();
  const match = await matchRoomEvent(input);
  if (match.kind === 'settled') return match.result;
  for (;;) {
    try {
      // A judgment that may yet succeed is asked again every minute (below), lost workers included.
      const choice = await outlastingOutages(() => judgeRoomEvent({ eventId: input.eventId }), { workerLoss: false });
      // The model picked none of the definitions ranked above the first matching rule: the rule wins.
      return await settleRoomEvent({ eventId: input.eventId, ...(choice.definitionId === null && match.fallback ? match.fallback : choice) });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // The model kept answering nonsense (the retry policy's bounded attempts): decide without it.
      if (err.cause instanceof ApplicationFailure && err.cause.type === 'LlmOutputInvalid') {
        const reason = `LLM answered unusable output ${llmCall.retry?.maximumAttempts} times: ${err.cause.message}`;
        return settleRoomEvent({ eventId: input.eventId, ...(match.fallback ?? { definitionId: null, reason }) });
      }
      // No try can succeed (no model configured, a request the model refuses for good): decide without it.
      if (err.cause instanceof ApplicationFailure && err.cause.nonRetryable && patched(SETTLE_ON_REFUSAL_PATCH)) {
        const reason = `LLM can't judge this event: ${err.cause.message}`;
        return settleRoomEvent({ eventId: input.eventId, ...(match.fallback ?? { definitionId: null, reason }) });
      }
      await sleep(LLM_UNREACHABLE_PAUSE);
      // A wait without end must not run the history into Temporal's limit: carry on in a fresh run,
      // which matches again (the payload is in PostgreSQL by now) and asks again.
      if (workflowInfo().continueAsNewSuggested && patched(CONTINUE_WAIT_PATCH)) {
        await continueAsNew<typeof ingestRoomEvent>({ eventId: input.eventId });
      }
    }
  }
}
