import http, { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { postgresTarget, startLocalTemporal, temporalEngineFromEnv, type LocalPostgres } from '../src/dev/local-temporal.js';
import { migrate } from '../src/db/migrate.js';
import { WORKFLOWS_PATH } from '../src/roots/worker.js';
import type { BaselineActivities, BaselineDeliveryInput } from './baseline-workflow.js';

// Helpers of bench/delivery.ts: the receiver, the baseline's activity, statistics, CPU accounting.

export const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Rejects with `what timed out` when `p` takes longer than `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${Math.round(ms / 1000)}s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Bundles the workflows at `workflowsPath` into `<dir>/<name>.js` (once per run; workers load the
 * file) and returns its path. Only the bundler's warnings and errors are shown.
 */
export async function bundleWorkflowsTo(dir: string, name: string, workflowsPath: string): Promise<string> {
  const started = Date.now();
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: (m: string) => log(`bundler: ${m}`), error: (m: string) => log(`bundler: ${m}`) };
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quiet });
  const path = join(dir, `${name}.js`);
  await writeFile(path, code);
  log(`bundled the ${name} workflows in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return path;
}

/** POSTs a JSON body over a keep-alive agent and answers its status and text; only network errors reject. */
export function postJson(
  agent: http.Agent,
  baseUrl: string,
  path: string,
  body: string,
  o: { key?: string | null; timeoutMs?: number; onSend?: () => void } = {},
): Promise<{ status: number; text: string }> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, method: 'POST', agent, timeout: o.timeoutMs ?? 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    if (o.key) req.setHeader('authorization', `Bearer ${o.key}`);
    req.setHeader('content-type', 'application/json');
    req.setHeader('content-length', Buffer.byteLength(body));
    req.on('timeout', () => req.destroy(new Error(`POST ${path} timed out`)));
    req.on('error', reject);
    o.onSend?.();
    req.end(body);
  });
}

// --- infrastructure: PostgreSQL and Temporal -----------------------------------------------------

export interface BenchInfra {
  databaseUrl: string;
  temporalAddress: string;
  /** Process roots for CPU accounting; null when the service is external or not found. */
  pids: { temporal: number | null; postgres: number | null };
  source: { postgres: string; temporal: string };
}

/**
 * DATABASE_URL and TEMPORAL_ADDRESS when set; otherwise a throw-away embedded PostgreSQL and the local
 * Temporal engine on it: the production server by default, the CLI's dev server with
 * HOOKWISE_TEMPORAL_ENGINE=dev. Everything started is registered with `onCleanup`.
 */
export async function startBenchInfra(o: {
  /** Names the temp dir and the database. */
  name: string;
  /** Keep PostgreSQL's crash-safe defaults (fsync, synchronous_commit, full-page writes). */
  pgDurable: boolean;
  onCleanup: (name: string, fn: () => Promise<unknown>) => void;
}): Promise<BenchInfra> {
  let pgPid: number | null = null;
  let temporalPid: number | null = null;
  const dir = await mkdtemp(join(os.tmpdir(), `hookwise-${o.name}-`));
  o.onCleanup('temp dir', () => rm(dir, { recursive: true, force: true }));
  // As root, PostgreSQL runs as the `postgres` user, which must be able to enter this dir.
  await chmod(dir, 0o755);

  const postgres = async (): Promise<LocalPostgres & { source: string }> => {
    const fromEnv = process.env.DATABASE_URL;
    if (fromEnv) {
      log('using DATABASE_URL');
      // A PostgreSQL on this machine started with `-p <port>` (as the embedded one is) still gets its CPU counted.
      const port = String(postgresTarget(fromEnv).target.port);
      pgPid = findPid((argv) => /postgres$/.test(argv[0] ?? '') && argv.includes('-p') && argv.includes(port));
      // Temporal's databases (server engine) go beside hookwise's, named for this run, dropped after it.
      const prefix = `${postgresTarget(fromEnv).database}_b${randomBytes(3).toString('hex')}_`;
      return { url: fromEnv, databasePrefix: prefix, dropOnStop: true, source: 'DATABASE_URL' };
    }
    const dataDir = join(dir, 'pgdata');
    log(`starting embedded PostgreSQL (fsync ${o.pgDurable ? 'on' : 'off'})…`);
    const pg = await startEmbeddedPostgres({ dataDir, database: 'hookwise_bench', persistent: o.pgDurable, log });
    o.onCleanup('PostgreSQL', pg.stop);
    pgPid = findPid((argv) => argv.includes('-D') && argv.includes(dataDir));
    const source = o.pgDurable ? 'embedded (fsync on, synchronous_commit on)' : 'embedded (fsync off, synchronous_commit off)';
    return { url: pg.databaseUrl, source };
  };

  const temporal = async (pg: Promise<LocalPostgres>) => {
    const fromEnv = process.env.TEMPORAL_ADDRESS;
    if (fromEnv) {
      log(`using TEMPORAL_ADDRESS=${fromEnv}`);
      const port = fromEnv.split(':').pop() ?? '7233';
      temporalPid = findPid((argv) => argv.includes('start-dev') && argv.includes(port));
      return { address: fromEnv, source: 'TEMPORAL_ADDRESS' };
    }
    const engine = temporalEngineFromEnv('server');
    log(`starting Temporal (${engine === 'server' ? 'the Temporal server on PostgreSQL' : 'the CLI dev server, in memory'})…`);
    const local = await startLocalTemporal({
      engine,
      ui: false,
      postgres: engine === 'server' ? pg : undefined,
      stateDir: join(dir, 'temporal'),
      persistent: false,
      // The dev server's own log lines (level=…) are noise here; start-up failures still carry its output.
      log: (l) => !l.includes(' level=') && log(l),
    });
    o.onCleanup('Temporal', local.stop);
    temporalPid = local.pids[0] ?? null;
    return { address: local.address, source: local.description };
  };

  // Side by side (the server engine builds meanwhile, then waits for PostgreSQL); allSettled so that
  // whatever did start is registered for cleanup before we throw.
  const pg = postgres();
  const [db, tmp] = await Promise.allSettled([pg, temporal(pg)]);
  if (db.status === 'rejected') throw db.reason;
  if (tmp.status === 'rejected') throw tmp.reason;
  return {
    databaseUrl: db.value.url,
    temporalAddress: tmp.value.address,
    pids: { temporal: temporalPid, postgres: pgPid },
    source: { postgres: db.value.source, temporal: tmp.value.source },
  };
}

// --- the receiver -------------------------------------------------------------------------------

/** The headers a request is matched by: hookwise's delivery id header, then the baseline's. */
/**
 * The infrastructure (startBenchInfra) and hookwise's workflow bundle, made side by side, then the
 * migrations. allSettled, so whatever did start is registered for cleanup before a failure is thrown.
 */
export async function startInfraWithBundle(o: {
  name: string;
  pgDurable: boolean;
  onCleanup: (name: string, fn: () => Promise<unknown>) => void;
}): Promise<{ infra: BenchInfra; bundlePath: string }> {
  const dir = await mkdtemp(join(os.tmpdir(), `hookwise-${o.name}-bundle-`));
  o.onCleanup('bundle dir', () => rm(dir, { recursive: true, force: true }));
  const [infra, bundle] = await Promise.allSettled([startBenchInfra(o), bundleWorkflowsTo(dir, 'hookwise', WORKFLOWS_PATH)]);
  if (infra.status === 'rejected') throw infra.reason;
  if (bundle.status === 'rejected') throw bundle.reason;
  log('running migrations…');
  await migrate(infra.value.databaseUrl);
  return { infra: infra.value, bundlePath: bundle.value };
}

export const ID_HEADERS = ['x-webhook-request-id', 'x-bench-request-id'] as const;

export interface Receiver {
  /** Answers 200 at once. */
  url: string;
  /** Answers 500 to the first `k` requests of each id, then 200: `failUrl(2)` makes every delivery take 3 attempts. */
  failUrl(k: number): string;
  /** Answers 200 after `ms` milliseconds (to hold in-flight slots). */
  slowUrl(ms: number): string;
  /** performance.now() when the first successful request with this id arrived; resolves null at `deadline` (performance.now() ms). */
  waitFor(id: string, deadline: number): Promise<number | null>;
  /** Requests with an id header seen so far (duplicates and failed ones included). */
  count(): number;
  /** Successful requests for an id that had already succeeded. */
  duplicates(): number;
  /** Requests answered 500 on purpose. */
  failed(): number;
  /** The most requests open at once since the last reset. */
  maxConcurrent(): number;
  resetConcurrency(): void;
  close(): Promise<void>;
}

/**
 * One node:http server on loopback that records when each request arrived, keyed by its id header.
 * A delivery may arrive before its publisher knows its id (hookwise can deliver before the 202 is
 * back), so arrivals are kept and waiters look them up first.
 */
export async function startReceiver(): Promise<Receiver> {
  const arrived = new Map<string, number>();
  const waiters = new Map<string, (at: number | null) => void>();
  const failures = new Map<string, number>();
  let total = 0;
  let dups = 0;
  let failedOnPurpose = 0;
  let open = 0;
  let maxOpen = 0;

  const server: Server = createServer((req, res) => {
    const at = performance.now();
    open++;
    maxOpen = Math.max(maxOpen, open);
    res.once('close', () => open--);
    let id: string | undefined;
    for (const h of ID_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string' && v !== '') {
        id = v;
        break;
      }
    }
    const path = req.url ?? '/';
    const fail = /^\/fail\/(\d+)/.exec(path);
    const slow = /^\/slow\/(\d+)/.exec(path);
    let status = 200;
    if (id !== undefined) {
      total++;
      const seen = failures.get(id) ?? 0;
      if (fail && seen < Number(fail[1])) {
        failures.set(id, seen + 1);
        failedOnPurpose++;
        status = 500;
      } else if (arrived.has(id)) dups++;
      else {
        arrived.set(id, at);
        const w = waiters.get(id);
        if (w) {
          waiters.delete(id);
          w(at);
        }
      }
    }
    req.resume();
    req.on('end', () => {
      const answer = () => {
        res.writeHead(status, { 'content-type': 'text/plain', 'content-length': '2' });
        res.end(status === 200 ? 'ok' : 'no');
      };
      if (slow) setTimeout(answer, Number(slow[1]));
      else answer();
    });
  });
  // Senders' idle keep-alive sockets must survive the pauses between phases (see the API server).
  server.keepAliveTimeout = 10 * 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}/hook`,
    failUrl: (k) => `${origin}/fail/${k}`,
    slowUrl: (ms) => `${origin}/slow/${ms}`,
    waitFor(id, deadline) {
      const at = arrived.get(id);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters.delete(id);
          resolve(null);
        }, Math.max(0, deadline - performance.now()));
        waiters.set(id, (v) => {
          clearTimeout(timer);
          resolve(v);
        });
      });
    },
    count: () => total,
    duplicates: () => dups,
    failed: () => failedOnPurpose,
    maxConcurrent: () => maxOpen,
    resetConcurrency: () => void (maxOpen = open),
    async close() {
      for (const w of waiters.values()) w(null);
      waiters.clear();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

// --- the baseline's activity --------------------------------------------------------------------

const baselineAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/**
 * The baseline activity: one JSON POST over a keep-alive agent, like hookwise's sender, minus the rest.
 * A non-2xx answer throws, so that Temporal's activity retry policy retries it.
 */
export function createBaselineActivities(): BaselineActivities {
  return {
    postOnce(input: BaselineDeliveryInput): Promise<number> {
      return new Promise((resolve, reject) => {
        const req = http.request(input.url, {
          method: 'POST',
          agent: baselineAgent,
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': String(Buffer.byteLength(input.body, 'utf8')),
            'X-Bench-Request-Id': input.requestId,
          },
          timeout: input.timeoutMs,
        });
        req.on('timeout', () => req.destroy(new Error(`timeout after ${input.timeoutMs} ms`)));
        req.on('error', reject);
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(status);
            else reject(new Error(`HTTP ${status}`));
          });
          res.on('error', reject);
        });
        req.end(input.body);
      });
    },
  };
}

export function destroyBaselineAgent(): void {
  baselineAgent.destroy();
}

// --- statistics ---------------------------------------------------------------------------------

export interface Dist {
  n: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  mean: number | null;
  max: number | null;
}

/** Nearest-rank percentiles, in ms rounded to 0.1. */
export function dist(values: number[]): Dist {
  const v = [...values].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  const pct = (p: number) => (v.length === 0 ? null : r(v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))]));
  return {
    n: v.length,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    mean: v.length === 0 ? null : r(v.reduce((a, b) => a + b, 0) / v.length),
    max: v.length === 0 ? null : r(v[v.length - 1]),
  };
}

// --- CPU accounting from /proc (Linux; null elsewhere) ------------------------------------------

const CLK_TCK = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, and cutime + cstime (reaped children), in seconds. */
  self: number;
  children: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields start after the last ')'.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // f[0] = state (field 3), so field n is f[n - 3].
    return {
      pid,
      ppid: Number(f[1]),
      self: (Number(f[11]) + Number(f[12])) / CLK_TCK,
      children: (Number(f[13]) + Number(f[14])) / CLK_TCK,
    };
  } catch {
    return null;
  }
}

function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return [];
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The first process whose argv satisfies `match`. */
export function findPid(match: (argv: string[]) => boolean): number | null {
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    if (match(cmdline(pid))) return pid;
  }
  return null;
}

/**
 * CPU seconds used so far by a process tree: the root, its live descendants, and whatever its
 * exited children used (cutime, once reaped). Good enough for postgres (postmaster + backends) and
 * the Temporal dev server (one process).
 */
export function treeCpuSeconds(root: number | null): number | null {
  if (root === null) return null;
  const rootStat = readStat(root);
  if (!rootStat) return null;
  const stats = allPids()
    .map(readStat)
    .filter((s): s is ProcStat => s !== null);
  const byParent = new Map<number, ProcStat[]>();
  for (const s of stats) byParent.set(s.ppid, [...(byParent.get(s.ppid) ?? []), s]);
  let total = rootStat.self + rootStat.children;
  const queue = [...(byParent.get(root) ?? [])];
  while (queue.length > 0) {
    const s = queue.shift()!;
    total += s.self;
    queue.push(...(byParent.get(s.pid) ?? []));
  }
  return total;
}

/** Busy and total CPU seconds of the whole machine, summed over all cores (from /proc/stat). */
function machineCpu(): { busy: number; total: number } | null {
  try {
    const first = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const f = first.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user/nice).
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0) / CLK_TCK;
    const idle = (f[3] + f[4]) / CLK_TCK;
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

export interface CpuProbe {
  bench: number;
  temporal: number | null;
  postgres: number | null;
  machine: { busy: number; total: number } | null;
}

/** The bench process itself (API, worker, receiver, Temporal core threads), the Temporal server, PostgreSQL, the machine. */
export function cpuProbe(pids: { temporal: number | null; postgres: number | null }): CpuProbe {
  const u = process.cpuUsage();
  return {
    bench: (u.user + u.system) / 1e6,
    temporal: treeCpuSeconds(pids.temporal),
    postgres: treeCpuSeconds(pids.postgres),
    machine: machineCpu(),
  };
}

export interface CpuShare {
  /** Each in % of one core over the phase (100 = one core busy the whole time). */
  bench: number;
  temporal: number | null;
  postgres: number | null;
  /** Everything else running on the machine meanwhile; high values mean the numbers are disturbed. */
  other: number | null;
  /** The whole machine, in % of all its cores. */
  machineBusy: number | null;
  /** CPU seconds used during the phase. */
  seconds: { bench: number; temporal: number | null; postgres: number | null };
}

export function cpuShare(a: CpuProbe, b: CpuProbe, wallMs: number): CpuShare {
  const secs = wallMs / 1000;
  const pct = (x: number | null, y: number | null) => (x === null || y === null || secs <= 0 ? null : Math.round(((y - x) / secs) * 100));
  const bench = pct(a.bench, b.bench)!;
  const temporal = pct(a.temporal, b.temporal);
  const postgres = pct(a.postgres, b.postgres);
  let other: number | null = null;
  let machineBusy: number | null = null;
  if (a.machine && b.machine && b.machine.total > a.machine.total) {
    const busyPct = pct(a.machine.busy, b.machine.busy)!;
    other = Math.max(0, busyPct - bench - (temporal ?? 0) - (postgres ?? 0));
    machineBusy = Math.round(((b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total)) * 100);
  }
  const d = (x: number | null, y: number | null) => (x === null || y === null ? null : Math.round((y - x) * 1000) / 1000);
  return { bench, temporal, postgres, other, machineBusy, seconds: { bench: d(a.bench, b.bench)!, temporal: d(a.temporal, b.temporal), postgres: d(a.postgres, b.postgres) } };
}

// --- CPU by process group, PostgreSQL split by database ----------------------------------------

interface ProcEntry {
  ppid: number;
  self: number;
  children: number;
  title: string;
}

function readProcs(): Map<number, ProcEntry> {
  const out = new Map<number, ProcEntry>();
  for (const pid of allPids()) {
    const st = readStat(pid);
    if (!st) continue;
    out.set(pid, { ppid: st.ppid, self: st.self, children: st.children, title: '' });
  }
  return out;
}

/** What to account for: named process trees, and a PostgreSQL whose backends are split by database. */
export interface CpuGroupsSpec {
  trees: Record<string, number | null>;
  postgres?: {
    pid: number | null;
    /** Backends connected to one of these count as `postgres: app`. */
    appDatabases: string[];
    /** Backends connected to a database whose name contains "temporal" count as `postgres: temporal`. */
  };
}

interface CpuGroupsSnapshot {
  at: number;
  /** This process (process.cpuUsage), seconds. */
  self: number;
  trees: Record<string, number | null>;
  /** PostgreSQL's children (backends and background processes) by pid, and the postmaster itself. */
  pg: { self: number; reaped: number; children: Map<number, { category: 'app' | 'temporal' | 'shared'; secs: number }> } | null;
  machine: { busy: number; total: number; steal: number } | null;
}

function machineTimes(): { busy: number; total: number; steal: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0) / CLK_TCK;
    const idle = (f[3] + f[4]) / CLK_TCK;
    return { busy: total - idle, total, steal: (f[7] ?? 0) / CLK_TCK };
  } catch {
    return null;
  }
}

/** A backend's database, from its process title (`postgres: <user> <database> <host> <state>`). */
function backendDatabase(pid: number): string | null {
  const title = cmdline(pid).join(' ').trim();
  const m = /^postgres: (\S+) (\S+) /.exec(title);
  // Background processes read `postgres: checkpointer`, `postgres: autovacuum launcher`, …
  if (!m || /^(autovacuum|background|logical|walwriter|checkpointer|io|walsummarizer)$/.test(m[1])) return null;
  return m[2];
}

function snapshot(spec: CpuGroupsSpec, categories: Map<number, 'app' | 'temporal' | 'shared'>): CpuGroupsSnapshot {
  const procs = readProcs();
  const byParent = new Map<number, number[]>();
  for (const [pid, p] of procs) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), pid]);
  const tree = (root: number | null): number | null => {
    if (root === null) return null;
    const r = procs.get(root);
    if (!r) return null;
    let total = r.self + r.children;
    const queue = [...(byParent.get(root) ?? [])];
    while (queue.length > 0) {
      const pid = queue.shift()!;
      total += procs.get(pid)!.self;
      queue.push(...(byParent.get(pid) ?? []));
    }
    return total;
  };
  const trees = Object.fromEntries(Object.entries(spec.trees).map(([k, pid]) => [k, tree(pid)]));
  let pg: CpuGroupsSnapshot['pg'] = null;
  const pm = spec.postgres?.pid ?? null;
  const postmaster = pm === null ? undefined : procs.get(pm);
  if (postmaster) {
    const children = new Map<number, { category: 'app' | 'temporal' | 'shared'; secs: number }>();
    for (const pid of byParent.get(pm!) ?? []) {
      // A pid's database never changes; its title is read once.
      let category = categories.get(pid);
      if (category === undefined) {
        const db = backendDatabase(pid);
        category = db === null ? 'shared' : spec.postgres!.appDatabases.includes(db) ? 'app' : db.includes('temporal') ? 'temporal' : 'shared';
        categories.set(pid, category);
      }
      children.set(pid, { category, secs: tree(pid) ?? 0 });
    }
    pg = { self: postmaster.self, reaped: postmaster.children, children };
  }
  const u = process.cpuUsage();
  return { at: performance.now(), self: (u.user + u.system) / 1e6, trees, pg, machine: machineTimes() };
}

export interface CpuGroups {
  wallMs: number;
  /** CPU seconds per group over the interval: `bench` (this process), each tree, `postgres: app|temporal|shared`. */
  seconds: Record<string, number | null>;
  /** Everything else on the machine meanwhile, in cores (1 = one core busy the whole time). */
  othersCores: number | null;
  /** The whole machine busy, % of all its cores; hypervisor steal, % of one core. */
  machineBusyPct: number | null;
  stealPct: number | null;
}

/**
 * CPU by group from now until stop(). PostgreSQL's backends are looked at every second: a pool closes
 * idle connections (after 10 s by default), and a backend that exits leaves only its total in the
 * postmaster's reaped time, with no database attached. Its last sample counts for its database; the
 * rest of the reaped time (backends that lived less than a second, the last second of the others) is
 * `postgres: shared`, with the postmaster and the background processes.
 */
export function startCpuGroups(spec: CpuGroupsSpec, everyMs = 1000): { stop(): CpuGroups } {
  const categories = new Map<number, 'app' | 'temporal' | 'shared'>();
  const a = snapshot(spec, categories);
  const seen = new Map<number, { category: 'app' | 'temporal' | 'shared'; base: number; last: number }>();
  const track = (s: CpuGroupsSnapshot) => {
    for (const [pid, c] of s.pg?.children ?? []) {
      const e = seen.get(pid);
      // A backend first seen after the start began during the interval: all of its time is in it.
      if (!e) seen.set(pid, { category: c.category, base: s === a ? c.secs : 0, last: c.secs });
      else e.last = c.secs;
    }
  };
  track(a);
  const timer = spec.postgres?.pid ? setInterval(() => track(snapshot(spec, categories)), everyMs) : null;
  timer?.unref();
  return {
    stop() {
      if (timer) clearInterval(timer);
      const b = snapshot(spec, categories);
      track(b);
      const wallMs = b.at - a.at;
      const r = (x: number) => Math.round(x * 1000) / 1000;
      const seconds: Record<string, number | null> = { bench: r(b.self - a.self) };
      for (const k of Object.keys(b.trees)) {
        const x = a.trees[k];
        const y = b.trees[k];
        seconds[k] = x === null || x === undefined || y === null || y === undefined ? null : r(Math.max(0, y - x));
      }
      if (a.pg && b.pg) {
        const cat = { app: 0, temporal: 0, shared: Math.max(0, b.pg.self - a.pg.self) };
        let vanished = 0;
        for (const [pid, e] of seen) {
          cat[e.category] += Math.max(0, e.last - e.base);
          if (!b.pg.children.has(pid)) vanished += e.last;
        }
        cat.shared += Math.max(0, b.pg.reaped - a.pg.reaped - vanished);
        seconds['postgres: app'] = r(cat.app);
        seconds['postgres: temporal'] = r(cat.temporal);
        seconds['postgres: shared'] = r(cat.shared);
      }
      let othersCores: number | null = null;
      let machineBusyPct: number | null = null;
      let stealPct: number | null = null;
      if (a.machine && b.machine && b.machine.total > a.machine.total && wallMs > 0) {
        const ours = Object.values(seconds).reduce<number>((acc, x) => acc + (x ?? 0), 0);
        othersCores = Math.round(Math.max(0, (b.machine.busy - a.machine.busy - ours) / (wallMs / 1000)) * 100) / 100;
        machineBusyPct = Math.round(((b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total)) * 100);
        stealPct = Math.round(((b.machine.steal - a.machine.steal) / (wallMs / 1000)) * 100);
      }
      return { wallMs: Math.round(wallMs), seconds, othersCores, machineBusyPct, stealPct };
    },
  };
}

// --- Temporal's side of the time, from workflow histories --------------------------------------

// HistoryEvent.eventType values (temporal.api.enums.v1.EventType).
const EV = {
  started: 1,
  completed: 2,
  wftScheduled: 5,
  wftStarted: 6,
  wftCompleted: 7,
  activityScheduled: 10,
  activityStarted: 11,
  activityCompleted: 12,
  marker: 25,
} as const;

/**
 * Medians, over the given workflows, of the steps of a one-attempt run as the server recorded them:
 * how long each task waited to be handed to a worker (schedule→start) and how long the worker took.
 * Two shapes: an attempt as an activity (two workflow tasks around it: 11 history events), and an
 * attempt as a local activity (inside the one workflow task, which then takes the POST's time too:
 * 7 events with the search attribute's upsert). Other histories (a retried attempt) are skipped.
 */
export async function historyBreakdown(client: Client, workflowIds: string[]): Promise<Record<string, number | null>> {
  const rows: Array<Array<number | null>> = [];
  const eventCounts: number[] = [];
  let irregular = 0;
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
  let next = 0;
  const one = async () => {
    while (next < workflowIds.length) {
      const id = workflowIds[next++];
      const history = await client.workflow.getHandle(id).fetchHistory();
      const events = history.events ?? [];
      eventCounts.push(events.length);
      const count = (type: number) => events.filter((x) => x.eventType === type).length;
      const at = (type: number, nth = 0) => {
        const e = events.filter((x) => x.eventType === type)[nth];
        return e ? ms(e.eventTime as never) : null;
      };
      const activities = count(EV.activityScheduled);
      const tasks = count(EV.wftCompleted);
      const local = activities === 0 && tasks === 1 && count(EV.marker) >= 1;
      if (!(local || (activities === 1 && tasks === 2))) {
        irregular++;
        continue;
      }
      const t = [
        at(EV.started),
        at(EV.wftScheduled),
        at(EV.wftStarted),
        at(EV.wftCompleted),
        at(EV.activityScheduled),
        at(EV.activityStarted),
        at(EV.activityCompleted),
        at(EV.wftScheduled, 1),
        at(EV.wftStarted, 1),
        at(EV.wftCompleted, 1),
        at(EV.completed),
      ];
      const span = (a: number, b: number) => (t[a] === null || t[b] === null ? null : t[b]! - t[a]!);
      if (local ? [0, 1, 2, 3, 10].some((i) => t[i] === null) : t.some((x) => x === null)) {
        irregular++;
        continue;
      }
      rows.push([span(1, 2), span(2, 3), span(4, 5), span(5, 6), span(7, 8), span(8, 9), span(0, 10)]);
    }
  };
  await Promise.all(Array.from({ length: 8 }, one));
  const median = (k: number) => {
    const values = rows.map((r) => r[k]).filter((x): x is number => x !== null);
    return values.length === 0 ? null : dist(values).p50;
  };
  return {
    workflows: rows.length,
    eventsPerWorkflow: eventCounts.length === 0 ? null : Math.round((eventCounts.reduce((a, b) => a + b, 0) / eventCounts.length) * 10) / 10,
    irregular,
    wft1ScheduleToStart: median(0),
    wft1Processing: median(1),
    activityScheduleToStart: median(2),
    activityRun: median(3),
    wft2ScheduleToStart: median(4),
    wft2Processing: median(5),
    startedToClosed: median(6),
  };
}

/** Up to `n` items spread evenly over `all`. */
export function spread<T>(all: T[], n: number): T[] {
  if (all.length <= n) return all;
  return Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]);
}

// --- formatting ---------------------------------------------------------------------------------

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r, ri) => {
      const line = r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
      return ri === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

export const fmt = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined ? '–' : x.toFixed(digits));

/** Things to undo, run last-in first-out; each step bounded in time, failures logged and skipped. */
export function createCleanups(stepTimeoutMs: number) {
  const cleanups: Array<{ name: string; fn: () => Promise<unknown> }> = [];
  let cleaning: Promise<void> | undefined;
  return {
    onCleanup: (name: string, fn: () => Promise<unknown>) => {
      cleanups.push({ name, fn });
    },
    cleanup(): Promise<void> {
      return (cleaning ??= (async () => {
        while (cleanups.length > 0) {
          const { name, fn } = cleanups.pop()!;
          try {
            await withTimeout(Promise.resolve().then(fn), stepTimeoutMs, `stopping ${name}`);
          } catch (e) {
            log(`cleanup: ${(e as Error).message}`);
          }
        }
      })());
    },
  };
}

/** Runs a benchmark's main: its exit code, cleanup on failure and on Ctrl-C / SIGTERM. */
export function runBenchmark(main: () => Promise<number>, cleanup: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up…`);
      void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  main().then(
    (code) => {
      log('done');
      process.exit(code);
    },
    async (err) => {
      log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      await cleanup();
      process.exit(1);
    },
  );
}
