import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/**
 * Applies the numbered, forward-only SQL migrations in src/db/migrations. Safe to call from several
 * processes at once: node-pg-migrate holds an advisory lock, and `wait` makes the others queue behind it.
 */
export async function migrate(databaseUrl: string, log: (line: string) => void = () => {}): Promise<void> {
  await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'hookwise_migrations',
    singleTransaction: false,
    advisoryLockMode: 'wait',
    checkOrder: true,
    log,
    logger: { debug: () => {}, info: log, warn: log, error: log },
  });
}
