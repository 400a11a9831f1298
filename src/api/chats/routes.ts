import { z } from 'zod';
import { findChat, listChats, recentMessages, type Chat, type ChatMessage } from '../../db/chats.js';
import { doc } from '../openapi.js';
import { findWorkspace } from '../../db/workspaces.js';
import { notFound } from '../../errors.js';
import { orgOf, requireCapability } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';
import { parse } from '../validate.js';

const presentChat = (c: Chat) => ({
  id: c.id,
  workspaceId: c.workspaceId,
  roomId: c.roomId,
  agentId: c.agentId,
  title: c.title,
  createdAt: c.createdAt.getTime(),
});

const presentMessage = (m: ChatMessage) => ({
  id: m.id,
  role: m.role,
  author: m.author,
  content: m.content,
  createdAt: m.createdAt.getTime(),
});

// A room's chat gains messages with every item it runs, and a workspace a chat per agent and event:
// answers are bounded like the backlog's and the match log's.
export const chatsLimitQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

export function chatRoutes(router: ApiRouter, { db }: ApiDeps): void {
  const read = requireCapability('read');

  router.get('/workspaces/:id/chats', doc({ summary: 'List a workspace’s newest chats (room chats and agent chats)', query: chatsLimitQuery, response: '`{data: [chats]}`' }), read, async (ctx) => {
    const { limit } = parse(chatsLimitQuery, ctx.query);
    const workspace = await findWorkspace(db, orgOf(ctx), ctx.params.id);
    if (!workspace) throw notFound('workspace');
    ctx.body = { data: (await listChats(db, orgOf(ctx), workspace.id, limit)).map(presentChat) };
  });

  router.get('/chats/:id', doc({ summary: 'Get a chat and its latest messages, oldest first', query: chatsLimitQuery, response: 'The chat with `messages`' }), read, async (ctx) => {
    const { limit } = parse(chatsLimitQuery, ctx.query);
    const chat = await findChat(db, orgOf(ctx), ctx.params.id);
    if (!chat) throw notFound('chat');
    ctx.body = { ...presentChat(chat), messages: (await recentMessages(db, chat.id, limit)).map(presentMessage) };
  });
}
