import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { cacheDir } from './cache-dir.js';

export const TEMPORAL_CLI_PACKAGE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

const EXE = process.platform === 'win32' ? '.exe' : '';
const HEARTBEAT_MS = 15_000;
// A cold build downloads and compiles a few hundred modules; allow far more than it needs.
const BUILD_TIMEOUT_MS = 30 * 60_000;
// A lock from another host (shared home dir) can't be pid-checked; treat it as stale after this.
const FOREIGN_LOCK_STALE_MS = 45 * 60_000;

/**
 * Returns the path of a `temporal` CLI binary: $TEMPORAL_CLI_PATH, then `temporal` on PATH,
 * then the cached build in <cacheDir>/bin. If none exists and Go is available, builds it once
 * (guarded by a lock file so concurrent processes don't build twice), streaming progress to `log`.
 */
export async function findOrBuildTemporalCli(log: (line: string) => void = console.error): Promise<string> {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv !== undefined && fromEnv !== '') {
    const p = resolve(fromEnv);
    if (await isExecutableFile(p)) return p;
    throw new Error(`TEMPORAL_CLI_PATH is set to "${fromEnv}", but that is not an executable file.`);
  }

  const onPath = await findOnPath('temporal');
  if (onPath) return onPath;

  const cache = cacheDir();
  const binDir = join(cache, 'bin');
  const cached = join(binDir, `temporal${EXE}`);
  if (await isExecutableFile(cached)) return cached;

  const go = await findOnPath('go');
  if (!go) throw new Error(installHelp(binDir, 'Go is not installed (no `go` on PATH), so it cannot be built automatically.'));

  await buildOnce(go, join(cache, 'temporal-cli-build.lock'), binDir, cached, log);
  return cached;
}

function installHelp(binDir: string, reason: string): string {
  return [
    `The Temporal CLI (\`temporal\`) was not found. ${reason}`,
    'hookwise needs it to run a local Temporal dev server. Do one of:',
    `  1. install Go (https://go.dev/dl/) and build it into hookwise's cache (this is what hookwise does automatically when Go is on PATH):`,
    `       GOBIN=${binDir} go install ${TEMPORAL_CLI_PACKAGE}@${TEMPORAL_CLI_VERSION}`,
    '  2. install a release of the Temporal CLI (https://docs.temporal.io/cli#install) and put `temporal` on PATH,',
    '     or point TEMPORAL_CLI_PATH at it:  export TEMPORAL_CLI_PATH=/path/to/temporal',
    '  3. use an existing Temporal server instead of a local dev server:  export TEMPORAL_ADDRESS=host:7233',
  ].join('\n');
}

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    const s = await stat(p);
    if (!s.isFile()) return false;
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    // Relative PATH entries would make the result depend on cwd; skip them.
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, name + EXE);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LockInfo {
  pid: number;
  host: string;
  startedAt: number;
}

async function tryAcquireLock(lockPath: string): Promise<boolean> {
  try {
    const fh = await open(lockPath, 'wx');
    try {
      const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: Date.now() };
      await fh.writeFile(JSON.stringify(info));
    } finally {
      await fh.close();
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** Describes who holds the lock, or null when it is stale (and removes it). */
async function lockHolder(lockPath: string): Promise<LockInfo | null | 'gone'> {
  let raw: string;
  let mtimeMs: number;
  try {
    [raw, mtimeMs] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath).then((s) => s.mtimeMs)]);
  } catch {
    return 'gone';
  }
  let info: LockInfo | undefined;
  try {
    info = JSON.parse(raw) as LockInfo;
  } catch {
    // The holder may be between creating and writing the file; only an old empty lock is stale.
    if (Date.now() - mtimeMs < 30_000) return { pid: 0, host: '?', startedAt: mtimeMs };
  }
  const stale =
    info === undefined ||
    (info.host === hostname() ? !isAlive(info.pid) : Date.now() - info.startedAt > FOREIGN_LOCK_STALE_MS);
  if (!stale) return info!;
  // Two waiters racing here could both end up building; harmless, since each builds privately and renames.
  await rm(lockPath, { force: true });
  return null;
}

async function buildOnce(
  go: string,
  lockPath: string,
  binDir: string,
  target: string,
  log: (line: string) => void,
): Promise<void> {
  await mkdir(binDir, { recursive: true });
  const waitStart = Date.now();
  let lastBeat = 0;
  for (;;) {
    if (await tryAcquireLock(lockPath)) break;
    const holder = await lockHolder(lockPath);
    if (holder === null || holder === 'gone') {
      // The other builder finished (or died); its result may already be there.
      if (await isExecutableFile(target)) return;
      continue;
    }
    if (Date.now() - waitStart > BUILD_TIMEOUT_MS + 5 * 60_000) {
      throw new Error(
        `Timed out waiting for another process (pid ${holder.pid} on ${holder.host}) to build the Temporal CLI. ` +
          `If no build is running, delete ${lockPath}.\n\n${installHelp(binDir, 'The automatic build did not finish.')}`,
      );
    }
    if (Date.now() - lastBeat >= HEARTBEAT_MS) {
      lastBeat = Date.now();
      log(
        `[temporal-cli] waiting for another process (pid ${holder.pid}) that is building the Temporal CLI ` +
          `(${Math.round((Date.now() - waitStart) / 1000)}s elapsed; lock: ${lockPath})`,
      );
    }
    await sleep(1000);
  }

  try {
    // Someone may have finished a build between our check and taking the lock.
    if (await isExecutableFile(target)) return;
    await runGoInstall(go, binDir, target, log);
  } finally {
    await unlink(lockPath).catch(() => {});
  }
}

async function runGoInstall(go: string, binDir: string, target: string, log: (line: string) => void): Promise<void> {
  // Build into a private dir and rename into place, so nobody ever sees a half-written binary.
  const tmpBin = join(binDir, `.build-${process.pid}`);
  await rm(tmpBin, { recursive: true, force: true });
  await mkdir(tmpBin, { recursive: true });
  const pkg = `${TEMPORAL_CLI_PACKAGE}@${TEMPORAL_CLI_VERSION}`;
  log(`[temporal-cli] building the Temporal CLI: GOBIN=${binDir} go install ${pkg}`);
  log('[temporal-cli] this happens once per machine and takes a few minutes; the result is cached.');

  const started = Date.now();
  const tail: string[] = [];
  const child = spawn(go, ['install', pkg], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The CLI is pure Go (SQLite via modernc); disabling cgo means no C compiler is needed.
    env: { ...process.env, GOBIN: tmpBin, CGO_ENABLED: process.env.CGO_ENABLED ?? '0' },
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      log(`[temporal-cli] ${line}`);
    });
  }
  const heartbeat = setInterval(() => {
    log(`[temporal-cli] still building the Temporal CLI… ${Math.round((Date.now() - started) / 1000)}s elapsed`);
  }, HEARTBEAT_MS);
  const timeout = setTimeout(() => {
    log(`[temporal-cli] build exceeded ${BUILD_TIMEOUT_MS / 60_000} minutes, aborting`);
    child.kill('SIGKILL');
  }, BUILD_TIMEOUT_MS);

  try {
    const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res, rej) => {
      child.once('error', rej);
      child.once('close', (code, signal) => res({ code, signal }));
    });
    if (result.code !== 0) {
      throw new Error(
        `Building the Temporal CLI failed (go install exited with ${result.code ?? result.signal}). Last output:\n` +
          `${tail.join('\n')}\n\n${installHelp(binDir, 'The automatic build failed.')}`,
      );
    }
    const built = join(tmpBin, `temporal${EXE}`);
    if (!(await isExecutableFile(built))) {
      throw new Error(`go install succeeded but ${built} is missing.\n\n${installHelp(binDir, 'The automatic build failed.')}`);
    }
    await rename(built, target);
    log(`[temporal-cli] built ${target} in ${Math.round((Date.now() - started) / 1000)}s`);
  } finally {
    clearInterval(heartbeat);
    clearTimeout(timeout);
    process.off('exit', killOnExit);
    await rm(tmpBin, { recursive: true, force: true });
  }
}
