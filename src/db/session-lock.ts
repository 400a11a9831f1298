import type { Db } from './pool.js';

/**
 * Runs fn while this process holds the session advisory lock named `name`, or returns null at once if
 * another session holds it. A session lock, not a transaction's: fn may run for minutes and commit
 * many times. A process that dies mid-way loses its connection, and PostgreSQL releases the lock.
 */
export async function whileHoldingLock<T>(db: Db, name: string, fn: () => Promise<T>): Promise<T | null> {
  const client = await db.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    const { rows } = await client.query<{ held: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS held', [name]);
    if (!rows[0].held) return null;
    try {
      return await fn();
    } finally {
      if (!broken) await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch(() => {});
    }
  } finally {
    client.off('error', onError);
    // A broken connection is destroyed (its lock went with it); a healthy one goes back unlocked.
    client.release(broken ?? false);
  }
}
