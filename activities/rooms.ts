import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Db } from '../src/db/pool.js';
import type { Dispatcher } from '../src/delivery/dispatcher.js';
import type { IngestRoomEventInput } from '../workflows/ingest-room-event.js';
import { findRoom } from '../src/db/workspaces.js';
import { definitionsVersion, findDefinition, listDefinitions } from '../src/db/event-sources.js';
import {
  cacheChoice,
  cachedChoice,
  insertRoomEvent,
  markRoomEventStarted,
  recordMatch,
  roomEventPayload,
} from '../src/db/room-events.js';
import { admitToBacklog, claimItems, findItem, finishItem, storeFirstResult } from '../src/db/backlog.js';
import { appendMessage, recentMessages, roomChat } from '../src/db/chats.js';
import { describeRule, ruleMatches } from '../src/domain/rules.js';
import { payloadShapeKey } from '../src/domain/payload-shape.js';
import { relatedId } from '../src/domain/ids.js';
import { LlmOutputInvalid, type Llm } from '../src/llm/llm.js';
import { runAgent } from '../src/agents/agent-runner.js';
import { signalRoomScheduler, type SchedulerSettings } from '../src/rooms/scheduler-client.js';

export interface RoomActivityDeps {
  db: Db;
  llm: Llm;
  temporal: Client;
  dispatcher: Dispatcher;
  scheduler: SchedulerSettings;
  backlogCap: number;
}

/** After this many unusable LLM answers for one event, it is logged as unmatched instead of retried. */
const MAX_INVALID_LLM_ANSWERS = 5;

export function createRoomActivities(deps: RoomActivityDeps) {
  const { db, llm } = deps;

  /** Asks the LLM about the definitions rules can't decide, through the cache of earlier answers. */
  async function askLlm(
    input: IngestRoomEventInput,
    payload: unknown,
    candidates: Array<{ id: string; name: string; description: string }>,
    definitionsVersion: number,
    /** Which candidates were asked about is part of the question, so part of the cache key. */
    candidateSet: string,
  ): Promise<{ definitionId: string | null; reason: string }> {
    if (candidates.length === 0) return { definitionId: null, reason: 'no definition matched' };
    if (!llm.configured) {
      return { definitionId: null, reason: 'no rule matched; no LLM configured to judge the description-only definitions' };
    }
    const key = { sourceId: input.sourceId, definitionsVersion, shapeKey: `${payloadShapeKey(payload)}:${candidateSet}` };
    const cached = await cachedChoice(db, key);
    if (cached) return { ...cached, reason: `${cached.reason} (cached LLM answer)` };
    try {
      const choice = await llm.chooseDefinition(payload, candidates);
      const reason = choice.definitionId ? `LLM: ${choice.reason}` : `LLM found no match: ${choice.reason}`;
      await cacheChoice(db, { ...key, definitionId: choice.definitionId, reason });
      return { definitionId: choice.definitionId, reason };
    } catch (err) {
      // A model that keeps answering nonsense must not hold the event forever; anything else
      // (timeouts, the server down) is retried by Temporal until it answers.
      if (err instanceof LlmOutputInvalid && Context.current().info.attempt >= MAX_INVALID_LLM_ANSWERS) {
        return { definitionId: null, reason: `LLM answered unusable output ${MAX_INVALID_LLM_ANSWERS} times: ${err.message}` };
      }
      throw err;
    }
  }

  return {
    /**
     * Records the event (if the ingress could not) and decides which definition it is, in priority
     * order: rules are checked without the LLM, and one LLM call judges the description-only
     * definitions that rank above the first matching rule.
     */
    async matchRoomEvent(input: IngestRoomEventInput): Promise<{ definitionId: string | null; priority: number; reason: string }> {
      await insertRoomEvent(db, { ...input, id: input.eventId, receivedAt: new Date(input.receivedAt) });
      await markRoomEventStarted(db, input.eventId);
      const payload = JSON.parse(input.payload);
      const definitions = await listDefinitions(db, input.sourceId);
      const version = await definitionsVersion(db, input.sourceId);

      // Priority order decides: the LLM is asked only about description-only definitions ranked above
      // the first rule that matches; if it picks none of them, that rule's definition wins.
      const firstRule = definitions.findIndex((d) => d.rule && ruleMatches(d.rule, payload));
      const ranked = firstRule === -1 ? definitions : definitions.slice(0, firstRule);
      const askable = ranked.filter((d) => !d.rule).map(({ id, name, description }) => ({ id, name, description }));
      let choice = await askLlm(input, payload, askable, version, `above-${firstRule}`);
      if (choice.definitionId === null && firstRule !== -1) {
        const rule = definitions[firstRule];
        choice = { definitionId: rule.id, reason: `rule matched: ${describeRule(rule.rule!)}` };
      }
      await recordMatch(db, { eventId: input.eventId, ...choice });
      const priority = definitions.find((d) => d.id === choice.definitionId)?.priority ?? 0;
      return { ...choice, priority };
    },

    async admitRoomEvent(
      a: IngestRoomEventInput & { definitionId: string; priority: number },
    ): Promise<{ admitted: true; itemId: string } | { admitted: false }> {
      return admitToBacklog(db, {
        organizationId: a.organizationId,
        roomId: a.roomId,
        sourceId: a.sourceId,
        eventId: a.eventId,
        definitionId: a.definitionId,
        priority: a.priority,
        cap: deps.backlogCap,
      });
    },

    async wakeRoomScheduler({ roomId }: { roomId: string }): Promise<void> {
      await signalRoomScheduler(deps.temporal, deps.scheduler, roomId, false);
    },

    async claimBacklogItems({ roomId, limit }: { roomId: string; limit: number }): Promise<string[]> {
      return claimItems(db, roomId, limit);
    },

    /**
     * Runs the room's agent on one item and publishes the result. Safe to retry at any point: the
     * first stored result sticks, and the chat message and outbound event carry ids derived from the
     * item, so a retry after a crash neither asks twice once answered nor emits twice.
     */
    async runBacklogItem({ itemId }: { itemId: string }): Promise<void> {
      const item = await findItem(db, itemId);
      if (!item || item.status !== 'processing') return;
      const room = await findRoom(db, null, item.roomId);
      if (!room) return;
      const definition = item.definitionId ? await findDefinition(db, item.definitionId) : null;
      const chatId = await roomChat(db, room);

      let result = item.result;
      if (result === null) {
        const answer = await runAgent(llm, {
          tier: room.modelTier,
          instructions: room.instructions,
          task: definition?.instructions ?? null,
          history: await recentMessages(db, chatId, 20),
          event: { type: definition?.name ?? 'event', payload: await roomEventPayload(db, item.eventId) },
        });
        result = await storeFirstResult(db, itemId, answer);
      }

      await appendMessage(db, { id: relatedId('msg', itemId), chatId, role: 'assistant', author: 'agent', content: result });
      await deps.dispatcher.publish(
        item.organizationId,
        {
          type: 'room.agent.completed',
          sessionId: room.id,
          data: {
            roomId: room.id,
            itemId,
            eventId: item.eventId,
            sourceId: item.sourceId,
            definitionId: item.definitionId,
            definition: definition?.name ?? null,
            result,
          },
        },
        { eventId: relatedId('evt', itemId) },
      );
      await finishItem(db, { id: itemId, status: 'done', result });
    },

    async failBacklogItem({ itemId, error }: { itemId: string; error: string }): Promise<void> {
      const item = await findItem(db, itemId);
      if (!item) return;
      await deps.dispatcher.publish(
        item.organizationId,
        {
          type: 'room.agent.failed',
          sessionId: item.roomId,
          data: { roomId: item.roomId, itemId, eventId: item.eventId, definitionId: item.definitionId, error },
        },
        { eventId: relatedId('evt', itemId) },
      );
      await finishItem(db, { id: itemId, status: 'failed', error });
    },
  };
}

export type RoomActivities = ReturnType<typeof createRoomActivities>;
