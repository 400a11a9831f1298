import pg from 'pg';

// int8 columns (counters) come back as strings by default; ours stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Db = pg.Pool;
export type Queryable = pg.Pool | pg.PoolClient;

/**
 * A statement of a hot path (each publish, each delivery attempt), prepared under `name` once per
 * connection: parsed once, and after five runs PostgreSQL keeps a generic plan when it costs no more
 * than planning each call (for the attempt's claim, planning took longer than running it). Behind
 * PgBouncer in transaction mode this needs PgBouncer 1.21 or later with `max_prepared_statements`.
 */
export function prepared(name: string, text: string, values: unknown[]): pg.QueryConfig {
  return { name, text, values };
}

export function createPool(databaseUrl: string, max = 10, log: (line: string) => void = console.error): Db {
  // A connect that hangs (a black-holed host) gives up after 30 s and counts as unavailable (503).
  // keepAlive: a connection whose peer vanished without a word (a host gone) is found by TCP probes
  // instead of hanging whoever holds it, such as the recovery lock's session.
  const pool = new pg.Pool({ connectionString: databaseUrl, max, connectionTimeoutMillis: 30_000, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
  // An idle client losing its connection (PostgreSQL restarting) must not crash the process; the pool
  // replaces it.
  pool.on('error', (err) => log(`postgres pool: ${err.message}`));
  return pool;
}

/**
 * Runs fn on a client checked out of the pool. The client gets its own 'error' listener: a connection
 * that dies while checked out emits 'error' on the client, which would otherwise crash the process; the
 * query in flight fails with the same error, and the client is destroyed instead of going back to the
 * pool. `broken()` tells fn whether that happened.
 */
export async function withClient<T>(db: Db, fn: (client: pg.PoolClient, broken: () => boolean) => Promise<T>): Promise<T> {
  const client = await db.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    return await fn(client, () => broken !== undefined);
  } finally {
    client.off('error', onError);
    client.release(broken ?? false);
  }
}

/** Runs fn in one transaction, rolled back if it throws. */
export function withTransaction<T>(db: Db, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(db, async (client, broken) => {
    await client.query('BEGIN');
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (!broken()) await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
}

/**
 * Whether an error means PostgreSQL is unreachable or going away (restart, failover, too many
 * connections), as opposed to a problem with the query: callers answer 503 and retry for these.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  const code = e?.code ?? '';
  // 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now; 53300: too many connections.
  if (/^08/.test(code) || ['57P01', '57P02', '57P03', '53300', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) {
    return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed/i.test(
    e?.message ?? '',
  );
}
