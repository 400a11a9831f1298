import type { Llm, ModelTier } from '../llm/llm.js';
import type { ChatMessage } from '../db/chats.js';

/**
 * The one way hookwise runs an agent, for rooms and for workspace agents alike: the agent's own
 * instructions, what this event asks of it, the conversation so far, then the event itself.
 */
export async function runAgent(
  llm: Llm,
  a: {
    tier: ModelTier;
    instructions: string;
    task: string | null;
    history: ChatMessage[];
    event: { type: string; payload: unknown };
  },
): Promise<string> {
  const system = [a.instructions, a.task ? `For this kind of event:\n${a.task}` : null].filter(Boolean).join('\n\n');
  const history = a.history
    .filter((m) => m.role !== 'event')
    .map((m) => ({
      role: m.role === 'assistant' ? ('assistant' as const) : ('user' as const),
      content: m.author ? `${m.author}: ${m.content}` : m.content,
    }));
  const event = `Event ${a.event.type}:\n${JSON.stringify(a.event.payload, null, 2).slice(0, 16_000)}`;
  return llm.runAgent({ tier: a.tier, instructions: system, messages: [...history, { role: 'user', content: event }] });
}
