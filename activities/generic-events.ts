import type { Db } from '../src/db/pool.js';
import { withTransaction } from '../src/db/pool.js';
import type { Dispatcher } from '../src/delivery/dispatcher.js';
import { findInboxEvent, markInboxPublished, markInboxStarted, type InboxEvent } from '../src/db/inbox.js';
import { agentsWithRole, ensureAgentRun, findAgent, findAgentRun, finishAgentRun, storeFirstAnswer } from '../src/db/agents.js';
import { agentChat, appendMessage, listMessages } from '../src/db/chats.js';
import { genericEnvelope } from '../src/generic/envelope.js';
import { roleFor } from '../src/domain/generic-event.js';
import { derivedId, newId, relatedId } from '../src/domain/ids.js';
import type { Llm } from '../src/llm/llm.js';
import { runAgent } from '../src/agents/agent-runner.js';
import { agentRunWorkflowId } from '../src/flows/agent-run.js';
import { ApplicationFailure } from '@temporalio/activity';
import { callModel, heartbeating } from './heartbeat.js';
import type { Metrics } from '../src/metrics.js';

export interface GenericEventActivityDeps {
  db: Db;
  llm: Llm;
  dispatcher: Dispatcher;
  metrics: Metrics;
}

/** A queued agent run, with what operators see of it in Temporal. */
export interface QueuedRun {
  runId: string;
  /** `agent-run:<agent>:<inbox>`: the run's activity id (its workflow id, for runs started as child workflows). */
  workflowId: string;
  agentId: string;
  organizationId: string;
  workspaceId: string;
  role: string;
}

export function createGenericEventActivities(deps: GenericEventActivityDeps) {
  const { db } = deps;

  async function inbox(inboxId: string): Promise<InboxEvent> {
    const e = await findInboxEvent(db, inboxId);
    if (!e) throw ApplicationFailure.nonRetryable(`inbox event ${inboxId} does not exist`, 'InboxEventMissing');
    return e;
  }

  /** Ends a run and publishes how it ended in one transaction: subscribers see exactly one outcome per run. */
  async function endRun(runId: string, end: { status: 'done'; answer: string } | { status: 'failed'; error: string }, event: { organizationId: string; type: string; data: unknown }) {
    const { toStart } = await withTransaction(db, async (tx) => {
      if (!(await finishAgentRun(tx, { id: runId, ...end }))) return { toStart: [] };
      return deps.dispatcher.record(tx, event.organizationId, { type: event.type, data: event.data }, { eventId: derivedId('evt', runId, event.type) });
    });
    await deps.dispatcher.startDeliveries(toStart);
  }

  return {
    /**
     * inbox → outbox: publishes the event as `webhook.<source>.<event_type_slug>` with the normalized
     * envelope as data (its id derives from the inbox id, so a retry publishes nothing new), then opens
     * a chat and queues a run for every agent of the workspace holding that role.
     */
    async processInboxEvent({ inboxId }: { inboxId: string }): Promise<{ eventId: string; runs: QueuedRun[] }> {
      const eventId = relatedId('evt', inboxId);
      const e = await findInboxEvent(db, inboxId);
      // The row is written before the workflow starts: gone, it went with its workspace. Nothing to do.
      if (!e) return { eventId, runs: [] };
      await markInboxStarted(db, inboxId);
      const role = roleFor(e.sourceKind, e.eventType);
      await deps.dispatcher.publish(e.organizationId, { type: role, data: genericEnvelope(e) }, { eventId });
      await markInboxPublished(db, inboxId, eventId);

      const runs: QueuedRun[] = [];
      for (const agent of await agentsWithRole(db, e.workspaceId, role)) {
        const chat = await agentChat(db, {
          id: newId('chat'),
          organizationId: e.organizationId,
          workspaceId: e.workspaceId,
          agentId: agent.id,
          inboxId,
          title: `${agent.name}: ${role}`,
        });
        await appendMessage(db, {
          id: relatedId('msg', chat.id),
          chatId: chat.id,
          role: 'event',
          author: e.sourceKind,
          content: JSON.stringify(genericEnvelope(e)),
        });
        const run = await ensureAgentRun(db, {
          id: newId('run'),
          agentId: agent.id,
          chatId: chat.id,
          inboxId,
          workflowId: agentRunWorkflowId(agent.id, inboxId),
        });
        runs.push({ runId: run.id, workflowId: run.workflowId, agentId: agent.id, organizationId: e.organizationId, workspaceId: e.workspaceId, role });
      }
      return { eventId, runs };
    },

    /** The agent answers in its chat; its answer is kept once and published as `agent.run.completed`. */
    runAgentInChat: heartbeating(async ({ runId }: { runId: string }): Promise<void> => {
      const run = await findAgentRun(db, runId);
      if (!run || run.status !== 'queued') return;
      const agent = await findAgent(db, null, run.agentId);
      if (!agent) return;
      const e = await inbox(run.inboxId);
      let answer = run.answer;
      if (answer === null) {
        const history = await listMessages(db, run.chatId);
        const reply = await callModel(() =>
          runAgent(deps.llm, {
            tier: agent.modelTier,
            instructions: agent.instructions,
            task: null,
            history,
            event: { type: roleFor(e.sourceKind, e.eventType), payload: genericEnvelope(e) },
          }),
          (outcome) => deps.metrics.llmCalls.inc({ purpose: 'agent', outcome }),
        );
        answer = await storeFirstAnswer(db, runId, reply);
        // The run ended while the model answered (this attempt was taken for lost): write nothing.
        if (answer === null) return;
      }
      await appendMessage(db, { id: relatedId('msg', runId), chatId: run.chatId, role: 'assistant', author: agent.name, content: answer });
      await endRun(runId, { status: 'done', answer }, {
        organizationId: agent.organizationId,
        type: 'agent.run.completed',
        data: { runId, agentId: agent.id, chatId: run.chatId, workspaceId: agent.workspaceId, inboxEventId: run.inboxId, answer },
      });
    }),

    async failAgentRun({ runId, error }: { runId: string; error: string }): Promise<void> {
      const run = await findAgentRun(db, runId);
      if (!run) return;
      const agent = await findAgent(db, null, run.agentId);
      const organizationId = agent?.organizationId ?? (await inbox(run.inboxId)).organizationId;
      await endRun(runId, { status: 'failed', error }, {
        organizationId,
        type: 'agent.run.failed',
        data: { runId, agentId: run.agentId, chatId: run.chatId, inboxEventId: run.inboxId, error },
      });
    },
  };
}

export type GenericEventActivities = ReturnType<typeof createGenericEventActivities>;
