import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateApiKey } from '../domain/api-keys.js';
import { startEmbeddedPostgres } from '../dev/embedded-postgres.js';
import { freePorts } from '../dev/free-port.js';
import { findOrBuildTemporalCli } from '../dev/temporal-cli.js';
import { killWithParent, startTemporalDevServer } from '../dev/temporal-dev-server.js';

// `npm start`: everything for local use in one terminal. Brings up PostgreSQL and Temporal unless
// DATABASE_URL / TEMPORAL_ADDRESS point elsewhere, then the API and the worker as child processes.
// Deliberately independent of src/config.ts: the children validate the configuration themselves.

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STATE_DIR = join(process.cwd(), '.hookwise');
const READY_TIMEOUT_MS = 180_000;
const CHILD_STOP_GRACE_MS = 10_000;

// Empty counts as unset, as in src/config.ts (docker-compose's `VAR=`).
const env = (name: string): string | undefined => process.env[name] || undefined;
const log = (line: string) => process.stderr.write(`[hookwise] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const show = (p: string) => relative(process.cwd(), p) || p;

// --- lifecycle: what to stop, in order (children, then Temporal, then PostgreSQL) ---------------

const children: Array<{ name: string; child: ChildProcess; stop: () => Promise<void> }> = [];
let stopTemporal: (() => Promise<void>) | undefined;
let stopPostgres: (() => Promise<void>) | undefined;
let shuttingDown: Promise<never> | undefined;

function shutdown(code: number, reason?: string): Promise<never> {
  return (shuttingDown ??= (async () => {
    if (reason) log(reason);
    log('stopping…');
    await Promise.all(children.map((c) => c.stop().catch(() => {})));
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
      for (const c of children) c.child.kill('SIGKILL');
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

async function databaseUrl(): Promise<{ url: string; note: string }> {
  const fromEnv = env('DATABASE_URL');
  if (fromEnv) return { url: fromEnv, note: 'from DATABASE_URL' };
  const dataDir = join(STATE_DIR, 'pgdata');
  const pg = await startEmbeddedPostgres({ dataDir, database: 'hookwise', persistent: true, log });
  adopt('postgres', pg.stop);
  // `npx hookwise` finds the local database here when DATABASE_URL is unset.
  await writeFile(join(STATE_DIR, 'database-url'), pg.databaseUrl + '\n', { mode: 0o600 });
  return { url: pg.databaseUrl, note: `embedded, data in ${show(dataDir)}` };
}

async function temporal(): Promise<{ address: string; uiUrl: string | null }> {
  const fromEnv = env('TEMPORAL_ADDRESS');
  if (fromEnv) return { address: fromEnv, uiUrl: null };
  const cliPath = await findOrBuildTemporalCli(log);
  // Prefer Temporal's usual ports so the UI URL stays bookmarkable; fall back to free ones.
  const usual = (await isPortFree(7233, '127.0.0.1')) && (await isPortFree(8233, '127.0.0.1'));
  const [port, uiPort] = usual ? [7233, 8233] : await freePorts(2);
  const server = await startTemporalDevServer({
    cliPath,
    ui: true,
    port,
    uiPort,
    dbFile: join(STATE_DIR, 'temporal.db'),
    namespace: env('TEMPORAL_NAMESPACE'),
    // While we stop the worker, the server logs its cancelled long polls as errors: noise.
    log: (line) => shuttingDown === undefined && log(line),
  });
  adopt('temporal', server.stop);
  return { address: server.address, uiUrl: server.uiUrl };
}

function isPortFree(port: number, host?: string): Promise<boolean> {
  return new Promise((res) => {
    const server = createServer();
    server.once('error', () => res(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => res(true)));
  });
}

// --- secrets kept in .hookwise/ -------------------------------------------------------------------

/** Reads a secret file, or creates it (0600) with `make()`. `created` tells which happened. */
async function storedSecret(file: string, make: () => string): Promise<{ value: string; created: boolean }> {
  try {
    return { value: (await readFile(file, 'utf8')).trim(), created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const value = make();
  try {
    // 'wx': never overwrite a secret another launcher wrote a moment ago.
    await writeFile(file, value + '\n', { mode: 0o600, flag: 'wx' });
    return { value, created: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return { value: (await readFile(file, 'utf8')).trim(), created: false };
  }
}

// --- the API and worker processes -----------------------------------------------------------------

function startChild(name: string, script: string, childEnv: NodeJS.ProcessEnv): void {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, script)], {
    cwd: REPO_ROOT,
    env: childEnv,
    // Own process group: Ctrl-C reaches only this launcher, which stops things in order.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pad = name.padEnd(6);
  createInterface({ input: child.stdout! }).on('line', (l) => process.stdout.write(`${pad}| ${l}\n`));
  createInterface({ input: child.stderr! }).on('line', (l) => process.stderr.write(`${pad}| ${l}\n`));
  const disarm = killWithParent(child, 'SIGTERM');
  const exited = new Promise<string>((res) => {
    child.once('error', (e) => res(`could not be started: ${e.message}`));
    child.once('exit', (code, signal) => res(`exited with ${code ?? signal}`));
  });
  void exited.then((how) => {
    disarm();
    if (!shuttingDown) void shutdown(1, `${name} ${how}; stopping everything`);
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
    })());
  children.push({ name, child, stop });
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

  const encryptionKey =
    env('HOOKWISE_ENCRYPTION_KEY') ??
    (await storedSecret(join(STATE_DIR, 'encryption-key'), () => randomBytes(32).toString('base64url'))).value;

  const bootstrapFile = join(STATE_DIR, 'bootstrap-api-key');
  let bootstrap: { value: string; created: boolean; where: string };
  const bootstrapFromEnv = env('HOOKWISE_BOOTSTRAP_API_KEY');
  if (bootstrapFromEnv) bootstrap = { value: bootstrapFromEnv, created: false, where: 'from HOOKWISE_BOOTSTRAP_API_KEY' };
  else bootstrap = { ...(await storedSecret(bootstrapFile, () => generateApiKey().key)), where: `stored in ${show(bootstrapFile)}` };

  // Both can be slow (first run: initdb, maybe building the Temporal CLI): start them side by side.
  // allSettled, so that whatever did start is registered and stopped even if the other fails.
  const [db, tmp] = await Promise.allSettled([databaseUrl(), temporal()]);
  if (db.status === 'rejected') throw db.reason;
  if (tmp.status === 'rejected') throw tmp.reason;
  if (shuttingDown) await shuttingDown;

  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    DATABASE_URL: db.value.url,
    TEMPORAL_ADDRESS: tmp.value.address,
    HOOKWISE_ENCRYPTION_KEY: encryptionKey,
    HOOKWISE_BOOTSTRAP_API_KEY: bootstrap.value,
    // Local use means webhook targets like http://localhost:8080; production defaults stay strict.
    HOOKWISE_ALLOW_HTTP: env('HOOKWISE_ALLOW_HTTP') ?? 'true',
    HOOKWISE_ALLOW_PRIVATE_TARGETS: env('HOOKWISE_ALLOW_PRIVATE_TARGETS') ?? 'true',
  };
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
    `  Temporal:      ${tmp.value.address}${env('TEMPORAL_ADDRESS') ? ' (from TEMPORAL_ADDRESS)' : ' (dev server, state in .hookwise/temporal.db)'}`,
    `  PostgreSQL:    ${db.value.note}`,
    bootstrap.created
      ? `  Admin API key: ${bootstrap.value}\n                 (org "default", every capability; kept in ${show(bootstrapFile)})`
      : `  Admin API key: ${bootstrap.where}`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e: unknown) => {
  void shutdown(1, e instanceof Error ? e.message : String(e));
});
