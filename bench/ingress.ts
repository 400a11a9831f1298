import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Koa from 'koa';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../src/config.js';
import { createPool, type Db } from '../src/db/pool.js';
import { migrate } from '../src/db/migrate.js';
import { createLogger } from '../src/log.js';
import { buildApi, type Api } from '../src/roots/api.js';
import { WORKFLOWS_PATH } from '../src/roots/worker.js';
import { readRawBody } from '../src/api/ingress/raw-body.js';
import { createOrgWithKey } from '../src/tenancy.js';
import {
  bundleWorkflowsTo,
  cpuProbe,
  cpuShare,
  createCleanups,
  runBenchmark,
  fmt,
  log,
  sleep,
  table,
  treeCpuSeconds,
  withTimeout,
  startBenchInfra,
  startReceiver,
  type BenchInfra,
  type CpuProbe,
  type Dist,
} from './support.js';
import { startCpuProfile } from './cpu-profile.js';
import {
  eventLoopMonitor,
  instrumentPool,
  instrumentWorkflowStart,
  machineCpuSeconds,
  othersLoad,
  Recorder,
  startLoadgen,
  stripeLikeBody,
  timedListener,
  type Loadgen,
  type LoadResult,
  type LoadSpec,
} from './ingress-support.js';
import { startHost, type HostProcess } from './processes.js';

// `npm run bench:ingress`: how fast hookwise acknowledges inbound webhooks, on `POST /webhooks/:token`
// (room event sources) and `POST /api/v1/webhooks/generic/:workspaceId`, against two baselines in the
// same run: a bare Koa handler doing one INSERT per request, and a minimal Koa handler doing one INSERT
// plus one Temporal workflow start. hookwise's API is built by its composition root (buildApi) and runs
// in this process, so that its pool and its workflow starts can be timed; the load comes from a child
// process (autocannon for the maximum, an open-loop pacer for steady rates). Three scenarios:
//   paced   a steady rate, the API alone (no worker: the workflows it starts wait)
//   engine  the same steady rate with hookwise's worker running beside it in its own process (its own
//           task queue), so the Temporal server, the worker and PostgreSQL work on what is acked
//   max     as many requests as `--connections` connections carry, the API alone
// Progress goes to stderr; the results table and one JSON line go to stdout. Method notes: bench/README.md.
//
//   --duration S      seconds per measured scenario (BENCH_DURATION, default 10)
//   --rate R          the steady request rate (BENCH_RATE, default 300)
//   --connections C   connections per scenario (BENCH_CONNECTIONS, default 50)
//   --warmup S        seconds of unmeasured load per target and API first (BENCH_WARMUP, default 2)
//   --targets LIST    of baseline,baseline-start,token,generic, in this order (default: all four)
//   --scenarios LIST  of paced,engine,max (default all three; the baselines run paced and max)
//   --pg-fsync on|off embedded PostgreSQL with fsync + synchronous_commit on (default) or off
//   --profile DIR     write a CPU profile of this process (the API) during each hookwise max run
//   --quiet-wait S    on a shared machine: before each scenario, wait up to S seconds for other
//                     processes to use < 0.2 cores (default 0: don't wait; "CPU other processes" shows it)
//   --timeout S       hard limit for the whole run (BENCH_TIMEOUT_SECONDS, default 900 + 12 × quiet-wait)

const AIM = { p99Ms: 50, rate: 300, vsInsert: 0.7, vsInsertAndStart: 0.9 };
const POOL_SIZE = 20; // as src/roots/api.ts
const REQUEST_TIMEOUT_SEC = 10;
const DRAIN_TIMEOUT_MS = 15_000;
/** How long, at most, to wait for the API's background workflow starts to catch up after a scenario. */
const STARTS_DRAIN_TIMEOUT_MS = 120_000;
const STOP_STEP_TIMEOUT_MS = 40_000;
const BODY = stripeLikeBody(1024);

const TARGETS = ['baseline', 'baseline-start', 'token', 'generic'] as const;
type TargetKey = (typeof TARGETS)[number];
const SCENARIOS = ['paced', 'engine', 'max'] as const;
type ScenarioKey = (typeof SCENARIOS)[number];
const TARGET_NAMES: Record<TargetKey, string> = {
  baseline: 'INSERT',
  'baseline-start': 'INSERT + start',
  token: 'hookwise token',
  generic: 'hookwise generic',
};
const isHookwise = (k: TargetKey) => k === 'token' || k === 'generic';

// --- arguments ----------------------------------------------------------------------------------

function positiveInt(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
}

function list<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: readonly T[] = allowed): T[] {
  if (raw === undefined || raw === '') return [...fallback];
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!allowed.includes(i as T)) throw new Error(`${name}: unknown "${i}"; allowed: ${allowed.join(', ')}`);
  if (items.length === 0) throw new Error(`${name} is empty`);
  return items as T[];
}

function readParams() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      rate: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      targets: { type: 'string' },
      scenarios: { type: 'string' },
      'pg-fsync': { type: 'string' },
      profile: { type: 'string' },
      'quiet-wait': { type: 'string' },
      timeout: { type: 'string' },
    },
    strict: true,
  });
  const quietWait = positiveInt('--quiet-wait', values['quiet-wait'] ?? process.env.BENCH_QUIET_WAIT, 0, 0);
  const fsync = values['pg-fsync'] ?? process.env.BENCH_PG_FSYNC ?? 'on';
  if (fsync !== 'on' && fsync !== 'off') throw new Error(`--pg-fsync must be on or off, got "${fsync}"`);
  return {
    durationSec: positiveInt('--duration', values.duration ?? process.env.BENCH_DURATION, 10),
    rate: positiveInt('--rate', values.rate ?? process.env.BENCH_RATE, AIM.rate),
    connections: positiveInt('--connections', values.connections ?? process.env.BENCH_CONNECTIONS, 50),
    warmupSec: positiveInt('--warmup', values.warmup ?? process.env.BENCH_WARMUP, 2, 0),
    targets: list('--targets', values.targets ?? process.env.BENCH_TARGETS, TARGETS),
    scenarios: list('--scenarios', values.scenarios, SCENARIOS),
    pgFsync: fsync === 'on',
    profileDir: values.profile ? resolve(values.profile) : null,
    quietWaitSec: quietWait,
    timeoutSeconds: positiveInt('--timeout', values.timeout ?? process.env.BENCH_TIMEOUT_SECONDS, 900 + quietWait * 12),
  };
}
type Params = ReturnType<typeof readParams>;

const { onCleanup, cleanup } = createCleanups(STOP_STEP_TIMEOUT_MS);

// --- infrastructure -----------------------------------------------------------------------------

interface Infra extends BenchInfra {
  namespace: string;
  /** The hookwise workflow bundle for the engine scenario's worker (null without that scenario). */
  bundlePath: string | null;
}

async function startInfra(p: Params): Promise<Infra> {
  const needsWorker = p.scenarios.includes('engine') && p.targets.some(isHookwise);
  const bundle = async () => {
    if (!needsWorker) return null;
    const dir = await mkdtemp(join(os.tmpdir(), 'hookwise-bench-ingress-bundle-'));
    onCleanup('bundle dir', () => rm(dir, { recursive: true, force: true }));
    return bundleWorkflowsTo(dir, 'hookwise', WORKFLOWS_PATH);
  };
  // persistent (pgFsync) keeps PostgreSQL's crash-safe defaults, so a commit is durable.
  const [infra, bundlePath] = await Promise.allSettled([startBenchInfra({ name: 'bench-ingress', pgDurable: p.pgFsync, onCleanup }), bundle()]);
  if (infra.status === 'rejected') throw infra.reason;
  if (bundlePath.status === 'rejected') throw bundlePath.reason;
  log('running migrations…');
  await migrate(infra.value.databaseUrl);
  return { ...infra.value, namespace: process.env.TEMPORAL_NAMESPACE || 'default', bundlePath: bundlePath.value };
}

// --- the targets --------------------------------------------------------------------------------

interface Target {
  key: TargetKey;
  name: string;
  origin: string;
  path: string;
  /** A successful answer's body contains this. */
  expect: string;
  /** Each request needs its own dedupe key (generic ingress). */
  dedupe: boolean;
  inFlight(): number;
  /** Rows this target has recorded so far. */
  rows(): Promise<number>;
  pool: ReturnType<typeof instrumentPool>;
  /** Workflow starts completed so far (null: this target starts none). */
  starts(): number | null;
  /** hookwise: resolves once the API's background starts have caught up. */
  startsDrained?(): Promise<void>;
}

async function listen(server: Server, name: string): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onCleanup(name, async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * The baselines: bare Koa, the raw body read as hookwise reads it, one autocommitted INSERT, and for
 * `baseline-start` one workflow start after it (no memo, no search attributes, on a task queue no
 * worker polls), answered `{"ok":true}` once both are done.
 */
async function startBaseline(key: 'baseline' | 'baseline-start', infra: Infra, admin: Db, rec: Recorder): Promise<Target> {
  await admin.query(`CREATE TABLE IF NOT EXISTS bench_baseline (id text PRIMARY KEY, payload text NOT NULL, received_at timestamptz NOT NULL DEFAULT now())`);
  onCleanup('bench_baseline table', () => admin.query('DROP TABLE IF EXISTS bench_baseline'));
  const db = createPool(infra.databaseUrl, POOL_SIZE);
  const pool = instrumentPool(db, rec);
  onCleanup(`${key} pool`, async () => {
    pool.stop();
    await db.end();
  });
  let client: Client | null = null;
  let started = 0;
  const taskQueue = `bench-ingress-baseline-${randomUUID().slice(0, 8)}`;
  if (key === 'baseline-start') {
    const connection = Connection.lazy({ address: infra.temporalAddress });
    onCleanup(`${key} Temporal client`, () => connection.close());
    client = new Client({ connection, namespace: infra.namespace });
  }
  const app = new Koa();
  app.use(async (ctx) => {
    const raw = await readRawBody(ctx.req, 1024 * 1024);
    if (raw === null) {
      ctx.status = 413;
      return;
    }
    const id = randomUUID();
    await db.query('INSERT INTO bench_baseline (id, payload) VALUES ($1, $2)', [id, raw.toString('utf8')]);
    if (client) {
      const t0 = performance.now();
      await client.workflow.start('baselineIngest', { taskQueue, workflowId: `baseline-ingest:${id}`, args: [{ id }] });
      rec.record('workflow start baselineIngest', performance.now() - t0);
      started++;
    }
    ctx.body = { ok: true };
  });
  const server = createServer(app.callback());
  const timed = timedListener(server, rec, TARGET_NAMES[key]);
  const origin = await listen(server, `${key} server`);
  log(`${TARGET_NAMES[key]}: Koa on ${origin}${client ? `, starting workflows on task queue ${taskQueue} (no worker polls it)` : ''}`);
  return {
    key,
    name: TARGET_NAMES[key],
    origin,
    path: '/',
    expect: '"ok":true',
    dedupe: false,
    inFlight: timed.inFlight,
    rows: async () => Number((await admin.query('SELECT count(*)::int AS n FROM bench_baseline')).rows[0].n),
    pool,
    starts: () => (client ? started : null),
  };
}

/** What the hookwise targets address: created once, used by every API instance (they share the database). */
interface HookwiseSetup {
  orgId: string;
  apiKey: string;
  roomSourceToken: string;
  sourceId: string;
  genericWorkspaceId: string;
}

interface HookwiseApi {
  taskQueue: string;
  api: Api;
  token: Target;
  generic: Target;
  logLines(): number;
}

/**
 * One hookwise API, built by buildApi as src/main/api.ts builds it, listening on a loopback port, with
 * the probes put on before its pool opens a connection. `taskQueue` separates the engine scenario's
 * workflows (which its worker runs) from the others' (which nothing runs).
 */
async function startHookwiseApi(infra: Infra, admin: Db, rec: Recorder, taskQueue: string, encryptionKey: string, name: string): Promise<HookwiseApi> {
  const config = loadConfig({
    DATABASE_URL: infra.databaseUrl,
    TEMPORAL_ADDRESS: infra.temporalAddress,
    TEMPORAL_NAMESPACE: infra.namespace,
    HOOKWISE_TASK_QUEUE: taskQueue,
    HOOKWISE_ENCRYPTION_KEY: encryptionKey,
    HOOKWISE_ALLOW_HTTP: 'true',
    HOOKWISE_ALLOW_PRIVATE_TARGETS: 'true',
  });
  // Under overload the API may log a line per request; show the first few, count the rest.
  let apiLines = 0;
  const logger = createLogger({
    level: 'warn',
    service: 'api',
    destination: new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) {
          if (++apiLines <= 5) log(`${name}: ${line}`);
          else if (apiLines === 6) log(`${name}: (further log lines are counted, not shown)`);
        }
        done();
      },
    }),
  });
  const api = buildApi(config, { logger });
  const pool = instrumentPool(api.deps.db, rec);
  const starts = instrumentWorkflowStart(api.deps.temporal.client, rec);
  const timed = timedListener(api.server, rec, 'hookwise');
  // Idle keep-alive sockets must outlive the pauses between scenarios (Node's default is 5 s).
  api.server.keepAliveTimeout = 10 * 60_000;
  const origin = await api.listen(0, '127.0.0.1');
  onCleanup(name, async () => {
    pool.stop();
    await api.close();
  });
  const common = {
    origin,
    inFlight: timed.inFlight,
    pool,
    starts: starts.completed,
    startsDrained: () => api.deps.starter.drained(),
  };
  const setup = await hookwiseSetup(origin, admin);
  return {
    taskQueue,
    api,
    logLines: () => apiLines,
    token: {
      ...common,
      key: 'token',
      name: TARGET_NAMES.token,
      path: `/webhooks/${setup.roomSourceToken}`,
      expect: '"ok":true',
      dedupe: false,
      rows: async () => Number((await admin.query('SELECT count(*)::int AS n FROM room_events WHERE source_id = $1', [setup.sourceId])).rows[0].n),
    },
    generic: {
      ...common,
      key: 'generic',
      name: TARGET_NAMES.generic,
      path: `/api/v1/webhooks/generic/${setup.genericWorkspaceId}`,
      expect: '"accepted":true',
      dedupe: true,
      rows: async () => Number((await admin.query('SELECT count(*)::int AS n FROM event_inbox WHERE workspace_id = $1', [setup.genericWorkspaceId])).rows[0].n),
    },
  };
}

let setupOnce: Promise<HookwiseSetup> | null = null;
let receiverUrl = '';

/**
 * A fresh org with a workspace and room, one event source (no verification) with one rule; a
 * workspace for the generic ingress (no signing secret); and a webhook taking every event, so that in
 * the engine scenario what the generic ingress publishes is delivered too.
 */
function hookwiseSetup(origin: string, admin: Db): Promise<HookwiseSetup> {
  return (setupOnce ??= (async () => {
    const { org, apiKey } = await createOrgWithKey(admin, `bench-ingress-${randomUUID()}`);
    const call = async (path: string, body: unknown) => {
      const res = await fetch(`${origin}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
      return JSON.parse(text) as { id: string; token?: string };
    };
    const ws = await call('/api/v1/workspaces', { name: 'bench rooms' });
    const room = await call(`/api/v1/workspaces/${ws.id}/rooms`, { name: 'payments', instructions: 'Handle Stripe events.' });
    const source = await call(`/api/v1/rooms/${room.id}/event-sources`, { name: 'stripe' });
    await call(`/api/v1/event-sources/${source.id}/definitions`, {
      name: 'charge succeeded',
      description: 'a card payment went through',
      priority: 1,
      rule: { path: 'type', equals: 'charge.succeeded' },
    });
    const genericWs = await call('/api/v1/workspaces', { name: 'bench generic' });
    await call('/api/v1/webhooks', { url: receiverUrl, events: ['*'], rateLimit: { maxInFlight: 1000, maxPerMinute: 10_000 } });
    log(`hookwise: org ${org.id}, room ${room.id}, source ${source.id}, generic workspace ${genericWs.id}`);
    return { orgId: org.id, apiKey, roomSourceToken: source.token!, sourceId: source.id, genericWorkspaceId: genericWs.id };
  })());
}

// --- scenarios ----------------------------------------------------------------------------------

interface ScenarioResult {
  scenario: ScenarioKey;
  client: LoadResult;
  /** Rows recorded during the scenario, and 2xx acks whose row is missing. */
  rows: number;
  ackedWithoutRow: number;
  /** Workflow starts completed while the load ran, and after it until they caught up (hookwise). */
  starts: { duringLoad: number; perSecond: number; afterLoad: number; catchUpMs: number } | null;
  server: { timings: Record<string, Dist>; counts: Record<string, number> };
  poolWaiting: { max: number; mean: number };
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** % of one core: this process (the API / baseline), the engine's worker, the load generator, the servers, everything else on the machine, hypervisor steal. */
  cpu: { api: number; worker: number | null; loadgen: number | null; temporal: number | null; postgres: number | null; others: number | null; steal: number | null; wallMs: number };
  profile?: Array<{ where: string; pct: number }>;
}

interface Ctx {
  p: Params;
  infra: Infra;
  loadgen: Loadgen;
  rec: Recorder;
  eld: ReturnType<typeof eventLoopMonitor>;
  runId: string;
  /** Cores used by other processes just before the run. */
  othersBefore: number | null;
  /** The engine scenario's worker while it runs. */
  worker: HostProcess | null;
}

function spec(ctx: Ctx, t: Target, mode: LoadSpec['mode'], durationSec: number): LoadSpec {
  return {
    mode,
    origin: t.origin,
    path: t.path,
    body: BODY,
    headers: { 'content-type': 'application/json', 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
    dedupePrefix: t.dedupe ? `bench-${ctx.runId}-${mode}` : undefined,
    connections: ctx.p.connections,
    rate: mode === 'autocannon-max' ? undefined : ctx.p.rate,
    durationSec,
    expect: t.expect,
    timeoutSec: REQUEST_TIMEOUT_SEC,
  };
}

/** Waits until the server has nothing in flight (what the generator gave up on included). */
async function drain(t: Target): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (t.inFlight() > 0 && Date.now() < deadline) await sleep(20);
  if (t.inFlight() > 0) log(`${t.name}: still ${t.inFlight()} request(s) in flight after ${DRAIN_TIMEOUT_MS / 1000}s`);
}

/** Waits (bounded) for the API's background workflow starts to catch up with what it acknowledged. */
async function drainStarts(t: Target): Promise<number> {
  if (!t.startsDrained) return 0;
  const t0 = performance.now();
  await withTimeout(t.startsDrained(), STARTS_DRAIN_TIMEOUT_MS, `${t.name}: background workflow starts`).catch((e) => log((e as Error).message));
  return Math.round(performance.now() - t0);
}

/** CPU seconds used so far by our processes: this one, the load generator, the worker, PostgreSQL, Temporal. */
function ourCpuSeconds(ctx: Ctx): number {
  const u = process.cpuUsage();
  return (
    (u.user + u.system) / 1e6 +
    (treeCpuSeconds(ctx.loadgen.pid) ?? 0) +
    (treeCpuSeconds(ctx.worker?.pid ?? null) ?? 0) +
    (treeCpuSeconds(ctx.infra.pids.temporal) ?? 0) +
    (treeCpuSeconds(ctx.infra.pids.postgres) ?? 0)
  );
}

async function waitForQuiet(ctx: Ctx): Promise<void> {
  if (ctx.p.quietWaitSec === 0) return;
  const deadline = Date.now() + ctx.p.quietWaitSec * 1000;
  for (;;) {
    const others = await othersLoad(() => ourCpuSeconds(ctx), 1000);
    if (others === null || others < 0.2) return;
    if (Date.now() >= deadline) {
      log(`other processes still use ${others} cores after waiting ${ctx.p.quietWaitSec}s; going ahead`);
      return;
    }
    log(`other processes use ${others} cores; waiting…`);
  }
}

const MODE: Record<ScenarioKey, LoadSpec['mode']> = { paced: 'paced', engine: 'paced', max: 'autocannon-max' };

async function runScenario(ctx: Ctx, t: Target, scenario: ScenarioKey): Promise<ScenarioResult> {
  await drain(t);
  await sleep(500);
  await waitForQuiet(ctx);
  const rows0 = await t.rows();
  const starts0 = t.starts();
  ctx.rec.reset();
  t.pool.resetWaiting();
  ctx.eld.reset();
  const cpu0: CpuProbe = cpuProbe(ctx.infra.pids);
  const lg0 = treeCpuSeconds(ctx.loadgen.pid);
  const wk0 = treeCpuSeconds(ctx.worker?.pid ?? null);
  const m0 = machineCpuSeconds();
  const started = performance.now();
  let stopProfile: (() => Promise<Array<{ where: string; pct: number }>>) | null = null;
  if (ctx.p.profileDir && scenario === 'max' && isHookwise(t.key)) {
    await mkdir(ctx.p.profileDir, { recursive: true });
    stopProfile = await startCpuProfile(join(ctx.p.profileDir, `ingress-${t.key}-max-${ctx.runId}.cpuprofile`));
  }
  const client = await ctx.loadgen.run(spec(ctx, t, MODE[scenario], ctx.p.durationSec));
  const profile = stopProfile ? await stopProfile() : undefined;
  const wallMs = performance.now() - started;
  const startsAtEnd = t.starts();
  const cpu1 = cpuProbe(ctx.infra.pids);
  const lg1 = treeCpuSeconds(ctx.loadgen.pid);
  const wk1 = treeCpuSeconds(ctx.worker?.pid ?? null);
  const m1 = machineCpuSeconds();
  const eventLoopDelayMs = ctx.eld.snapshot();
  const poolWaiting = { max: t.pool.maxWaiting(), mean: t.pool.meanWaiting() };
  const shares = cpuShare(cpu0, cpu1, wallMs);
  const perCore = (sec: number) => Math.round((sec / (wallMs / 1000)) * 100);
  const loadgenCpu = lg0 === null || lg1 === null ? null : perCore(lg1 - lg0);
  const workerCpu = wk0 === null || wk1 === null ? null : perCore(wk1 - wk0);
  const ours = shares.bench + (loadgenCpu ?? 0) + (workerCpu ?? 0) + (shares.temporal ?? 0) + (shares.postgres ?? 0);
  await drain(t);
  const catchUpMs = await drainStarts(t);
  const server = ctx.rec.snapshot();
  const rows = (await t.rows()) - rows0;
  const twoxx = client.ok + client.mismatches;
  const startsEnd = t.starts();
  return {
    scenario,
    client,
    rows,
    // The token endpoint also acks when only the workflow start succeeded (its workflow writes the row).
    ackedWithoutRow: Math.max(0, (t.key === 'generic' ? client.ok : twoxx) - rows),
    starts:
      starts0 === null || startsAtEnd === null || startsEnd === null
        ? null
        : {
            duringLoad: startsAtEnd - starts0,
            perSecond: Math.round(((startsAtEnd - starts0) / (wallMs / 1000)) * 10) / 10,
            afterLoad: startsEnd - startsAtEnd,
            catchUpMs,
          },
    server,
    poolWaiting,
    eventLoopDelayMs,
    cpu: {
      api: shares.bench,
      worker: workerCpu,
      loadgen: loadgenCpu,
      temporal: shares.temporal,
      postgres: shares.postgres,
      others: m0 && m1 ? Math.max(0, perCore(m1.busy - m0.busy) - ours) : null,
      steal: m0 && m1 ? perCore(m1.steal - m0.steal) : null,
      wallMs: Math.round(wallMs),
    },
    ...(profile ? { profile } : {}),
  };
}

function describe(ctx: Ctx, s: ScenarioKey): string {
  if (s === 'max') return 'max throughput';
  return `${ctx.p.rate} req/s paced (open loop)${s === 'engine' ? ' with the engine running' : ''}`;
}

function logResult(ctx: Ctx, t: Target, s: ScenarioKey, r: ScenarioResult): void {
  const c = r.client;
  const lat = c.fromSchedule ?? c.latency;
  log(
    `${t.name}: ${describe(ctx, s)}: ${c.okPerSecond} ok/s, p50 ${fmt(lat.p50)} ms, p99 ${fmt(lat.p99)} ms, ` +
      `${c.ok}/${c.sent} ok, ${c.non2xx} non-2xx, ${c.errors} errors, ${c.mismatches} unexpected bodies` +
      (r.starts ? `; ${r.starts.perSecond} starts/s during the load, ${r.starts.afterLoad} after it (${(r.starts.catchUpMs / 1000).toFixed(1)}s)` : '') +
      `; CPU api ${r.cpu.api}% worker ${r.cpu.worker ?? '–'}% temporal ${r.cpu.temporal ?? '–'}% postgres ${r.cpu.postgres ?? '–'}% loadgen ${r.cpu.loadgen ?? '–'}% others ${r.cpu.others ?? '–'}%`,
  );
}

async function warmUp(ctx: Ctx, t: Target, mode: LoadSpec['mode']): Promise<void> {
  if (ctx.p.warmupSec === 0) return;
  log(`${t.name}: warm-up, ${ctx.p.warmupSec}s${mode === 'paced' ? ` at ${ctx.p.rate}/s` : ` at ${ctx.p.connections} connections`}…`);
  const w = await ctx.loadgen.run(spec(ctx, t, mode, ctx.p.warmupSec));
  await drain(t);
  await drainStarts(t);
  log(`${t.name}: warm-up ${w.ok} ok, ${w.non2xx} non-2xx, ${w.errors} errors, ${w.mismatches} unexpected bodies`);
  if (w.ok === 0) throw new Error(`${t.name}: no successful answer during warm-up (${JSON.stringify(w.statusCodes)}; ${w.errorSamples.join('; ')})`);
}

async function runTarget(ctx: Ctx, t: Target): Promise<Partial<Record<ScenarioKey, ScenarioResult>>> {
  const out: Partial<Record<ScenarioKey, ScenarioResult>> = {};
  await warmUp(ctx, t, 'autocannon-max');
  for (const s of ctx.p.scenarios.filter((x) => x !== 'engine')) {
    log(`${t.name}: ${describe(ctx, s)}, ${ctx.p.durationSec}s, ${ctx.p.connections} connections…`);
    const r = await runScenario(ctx, t, s);
    logResult(ctx, t, s, r);
    out[s] = r;
  }
  return out;
}

/**
 * The engine scenario of one hookwise target: a fresh API on a task queue of its own, and hookwise's
 * worker (built by buildWorker in its own process) polling it, so that only this scenario's workflows
 * run. The steady rate runs once for warm-up, then measured; the worker stops afterwards, leaving what
 * it had not finished on its queue.
 */
async function runEngine(ctx: Ctx, admin: Db, key: 'token' | 'generic', encryptionKey: string): Promise<{ result: ScenarioResult; logLines: number }> {
  const taskQueue = `bench-ingress-engine-${key}-${randomUUID().slice(0, 8)}`;
  const hw = await startHookwiseApi(ctx.infra, admin, ctx.rec, taskQueue, encryptionKey, `hookwise API (engine, ${key})`);
  const worker = await startHost('worker', `hookwise worker (engine, ${key})`, {
    DATABASE_URL: ctx.infra.databaseUrl,
    TEMPORAL_ADDRESS: ctx.infra.temporalAddress,
    TEMPORAL_NAMESPACE: ctx.infra.namespace,
    HOOKWISE_TASK_QUEUE: taskQueue,
    HOOKWISE_ENCRYPTION_KEY: encryptionKey,
    HOOKWISE_ALLOW_HTTP: 'true',
    HOOKWISE_ALLOW_PRIVATE_TARGETS: 'true',
    HOOKWISE_METRICS_PORT: '0',
    BENCH_WORKFLOW_BUNDLE: ctx.infra.bundlePath!,
    // Recovery would also start rows the other scenarios' APIs left to it, on this queue.
    BENCH_RECOVERY: 'false',
  });
  onCleanup(worker.name, () => worker.stop());
  ctx.worker = worker;
  try {
    const t = hw[key];
    await warmUp(ctx, t, 'paced');
    log(`${t.name}: ${describe(ctx, 'engine')}, ${ctx.p.durationSec}s, ${ctx.p.connections} connections…`);
    const r = await runScenario(ctx, t, 'engine');
    logResult(ctx, t, 'engine', r);
    return { result: r, logLines: hw.logLines() };
  } finally {
    ctx.worker = null;
    await worker.stop();
  }
}

// --- report -------------------------------------------------------------------------------------

type Results = Partial<Record<TargetKey, Partial<Record<ScenarioKey, ScenarioResult>>>>;

function report(ctx: Ctx, results: Results, logLines: number, loadAverage: { before: number[]; after: number[] }) {
  const { p, infra } = ctx;
  const machine = { cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, totalMemoryBytes: os.totalmem() };
  const date = new Date().toISOString();
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a === null || a === undefined || b === null || b === undefined || b === 0 ? null : Math.round((a / b) * 1000) / 1000;
  const get = (k: TargetKey, s: ScenarioKey) => results[k]?.[s];
  const acks = (k: TargetKey) => get(k, 'max')?.client.okPerSecond;
  const hookwiseKeys = p.targets.filter(isHookwise);
  const ratios: Record<string, { vsInsert: number | null; vsInsertAndStart: number | null }> = {};
  const aims: Record<string, Record<string, boolean | null>> = {};
  for (const k of hookwiseKeys) {
    ratios[k] = { vsInsert: ratio(acks(k), acks('baseline')), vsInsertAndStart: ratio(acks(k), acks('baseline-start')) };
    const engine = get(k, 'engine')?.client;
    aims[k] = {
      acksAtLeast70PctOfInsert: ratios[k].vsInsert === null ? null : ratios[k].vsInsert! >= AIM.vsInsert,
      acksAtLeast90PctOfInsertAndStart: ratios[k].vsInsertAndStart === null ? null : ratios[k].vsInsertAndStart! >= AIM.vsInsertAndStart,
      engineP99AtMost50msAt300PerSecond:
        engine === undefined || p.rate !== AIM.rate ? null : engine.fromSchedule!.p99 !== null && engine.fromSchedule!.p99 <= AIM.p99Ms && engine.ok === engine.sent,
    };
  }

  const keys = p.targets;
  const header = ['', ...keys.map((k) => TARGET_NAMES[k])];
  const rows: string[][] = [header];
  const pct = (x: number | null) => (x === null ? '–' : `${x}%`);
  const row = (label: string, s: ScenarioKey, f: (r: ScenarioResult) => string) => {
    if (!p.scenarios.includes(s)) return;
    const cells = keys.map((k) => {
      const r = get(k, s);
      return r ? f(r) : '–';
    });
    if (cells.every((c) => c === '–')) return;
    rows.push([label, ...cells]);
  };
  // Paced: out of those sent; autocannon: out of those answered (it stops with requests in flight).
  const outcome = (r: ScenarioResult) => {
    const c = r.client;
    const issues = [
      c.non2xx > 0 ? `${c.non2xx}×non-2xx` : '',
      c.errors > 0 ? `${c.errors}×err` : '',
      c.mismatches > 0 ? `${c.mismatches}×body` : '',
      c.unanswered ? `${c.unanswered}×unanswered` : '',
    ].filter(Boolean);
    return `${c.ok}/${c.mode === 'paced' ? c.sent : c.responses}` + (issues.length > 0 ? ` (${issues.join(' ')})` : '');
  };
  const R = p.rate;
  for (const s of ['paced', 'engine'] as const) {
    const what = s === 'paced' ? `paced ${R}/s, API alone` : `paced ${R}/s, engine running`;
    row(`${what}: ack p50 ms (from due time)`, s, (r) => fmt(r.client.fromSchedule?.p50));
    row(`${what}: ack p99 ms`, s, (r) => fmt(r.client.fromSchedule?.p99));
    row(`${what}: ack max ms`, s, (r) => fmt(r.client.fromSchedule?.max));
    row(`${what}: ok / sent`, s, outcome);
    row(`${what}: workflow starts/s while loaded`, s, (r) => (r.starts ? fmt(r.starts.perSecond) : '–'));
    row(`${what}: CPU api / worker / pg / temporal`, s, (r) => `${pct(r.cpu.api)} ${pct(r.cpu.worker)} ${pct(r.cpu.postgres)} ${pct(r.cpu.temporal)}`);
    row(`${what}: CPU other processes`, s, (r) => pct(r.cpu.others));
  }
  row(`max (${p.connections} conns): acks/s`, 'max', (r) => fmt(r.client.okPerSecond));
  row('max: workflow starts/s while loaded', 'max', (r) => (r.starts ? fmt(r.starts.perSecond) : '–'));
  row('max: starts still owed at the end, caught up in', 'max', (r) =>
    r.starts ? (r.starts.afterLoad > 0 ? `${r.starts.afterLoad} in ${fmt(r.starts.catchUpMs / 1000)} s` : '0') : '–',
  );
  row('max: latency p50 / p99 ms', 'max', (r) => `${fmt(r.client.latency.p50)} / ${fmt(r.client.latency.p99)}`);
  row('max: ok / answered', 'max', outcome);
  row('max: CPU api process (% of a core)', 'max', (r) => pct(r.cpu.api));
  row('max: API CPU per ack, ms', 'max', (r) => fmt(cpuPerAck(r)));
  row('max: CPU PostgreSQL / Temporal', 'max', (r) => `${pct(r.cpu.postgres)} ${pct(r.cpu.temporal)}`);
  row('max: CPU load generator', 'max', (r) => pct(r.cpu.loadgen));
  row('max: CPU other processes (shared machine)', 'max', (r) => pct(r.cpu.others));
  row('max: event-loop delay p99 ms', 'max', (r) => fmt(r.eventLoopDelayMs.p99));

  const out: string[] = [];
  out.push(`hookwise ingress benchmark — ${date}`);
  out.push(`${machine.cpuModel}, ${machine.cores} cores, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, node ${process.version}; load average before ${loadAverage.before.map((x) => x.toFixed(2)).join(' ')}, after ${loadAverage.after.map((x) => x.toFixed(2)).join(' ')}`);
  out.push(`PostgreSQL: ${infra.source.postgres}; Temporal: ${infra.source.temporal}; body ${Buffer.byteLength(BODY)} bytes (Stripe charge.succeeded)`);
  out.push(`pools of ${POOL_SIZE}; ${p.durationSec}s per scenario after ${p.warmupSec}s warm-up; load from a separate process`);
  if (ctx.othersBefore !== null) out.push(`other processes used ${ctx.othersBefore} cores just before the run (0 = an idle machine)`);
  out.push('');
  out.push(table(rows));

  if (hookwiseKeys.some((k) => results[k])) {
    out.push('');
    const ratioRows: string[][] = [['hookwise / baseline', 'acks/s vs INSERT', 'acks/s vs INSERT + start', `engine: ack p99 at ${R}/s`]];
    for (const k of hookwiseKeys) {
      const a = aims[k];
      ratioRows.push([
        TARGET_NAMES[k],
        `${fmt(ratios[k].vsInsert, 2)} (aim ≥ ${AIM.vsInsert}) ${mark(a.acksAtLeast70PctOfInsert)}`,
        `${fmt(ratios[k].vsInsertAndStart, 2)} (aim ≥ ${AIM.vsInsertAndStart}) ${mark(a.acksAtLeast90PctOfInsertAndStart)}`,
        `${fmt(get(k, 'engine')?.client.fromSchedule?.p99)} ms (aim ≤ ${AIM.p99Ms}) ${mark(a.engineP99AtMost50msAt300PerSecond)}`,
      ]);
    }
    out.push(table(ratioRows));
  }

  // Where the time goes, from the server's side.
  for (const k of keys) {
    const scen = SCENARIOS.filter((s) => get(k, s));
    if (scen.length === 0) continue;
    const names = new Set<string>();
    for (const s of scen) for (const n of Object.keys(get(k, s)!.server.timings)) names.add(n);
    const ordered = [...names].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
    const t: string[][] = [[`${TARGET_NAMES[k]}: server side, ms p50 / p99`, ...scen]];
    for (const n of ordered) t.push([n, ...scen.map((s) => timing(get(k, s)!.server.timings[n]))]);
    t.push(['pool: requests waiting for a connection, mean / max', ...scen.map((s) => `${get(k, s)!.poolWaiting.mean} / ${get(k, s)!.poolWaiting.max}`)]);
    t.push(['event-loop delay, p99 / max', ...scen.map((s) => `${fmt(get(k, s)!.eventLoopDelayMs.p99)} / ${fmt(get(k, s)!.eventLoopDelayMs.max)}`)]);
    t.push(['rows recorded / 2xx acks', ...scen.map((s) => `${get(k, s)!.rows} / ${get(k, s)!.client.ok + get(k, s)!.client.mismatches}`)]);
    const failed = scen.flatMap((s) => Object.entries(get(k, s)!.server.counts).map(([n, c]) => `${s}: ${n} ×${c}`));
    out.push('');
    out.push(table(t));
    if (failed.length > 0) out.push(`  failures: ${failed.join('; ')}`);
    for (const s of scen) {
      const prof = get(k, s)!.profile;
      if (prof) out.push(`  CPU profile of the API process during ${s} (self time): ${prof.slice(0, 12).map((x) => `${x.where} ${x.pct}%`).join(', ')}`);
    }
  }

  out.push('');
  const verdict = (x: boolean | null | undefined) => (x === null || x === undefined ? 'not measured' : x ? 'met' : 'NOT met');
  for (const k of hookwiseKeys) {
    const a = aims[k];
    out.push(
      `aims, ${TARGET_NAMES[k]}: acks/s ≥ ${AIM.vsInsert} × INSERT: ${verdict(a.acksAtLeast70PctOfInsert)} (${fmt(ratios[k].vsInsert, 2)}); ` +
        `≥ ${AIM.vsInsertAndStart} × INSERT + start: ${verdict(a.acksAtLeast90PctOfInsertAndStart)} (${fmt(ratios[k].vsInsertAndStart, 2)}); ` +
        `ack p99 ≤ ${AIM.p99Ms} ms at ${AIM.rate}/s with the engine: ${verdict(a.engineP99AtMost50msAt300PerSecond)} (${fmt(get(k, 'engine')?.client.fromSchedule?.p99)} ms)`,
    );
  }
  out.push(
    'notes: "paced" sends one request every 1/rate s whatever the answers (open loop) and counts latency from the due time ' +
      '(percentiles over the answered ones; a server slower than the rate leaves the rest unanswered at duration + 10 s). ' +
      "hookwise acknowledges once the row is committed and starts the workflow after the answer, so its starts can lag its acks under load; " +
      '"workflow starts/s" and "starts still owed" show by how much.',
  );
  if (infra.source.temporal === 'TEMPORAL_ADDRESS') out.push('note: the workflows started here stay open on their bench-ingress-* task queues with no worker; terminate them when done.');
  if (logLines > 0) out.push(`note: the APIs logged ${logLines} line(s) (first ones on stderr)`);
  for (const k of keys)
    for (const sc of p.scenarios) {
      const r = get(k, sc);
      if (r && r.ackedWithoutRow > 0) out.push(`WARNING: ${TARGET_NAMES[k]} / ${sc}: ${r.ackedWithoutRow} 2xx answer(s) without a recorded row`);
    }
  process.stdout.write(out.join('\n') + '\n');

  const json = {
    bench: 'ingress',
    date,
    machine,
    node: process.version,
    params: p,
    infra: infra.source,
    loadAverage,
    otherProcessesCoresBeforeRun: ctx.othersBefore,
    bodyBytes: Buffer.byteLength(BODY),
    results,
    ratios,
    aims,
    apiLogLines: logLines,
  };
  process.stdout.write(JSON.stringify(json) + '\n');
}

const mark = (x: boolean | null | undefined) => (x === null || x === undefined ? '' : x ? '✔' : '✘');

/** CPU ms this process spent per successful answer (background work included). */
function cpuPerAck(r: ScenarioResult): number | null {
  return r.client.ok === 0 ? null : Math.round(((r.cpu.api / 100) * r.cpu.wallMs * 100) / r.client.ok) / 100;
}

function order(name: string): number {
  if (name.includes('server time')) return 0;
  if (name.includes('lookup')) return 1;
  if (name.startsWith('INSERT') || name.startsWith('ingress')) return 2;
  if (name.startsWith('workflow start')) return 3;
  return 4;
}

const timing = (d: Dist | undefined) => (d === undefined ? '–' : `${fmt(d.p50)} / ${fmt(d.p99)}  (n=${d.n})`);

// --- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const p = readParams();
  const watchdog = setTimeout(() => {
    log(`the whole run exceeded ${p.timeoutSeconds}s; stopping`);
    void cleanup().finally(() => process.exit(1));
  }, p.timeoutSeconds * 1000);
  watchdog.unref();

  const started = Date.now();
  const loadBefore = os.loadavg();
  log(`load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`);
  try {
    const infra = await startInfra(p);
    log(`infrastructure ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);

    const admin = createPool(infra.databaseUrl, 2);
    onCleanup('admin pool', () => admin.end());
    const receiver = await startReceiver();
    onCleanup('receiver', () => receiver.close());
    receiverUrl = receiver.url;
    const rec = new Recorder();
    const eld = eventLoopMonitor();
    onCleanup('event-loop monitor', async () => eld.stop());
    const loadgen = await startLoadgen();
    onCleanup('load generator', () => loadgen.close());

    const targets: Partial<Record<TargetKey, Target>> = {};
    for (const k of ['baseline', 'baseline-start'] as const) if (p.targets.includes(k)) targets[k] = await startBaseline(k, infra, admin, rec);
    const encryptionKey = randomBytes(32).toString('base64url');
    let alone: HookwiseApi | null = null;
    if (p.targets.some(isHookwise) && p.scenarios.some((s) => s !== 'engine')) {
      alone = await startHookwiseApi(infra, admin, rec, `bench-ingress-${randomUUID().slice(0, 8)}`, encryptionKey, 'hookwise API');
      log(`hookwise API on ${alone.token.origin}, task queue ${alone.taskQueue} (no worker polls it)`);
      targets.token = alone.token;
      targets.generic = alone.generic;
    }

    const ctx: Ctx = { p, infra, loadgen, rec, eld, runId: randomUUID().slice(0, 8), othersBefore: null, worker: null };
    ctx.othersBefore = await othersLoad(() => ourCpuSeconds(ctx));
    if (ctx.othersBefore !== null) {
      log(`other processes on this machine use ${ctx.othersBefore} of ${os.cpus().length} cores right now`);
      if (ctx.othersBefore > 0.2) log('warning: the machine is not idle; the figures will be skewed (see "CPU other processes")');
    }
    const results: Results = {};
    let logLines = 0;
    for (const k of p.targets) {
      results[k] = targets[k] ? await runTarget(ctx, targets[k]!) : {};
      if (isHookwise(k) && p.scenarios.includes('engine')) {
        const e = await runEngine(ctx, admin, k as 'token' | 'generic', encryptionKey);
        results[k]!.engine = e.result;
        logLines += e.logLines;
      }
    }
    logLines += alone?.logLines() ?? 0;

    report(ctx, results, logLines, { before: loadBefore, after: os.loadavg() });
    const dead = Object.entries(results).flatMap(([k, r]) =>
      Object.entries(r ?? {})
        .filter(([, s]) => s.client.ok === 0)
        .map(([s]) => `${k}/${s}`),
    );
    if (dead.length > 0) {
      log(`error: no successful answer at all in ${dead.join(', ')}`);
      return 1;
    }
    return 0;
  } finally {
    log('cleaning up…');
    await cleanup();
    clearTimeout(watchdog);
    log(`finished in ${Math.round((Date.now() - started) / 1000)}s`);
  }
}

runBenchmark(main, cleanup);
