import { join, relative } from 'node:path';
import pg from 'pg';
import { freePortsInRange, isPortFree } from './free-port.js';
import { findOrBuildTemporalCli, findOrBuildTemporalServer, findOrBuildTemporalUi } from './temporal-binaries.js';
import { startTemporalDevServer } from './temporal-dev-server.js';
import { databaseName } from './temporal-schema.js';
import { startTemporalServer } from './temporal-server.js';
import type { PostgresTarget, TemporalDatabases } from './temporal-server-config.js';
import { startTemporalUi } from './temporal-ui.js';
import { TEMPORAL_CLI, TEMPORAL_SERVER, withoutV } from './temporal-versions.js';

// The local Temporal engine, chosen in one place for `npm start`, the tests and the benchmarks
// (whenever TEMPORAL_ADDRESS is unset):
//   dev     the Temporal CLI's dev server: quick to start, SQLite; `npm start`'s default.
//   server  the Temporal server on PostgreSQL, the engine hookwise is deployed on; the default of the
//           tests and the benchmarks.

export type TemporalEngine = 'dev' | 'server';
export const ENGINE_VARIABLE = 'HOOKWISE_TEMPORAL_ENGINE';

/** HOOKWISE_TEMPORAL_ENGINE, or `fallback` when it is unset. */
export function temporalEngineFromEnv(fallback: TemporalEngine, env: NodeJS.ProcessEnv = process.env): TemporalEngine {
  const value = env[ENGINE_VARIABLE]?.trim();
  if (!value) return fallback;
  if (value === 'dev' || value === 'server') return value;
  throw new Error(
    `${ENGINE_VARIABLE} must be "dev" (the Temporal CLI's dev server) or "server" (the Temporal server on PostgreSQL), got "${value}"`,
  );
}

export interface LocalPostgres {
  /** A URL of the PostgreSQL server that has hookwise's database; Temporal's databases go beside it. */
  url: string;
  /** Temporal's databases are `<prefix>temporal` and `<prefix>temporal_visibility`. */
  databasePrefix?: string;
  /** Drop Temporal's databases on stop (for throw-away runs on a server that stays). */
  dropOnStop?: boolean;
}

export interface LocalTemporalOptions {
  engine: TemporalEngine;
  /** Also run the Temporal UI (built on first use for the server engine). */
  ui: boolean;
  /** Required by the server engine. A promise is fine: building the server overlaps with its start. */
  postgres?: LocalPostgres | Promise<LocalPostgres>;
  /** The engine's files: the dev server's SQLite file (when persistent), the server's and UI's config. */
  stateDir: string;
  /** Keep Temporal's state across runs (npm start), or not (tests, benchmarks: in memory / dropped). */
  persistent: boolean;
  namespace?: string;
  /** Ports to use when they are free; the usual 7233 and 8233 keep URLs bookmarkable. */
  preferredPorts?: { frontend?: number; ui?: number };
  log: (line: string) => void;
}

export interface LocalTemporal {
  engine: TemporalEngine;
  address: string;
  uiUrl: string | null;
  /** The engine's processes, for CPU accounting. */
  pids: number[];
  /** What runs, for people: e.g. "Temporal server 1.29.1 on PostgreSQL, databases temporal and temporal_visibility". */
  description: string;
  stop(): Promise<void>;
}

export async function startLocalTemporal(o: LocalTemporalOptions): Promise<LocalTemporal> {
  return o.engine === 'dev' ? startDev(o) : startServer(o);
}

async function startDev(o: LocalTemporalOptions): Promise<LocalTemporal> {
  const cliPath = await findOrBuildTemporalCli(o.log);
  const { frontend, ui } = preferredPorts(o);
  // Both usual ports or neither, so the pair stays recognisable.
  const usual =
    frontend !== undefined && (await isPortFree(frontend, '127.0.0.1')) && (!o.ui || (ui !== undefined && (await isPortFree(ui, '127.0.0.1'))));
  const [port, uiPort] = usual ? [frontend, ui] : await freePortsInRange(2);
  const dbFile = o.persistent ? join(o.stateDir, 'temporal.db') : undefined;
  const server = await startTemporalDevServer({ cliPath, ui: o.ui, port, uiPort, dbFile, namespace: o.namespace, log: o.log });
  return {
    engine: 'dev',
    address: server.address,
    uiUrl: server.uiUrl,
    pids: [server.pid],
    description: `Temporal CLI ${withoutV(TEMPORAL_CLI.version)} dev server, ${dbFile ? `state in ${show(dbFile)}` : 'in memory'}`,
    stop: server.stop,
  };
}

async function startServer(o: LocalTemporalOptions): Promise<LocalTemporal> {
  if (!o.postgres) throw new Error('the Temporal server engine needs a PostgreSQL');
  const namespace = o.namespace ?? 'default';
  // Building (first run only) overlaps with PostgreSQL's start.
  const [binaries, uiBinary, pgInfo] = await Promise.all([
    findOrBuildTemporalServer(o.log),
    o.ui ? findOrBuildTemporalUi(o.log) : Promise.resolve(null),
    Promise.resolve(o.postgres),
  ]);
  const { target, database } = postgresTarget(pgInfo.url);
  const prefix = pgInfo.databasePrefix ?? '';
  const databases: TemporalDatabases = { main: databaseName(`${prefix}temporal`), visibility: databaseName(`${prefix}temporal_visibility`) };

  const server = await startTemporalServer({
    binaries,
    postgres: target,
    databases,
    defaultDatabase: database,
    configDir: join(o.stateDir, 'temporal-server'),
    namespace,
    preferredPort: preferredPorts(o).frontend,
    log: o.log,
  });
  const stopServer = async () => {
    await server.stop();
    if (pgInfo.dropOnStop) await dropDatabases(target, database, databases);
  };
  let ui: { url: string; pid: number; stop(): Promise<void> } | null = null;
  if (uiBinary) {
    try {
      ui = await startTemporalUi({
        binary: uiBinary,
        temporalAddress: server.address,
        namespace,
        dir: join(o.stateDir, 'temporal-ui'),
        preferredPort: preferredPorts(o).ui,
        log: o.log,
      });
    } catch (e) {
      await stopServer();
      throw e;
    }
  }
  return {
    engine: 'server',
    address: server.address,
    uiUrl: ui?.url ?? null,
    pids: [server.pid, ...(ui ? [ui.pid] : [])],
    description: `Temporal server ${withoutV(TEMPORAL_SERVER.version)} on PostgreSQL, databases ${databases.main} and ${databases.visibility}`,
    stop: async () => {
      await ui?.stop();
      await stopServer();
    },
  };
}

/** Temporal's usual ports for persistent local use; any free ones for throw-away runs. */
function preferredPorts(o: LocalTemporalOptions): { frontend?: number; ui?: number } {
  return o.preferredPorts ?? (o.persistent ? { frontend: 7233, ui: 8233 } : {});
}

/** Host, port and credentials of a postgres:// URL, and its database. */
export function postgresTarget(url: string): { target: PostgresTarget; database: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('the PostgreSQL URL is not a valid URL');
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new Error('the Temporal server engine needs a PostgreSQL reachable over TCP (a host in the URL)');
  const user = decodeURIComponent(u.username) || process.env.PGUSER || 'postgres';
  return {
    target: { host, port: Number(u.port || 5432), user, password: decodeURIComponent(u.password) },
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || user,
  };
}

async function dropDatabases(target: PostgresTarget, database: string, databases: TemporalDatabases): Promise<void> {
  const client = new pg.Client({ ...target, database });
  client.on('error', () => {});
  await client.connect();
  try {
    for (const name of [databases.main, databases.visibility]) await client.query(`drop database if exists ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end().catch(() => {});
  }
}

const show = (p: string) => relative(process.cwd(), p) || p;
