import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES } from '../src/config.js';
import type { FromHost, HostStats, Role, ToHost } from './host.js';
import { log, withTimeout } from './support.js';

// The parent's side of bench/host.ts: forks one benchmark process per role and talks to it.

const HOST_FILE = fileURLToPath(new URL('./host.ts', import.meta.url));
const READY_TIMEOUT_MS = 300_000;
const STATS_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 30_000;

export interface HostProcess {
  role: Role;
  name: string;
  pid: number;
  /** The API's base URL (api and baseline-api). */
  url: string;
  /** Its statement counts, memory and log counts; `reset` starts the counters afresh. */
  stats(reset?: boolean): Promise<HostStats>;
  /** Resident set size now, bytes (from /proc; null elsewhere). */
  rss(): number | null;
  /** Asks it to stop as the real process would (drain, close), then waits; kills it if that takes too long. */
  stop(): Promise<void>;
  exited(): boolean;
}

/**
 * The environment every benchmark's hookwise processes start from: the run's PostgreSQL and Temporal,
 * a task queue of its own (`<prefix>-<8 hex>`), a fresh encryption key, HTTP receivers on loopback
 * allowed, and /metrics on a free port (9464 may be taken by another run on this machine).
 */
export function hostEnv(infra: { databaseUrl: string; temporalAddress: string }, prefix: string, namespace = process.env.TEMPORAL_NAMESPACE || 'default'): Record<string, string> {
  return {
    DATABASE_URL: infra.databaseUrl,
    TEMPORAL_ADDRESS: infra.temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    HOOKWISE_TASK_QUEUE: `${prefix}-${randomUUID().slice(0, 8)}`,
    HOOKWISE_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    HOOKWISE_ALLOW_HTTP: 'true',
    HOOKWISE_ALLOW_PRIVATE_TARGETS: 'true',
    HOOKWISE_METRICS_PORT: '0',
  };
}

/**
 * Forks bench/host.ts in `role` with exactly `env` as hookwise's configuration (configuration variables
 * inherited from this shell are dropped, so nothing leaks in) and waits until it is ready.
 */
export async function startHost(role: Role, name: string, env: Record<string, string>): Promise<HostProcess> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !CONFIG_VARIABLES.includes(k)));
  const child: ChildProcess = fork(HOST_FILE, [], {
    env: { ...inherited, ...env, BENCH_ROLE: role },
    // Whatever it prints (the Temporal SDK's own log lines included) goes to stderr: stdout is the report's.
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  let exitInfo: string | null = null;
  const waiting = new Map<number, { resolve: (s: HostStats) => void; reject: (e: Error) => void }>();
  const gone = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitInfo = `${name} exited with ${code ?? signal}`;
      for (const w of waiting.values()) w.reject(new Error(exitInfo));
      waiting.clear();
      resolve();
    }),
  );
  const ready = new Promise<string>((resolve, reject) => {
    child.on('message', (m: FromHost) => {
      if (m.type === 'ready') resolve(m.url ?? '');
      else if (m.type === 'failed') reject(new Error(`${name}: ${m.message}`));
      else if (m.type === 'stats') {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        w?.resolve(m.stats);
      }
    });
    child.once('error', reject);
    void gone.then(() => reject(new Error(exitInfo ?? `${name} exited`)));
  });
  let url: string;
  try {
    url = await withTimeout(ready, READY_TIMEOUT_MS, `starting ${name}`);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  log(`${name}: pid ${child.pid}${url ? `, ${url}` : ''}`);
  let nextId = 0;
  let stopping: Promise<void> | undefined;
  return {
    role,
    name,
    pid: child.pid!,
    url,
    stats(reset = false) {
      if (exitInfo) return Promise.reject(new Error(exitInfo));
      const id = ++nextId;
      const p = new Promise<HostStats>((resolve, reject) => waiting.set(id, { resolve, reject }));
      child.send({ type: 'stats', id, reset } satisfies ToHost);
      return withTimeout(p, STATS_TIMEOUT_MS, `${name} stats`);
    },
    rss: () => rssBytes(child.pid!),
    exited: () => exitInfo !== null,
    stop() {
      return (stopping ??= (async () => {
        if (exitInfo) return;
        child.send({ type: 'stop' } satisfies ToHost);
        const t = setTimeout(() => {
          log(`${name} did not stop within ${STOP_TIMEOUT_MS / 1000}s; killing it`);
          child.kill('SIGKILL');
        }, STOP_TIMEOUT_MS);
        await gone;
        clearTimeout(t);
      })());
    },
  };
}

/** VmRSS of a process, bytes. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Adds up statement counts of several processes (API and worker). */
export function mergeStatements(...all: Array<HostStats['statements']>): Record<string, { n: number; ms: number }> {
  const out: Record<string, { n: number; ms: number }> = {};
  for (const s of all) {
    for (const [k, v] of Object.entries(s)) {
      const o = (out[k] ??= { n: 0, ms: 0 });
      o.n += v.n;
      o.ms += v.ms;
    }
  }
  return out;
}
