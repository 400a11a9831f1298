import type { Queryable } from './pool.js';

// Earlier model answers, for matching without asking again. An entry answers for payloads of the same
// shape (and candidate set) whose values at the paths the model said it decided by are the same.

export interface CacheQuestion {
  sourceId: string;
  definitionsVersion: number;
  /** The payload's structure and the candidates asked about. */
  shapeKey: string;
}

export interface CachedAnswer {
  definitionId: string | null;
  reason: string;
}

/** The sets of deciding paths answers for this question have named so far (usually one). */
export async function decidingPathSets(db: Queryable, q: CacheQuestion): Promise<string[][]> {
  const { rows } = await db.query(
    `SELECT DISTINCT decided_by FROM llm_match_cache WHERE source_id = $1 AND definitions_version = $2 AND shape_key = $3`,
    [q.sourceId, q.definitionsVersion, q.shapeKey],
  );
  return rows.map((r) => r.decided_by);
}

export async function cachedAnswer(db: Queryable, q: CacheQuestion, valuesKey: string): Promise<CachedAnswer | null> {
  const { rows } = await db.query(
    `SELECT definition_id AS "definitionId", reason FROM llm_match_cache
      WHERE source_id = $1 AND definitions_version = $2 AND shape_key = $3 AND values_key = $4`,
    [q.sourceId, q.definitionsVersion, q.shapeKey, valuesKey],
  );
  return rows[0] ?? null;
}

export async function cacheAnswer(
  db: Queryable,
  q: CacheQuestion & { decidedBy: string[]; valuesKey: string } & CachedAnswer,
): Promise<void> {
  await db.query(
    `INSERT INTO llm_match_cache (source_id, definitions_version, shape_key, values_key, decided_by, definition_id, reason)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7) ON CONFLICT DO NOTHING`,
    [q.sourceId, q.definitionsVersion, q.shapeKey, q.valuesKey, JSON.stringify(q.decidedBy), q.definitionId, q.reason],
  );
}
