import { findChat, listChats, listMessages, type Chat, type ChatMessage } from '../../db/chats.js';
import { doc } from '../openapi.js';
import { findWorkspace } from '../../db/workspaces.js';
import { notFound } from '../../errors.js';
import { orgOf, requireCapability } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';

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

export function chatRoutes(router: ApiRouter, { db }: ApiDeps): void {
  const read = requireCapability('read');

  router.get('/workspaces/:id/chats', doc({ summary: 'List a workspace’s chats (room chats and agent chats)', response: '`{data: [chats]}`' }), read, async (ctx) => {
    const workspace = await findWorkspace(db, orgOf(ctx), ctx.params.id);
    if (!workspace) throw notFound('workspace');
    ctx.body = { data: (await listChats(db, orgOf(ctx), workspace.id)).map(presentChat) };
  });

  router.get('/chats/:id', doc({ summary: 'Get a chat and its messages', response: 'The chat with `messages`' }), read, async (ctx) => {
    const chat = await findChat(db, orgOf(ctx), ctx.params.id);
    if (!chat) throw notFound('chat');
    ctx.body = { ...presentChat(chat), messages: (await listMessages(db, chat.id)).map(presentMessage) };
  });
}
