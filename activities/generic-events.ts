import type { Db } from '../src/db/pool.js';
import type { Dispatcher } from '../src/delivery/dispatcher.js';
import { findInboxEvent, markInboxPublished, markInboxStarted } from '../src/db/inbox.js';
import { agentsWithRole, ensureAgentRun, findAgent, findAgentRun, finishAgentRun, storeFirstAnswer } from '../src/db/agents.js';
import { agentChat, appendMessage, findChat, listMessages } from '../src/db/chats.js';
import { genericEnvelope } from '../src/generic/envelope.js';
import { roleFor } from '../src/domain/generic-event.js';
import { newId, relatedId } from '../src/domain/ids.js';
import type { Llm } from '../src/llm/llm.js';
import { runAgent } from '../src/agents/agent-runner.js';
import { agentRunWorkflowId } from '../src/temporal/workflow-ids.js';

export interface GenericEventActivityDeps {
  db: Db;
  llm: Llm;
  dispatcher: Dispatcher;
}

export function createGenericEventActivities(deps: GenericEventActivityDeps) {
  const { db } = deps;

  async function inbox(inboxId: string) {
    const e = await findInboxEvent(db, inboxId);
    if (!e) throw new Error(`inbox event ${inboxId} not found`);
    return e;
  }

  return {
    /**
     * Moves an inbox event to the outbox: publishes it as `webhook.<source>.<event_type_slug>` with the
     * normalized envelope as data. The event id is derived from the inbox id, so a retry publishes nothing new.
     */
    async publishInboxEvent({ inboxId }: { inboxId: string }): Promise<{ eventId: string }> {
      const e = await inbox(inboxId);
      await markInboxStarted(db, inboxId);
      const eventId = relatedId('evt', inboxId);
      await deps.dispatcher.publish(
        e.organizationId,
        { type: roleFor(e.sourceKind, e.eventType), data: genericEnvelope(e) },
        { eventId },
      );
      await markInboxPublished(db, inboxId, eventId);
      return { eventId };
    },

    /** For each agent of the workspace holding the event's role: a chat opened with the event, and a queued run. */
    async routeToAgents({ inboxId }: { inboxId: string }): Promise<Array<{ runId: string; workflowId: string }>> {
      const e = await inbox(inboxId);
      const role = roleFor(e.sourceKind, e.eventType);
      const runs: Array<{ runId: string; workflowId: string }> = [];
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
        runs.push({ runId: run.id, workflowId: run.workflowId });
      }
      return runs;
    },

    /** The agent answers in its chat; its answer is kept once and published as `agent.run.completed`. */
    async runAgentInChat({ runId }: { runId: string }): Promise<void> {
      const run = await findAgentRun(db, runId);
      if (!run || run.status !== 'queued') return;
      const agent = await findAgent(db, null, run.agentId);
      if (!agent) return;
      const e = await inbox(run.inboxId);
      const messages = await listMessages(db, run.chatId);
      let answer = run.answer;
      if (answer === null) {
        const reply = await runAgent(deps.llm, {
          tier: agent.modelTier,
          instructions: agent.instructions,
          task: null,
          history: messages,
          event: { type: roleFor(e.sourceKind, e.eventType), payload: genericEnvelope(e) },
        });
        answer = await storeFirstAnswer(db, runId, reply);
      }
      await appendMessage(db, { id: relatedId('msg', runId), chatId: run.chatId, role: 'assistant', author: agent.name, content: answer });
      const chat = await findChat(db, agent.organizationId, run.chatId);
      await deps.dispatcher.publish(
        agent.organizationId,
        {
          type: 'agent.run.completed',
          data: { runId, agentId: agent.id, chatId: chat?.id ?? run.chatId, workspaceId: agent.workspaceId, inboxEventId: run.inboxId, answer },
        },
        { eventId: relatedId('evt', runId) },
      );
      await finishAgentRun(db, { id: runId, status: 'done', answer });
    },

    async failAgentRun({ runId, error }: { runId: string; error: string }): Promise<void> {
      const run = await findAgentRun(db, runId);
      if (!run) return;
      const agent = await findAgent(db, null, run.agentId);
      if (agent) {
        await deps.dispatcher.publish(
          agent.organizationId,
          { type: 'agent.run.failed', data: { runId, agentId: agent.id, chatId: run.chatId, inboxEventId: run.inboxId, error } },
          { eventId: relatedId('evt', runId) },
        );
      }
      await finishAgentRun(db, { id: runId, status: 'failed', error });
    },
  };
}

export type GenericEventActivities = ReturnType<typeof createGenericEventActivities>;
