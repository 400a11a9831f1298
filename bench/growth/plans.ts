import type pg from 'pg';

// The statements behind a route, caught on the API's own pool while one request runs, and their
// plans with EXPLAIN (ANALYZE, BUFFERS) run again on the same database.

export interface Statement {
  text: string;
  values: unknown[];
}

type AnyQuery = (...args: unknown[]) => unknown;

/**
 * Wraps `pool.query`: `during(fn)` returns the statements the pool ran while fn ran, and `sqlMs()` the
 * time its statements took from send to answer (summed; a route's statements may overlap).
 */
export function statementTap(pool: pg.Pool) {
  let caught: Statement[] | null = null;
  let sqlMs = 0;
  const original = pool.query as unknown as AnyQuery;
  (pool as unknown as { query: AnyQuery }).query = function (this: unknown, ...args: unknown[]) {
    if (caught) {
      const first = args[0] as string | { text: string; values?: unknown[] };
      caught.push(typeof first === 'string' ? { text: first, values: (args[1] as unknown[]) ?? [] } : { text: first.text, values: first.values ?? [] });
    }
    const t0 = performance.now();
    const result = original.apply(pool, args);
    if (result instanceof Promise) void result.then(() => (sqlMs += performance.now() - t0), () => {});
    return result;
  };
  return {
    sqlMs: () => sqlMs,
    async during(fn: () => Promise<unknown>): Promise<Statement[]> {
      caught = [];
      try {
        await fn();
        return caught;
      } finally {
        caught = null;
      }
    },
  };
}

const READ_ONLY = /^\s*(SELECT|WITH)\b/i;
const WRITES = /\b(INSERT|UPDATE|DELETE)\b/i;

/** EXPLAIN (ANALYZE, BUFFERS) of each read-only statement; writes are listed, not run again. */
export async function explain(db: pg.Pool, statements: Statement[]): Promise<string[]> {
  const out: string[] = [];
  for (const s of statements) {
    const head = s.text.trim().replace(/\s+/g, ' ');
    if (!READ_ONLY.test(s.text) || WRITES.test(s.text)) {
      out.push(`-- not re-run (writes): ${head.slice(0, 120)}`);
      continue;
    }
    const { rows } = await db.query(`EXPLAIN (ANALYZE, BUFFERS) ${s.text}`, s.values);
    out.push(`-- ${head.slice(0, 160)}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}`);
  }
  return out;
}
