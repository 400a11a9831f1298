import type { Queryable } from './pool.js';
import { newId } from '../domain/ids.js';

export type ChatRole = 'user' | 'assistant' | 'event';

export interface Chat {
  id: string;
  organizationId: string;
  workspaceId: string;
  roomId: string | null;
  agentId: string | null;
  title: string;
  createdAt: Date;
}

export interface ChatMessage {
  id: string;
  chatId: string;
  role: ChatRole;
  author: string | null;
  content: string;
  createdAt: Date;
}

const CHAT = `id, organization_id AS "organizationId", workspace_id AS "workspaceId", room_id AS "roomId",
  agent_id AS "agentId", title,
  created_at AS "createdAt"`;
const MESSAGE = `id, chat_id AS "chatId", role, author, content, created_at AS "createdAt"`;

/** A room has one chat, made on first use. */
export async function roomChat(
  db: Queryable,
  room: { id: string; organizationId: string; workspaceId: string; name: string },
): Promise<string> {
  const { rows } = await db.query(
    `INSERT INTO chats (id, organization_id, workspace_id, room_id, title) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (room_id) DO UPDATE SET title = chats.title
     RETURNING id`,
    [newId('chat'), room.organizationId, room.workspaceId, room.id, `Room ${room.name}`],
  );
  return rows[0].id;
}

export async function appendMessage(
  db: Queryable,
  m: { chatId: string; role: ChatRole; author: string | null; content: string; id?: string },
): Promise<ChatMessage> {
  const { rows } = await db.query(
    `INSERT INTO chat_messages (id, chat_id, role, author, content) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET content = chat_messages.content
     RETURNING ${MESSAGE}`,
    [m.id ?? newId('msg'), m.chatId, m.role, m.author, m.content],
  );
  return rows[0];
}

/**
 * Records a message whose id a sender's own id made (a Twilio MessageSid): true when it is new, false
 * when that id is already recorded, so a redelivered message is stored, and acted on, once.
 */
export async function appendMessageOnce(
  db: Queryable,
  m: { id: string; chatId: string; role: ChatRole; author: string | null; content: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO chat_messages (id, chat_id, role, author, content) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
    [m.id, m.chatId, m.role, m.author, m.content],
  );
  return (rowCount ?? 0) > 0;
}

export async function recentMessages(db: Queryable, chatId: string, limit: number): Promise<ChatMessage[]> {
  const { rows } = await db.query(
    `SELECT * FROM (SELECT ${MESSAGE} FROM chat_messages WHERE chat_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2) m
      ORDER BY "createdAt", id`,
    [chatId, limit],
  );
  return rows;
}

/** A workspace's newest `limit` chats, newest first. */
export async function listChats(db: Queryable, organizationId: string, workspaceId: string, limit: number): Promise<Chat[]> {
  const { rows } = await db.query(
    `SELECT ${CHAT} FROM chats WHERE organization_id = $1 AND workspace_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3`,
    [organizationId, workspaceId, limit],
  );
  return rows;
}

export async function findChat(db: Queryable, organizationId: string, id: string): Promise<Chat | null> {
  const { rows } = await db.query(`SELECT ${CHAT} FROM chats WHERE organization_id = $1 AND id = $2`, [organizationId, id]);
  return rows[0] ?? null;
}

export async function listMessages(db: Queryable, chatId: string): Promise<ChatMessage[]> {
  const { rows } = await db.query(`SELECT ${MESSAGE} FROM chat_messages WHERE chat_id = $1 ORDER BY created_at, id`, [chatId]);
  return rows;
}

/** The chat of one agent about one inbound event; made once, found again on a retry. */
export async function agentChat(
  db: Queryable,
  c: { id: string; organizationId: string; workspaceId: string; agentId: string; inboxId: string; title: string },
): Promise<{ id: string; created: boolean }> {
  const inserted = await db.query(
    `INSERT INTO chats (id, organization_id, workspace_id, agent_id, inbox_id, title) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (agent_id, inbox_id) DO NOTHING RETURNING id`,
    [c.id, c.organizationId, c.workspaceId, c.agentId, c.inboxId, c.title],
  );
  if (inserted.rows[0]) return { id: inserted.rows[0].id, created: true };
  const { rows } = await db.query(`SELECT id FROM chats WHERE agent_id = $1 AND inbox_id = $2`, [c.agentId, c.inboxId]);
  return { id: rows[0].id, created: false };
}
