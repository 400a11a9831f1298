import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { isAlive } from '../../src/dev/processes.js';
import { REPO_ROOT } from '../../src/dev/local-app.js';

// The cluster under test: `npm run start:cluster`, started by the drill or attached to, and watched
// through its state file (.hookwise/cluster/state.json), which the supervisor rewrites on every change.

export const STATE_DIR = join(REPO_ROOT, '.hookwise', 'cluster');
export const STATE_FILE = join(STATE_DIR, 'state.json');

export interface ProcessState {
  name: string;
  role: string;
  pid: number | null;
  status: 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';
  restarts: number;
  lastExit: string | null;
  logFile?: string;
  port?: number;
  url?: string;
  healthUrl?: string;
  address?: string;
  dataDir?: string;
  pgCtl?: string;
}

export interface ClusterState {
  supervisorPid: number;
  status: 'starting' | 'running' | 'stopping' | 'stopped';
  databaseUrl: string | null;
  apiUrls: string[];
  adminApiKeyFile: string | null;
  temporal: { address: string; namespace: string } | null;
  processes: ProcessState[];
}

export function readState(): ClusterState | null {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as ClusterState;
  } catch {
    return null;
  }
}

/** A cluster whose supervisor is alive and says it is running. */
export function runningCluster(): ClusterState | null {
  const s = readState();
  return s && s.status === 'running' && isAlive(s.supervisorPid) ? s : null;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface OwnCluster {
  pid: number;
  /** Ctrl-C for the supervisor: apps, then Temporal, then PostgreSQL; SIGKILL if it takes too long. */
  stop(): Promise<void>;
}

/**
 * Starts `npm run start:cluster` (as its entry script, so the pid is the supervisor's) with `env`
 * added, and waits until its state file says it is running. Its output goes to `log`.
 */
export async function startCluster(env: Record<string, string>, log: (line: string) => void, timeoutMs: number): Promise<OwnCluster> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/main/cluster.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    // Its own process group: the drill's Ctrl-C is handled here, and the cluster stops in order.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exited: string | null = null;
  const done = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      resolve();
    });
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') log(line);
    });
  }
  // The drill dying must not leave a cluster behind.
  const onExit = () => {
    if (exited === null) child.kill('SIGINT');
  };
  process.on('exit', onExit);

  const stop = async () => {
    process.off('exit', onExit);
    if (exited !== null) return;
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    await done;
    clearTimeout(timer);
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== null) throw new Error(`the cluster ${exited} before it was running`);
    const s = readState();
    if (s && s.supervisorPid === child.pid && s.status === 'running') break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the cluster was not running within ${Math.round(timeoutMs / 1000)}s`);
    }
    await sleep(500);
  }
  return { pid: child.pid!, stop };
}

/** The environment a running process was started with (Linux), to check an attached cluster. */
export function environOf(pid: number): Record<string, string> {
  try {
    const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
    return Object.fromEntries(
      raw
        .split('\0')
        .filter((kv) => kv.includes('='))
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
  } catch {
    return {};
  }
}

export const listening = (port: number, host = '127.0.0.1') =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host, port });
    const end = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => end(false));
    socket.once('connect', () => end(true));
    socket.once('error', () => end(false));
  });

/**
 * Which worker processes Temporal sees polling hookwise's task queue (by the SDK's default identity,
 * `<pid>@<host>`): a worker is back when its new pid polls, not merely when its process runs (a
 * worker bundles its workflows before it polls).
 */
export class PollerProbe {
  private constructor(
    private readonly connection: Connection,
    private readonly namespace: string,
    private readonly taskQueue: string,
  ) {}

  static async connect(address: string, namespace: string, taskQueue = 'hookwise'): Promise<PollerProbe> {
    return new PollerProbe(await Connection.connect({ address }), namespace, taskQueue);
  }

  /** Pids polling now (seen within `freshMs`); empty while Temporal does not answer. */
  async pollingPids(freshMs = 70_000): Promise<Set<number>> {
    const pids = new Set<number>();
    for (const taskQueueType of [1, 2]) {
      try {
        const r = await this.connection.workflowService.describeTaskQueue({ namespace: this.namespace, taskQueue: { name: this.taskQueue }, taskQueueType });
        for (const p of r.pollers ?? []) {
          const at = Number(p.lastAccessTime?.seconds ?? 0) * 1000;
          const pid = Number(String(p.identity ?? '').split('@')[0]);
          if (pid > 0 && Date.now() - at < freshMs) pids.add(pid);
        }
      } catch {
        // Temporal is restarting: nobody is seen polling.
      }
    }
    return pids;
  }

  /**
   * Where a workflow's time went, from Temporal's own record of a sample of workflows (ms, p50 and
   * p90): workflow and activity tasks waiting to be picked up by a worker, and activities running.
   */
  async stepTimes(workflowIds: string[]): Promise<Record<'workflowTaskWait' | 'activityWait' | 'activityRun', { p50: number; p90: number; n: number }>> {
    const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
    const samples = { workflowTaskWait: [] as number[], activityWait: [] as number[], activityRun: [] as number[] };
    for (const workflowId of workflowIds) {
      try {
        const r = await this.connection.workflowService.getWorkflowExecutionHistory({ namespace: this.namespace, execution: { workflowId }, maximumPageSize: 200 });
        const at = new Map<number, number>();
        for (const e of r.history?.events ?? []) {
          const id = Number(e.eventId);
          at.set(id, ms(e.eventTime));
          if (e.workflowTaskStartedEventAttributes) samples.workflowTaskWait.push(ms(e.eventTime) - (at.get(Number(e.workflowTaskStartedEventAttributes.scheduledEventId)) ?? ms(e.eventTime)));
          if (e.activityTaskStartedEventAttributes) samples.activityWait.push(ms(e.eventTime) - (at.get(Number(e.activityTaskStartedEventAttributes.scheduledEventId)) ?? ms(e.eventTime)));
          if (e.activityTaskCompletedEventAttributes) samples.activityRun.push(ms(e.eventTime) - (at.get(Number(e.activityTaskCompletedEventAttributes.startedEventId)) ?? ms(e.eventTime)));
        }
      } catch {
        // gone (retention) or Temporal busy: fewer samples
      }
    }
    const pct = (xs: number[], q: number) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length === 0 ? 0 : Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]);
    };
    const sum = (xs: number[]) => ({ p50: pct(xs, 0.5), p90: pct(xs, 0.9), n: xs.length });
    return { workflowTaskWait: sum(samples.workflowTaskWait), activityWait: sum(samples.activityWait), activityRun: sum(samples.activityRun) };
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

export interface ExitRecord {
  name: string;
  at: number;
  /** The pid that exited (null when the exit was a start that failed before it had one). */
  pid: number | null;
  how: string | null;
  /**
   * killed: a pid the drill signalled; recovering: a failed start while the process was coming back
   * from a drill fault; cascade: a Temporal process (not hookwise's) that exited while another process
   * was down from a drill fault or within 30 s of its return (e.g. a service starting while
   * PostgreSQL recovers); own: anything else, always so for hookwise's own API and worker processes.
   */
  cause: 'killed' | 'recovering' | 'cascade' | 'own';
}

/**
 * Watches the state file: every exit (the supervisor's restart count going up), whether the drill
 * caused it, and when a process is back.
 */
export class ProcessMonitor {
  readonly exits: ExitRecord[] = [];
  private last = new Map<string, ProcessState>();
  /** The last pid seen for each process: the state file clears pid before it counts the restart. */
  private lastPid = new Map<string, number>();
  private killed = new Map<string, Set<number>>();
  /** Processes the drill took down that have not been confirmed back yet. */
  private recovering = new Set<string>();
  private timer: NodeJS.Timeout;

  constructor(private readonly log: (line: string) => void) {
    const s = readState();
    for (const p of s?.processes ?? []) {
      if (p.restarts > 0) this.before[p.name] = p.restarts;
      this.last.set(p.name, p);
      if (p.pid !== null) this.lastPid.set(p.name, p.pid);
    }
    this.timer = setInterval(() => this.poll(), 250);
  }

  current(name: string): ProcessState | undefined {
    return this.last.get(name);
  }

  /** Records that the drill is about to take this pid down. */
  markKill(name: string, pid: number): void {
    if (!this.killed.has(name)) this.killed.set(name, new Set());
    this.killed.get(name)!.add(pid);
    this.recovering.add(name);
  }

  markBack(name: string): void {
    this.recovering.delete(name);
    this.lastBackAt = Date.now();
  }

  private lastBackAt = 0;

  private inFaultWindow(): boolean {
    return this.recovering.size > 0 || Date.now() - this.lastBackAt < 30_000;
  }

  /** Exits counted by the supervisor before the drill started watching. */
  readonly before: Record<string, number> = {};

  private poll(): void {
    const s = readState();
    if (!s || s.status !== 'running') return;
    for (const p of s.processes) {
      const before = this.last.get(p.name);
      const exitedPid = this.lastPid.get(p.name) ?? null;
      this.last.set(p.name, p);
      if (p.pid !== null) this.lastPid.set(p.name, p.pid);
      if (!before || p.restarts <= before.restarts) continue;
      for (let i = before.restarts; i < p.restarts; i++) {
        const cause: ExitRecord['cause'] =
          i === before.restarts && exitedPid !== null && this.killed.get(p.name)?.has(exitedPid)
            ? 'killed'
            : this.recovering.has(p.name)
              ? 'recovering'
              : p.role.startsWith('temporal-') && this.inFaultWindow()
                ? 'cascade'
                : 'own';
        const rec: ExitRecord = { name: p.name, at: Date.now(), pid: i === before.restarts ? exitedPid : null, how: p.lastExit, cause };
        this.exits.push(rec);
        const why = { own: 'NOT caused by the drill', recovering: 'while coming back from a drill fault', cascade: 'Temporal, while another process was down from a drill fault' };
        if (cause !== 'killed') this.log(`exit: ${p.name} ${p.lastExit ?? ''} (${why[cause]})`);
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.poll();
  }
}
