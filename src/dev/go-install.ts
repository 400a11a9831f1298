import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline';
import { cacheDir } from './cache-dir.js';
import { setTimeout as sleep } from 'node:timers/promises';

// "go install into hookwise's cache, once per machine": the Temporal CLI, the Temporal server with its
// SQL tool and schema, and the Temporal UI are all built this way.

export interface GoInstallSpec {
  /** Short name for progress lines and errors, e.g. "temporal-server". */
  label: string;
  /** Full `go install` arguments: "module/path/cmd@version", one or more. */
  packages: string[];
  /** The directory the results end up in (created if missing). */
  dir: string;
  /** Paths relative to `dir` that a complete install has; executables are checked as such. */
  outputs: Array<{ path: string; executable?: boolean }>;
  /** Adds non-binary outputs to the staging dir after `go install` (e.g. copies from the module cache). */
  afterBuild?: (staging: string, go: GoTool) => Promise<void>;
  /** Why the user should care, and what else they can do, for the error when Go is missing or fails. */
  help: string;
}

export interface GoTool {
  path: string;
  /** `go env <name>` */
  env(name: string): Promise<string>;
}

const EXE = process.platform === 'win32' ? '.exe' : '';
const HEARTBEAT_MS = 15_000;
// A cold build downloads and compiles hundreds of modules; allow far more than it needs.
const BUILD_TIMEOUT_MS = 30 * 60_000;
// A lock from another host (shared home dir) can't be pid-checked; treat it as stale after this.
const FOREIGN_LOCK_STALE_MS = 45 * 60_000;

export const exe = (name: string): string => name + EXE;

/**
 * Makes sure `spec.dir` holds every output, building them once with `go install` if any is missing.
 * A lock file in the cache keeps concurrent processes from building twice (the others wait and then
 * use the result); the build goes to a private staging dir and is renamed into place, so nobody ever
 * sees a half-written binary. Progress goes to `log`.
 */
export async function goInstallOnce(spec: GoInstallSpec, log: (line: string) => void): Promise<void> {
  if (await isComplete(spec)) return;
  const go = await findGo();
  if (!go) throw new Error(`${spec.help}\nGo is not installed (no \`go\` on PATH), so it cannot be built automatically.`);
  const lockPath = join(cacheDir(), `${spec.label}-build.lock`);
  await mkdir(spec.dir, { recursive: true });

  const waitStart = Date.now();
  let lastBeat = 0;
  for (;;) {
    if (await tryAcquireLock(lockPath)) break;
    const holder = await lockHolder(lockPath);
    if (holder === null || holder === 'gone') {
      // The other builder finished (or died); its result may already be there.
      if (await isComplete(spec)) return;
      continue;
    }
    if (Date.now() - waitStart > BUILD_TIMEOUT_MS + 5 * 60_000) {
      throw new Error(
        `Timed out waiting for another process (pid ${holder.pid} on ${holder.host}) to build ${spec.label}. ` +
          `If no build is running, delete ${lockPath}.\n\n${spec.help}`,
      );
    }
    if (Date.now() - lastBeat >= HEARTBEAT_MS) {
      lastBeat = Date.now();
      log(
        `[${spec.label}] waiting for another process (pid ${holder.pid}) that is building it ` +
          `(${Math.round((Date.now() - waitStart) / 1000)}s elapsed; lock: ${lockPath})`,
      );
    }
    await sleep(1000);
  }

  try {
    // Someone may have finished a build between our check and taking the lock.
    if (await isComplete(spec)) return;
    await build(spec, goTool(go), log);
  } finally {
    await unlink(lockPath).catch(() => {});
  }
}

async function isComplete(spec: GoInstallSpec): Promise<boolean> {
  for (const o of spec.outputs) {
    const p = join(spec.dir, o.path);
    if (!(await (o.executable ? isExecutableFile(p) : exists(p)))) return false;
  }
  return true;
}

function goTool(path: string): GoTool {
  return {
    path,
    env: (name) =>
      new Promise((res, rej) => {
        const child = spawn(path, ['env', name], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.once('error', rej);
        child.once('close', (code) => (code === 0 ? res(out.trim()) : rej(new Error(`go env ${name} exited with ${code}`))));
      }),
  };
}

async function build(spec: GoInstallSpec, go: GoTool, log: (line: string) => void): Promise<void> {
  const staging = join(dirname(spec.dir), `.build-${basename(spec.dir)}-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  log(`[${spec.label}] building: GOBIN=${spec.dir} go install ${spec.packages.join(' ')}`);
  log(`[${spec.label}] this happens once per machine and takes a few minutes; the result is cached in ${spec.dir}.`);

  const started = Date.now();
  const tail: string[] = [];
  let downloaded = 0;
  let compiled = 0;
  // -v names each package as it is compiled: counted for the progress line rather than printed.
  const child = spawn(go.path, ['install', '-v', ...spec.packages], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Everything built here is pure Go; without cgo no C compiler is needed.
    env: { ...process.env, GOBIN: staging, CGO_ENABLED: process.env.CGO_ENABLED ?? '0' },
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      if (line.startsWith('go: downloading ')) downloaded++;
      else if (/^[\w.-]+(\/[\w.@~+-]+)*$/.test(line)) compiled++;
      else log(`[${spec.label}] ${line}`);
    });
  }
  const heartbeat = setInterval(() => {
    log(
      `[${spec.label}] still building… ${Math.round((Date.now() - started) / 1000)}s elapsed, ` +
        `${downloaded} modules downloaded, ${compiled} packages compiled`,
    );
  }, HEARTBEAT_MS);
  const timeout = setTimeout(() => {
    log(`[${spec.label}] build exceeded ${BUILD_TIMEOUT_MS / 60_000} minutes, aborting`);
    child.kill('SIGKILL');
  }, BUILD_TIMEOUT_MS);

  try {
    const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res, rej) => {
      child.once('error', rej);
      child.once('close', (code, signal) => res({ code, signal }));
    });
    if (result.code !== 0) {
      throw new Error(
        `Building ${spec.label} failed (go install exited with ${result.code ?? result.signal}). Last output:\n` +
          `${tail.join('\n')}\n\n${spec.help}`,
      );
    }
    await spec.afterBuild?.(staging, go);
    for (const o of spec.outputs) {
      if (!(await exists(join(staging, o.path)))) throw new Error(`go install succeeded but ${o.path} is missing from its output.\n\n${spec.help}`);
    }
    // Replace each output (an earlier partial install may have left some of them).
    for (const o of spec.outputs) {
      const target = join(spec.dir, o.path);
      await mkdir(dirname(target), { recursive: true });
      await rm(target, { recursive: true, force: true });
      await rename(join(staging, o.path), target);
    }
    log(`[${spec.label}] built into ${spec.dir} in ${Math.round((Date.now() - started) / 1000)}s`);
  } finally {
    clearInterval(heartbeat);
    clearTimeout(timeout);
    process.off('exit', killOnExit);
    await rm(staging, { recursive: true, force: true });
  }
}

// --- files --------------------------------------------------------------------------------------

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export async function isExecutableFile(p: string): Promise<boolean> {
  try {
    const s = await stat(p);
    if (!s.isFile()) return false;
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `go` on PATH, else in $GOROOT/bin or the official installer's /usr/local/go/bin (often not on PATH). */
async function findGo(): Promise<string | null> {
  const onPath = await findOnPath('go');
  if (onPath) return onPath;
  for (const dir of [process.env.GOROOT && join(process.env.GOROOT, 'bin'), '/usr/local/go/bin']) {
    if (dir && (await isExecutableFile(join(dir, exe('go'))))) return join(dir, exe('go'));
  }
  return null;
}

export async function findOnPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    // Relative PATH entries would make the result depend on cwd; skip them.
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, name + EXE);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return null;
}

// --- the build lock -----------------------------------------------------------------------------

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

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
