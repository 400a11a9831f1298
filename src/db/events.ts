import type { Queryable } from './pool.js';

export interface EventRow {
  id: string;
  organizationId: string;
  type: string;
  sessionId: string | null;
  body: string;
  createdAt: Date;
}

export async function insertEvent(db: Queryable, e: Omit<EventRow, 'createdAt'>): Promise<void> {
  await db.query(`INSERT INTO events (id, organization_id, type, session_id, body) VALUES ($1, $2, $3, $4, $5)`, [
    e.id,
    e.organizationId,
    e.type,
    e.sessionId,
    e.body,
  ]);
}
