import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
const MIGRATIONS_TABLE = 'hookwise_migrations';

/**
 * Applies the numbered, forward-only SQL migrations in src/db/migrations. Safe to call from several
 * processes at once: node-pg-migrate holds an advisory lock, and `wait` makes the others queue behind it.
 * Every process calls this at boot, and almost always there is nothing to run: one query tells, and
 * the migrator (a third of a second of CPU to load) is loaded only when there is work for it. A worker
 * restarted after a crash polls again that much sooner.
 */
export async function migrate(databaseUrl: string, log: (line: string) => void = () => {}): Promise<void> {
  if (await schemaIsCurrent(databaseUrl)) {
    log('the schema is current; no migrations to run');
    return;
  }
  const { runner } = await import('node-pg-migrate');
  await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: MIGRATIONS_TABLE,
    singleTransaction: false,
    advisoryLockMode: 'wait',
    checkOrder: true,
    log,
    logger: { debug: () => {}, info: log, warn: log, error: log },
  });
}

/** Every migration file is recorded as run, in the table node-pg-migrate keeps (schema public). */
async function schemaIsCurrent(databaseUrl: string): Promise<boolean> {
  // node-pg-migrate's rule: every file not hidden is a migration, named without its extension.
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => !f.startsWith('.')).map((f) => f.replace(/\.[^.]*$/, ''));
  const client = new pg.Client({ connectionString: databaseUrl });
  // A connection dying mid-query fails the query; without a listener its 'error' event would crash us.
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(`SELECT name FROM public.${MIGRATIONS_TABLE}`);
    const run = new Set(rows.map((r) => r.name));
    return files.every((f) => run.has(f));
  } catch (err) {
    // 42P01: no migrations table yet, a fresh database.
    if ((err as { code?: string }).code === '42P01') return false;
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}
