import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

// Long-running child processes of the local tooling (servers, the API, workers): own process group,
// never outliving us, output drained line by line, a bounded stop.

/** A process we run (or, for PostgreSQL restarted by pg_ctl, one we adopted). */
export interface Running {
  pid: number;
  /** Resolves with "exited with 1" / "exited with SIGKILL" / "could not be started: …" when it is gone. */
  exited: Promise<string>;
  /** Null while it runs. */
  exitInfo(): string | null;
  /** Last lines of its output, for error messages. */
  tail(): string[];
  /** Asks it to stop (stopSignal), escalates to SIGKILL after the grace period; idempotent. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** Default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** Default 10 s. */
  stopGraceMs?: number;
  /** Every line it prints (the tail is kept either way). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export function spawnProcess(command: string, args: string[], o: SpawnOptions = {}): Running {
  const stopSignal = o.stopSignal ?? 'SIGTERM';
  const tail: string[] = [];
  const child = spawn(command, args, {
    cwd: o.cwd,
    env: o.env ?? process.env,
    // Own process group: a terminal Ctrl-C reaches only our process, which stops things in order.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(o.uid !== undefined ? { uid: o.uid, gid: o.gid } : {}),
  });
  let exitInfo: string | null = null;
  const exited = new Promise<string>((res) => {
    child.once('error', (e) => {
      exitInfo ??= `could not be started: ${e.message}`;
      res(exitInfo);
    });
    child.once('exit', (code, signal) => {
      exitInfo ??= `exited with ${code ?? signal}`;
      res(exitInfo);
    });
  });
  // Always drain the pipes: a full pipe would block the child.
  for (const [stream, name] of [
    [child.stdout!, 'stdout'],
    [child.stderr!, 'stderr'],
  ] as const) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      o.onLine?.(line, name);
    });
  }
  const disarm = killWithParent(child.pid, stopSignal);
  void exited.then(disarm);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (exitInfo !== null) return;
      child.kill(stopSignal);
      const timer = setTimeout(() => child.kill('SIGKILL'), o.stopGraceMs ?? 10_000);
      await exited;
      clearTimeout(timer);
    })());

  return { pid: child.pid ?? -1, exited, exitInfo: () => exitInfo, tail: () => [...tail], stop };
}

/**
 * Watches a process that is not our child (e.g. a postmaster that `pg_ctl restart` started), by pid.
 * Its output is not ours to read.
 */
export function adoptProcess(pid: number, o: { stopSignal?: NodeJS.Signals; stopGraceMs?: number } = {}): Running {
  let exitInfo: string | null = null;
  const disarm = killWithParent(pid, o.stopSignal ?? 'SIGTERM');
  const exited = new Promise<string>((res) => {
    const timer = setInterval(() => {
      if (isAlive(pid)) return;
      clearInterval(timer);
      disarm();
      exitInfo ??= 'exited (adopted process; exit status unknown)';
      res(exitInfo);
    }, 250);
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (exitInfo !== null) return;
      signal(pid, o.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => signal(pid, 'SIGKILL'), o.stopGraceMs ?? 10_000);
      await exited;
      clearTimeout(timer);
    })());
  return { pid, exited, exitInfo: () => exitInfo, tail: () => [], stop };
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Alive, and not a zombie (exited but not yet reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Makes sure process `pid` (our child, or one we adopted) does not outlive this process. An 'exit'
 * hook covers normal exits; a tiny detached shell watchdog covers the cases where no JS runs (SIGKILL,
 * default signal handling): it polls both pids and signals the child once this process is gone.
 * Returns a function that disarms both (call it after the child has been stopped).
 */
export function killWithParent(pid: number | undefined, sig: NodeJS.Signals): () => void {
  if (pid === undefined) return () => {};
  const onExit = () => signal(pid, sig);
  process.on('exit', onExit);

  let watchdog: ChildProcess | undefined;
  if (process.platform !== 'win32') {
    const script = [
      'p=$1; t=$2; s=$3',
      'while kill -0 "$p" 2>/dev/null && kill -0 "$t" 2>/dev/null; do sleep 1; done',
      'kill -0 "$p" 2>/dev/null && exit 0',
      'kill -s "$s" "$t" 2>/dev/null || exit 0',
      'i=0; while kill -0 "$t" 2>/dev/null && [ $i -lt 20 ]; do sleep 1; i=$((i+1)); done',
      'kill -s KILL "$t" 2>/dev/null; exit 0',
    ].join('\n');
    try {
      watchdog = spawn('/bin/sh', ['-c', script, 'hookwise-watchdog', String(process.pid), String(pid), sig.replace(/^SIG/, '')], {
        detached: true,
        stdio: 'ignore',
      });
      watchdog.on('error', () => {});
      watchdog.unref();
    } catch {
      // No /bin/sh: the 'exit' hook still covers normal exits.
    }
  }
  let disarmed = false;
  return () => {
    if (disarmed) return;
    disarmed = true;
    process.off('exit', onExit);
    if (watchdog?.pid !== undefined && watchdog.exitCode === null) {
      try {
        // Negative pid: also kill its `sleep`.
        process.kill(-watchdog.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
}

