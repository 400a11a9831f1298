import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TemporalServerBinaries } from './temporal-binaries.js';
import type { PostgresTarget, TemporalDatabases } from './temporal-server-config.js';

// Temporal's two databases, created and brought to the schema of the server version we run, with the
// server's own SQL tool, exactly as an operator would (and as docker-compose.yml's schema job does).
// Safe on every start: create-database ignores an existing database, setup-schema -v 0.0 only adds
// the version tables, and update-schema applies just the versions a database doesn't have yet.

export interface SchemaOptions {
  binaries: TemporalServerBinaries;
  postgres: PostgresTarget;
  databases: TemporalDatabases;
  /** A database the user can always connect to (create-database connects there first). */
  defaultDatabase: string;
  log: (line: string) => void;
}

export async function setupTemporalSchemas(o: SchemaOptions): Promise<void> {
  const started = Date.now();
  await Promise.all([
    setupOne(o, o.databases.main, join(o.binaries.schemaDir, 'temporal', 'versioned')),
    setupOne(o, o.databases.visibility, join(o.binaries.schemaDir, 'visibility', 'versioned')),
  ]);
  o.log(`[temporal] schemas of ${o.databases.main} and ${o.databases.visibility} are current (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

async function setupOne(o: SchemaOptions, database: string, versionedDir: string): Promise<void> {
  const sql = (...args: string[]) => runSqlTool(o, database, args);
  await sql('create-database', '--defaultdb', o.defaultDatabase);
  await sql('setup-schema', '-v', '0.0');
  await sql('update-schema', '-d', versionedDir);
}

function runSqlTool(o: SchemaOptions, database: string, command: string[]): Promise<void> {
  const args = ['--plugin', 'postgres12', '--ep', o.postgres.host, '-p', String(o.postgres.port), '-u', o.postgres.user, '--db', database, ...command];
  return new Promise((resolve, reject) => {
    // The password goes through the environment (SQL_PASSWORD), not the command line that `ps` shows.
    const child = spawn(o.binaries.sql, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SQL_PASSWORD: o.postgres.password },
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      reject(
        new Error(
          `Temporal's SQL tool failed (${code ?? signal}) on database ${database}: ${o.binaries.sql} ${args.join(' ')}\n` +
            `${output.trim().split('\n').slice(-15).join('\n')}`,
        ),
      );
    });
  });
}

/** Names PostgreSQL accepts unquoted (the SQL tool doesn't quote them): lower case, digits, underscores. */
export function databaseName(raw: string): string {
  const name = raw.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/^([^a-z_])/, '_$1');
  return name.slice(0, 63);
}
