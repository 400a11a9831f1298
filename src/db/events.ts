import type { Queryable } from './pool.js';

export interface EventRow {
  id: string;
  organizationId: string;
  type: string;
  sessionId: string | null;
  body: string;
  createdAt: Date;
}

/** False when an event with this id already exists (a publish retried with the same id). */
export async function insertEvent(db: Queryable, e: Omit<EventRow, 'createdAt'>): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO events (id, organization_id, type, session_id, body) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO NOTHING`,
    [
    e.id,
    e.organizationId,
    e.type,
    e.sessionId,
      e.body,
    ],
  );
  return (rowCount ?? 0) > 0;
}
