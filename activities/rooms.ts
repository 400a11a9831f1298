import type { Db } from '../src/db/pool.js';
import { withTransaction } from '../src/db/pool.js';
import type { Dispatcher } from '../src/delivery/dispatcher.js';
import type { IngestRoomEventInput, IngestRoomEventResult } from '../workflows/ingest-room-event.js';
import { findRoom } from '../src/db/workspaces.js';
import { definitionsVersion, findDefinition, listDefinitions } from '../src/db/event-sources.js';
import { insertRoomEvent, recordMatch, roomEventPayload, startedRoomEvent, type RoomEvent } from '../src/db/room-events.js';
import { cacheAnswer, cachedAnswer, decidingPathSets, type CacheQuestion } from '../src/db/match-cache.js';
import { admitToBacklog, claimItems, findItem, finishItem, storeFirstResult } from '../src/db/backlog.js';
import { appendMessage, recentMessages, roomChat } from '../src/db/chats.js';
import { vanishedReference } from '../src/db/input-errors.js';
import { planMatch, type MatchPlan } from '../src/domain/matching.js';
import { payloadShapeKey, resolvesAll, valuesKey, WHOLE_PAYLOAD } from '../src/domain/payload-shape.js';
import { derivedId, relatedId } from '../src/domain/ids.js';
import type { Llm } from '../src/llm/llm.js';
import { runAgent } from '../src/agents/agent-runner.js';
import { wakeRoomScheduler } from '../src/flows/room-scheduler.js';
import type { Temporal } from '../src/temporal/client.js';
import type { RoomSettings } from '../src/settings.js';
import type { Metrics } from '../src/metrics.js';
import { callModel, heartbeating } from './heartbeat.js';

export interface RoomActivityDeps {
  db: Db;
  llm: Llm;
  temporal: Temporal;
  dispatcher: Dispatcher;
  settings: RoomSettings;
  metrics: Metrics;
}

type Choice = { definitionId: string | null; reason: string };

export type MatchResult =
  | { kind: 'settled'; result: IngestRoomEventResult }
  /** Only the model can decide; `fallback` is the rule's answer if it picks none. */
  | { kind: 'ask'; fallback: MatchPlan['fallback'] };

export function createRoomActivities(deps: RoomActivityDeps) {
  const { db, llm, settings } = deps;

  // A room event's row is written before its workflow starts (or by its first step): once it is gone,
  // its room or source was deleted, and the event ends with them rather than failing.
  const DELETED = 'the event was deleted with its room or event source';
  const gone = (eventId: string): IngestRoomEventResult => ({ outcome: 'deleted', eventId, reason: DELETED });

  /** The question for the model, and its cache key: which source, which definitions, which candidates, which payload shape. */
  async function question(event: RoomEvent) {
    const payload = JSON.parse(event.payload);
    const [definitions, version] = await Promise.all([listDefinitions(db, event.sourceId), definitionsVersion(db, event.sourceId)]);
    const plan = planMatch(definitions, payload);
    const cacheKey: CacheQuestion = {
      sourceId: event.sourceId,
      definitionsVersion: version,
      shapeKey: `${payloadShapeKey(payload)}:${plan.askable.map((d) => d.id).join(',')}`,
    };
    return { payload, plan, cacheKey };
  }

  /**
   * An earlier answer that holds for this payload: same question, same values at the fields that
   * answer said it depended on. Never a guess: an answer that named no fields (or fields that don't
   * resolve) was stored against the whole payload, so it holds only for an identical one.
   */
  async function remembered(q: CacheQuestion, payload: unknown): Promise<Choice | null> {
    if (!settings.matchCache) return null;
    for (const paths of await decidingPathSets(db, q)) {
      // Entries stored before unresolvable paths were refused would match every payload.
      if (!resolvesAll(payload, paths)) continue;
      const hit = await cachedAnswer(db, q, valuesKey(payload, paths));
      if (hit) return hit;
    }
    return null;
  }

  /** Records how matching ended; a match is admitted to the backlog (under the cap) and wakes the scheduler. */
  async function settle(eventId: string, choice: Choice): Promise<IngestRoomEventResult> {
    if (!(await recordMatch(db, { eventId, ...choice }))) {
      const event = await startedRoomEvent(db, eventId);
      if (!event) return gone(eventId);
      // Else the definition was deleted while the model judged (the workflow holds the choice and the
      // fallback from before): decide by the rules as they stand, or the step would retry forever.
      const { plan } = await question(event);
      const deleted = `definition ${choice.definitionId} was deleted while the event was matched`;
      return settle(eventId, plan.fallback ? { ...plan.fallback, reason: `${plan.fallback.reason} (${deleted})` } : { definitionId: null, reason: deleted });
    }
    if (choice.definitionId === null) return { outcome: 'no_match', reason: choice.reason };
    const [event, definition] = await Promise.all([startedRoomEvent(db, eventId), findDefinition(db, null, choice.definitionId)]);
    const room = event ? await findRoom(db, null, event.roomId) : null;
    if (!event || !room) return gone(eventId);
    const admission = await admitToBacklog(db, {
      organizationId: event.organizationId,
      roomId: event.roomId,
      sourceId: event.sourceId,
      eventId,
      definitionId: choice.definitionId,
      priority: definition?.priority ?? 0,
      cap: settings.backlogCap,
    });
    if (!admission.admitted) return { outcome: 'dropped', definitionId: choice.definitionId };
    // Retried with the activity until Temporal takes it: an admitted item must reach a scheduler.
    await wakeRoomScheduler(deps.temporal, { roomId: room.id, organizationId: room.organizationId, workspaceId: room.workspaceId }, 'next-tick');
    return { outcome: 'admitted', definitionId: choice.definitionId, itemId: admission.itemId };
  }

  /** Publishes an item's outcome in the same transaction that records it: subscribers see exactly how it ended. */
  async function endItem(item: { id: string; organizationId: string; roomId: string }, end: { status: 'done'; result: string } | { status: 'failed'; error: string }, event: { type: string; data: unknown }) {
    const { toStart } = await withTransaction(db, async (tx) => {
      if (!(await finishItem(tx, { id: item.id, ...end }))) return { toStart: [] };
      return deps.dispatcher.record(tx, item.organizationId, { ...event, sessionId: item.roomId }, { eventId: derivedId('evt', item.id, event.type) });
    });
    await deps.dispatcher.startDeliveries(toStart);
  }

  return {
    /**
     * Records the event if the ingress could not, then decides by rules: settles it at once when no
     * model is needed (or none is configured, or the cache knows the answer).
     */
    async matchRoomEvent(input: IngestRoomEventInput): Promise<MatchResult> {
      if (input.unrecorded) {
        try {
          await insertRoomEvent(db, { id: input.eventId, ...input.unrecorded, receivedAt: new Date(input.unrecorded.receivedAt) });
        } catch (err) {
          // Its source was deleted before the row could be written (foreign key violation): retrying can't help.
          if (vanishedReference(err)) return { kind: 'settled', result: gone(input.eventId) };
          throw err;
        }
      }
      const event = await startedRoomEvent(db, input.eventId);
      if (!event) return { kind: 'settled', result: gone(input.eventId) };
      const { payload, plan, cacheKey } = await question(event);
      // A rule below the description-only definitions decides when the model can't (or picks none).
      const fallbackOr = (choice: Choice): Choice => (choice.definitionId === null && plan.fallback ? plan.fallback : choice);
      if (plan.askable.length === 0) {
        return { kind: 'settled', result: await settle(input.eventId, plan.fallback ?? { definitionId: null, reason: 'no definition matched' }) };
      }
      if (!llm.configured) {
        const reason = 'no rule matched above the description-only definitions; no LLM configured to judge them';
        return { kind: 'settled', result: await settle(input.eventId, fallbackOr({ definitionId: null, reason })) };
      }
      const cached = await remembered(cacheKey, payload);
      if (cached) {
        deps.metrics.llmCacheHits.inc();
        return { kind: 'settled', result: await settle(input.eventId, fallbackOr({ ...cached, reason: `${cached.reason} (cached LLM answer)` })) };
      }
      return { kind: 'ask', fallback: plan.fallback };
    },

    /** One model call on the `fast` tier; its answer is cached for payloads of the same shape. */
    judgeRoomEvent: heartbeating(async ({ eventId }: { eventId: string }): Promise<Choice> => {
      const event = await startedRoomEvent(db, eventId);
      // Settling finds it gone too, and ends the event as deleted.
      if (!event) return { definitionId: null, reason: DELETED };
      const { payload, plan, cacheKey } = await question(event);
      const cached = await remembered(cacheKey, payload);
      if (cached) return cached;
      // A request the model refuses for good fails non-retryable (callModel): the workflow decides without it at once.
      const choice = await callModel(
        () => llm.chooseDefinition(payload, plan.askable),
        (outcome) => deps.metrics.llmCalls.inc({ purpose: 'match', outcome }),
      );
      const answer = { definitionId: choice.definitionId, reason: choice.definitionId ? `LLM: ${choice.reason}` : `LLM found no match: ${choice.reason}` };
      // A model that named no deciding fields, or fields this payload doesn't have, is taken at its
      // word only for this exact payload.
      const decidedBy = choice.decidedBy && resolvesAll(payload, choice.decidedBy) ? choice.decidedBy : [WHOLE_PAYLOAD];
      if (settings.matchCache) await cacheAnswer(db, { ...cacheKey, ...answer, decidedBy, valuesKey: valuesKey(payload, decidedBy) });
      return answer;
    }),

    settleRoomEvent: ({ eventId, ...choice }: { eventId: string } & Choice) => settle(eventId, choice),

    /** How long until the room's next tick boundary; rooms are spread over the tick by their id. */
    async untilNextTick({ roomId }: { roomId: string }): Promise<{ delayMs: number }> {
      const phase = [...roomId].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 0) % settings.tickMs;
      const sinceBoundary = (((Date.now() - phase) % settings.tickMs) + settings.tickMs) % settings.tickMs;
      return { delayMs: settings.tickMs - sinceBoundary };
    },

    async claimBacklogItems({ roomId }: { roomId: string }): Promise<string[]> {
      return claimItems(db, roomId, settings.batchSize);
    },

    /**
     * Runs the room's agent on one item and publishes the result. Safe to retry at any point: the
     * first stored answer sticks, and the item's end and its event commit together, once.
     */
    runBacklogItem: heartbeating(async ({ itemId }: { itemId: string }): Promise<void> => {
      const item = await findItem(db, itemId);
      if (!item || item.status !== 'processing') return;
      const room = await findRoom(db, null, item.roomId);
      if (!room) return;
      const definition = item.definitionId ? await findDefinition(db, null, item.definitionId) : null;
      const chatId = await roomChat(db, room);

      let result = item.result;
      if (result === null) {
        const history = await recentMessages(db, chatId, 20);
        const payload = await roomEventPayload(db, item.eventId);
        const answer = await callModel(() =>
          runAgent(llm, {
            tier: room.modelTier,
            instructions: room.instructions,
            task: definition?.instructions ?? null,
            history,
            event: { type: definition?.name ?? 'event', payload },
          }),
          (outcome) => deps.metrics.llmCalls.inc({ purpose: 'agent', outcome }),
        );
        result = await storeFirstResult(db, itemId, answer);
        // The item ended while the model answered (this attempt was taken for lost, and the item
        // failed or was finished by another): nothing of this answer is written.
        if (result === null) return;
      }
      await appendMessage(db, { id: relatedId('msg', itemId), chatId, role: 'assistant', author: 'agent', content: result });
      await endItem(item, { status: 'done', result }, {
        type: 'room.agent.completed',
        data: {
          roomId: room.id,
          itemId,
          eventId: item.eventId,
          sourceId: item.sourceId,
          definitionId: item.definitionId,
          definition: definition?.name ?? null,
          result,
        },
      });
    }),

    async failBacklogItem({ itemId, error }: { itemId: string; error: string }): Promise<void> {
      const item = await findItem(db, itemId);
      if (!item) return;
      await endItem(item, { status: 'failed', error }, {
        type: 'room.agent.failed',
        data: { roomId: item.roomId, itemId, eventId: item.eventId, definitionId: item.definitionId, error },
      });
    },
  };
}

export type RoomActivities = ReturnType<typeof createRoomActivities>;
