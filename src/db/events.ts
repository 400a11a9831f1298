import type { Queryable } from './pool.js';

export interface EventRow {
  id: string;
  organizationId: string;
  type: string;
  sessionId: string | null;
  body: string;
  createdAt: Date;
}

/**
 * False when an event with this id already exists (a publish retried with the same id). The org's
 * counter row stays locked until the caller's transaction commits: that is what keeps seq in commit order.
 */
export async function insertEvent(db: Queryable, e: Omit<EventRow, 'createdAt'>): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH next AS (
       INSERT INTO event_sequences (organization_id, last_seq) VALUES ($2, 1)
       ON CONFLICT (organization_id) DO UPDATE SET last_seq = event_sequences.last_seq + 1
       RETURNING last_seq
     )
     INSERT INTO events (id, organization_id, type, session_id, body, seq)
     SELECT $1, $2, $3, $4, $5, last_seq FROM next
     ON CONFLICT (id) DO NOTHING`,
    [e.id, e.organizationId, e.type, e.sessionId, e.body],
  );
  return (rowCount ?? 0) > 0;
}
