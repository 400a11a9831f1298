import { createWriteStream, existsSync, readFileSync, renameSync, writeFileSync, type WriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { initCluster, pgCtlBinary, postgresArgs, postgresBinary, postgresUrl, runningPostmaster, waitUntilAccepting } from '../dev/embedded-postgres.js';
import { clusterPortNames, workerPortEnv } from '../dev/cluster-ports.js';
import { freePortsInRange } from '../dev/free-port.js';
import { entryCommand, envValue as env, localAppEnv, localSecrets, REPO_ROOT, show, type LocalSecrets } from '../dev/local-app.js';
import { postgresTarget } from '../dev/local-temporal.js';
import { adoptProcess, isAlive, spawnProcess, type Running } from '../dev/processes.js';
import { supervise, type Supervised, type SupervisedSpec } from '../dev/supervisor.js';
import { findOrBuildTemporalServer, findOrBuildTemporalUi, type TemporalServerBinaries } from '../dev/temporal-binaries.js';
import { databaseName, setupTemporalSchemas } from '../dev/temporal-schema.js';
import { ensureNamespace, waitForFrontend } from '../dev/temporal-server.js';
import {
  serverArgs,
  TEMPORAL_SERVICES,
  writeDynamicConfig,
  writeServerConfig,
  type PostgresTarget,
  type ServicePorts,
  type TemporalDatabases,
  type TemporalService,
} from '../dev/temporal-server-config.js';
import { uiArgs, uiUrl, waitForUi, writeUiConfig } from '../dev/temporal-ui.js';
import { setTimeout as sleep } from 'node:timers/promises';

// `npm run start:cluster`: hookwise's production topology on one machine, each part its own process
// under a small supervisor that restarts whatever exits or is killed (like docker-compose's
// `restart: unless-stopped`):
//   postgres                                   embedded, data in .hookwise/cluster/pgdata
//   temporal-frontend, -history, -matching,    the Temporal server's services, one process each,
//   -worker                                    finding each other through the membership table
//   temporal-ui
//   api-1, api-2                               src/main/api.ts
//   worker-1, worker-2                         src/main/worker.ts
// It writes .hookwise/cluster/state.json (pids, ports, restart counts, URLs) for drills and tools,
// and on Ctrl-C stops everything in order: apps, the UI and Temporal, then PostgreSQL.

const STATE_DIR = join(process.cwd(), '.hookwise', 'cluster');
const STATE_FILE = join(STATE_DIR, 'state.json');
const PORTS_FILE = join(STATE_DIR, 'ports.json');
const LOG_DIR = join(STATE_DIR, 'logs');
const READY_TIMEOUT_MS = 180_000;
const APIS = 2;
const WORKERS = 2;

const log = (line: string) => process.stderr.write(`[cluster] ${line}\n`);

// --- ports: chosen once, kept in ports.json, reused while free ------------------------------------

type PortName = string;
/** Where a port is wanted by default; everything else gets a free port in 10000–32767. */
const PREFERRED: Record<PortName, number> = { 'temporal-frontend.grpc': 7233, 'temporal-ui': 8233, 'api-1': 3000, 'api-2': 3001 };

const portNames = (): PortName[] => clusterPortNames({ apis: APIS, workers: WORKERS });

async function choosePorts(): Promise<Record<PortName, number>> {
  let stored: Record<PortName, number> = {};
  try {
    stored = JSON.parse(await readFile(PORTS_FILE, 'utf8'));
  } catch {
    // first run
  }
  const names = portNames();
  // Temporal's services all below 32768: its membership table stores ports as smallint.
  const picked = await freePortsInRange(names.length, names.map((n) => stored[n] ?? PREFERRED[n]));
  const ports = Object.fromEntries(names.map((n, i) => [n, picked[i]]));
  await writeFile(PORTS_FILE, JSON.stringify(ports, null, 2) + '\n');
  return ports;
}

function servicePorts(p: Record<PortName, number>): ServicePorts {
  const two = (s: TemporalService) => ({ grpc: p[`temporal-${s}.grpc`], membership: p[`temporal-${s}.membership`] });
  return { frontend: { ...two('frontend'), http: p['temporal-frontend.http'] }, history: two('history'), matching: two('matching'), worker: two('worker') };
}

// --- the state file ---------------------------------------------------------------------------------

interface ClusterFacts {
  status: 'starting' | 'running' | 'stopping' | 'stopped';
  databaseUrl: string | null;
  temporal: { address: string; namespace: string; uiUrl: string; databases: TemporalDatabases } | null;
  apiUrls: string[];
  adminApiKeyFile: string | null;
}

const facts: ClusterFacts = { status: 'starting', databaseUrl: null, temporal: null, apiUrls: [], adminApiKeyFile: null };
/** In start order; stopped in reverse groups (see shutdown). */
const processes: Supervised[] = [];

function writeState(): void {
  const state = {
    supervisorPid: process.pid,
    updatedAt: new Date().toISOString(),
    stateDir: STATE_DIR,
    ...facts,
    processes: processes.map((p) => p.state()),
  };
  // Atomic: a reader never sees half a file. 0600: it holds the database password.
  const tmp = `${STATE_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, STATE_FILE);
}

function setFacts(patch: Partial<ClusterFacts>): void {
  Object.assign(facts, patch);
  writeState();
}

/** Refuses to run twice on the same state dir. */
function assertNotRunning(): void {
  let previous: { supervisorPid?: number; status?: string } = {};
  try {
    previous = JSON.parse(readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return;
  }
  const pid = previous.supervisorPid;
  if (pid && pid !== process.pid && previous.status !== 'stopped' && isAlive(pid)) {
    throw new Error(`a cluster is already running from ${show(STATE_DIR)} (supervisor pid ${pid}); stop it first`);
  }
}

// --- supervised processes ----------------------------------------------------------------------------

const logs: WriteStream[] = [];

/** Supervises one process; its output (every restart's too) goes to logs/<name>.log, new each run. */
function run(spec: Omit<SupervisedSpec, 'start'> & { start: (output: (line: string) => void) => Promise<Running> }): Supervised {
  const logFile = join(LOG_DIR, `${spec.name}.log`);
  const out = createWriteStream(logFile);
  logs.push(out);
  let last: Running | null = null;
  const supervised = supervise(
    {
      ...spec,
      info: { ...spec.info, logFile },
      start: async () => {
        out.write(`--- ${new Date().toISOString()} starting ${spec.name}\n`);
        last = await spec.start((line) => out.write(line + '\n'));
        return last;
      },
    },
    { log, onChange: writeState, lastOutput: () => last?.tail().slice(-5) ?? [] },
  );
  processes.push(supervised);
  writeState();
  return supervised;
}

function postgres(o: { dataDir: string; port: number; password: string; ids: { uid: number; gid: number } | undefined; binary: string; pgCtl: string }): Supervised {
  return run({
    name: 'postgres',
    role: 'postgres',
    // pgCtl: for drills, e.g. `pg_ctl restart -m immediate -D <dataDir>` (as the postgres user when root).
    info: { port: o.port, dataDir: o.dataDir, pgCtl: o.pgCtl },
    start: async (output) => {
      // After `pg_ctl restart` the new postmaster is pg_ctl's child, not ours: watch it by pid.
      const adopted = await runningPostmaster(o.dataDir);
      if (adopted !== null) {
        log(`postgres: adopting the postmaster already running on ${show(o.dataDir)} (pid ${adopted})`);
        return adoptProcess(adopted, { stopSignal: 'SIGINT', stopGraceMs: 30_000 });
      }
      return spawnProcess(o.binary, postgresArgs({ dataDir: o.dataDir, port: o.port, persistent: true, settings: { max_connections: '300' } }), {
        cwd: o.dataDir,
        env: { ...process.env, LC_MESSAGES: 'C' },
        ...(o.ids ?? {}),
        // SIGINT is PostgreSQL's fast shutdown.
        stopSignal: 'SIGINT',
        stopGraceMs: 30_000,
        onLine: output,
      });
    },
  });
}

function temporalService(service: TemporalService, binaries: TemporalServerBinaries, configDir: string, ports: Record<PortName, number>): Supervised {
  const name = `temporal-${service}`;
  return run({
    name,
    role: name,
    info: {
      // The worker service serves no gRPC; like every service it is reached through its membership port.
      address: service === 'worker' ? undefined : `127.0.0.1:${ports[`${name}.grpc`]}`,
      membershipAddress: `127.0.0.1:${ports[`${name}.membership`]}`,
      ports: Object.fromEntries(Object.entries(ports).filter(([k]) => k.startsWith(`${name}.`)).map(([k, v]) => [k.slice(name.length + 1), v])),
      configDir,
    },
    start: async (output) => spawnProcess(binaries.server, serverArgs(configDir, [service]), { cwd: configDir, onLine: output }),
  });
}

/** `port`: the API's port, or the worker's metrics and health port (HOOKWISE_METRICS_PORT). */
function app(name: string, role: 'api' | 'worker', appEnv: NodeJS.ProcessEnv, port: number): Supervised {
  const { command, args } = appCommand(role);
  return run({
    name,
    role,
    info: role === 'api' ? { port, url: `http://127.0.0.1:${port}` } : { port, healthUrl: `http://127.0.0.1:${port}/healthz` },
    start: async (output) => spawnProcess(command, args, { cwd: REPO_ROOT, env: appEnv, onLine: output }),
  });
}

/**
 * The API and workers run from the sources (tsx; a worker bundles its workflows when it starts), or,
 * with HOOKWISE_CLUSTER_BUILD=dist, from `npm run build`'s output as the production image runs them:
 * compiled JavaScript and the prebuilt workflow bundle, so a restarted worker polls again in seconds.
 */
function appCommand(role: 'api' | 'worker'): { command: string; args: string[] } {
  if (env('HOOKWISE_CLUSTER_BUILD') !== 'dist') return entryCommand(role === 'api' ? 'src/main/api.ts' : 'src/main/worker.ts');
  const script = join(REPO_ROOT, 'dist', 'src', 'main', `${role}.js`);
  if (!existsSync(script)) throw new Error(`HOOKWISE_CLUSTER_BUILD=dist: ${show(script)} is missing; run npm run build first`);
  return { command: process.execPath, args: [script] };
}

// --- readiness ------------------------------------------------------------------------------------

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const started = Date.now();
  let lastBeat = started;
  for (;;) {
    if (shuttingDown) await shuttingDown;
    if (await check().catch(() => false)) return;
    if (Date.now() - started > READY_TIMEOUT_MS) throw new Error(`${what} was not ready within ${READY_TIMEOUT_MS / 1000}s (see ${show(LOG_DIR)})`);
    if (Date.now() - lastBeat >= 15_000) {
      lastBeat = Date.now();
      log(`waiting for ${what} (${Math.round((Date.now() - started) / 1000)}s)`);
    }
    await sleep(500);
  }
}

const listening = (port: number) =>
  new Promise<boolean>((res) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      res(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });

const answers200 = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(2000) })).status === 200;

// --- lifecycle ------------------------------------------------------------------------------------

let shuttingDown: Promise<never> | undefined;

function shutdown(code: number, reason?: string): Promise<never> {
  return (shuttingDown ??= (async () => {
    if (reason) log(reason);
    log('stopping: apps, then Temporal, then PostgreSQL…');
    setFacts({ status: 'stopping' });
    const stopRoles = async (match: (role: string) => boolean) =>
      Promise.all(processes.filter((p) => match(p.state().role)).map((p) => p.stop().catch((e) => log(`stopping ${p.name}: ${(e as Error).message}`))));
    await stopRoles((r) => r === 'api' || r === 'worker');
    await stopRoles((r) => r === 'temporal-ui' || r === 'temporal-frontend');
    await stopRoles((r) => r.startsWith('temporal-'));
    await stopRoles(() => true);
    setFacts({ status: 'stopped' });
    await Promise.all(logs.map((s) => new Promise((r) => s.end(r))));
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
      // An impatient second Ctrl-C: exit now; exit hooks and watchdogs take the children down.
      log('forced exit');
      process.exit(130);
    }
  });
}

// --- main -----------------------------------------------------------------------------------------

const started = Date.now();

async function main(): Promise<void> {
  // 0755: as root, embedded PostgreSQL runs as `postgres` and must be able to enter this dir.
  await mkdir(STATE_DIR, { recursive: true, mode: 0o755 });
  await mkdir(LOG_DIR, { recursive: true });
  assertNotRunning();
  setFacts({ status: 'starting' });

  const secrets = await localSecrets(STATE_DIR);
  setFacts({ adminApiKeyFile: secrets.bootstrap.file });
  const ports = await choosePorts();

  // Building Temporal (first run only) overlaps with PostgreSQL's start.
  const [binaries, uiBinary, db] = await Promise.all([findOrBuildTemporalServer(log), findOrBuildTemporalUi(log), database(ports['postgres'])]);
  if (shuttingDown) await shuttingDown;
  setFacts({ databaseUrl: db.url });

  // Temporal: schemas, config, then the four services as separate processes.
  const { target, database: hookwiseDb } = postgresTarget(db.url);
  const databases: TemporalDatabases = { main: databaseName(`${db.temporalPrefix}temporal`), visibility: databaseName(`${db.temporalPrefix}temporal_visibility`) };
  await setupTemporalSchemas({ binaries, postgres: target, databases, defaultDatabase: hookwiseDb, log });
  const address = await startTemporal(binaries, target, databases, ports);
  const namespace = env('TEMPORAL_NAMESPACE') ?? 'default';
  await ensureNamespace(address, namespace, null, Date.now() + READY_TIMEOUT_MS);

  const uiDir = join(STATE_DIR, 'temporal-ui');
  const url = uiUrl(ports['temporal-ui']);
  await writeUiConfig(uiDir, { temporalAddress: address, port: ports['temporal-ui'], namespace });
  run({
    name: 'temporal-ui',
    role: 'temporal-ui',
    info: { port: ports['temporal-ui'], url },
    start: async (output) => spawnProcess(uiBinary, uiArgs(uiDir), { cwd: uiDir, onLine: output }),
  });
  setFacts({ temporal: { address, namespace, uiUrl: url, databases } });
  await waitForUi(url, null, Date.now() + READY_TIMEOUT_MS);

  // hookwise: the first API runs the migrations, then the rest start together.
  const appEnv = (port?: number) => localAppEnv({ port, databaseUrl: db.url, temporalAddress: address, secrets });
  const apiUrls = Array.from({ length: APIS }, (_, i) => `http://127.0.0.1:${ports[`api-${i + 1}`]}`);
  setFacts({ apiUrls });
  app('api-1', 'api', appEnv(ports['api-1']), ports['api-1']);
  await waitFor('api-1', () => answers200(`${apiUrls[0]}/readyz`));
  for (let i = 2; i <= APIS; i++) app(`api-${i}`, 'api', appEnv(ports[`api-${i}`]), ports[`api-${i}`]);
  // Each worker its own metrics and health port: on the shared default, the second one could never start.
  for (let i = 1; i <= WORKERS; i++) app(`worker-${i}`, 'worker', { ...appEnv(), ...workerPortEnv(ports, i) }, ports[`worker-${i}.metrics`]);
  for (const u of apiUrls) await waitFor(u, () => answers200(`${u}/readyz`));

  setFacts({ status: 'running' });
  printSummary(secrets, db.note);
}

interface ClusterDatabase {
  url: string;
  note: string;
  /** Temporal's databases are <prefix>temporal and <prefix>temporal_visibility. */
  temporalPrefix: string;
}

/** DATABASE_URL's server, or the embedded PostgreSQL under supervision. */
async function database(port: number): Promise<ClusterDatabase> {
  const fromEnv = env('DATABASE_URL');
  if (fromEnv) {
    const name = postgresTarget(fromEnv).database;
    return { url: fromEnv, note: 'from DATABASE_URL', temporalPrefix: `${name}_` };
  }
  const dataDir = join(STATE_DIR, 'pgdata');
  const cluster = await initCluster({ dataDir, persistent: true, log });
  postgres({ dataDir, port, password: cluster.password, ids: cluster.ids, binary: await postgresBinary(), pgCtl: await pgCtlBinary() });
  await waitFor('postgres', async () => {
    await waitUntilAccepting({ port, password: cluster.password, database: 'hookwise', deadline: Date.now() + 5_000, exitInfo: () => null, log });
    return true;
  });
  const url = postgresUrl(port, cluster.password, 'hookwise');
  return { url, note: `embedded, 127.0.0.1:${port}, data in ${show(dataDir)}`, temporalPrefix: '' };
}

async function startTemporal(binaries: TemporalServerBinaries, postgres: PostgresTarget, databases: TemporalDatabases, ports: Record<PortName, number>): Promise<string> {
  const temporalDir = join(STATE_DIR, 'temporal');
  const dynamicConfigFile = join(temporalDir, 'dynamicconfig.yaml');
  await mkdir(temporalDir, { recursive: true });
  await writeDynamicConfig(dynamicConfigFile);
  const all = servicePorts(ports);
  for (const service of TEMPORAL_SERVICES) {
    const configDir = join(temporalDir, service);
    // Every process knows every service's ports; each has its own pprof and metrics ports.
    await writeServerConfig(configDir, {
      ports: all,
      process: { pprof: ports[`temporal-${service}.pprof`], metrics: ports[`temporal-${service}.metrics`] },
      postgres,
      databases,
      dynamicConfigFile,
      logLevel: 'info',
    });
    temporalService(service, binaries, configDir, ports);
  }
  const address = `127.0.0.1:${all.frontend.grpc}`;
  log(`Temporal ${binaries.version}: frontend, history, matching and worker starting as separate processes; frontend at ${address}`);
  await waitForFrontend(address, null, Date.now() + READY_TIMEOUT_MS);
  // Each service listens on its membership port (the worker service serves no gRPC of its own).
  for (const service of TEMPORAL_SERVICES) await waitFor(`temporal-${service}`, () => listening(all[service].membership));
  return address;
}

function printSummary(secrets: LocalSecrets, dbNote: string): void {
  const rows = processes.map((p) => {
    const s = p.state();
    const where =
      (s.url as string | undefined) ??
      (s.address as string | undefined) ??
      (s.membershipAddress ? `membership ${s.membershipAddress}` : s.port !== undefined ? `127.0.0.1:${s.port}` : '');
    return `    ${s.name.padEnd(18)} pid ${String(s.pid ?? '-').padEnd(8)} ${where}`;
  });
  const key = secrets.bootstrap.created
    ? `${secrets.bootstrap.value}\n                     (org "default", every capability; kept in ${show(secrets.bootstrap.file!)})`
    : secrets.bootstrap.file
      ? `stored in ${show(secrets.bootstrap.file)}`
      : 'from HOOKWISE_BOOTSTRAP_API_KEY';
  const lines = [
    '',
    `hookwise cluster is running (started in ${Math.round((Date.now() - started) / 1000)}s; Ctrl-C stops everything; crashed processes are restarted)`,
    `  API:               ${facts.apiUrls.join(', ')}`,
    `  Temporal UI:       ${facts.temporal!.uiUrl}`,
    `  Temporal:          ${facts.temporal!.address} (namespace ${facts.temporal!.namespace}; databases ${facts.temporal!.databases.main}, ${facts.temporal!.databases.visibility})`,
    `  PostgreSQL:        ${dbNote}`,
    `  Admin API key:     ${key}`,
    `  State file:        ${show(STATE_FILE)} (pids, ports, restarts; rewritten on every change)`,
    `  Logs:              ${show(LOG_DIR)}/<process>.log`,
    '  Processes:',
    ...rows,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e: unknown) => {
  void shutdown(1, e instanceof Error ? e.message : String(e));
});
