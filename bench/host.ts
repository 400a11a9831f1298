import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { buildApi } from '../src/roots/api.js';
import { buildWorker } from '../src/roots/worker.js';
import type { baselineDelivery } from './baseline-workflow.js';
import { startCpuProfile } from './cpu-profile.js';
import { statementKind } from './sql-kinds.js';
import { createBaselineActivities } from './support.js';

// One process of a benchmark, forked by bench/processes.ts: hookwise's API or worker, built by the
// composition roots exactly as src/main/{api,worker}.ts build them, or one half of the delivery
// baseline. Each runs in its own process so that its CPU and memory are its own. Besides its role it
// counts the SQL statements it sends (every pg.Client#query, by kind) and answers the parent's
// requests for those counts and for its memory over IPC.
//
// Roles (BENCH_ROLE): api | worker | baseline-api | baseline-worker. Configuration comes from the
// environment as for the real processes, plus BENCH_WORKFLOW_BUNDLE (a bundle file for the workers),
// BENCH_RECOVERY (worker: run the recovery loop, default true), BENCH_BASELINE_TARGETS (baseline-api:
// {"<event type>": "<url>"}), BENCH_DELIVERY_TIMEOUT_MS (baseline) and BENCH_STATEMENT_SAMPLES.

export type Role = 'api' | 'worker' | 'baseline-api' | 'baseline-worker';

export interface StatementStats {
  /** Statements sent, by kind. */
  n: number;
  /** Total time from send to answer, ms. */
  ms: number;
  /** [ms since the counters were reset, duration ms] of up to SAMPLE_CAP statements. */
  samples: Array<[number, number]>;
}

export interface HostStats {
  statements: Record<string, StatementStats>;
  memory: NodeJS.MemoryUsage;
  /** CPU used since the process started, microseconds (process.cpuUsage: the GC's threads included). */
  cpu: NodeJS.CpuUsage;
  /** Log lines at warn or above since the start. */
  logLines: number;
  /** Of those, workflow starts given up (left to the recovery loop). */
  startsGivenUp: number;
  /** Of those, lines of the recovery loop. */
  recoveryLines: number;
}

export type ToHost = { type: 'stats'; id: number; reset: boolean } | { type: 'stop' };
export type FromHost = { type: 'ready'; url?: string } | { type: 'stats'; id: number; stats: HostStats } | { type: 'failed'; message: string };

/** Timed samples kept per statement kind between two stats requests (BENCH_STATEMENT_SAMPLES; 0 for the soak, whose memory is the measurement). */
const SAMPLE_CAP = Number(process.env.BENCH_STATEMENT_SAMPLES ?? 50_000);
const SHOWN_LOG_LINES = 10;

// --- SQL statements, counted at the driver ------------------------------------------------------

let statements = new Map<string, StatementStats>();
let countersSince = performance.now();

function countStatement(kind: string, ms: number, at: number): void {
  let s = statements.get(kind);
  if (!s) statements.set(kind, (s = { n: 0, ms: 0, samples: [] }));
  s.n++;
  s.ms += ms;
  if (s.samples.length < SAMPLE_CAP) s.samples.push([Math.round(at - countersSince), Math.round(ms * 100) / 100]);
}

/** Wraps pg.Client#query (which pool.query and transactions both go through) to count and time every statement. */
function instrumentPg(): void {
  type AnyFn = (...args: unknown[]) => unknown;
  const proto = pg.Client.prototype as unknown as { query: AnyFn };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : (first?.text ?? '');
    const kind = statementKind(text);
    const t0 = performance.now();
    const done = () => countStatement(kind, performance.now() - t0, t0);
    const last = args.length - 1;
    if (last >= 0 && typeof args[last] === 'function') {
      const cb = args[last] as AnyFn;
      args[last] = (...rest: unknown[]) => {
        done();
        return cb(...rest);
      };
      return original.apply(this, args);
    }
    const r = original.apply(this, args) as Promise<unknown> | undefined;
    if (r && typeof r.then === 'function') r.then(done, done);
    return r;
  };
}

// --- logs ----------------------------------------------------------------------------------------

const logCounts = { logLines: 0, startsGivenUp: 0, recoveryLines: 0 };

function say(line: string): void {
  process.stderr.write(`[bench ${process.env.BENCH_ROLE}] ${line}\n`);
}

/** hookwise's JSON log lines at warn and above: counted, and the first few shown on stderr. */
function benchLogger(service: string) {
  return createLogger({
    level: 'warn',
    service,
    destination: new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) {
          let msg = line;
          try {
            msg = String((JSON.parse(line) as { msg?: unknown }).msg ?? line);
          } catch {
            // not JSON: shown as it is
          }
          logCounts.logLines++;
          if (msg.includes('not started yet')) logCounts.startsGivenUp++;
          if (/^recovery/i.test(msg)) logCounts.recoveryLines++;
          if (logCounts.logLines <= SHOWN_LOG_LINES) say(msg);
          else if (logCounts.logLines === SHOWN_LOG_LINES + 1) say('(further log lines are counted, not shown)');
        }
        done();
      },
    }),
  });
}

// --- the roles ----------------------------------------------------------------------------------

interface Running {
  url?: string;
  stop(): Promise<void>;
}

const keepAlive = (server: http.Server) => {
  // Idle keep-alive sockets must outlive the pauses between phases: a socket the server closes just
  // as the client reuses it fails the request with ECONNRESET (Node's default is 5 s).
  server.keepAliveTimeout = 10 * 60_000;
};

async function runApi(): Promise<Running> {
  const api = buildApi(loadConfig(process.env), { logger: benchLogger('api') });
  keepAlive(api.server);
  const url = await api.listen(0, '127.0.0.1');
  return { url, stop: () => api.close() };
}

function installRuntime(level: 'WARN' | 'ERROR' = 'WARN'): void {
  // Signals are the parent's to handle: a child stops when told to over IPC.
  Runtime.install({ logger: new DefaultLogger(level), shutdownSignals: [] });
}

async function runHookwiseWorker(): Promise<Running> {
  installRuntime();
  const worker = await buildWorker(loadConfig(process.env), {
    workflowBundle: { codePath: requiredEnv('BENCH_WORKFLOW_BUNDLE') },
    logger: benchLogger('worker'),
    recovery: process.env.BENCH_RECOVERY !== 'false',
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await worker.close();
    },
  };
}

/**
 * The baseline's API: a bare node:http handler that gives each published event an id and starts the
 * baseline workflow for it, carrying the envelope; no database. What a minimal Temporal-based sender
 * would put in front of its workflows.
 */
async function runBaselineApi(): Promise<Running> {
  const config = loadConfig(process.env);
  const targets = JSON.parse(requiredEnv('BENCH_BASELINE_TARGETS')) as Record<string, string>;
  const timeoutMs = Number(requiredEnv('BENCH_DELIVERY_TIMEOUT_MS'));
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  // Same envelope shape and id lengths as a hookwise event body, so both POST the same number of bytes.
  const orgId = `org_${randomBytes(13).toString('hex').slice(0, 26).toUpperCase()}`;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; data: unknown };
          const url = targets[input.type];
          if (!url) throw new Error(`no target for event type ${input.type}`);
          const id = `evt_${randomBytes(13).toString('hex').slice(0, 26).toUpperCase()}`;
          const body = JSON.stringify({ id, type: input.type, timestamp: Date.now(), organizationId: orgId, data: input.data });
          await client.workflow.start<typeof baselineDelivery>('baselineDelivery', {
            taskQueue: config.HOOKWISE_TASK_QUEUE,
            workflowId: `baseline:${id}`,
            args: [{ url, body, requestId: id, timeoutMs }],
          });
          const out = JSON.stringify({ id, deliveries: [id] });
          res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
        } catch (err) {
          const out = JSON.stringify({ error: (err as Error).message });
          res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
        }
      })();
    });
  });
  keepAlive(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      const closed = new Promise((r) => server.close(r));
      server.closeAllConnections();
      await closed;
      await connection.close();
    },
  };
}

async function runBaselineWorker(): Promise<Running> {
  // Its failed attempts (the 3-attempt phase) are the SDK's warnings: expected, not shown.
  installRuntime('ERROR');
  const config = loadConfig(process.env);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.HOOKWISE_TASK_QUEUE,
    workflowBundle: { codePath: requiredEnv('BENCH_WORKFLOW_BUNDLE') },
    activities: createBaselineActivities(),
    // As hookwise's worker (src/roots/worker.ts), so worker settings are not what differs.
    maxConcurrentActivityTaskExecutions: 200,
  });
  const running = worker.run();
  return {
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

function requiredEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// --- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const send = (m: FromHost) => process.send?.(m);
  // The parent gone (killed, crashed) means this process has no reason to live.
  process.on('disconnect', () => process.exit(0));
  instrumentPg();
  const role = process.env.BENCH_ROLE as Role;
  const start: Record<Role, () => Promise<Running>> = {
    api: runApi,
    worker: runHookwiseWorker,
    'baseline-api': runBaselineApi,
    'baseline-worker': runBaselineWorker,
  };
  if (!start[role]) throw new Error(`unknown BENCH_ROLE ${role}`);
  const running = await start[role]();
  // bench:delivery --profile: this process's CPU profile from now until it is told to stop.
  const profileDir = process.env.BENCH_PROFILE_DIR;
  const stopProfile = profileDir ? await startCpuProfile(join(profileDir, `${role}-${process.pid}.cpuprofile`)) : null;
  let stopping = false;
  process.on('message', (m: ToHost) => {
    if (m.type === 'stats') {
      const stats: HostStats = { statements: Object.fromEntries(statements), memory: process.memoryUsage(), cpu: process.cpuUsage(), ...logCounts };
      if (m.reset) {
        statements = new Map();
        countersSince = performance.now();
      }
      send({ type: 'stats', id: m.id, stats });
    } else if (m.type === 'stop' && !stopping) {
      stopping = true;
      const profiled = stopProfile
        ? stopProfile().then((busiest) => say(`busiest: ${busiest.filter((b) => b.where !== '(idle)').slice(0, 12).map((b) => `${b.where} ${b.pct}%`).join(', ')}`))
        : Promise.resolve();
      profiled.then(() => running.stop()).then(
        () => process.exit(0),
        (err: unknown) => {
          say(`stopping failed: ${(err as Error).message}`);
          process.exit(1);
        },
      );
    }
  });
  send({ type: 'ready', url: running.url });
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.send?.({ type: 'failed', message } satisfies FromHost);
  say(`failed: ${message}`);
  process.exit(1);
});
