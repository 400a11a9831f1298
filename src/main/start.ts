import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../dev/embedded-postgres.js';
import { isPortFree } from '../dev/free-port.js';
import { entryCommand, envValue as env, localAppEnv, localSecrets, REPO_ROOT, show } from '../dev/local-app.js';
import { ENGINE_VARIABLE, startLocalTemporal, temporalEngineFromEnv, type LocalPostgres } from '../dev/local-temporal.js';
import { spawnProcess, type Running } from '../dev/processes.js';
import { setTimeout as sleep } from 'node:timers/promises';

// `npm start`: everything for local use in one terminal. Brings up PostgreSQL and Temporal unless
// DATABASE_URL / TEMPORAL_ADDRESS point elsewhere, then the API and the worker as child processes.
// Deliberately independent of src/config.ts: the children validate the configuration themselves.

const STATE_DIR = join(process.cwd(), '.hookwise');
const READY_TIMEOUT_MS = 180_000;

const log = (line: string) => process.stderr.write(`[hookwise] ${line}\n`);
// --- lifecycle: what to stop, in order (children, then Temporal, then PostgreSQL) ---------------

const children: Array<{ name: string; process: Running }> = [];
let stopTemporal: (() => Promise<void>) | undefined;
let stopPostgres: (() => Promise<void>) | undefined;
let shuttingDown: Promise<never> | undefined;

function shutdown(code: number, reason?: string): Promise<never> {
  return (shuttingDown ??= (async () => {
    if (reason) log(reason);
    log('stopping…');
    await Promise.all(children.map((c) => c.process.stop().catch(() => {})));
    await stopTemporal?.().catch((e) => log(`stopping Temporal failed: ${(e as Error).message}`));
    await stopPostgres?.().catch((e) => log(`stopping PostgreSQL failed: ${(e as Error).message}`));
    log('stopped');
    process.exit(code);
  })());
}

let firstSignalAt = 0;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (firstSignalAt === 0) {
      firstSignalAt = Date.now();
      void shutdown(signal === 'SIGINT' ? 130 : 143);
    } else if (Date.now() - firstSignalAt > 1500) {
      // An impatient second Ctrl-C: exit now; exit hooks and watchdogs take the servers down.
      log('forced exit');
      for (const c of children) {
        try {
          process.kill(c.process.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      process.exit(130);
    }
    // Otherwise a duplicate: under `npm start`, Ctrl-C reaches us directly and tsx often relays it too.
  });
}

/** Registers a server's stop(); if we are already shutting down, stops it straight away. */
function adopt(kind: 'temporal' | 'postgres', stop: () => Promise<void>): void {
  if (shuttingDown) {
    void stop();
    return;
  }
  if (kind === 'temporal') stopTemporal = stop;
  else stopPostgres = stop;
}

// --- infrastructure -----------------------------------------------------------------------------

interface Database {
  url: string;
  note: string;
  /** Where the server engine keeps Temporal's databases. */
  forTemporal: LocalPostgres;
}

async function database(): Promise<Database> {
  const fromEnv = env('DATABASE_URL');
  if (fromEnv) {
    // Someone else's server: Temporal's databases are named after hookwise's, e.g. hookwise_temporal.
    const name = decodeURIComponent(new URL(fromEnv).pathname.slice(1)) || 'hookwise';
    return { url: fromEnv, note: 'from DATABASE_URL', forTemporal: { url: fromEnv, databasePrefix: `${name}_` } };
  }
  const dataDir = join(STATE_DIR, 'pgdata');
  const pg = await startEmbeddedPostgres({ dataDir, database: 'hookwise', persistent: true, log });
  adopt('postgres', pg.stop);
  // `npx hookwise` finds the local database here when DATABASE_URL is unset.
  await writeFile(join(STATE_DIR, 'database-url'), pg.databaseUrl + '\n', { mode: 0o600 });
  return { url: pg.databaseUrl, note: `embedded, data in ${show(dataDir)}`, forTemporal: { url: pg.databaseUrl } };
}

async function temporal(db: Promise<Database>): Promise<{ address: string; uiUrl: string | null; note: string; engine?: string }> {
  const fromEnv = env('TEMPORAL_ADDRESS');
  if (fromEnv) return { address: fromEnv, uiUrl: null, note: 'from TEMPORAL_ADDRESS' };
  const engine = temporalEngineFromEnv('dev');
  const local = await startLocalTemporal({
    engine,
    ui: true,
    postgres: engine === 'server' ? db.then((d) => d.forTemporal) : undefined,
    stateDir: STATE_DIR,
    persistent: true,
    namespace: env('TEMPORAL_NAMESPACE'),
    // While we stop the worker, the server logs its cancelled long polls as errors: noise.
    log: (line) => shuttingDown === undefined && log(line),
  });
  adopt('temporal', local.stop);
  const switchTo =
    engine === 'dev'
      ? `${ENGINE_VARIABLE}=server runs the production engine (Temporal server on PostgreSQL) instead`
      : `${ENGINE_VARIABLE}=dev runs the Temporal CLI's dev server instead`;
  return { address: local.address, uiUrl: local.uiUrl, note: local.description, engine: `${engine}; ${switchTo}` };
}

// --- the API and worker processes -----------------------------------------------------------------

function startChild(name: string, script: string, childEnv: NodeJS.ProcessEnv): void {
  const pad = name.padEnd(6);
  const { command, args } = entryCommand(script);
  const child = spawnProcess(command, args, {
    cwd: REPO_ROOT,
    env: childEnv,
    onLine: (l, stream) => (stream === 'stdout' ? process.stdout : process.stderr).write(`${pad}| ${l}\n`),
  });
  void child.exited.then((how) => {
    if (!shuttingDown) void shutdown(1, `${name} ${how}; stopping everything`);
  });
  children.push({ name, process: child });
}

async function waitUntilReady(url: string): Promise<void> {
  const started = Date.now();
  let lastBeat = started;
  let last = 'no answer yet';
  for (;;) {
    if (shuttingDown) await shuttingDown;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() - started > READY_TIMEOUT_MS) {
      await shutdown(1, `the API did not become ready within ${READY_TIMEOUT_MS / 1000}s (${url}: ${last})`);
    }
    if (Date.now() - lastBeat >= 15_000) {
      lastBeat = Date.now();
      log(`waiting for ${url} (${Math.round((Date.now() - started) / 1000)}s, last: ${last})`);
    }
    await sleep(500);
  }
}

// --- main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  // 0755: as root, embedded PostgreSQL runs as `postgres` and must be able to enter this dir.
  await mkdir(STATE_DIR, { recursive: true, mode: 0o755 });

  const port = Number(env('PORT') ?? 3000);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`PORT must be a port number, got "${env('PORT')}"`);
  // Otherwise /readyz could be answered by whatever already holds the port.
  if (!(await isPortFree(port))) throw new Error(`port ${port} is already in use; stop what uses it or set PORT=…`);

  const secrets = await localSecrets(STATE_DIR);

  // Both can be slow (first run: initdb, maybe building Temporal): start them side by side (the
  // server engine waits for PostgreSQL, but builds meanwhile). allSettled, so that whatever did
  // start is registered and stopped even if the other fails.
  const dbPromise = database();
  const [db, tmp] = await Promise.allSettled([dbPromise, temporal(dbPromise)]);
  if (db.status === 'rejected') throw db.reason;
  if (tmp.status === 'rejected') throw tmp.reason;
  if (shuttingDown) await shuttingDown;

  const childEnv = localAppEnv({ port, databaseUrl: db.value.url, temporalAddress: tmp.value.address, secrets });
  // The API runs the migrations at start; the worker doesn't need the schema until work arrives.
  startChild('api', 'src/main/api.ts', childEnv);
  startChild('worker', 'src/main/worker.ts', childEnv);

  const apiUrl = `http://127.0.0.1:${port}`;
  await waitUntilReady(`${apiUrl}/readyz`);

  const lines = [
    '',
    'hookwise is running (Ctrl-C stops everything)',
    `  API:           ${apiUrl}`,
    ...(tmp.value.uiUrl ? [`  Temporal UI:   ${tmp.value.uiUrl}`] : []),
    `  Temporal:      ${tmp.value.address} (${tmp.value.note})`,
    ...(tmp.value.engine ? [`  Engine:        ${tmp.value.engine}`] : []),
    `  PostgreSQL:    ${db.value.note}`,
    secrets.bootstrap.created
      ? `  Admin API key: ${secrets.bootstrap.value}\n                 (org "default", every capability; kept in ${show(secrets.bootstrap.file!)})`
      : `  Admin API key: ${secrets.bootstrap.file ? `stored in ${show(secrets.bootstrap.file)}` : 'from HOOKWISE_BOOTSTRAP_API_KEY'}`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e: unknown) => {
  void shutdown(1, e instanceof Error ? e.message : String(e));
});
