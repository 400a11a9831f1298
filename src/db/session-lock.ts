import { withClient, type Db } from './pool.js';

/**
 * Runs fn while this process holds the session advisory lock named `name`, or returns null at once if
 * another session holds it. A session lock, not a transaction's: fn may run for minutes and commit
 * many times. A process that dies mid-way loses its connection, and PostgreSQL releases the lock.
 */
export function whileHoldingLock<T>(db: Db, name: string, fn: () => Promise<T>): Promise<T | null> {
  return withClient(db, async (client, broken) => {
    const { rows } = await client.query<{ held: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS held', [name]);
    if (!rows[0].held) return null;
    try {
      return await fn();
    } finally {
      // A broken connection took its lock with it; a healthy one goes back to the pool unlocked. One
      // whose unlock failed must not go back holding the lock: reported as broken, it is destroyed.
      if (!broken()) await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch((err: Error) => client.emit('error', err));
    }
  });
}
