import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Koa from 'koa';
import { loadConfig, type Config } from '../src/config.js';
import { createPool, type Db } from '../src/db/pool.js';
import { migrate } from '../src/db/migrate.js';
import { createLogger } from '../src/log.js';
import { buildApi } from '../src/roots/api.js';
import { readRawBody } from '../src/api/ingress/raw-body.js';
import { createOrgWithKey } from '../src/tenancy.js';
import {
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
  type BenchInfra,
  type CpuProbe,
  type Dist,
} from './support.js';
import {
  eventLoopMonitor,
  instrumentPool,
  instrumentWorkflowStart,
  machineCpuSeconds,
  othersLoad,
  Recorder,
  startCpuProfile,
  startLoadgen,
  stripeLikeBody,
  timedListener,
  type Loadgen,
  type LoadResult,
  type LoadSpec,
} from './ingress-support.js';

// `npm run bench:ingress`: how fast hookwise acknowledges inbound webhooks, on
// `POST /webhooks/:token` (room event sources) and `POST /api/v1/webhooks/generic/:workspaceId`,
// against a baseline in the same run: a bare Koa handler doing one INSERT per request into
// PostgreSQL. Only the API runs (real createApp, real PostgreSQL and Temporal); no worker: an ack
// needs the durable row and the workflow start, the worker's work comes after it and would only
// compete for the cores. The load comes from a child process (autocannon, and an open-loop pacer).
// Progress goes to stderr; the results table and one JSON line go to stdout.
//
//   --duration S      seconds per measured scenario (BENCH_DURATION, default 10)
//   --rate R          the fixed request rate (BENCH_RATE, default 500)
//   --connections C   connections per scenario (BENCH_CONNECTIONS, default 50)
//   --warmup S        seconds of unmeasured load per target first (BENCH_WARMUP, default 2)
//   --targets LIST    of baseline,token,generic, in this order (default: these three); also
//                     token-detached,generic-detached: an experiment, hookwise's code with the workflow
//                     start taken off the ack path (the start resolves at once, runs in the background)
//   --detached-starts N  what-if targets: background starts at a time (default 32; 0: none, all are
//                     left to the recovery loop, i.e. the ack path alone)
//   --scenarios LIST  of paced,autocannon-rate,max (default all three)
//   --pg-fsync on|off embedded PostgreSQL with fsync + synchronous_commit on (default) or off
//   --profile DIR     write a CPU profile of this process (the API) during each hookwise max run
//   --quiet-wait S    on a shared machine: before each scenario, wait up to S seconds for other
//                     processes to use < 0.2 cores (default 0: don't wait; "CPU other processes" shows it)
//   --timeout S       hard limit for the whole run (BENCH_TIMEOUT_SECONDS, default 480 + 9 × quiet-wait)

const AIM_P99_MS = 25;
/** The rate the latency aim is stated at; other --rate values report latency without judging it. */
const AIM_RATE = 500;
const AIM_THROUGHPUT_RATIO = 0.5;
const POOL_SIZE = 20; // as src/main/api.ts
const REQUEST_TIMEOUT_SEC = 10;
const DRAIN_TIMEOUT_MS = 15_000;
const STOP_STEP_TIMEOUT_MS = 20_000;
const BODY = stripeLikeBody(1024);

const TARGETS = ['baseline', 'token', 'generic', 'token-detached', 'generic-detached'] as const;
type TargetKey = (typeof TARGETS)[number];
const DEFAULT_TARGETS: TargetKey[] = ['baseline', 'token', 'generic'];
const SCENARIOS = ['paced', 'autocannon-rate', 'max'] as const;
type ScenarioKey = (typeof SCENARIOS)[number];
const TARGET_NAMES: Record<TargetKey, string> = {
  baseline: 'baseline',
  token: 'hookwise-token',
  generic: 'hookwise-generic',
  // Experiments, not hookwise as it is: the same code, but workflow.start resolves at once and the
  // real start runs in the background (what acking on the row alone would cost).
  'token-detached': 'what-if token, start detached',
  'generic-detached': 'what-if generic, start detached',
};

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
      'detached-starts': { type: 'string' },
      timeout: { type: 'string' },
    },
    strict: true,
  });
  const quietWait = positiveInt('--quiet-wait', values['quiet-wait'] ?? process.env.BENCH_QUIET_WAIT, 0, 0);
  const fsync = values['pg-fsync'] ?? process.env.BENCH_PG_FSYNC ?? 'on';
  if (fsync !== 'on' && fsync !== 'off') throw new Error(`--pg-fsync must be on or off, got "${fsync}"`);
  return {
    durationSec: positiveInt('--duration', values.duration ?? process.env.BENCH_DURATION, 10),
    rate: positiveInt('--rate', values.rate ?? process.env.BENCH_RATE, 500),
    connections: positiveInt('--connections', values.connections ?? process.env.BENCH_CONNECTIONS, 50),
    warmupSec: positiveInt('--warmup', values.warmup ?? process.env.BENCH_WARMUP, 2, 0),
    targets: list('--targets', values.targets ?? process.env.BENCH_TARGETS, TARGETS, DEFAULT_TARGETS),
    scenarios: list('--scenarios', values.scenarios, SCENARIOS),
    pgFsync: fsync === 'on',
    profileDir: values.profile ? resolve(values.profile) : null,
    quietWaitSec: quietWait,
    detachedStarts: positiveInt('--detached-starts', values['detached-starts'], 32, 0),
    // With --quiet-wait, each scenario may wait that long first.
    timeoutSeconds: positiveInt('--timeout', values.timeout ?? process.env.BENCH_TIMEOUT_SECONDS, 480 + quietWait * 9),
  };
}
type Params = ReturnType<typeof readParams>;

// --- cleanup ------------------------------------------------------------------------------------

const { onCleanup, cleanup } = createCleanups(STOP_STEP_TIMEOUT_MS);

// --- infrastructure -----------------------------------------------------------------------------

interface Infra extends BenchInfra {
  namespace: string;
}

async function startInfra(p: Params): Promise<Infra> {
  // persistent (pgFsync) keeps PostgreSQL's crash-safe defaults, so a commit is durable.
  const infra = await startBenchInfra({ name: 'bench-ingress', pgDurable: p.pgFsync, onCleanup });
  log('running migrations…');
  await migrate(infra.databaseUrl);
  return { ...infra, namespace: process.env.TEMPORAL_NAMESPACE || 'default' };
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
  /** Around each load run (the what-if targets switch detached starts on and off). */
  before?(): void;
  /** Returns how many background starts were dropped (never begun) at the end. */
  after?(): Promise<number>;
}

async function listen(server: Server, name: string): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onCleanup(name, async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The baseline: bare Koa, the raw body read as hookwise reads it, one autocommitted INSERT, `{"ok":true}`. */
async function startBaseline(infra: Infra, admin: Db, rec: Recorder): Promise<Target> {
  const exists = (await admin.query(`SELECT to_regclass('bench_baseline') IS NOT NULL AS e`)).rows[0].e as boolean;
  if (!exists) {
    await admin.query(
      `CREATE TABLE bench_baseline (id text PRIMARY KEY, payload text NOT NULL, received_at timestamptz NOT NULL DEFAULT now())`,
    );
    onCleanup('bench_baseline table', () => admin.query('DROP TABLE IF EXISTS bench_baseline'));
  }
  const db = createPool(infra.databaseUrl, POOL_SIZE);
  const pool = instrumentPool(db, rec);
  onCleanup('baseline pool', async () => {
    pool.stop();
    await db.end();
  });
  const app = new Koa();
  app.use(async (ctx) => {
    const raw = await readRawBody(ctx.req, 1024 * 1024);
    if (raw === null) {
      ctx.status = 413;
      return;
    }
    await db.query('INSERT INTO bench_baseline (id, payload) VALUES ($1, $2)', [randomUUID(), raw.toString('utf8')]);
    ctx.body = { ok: true };
  });
  const server = createServer(app.callback());
  const timed = timedListener(server, rec, 'baseline');
  const origin = await listen(server, 'baseline server');
  log(`baseline: Koa on ${origin}`);
  return {
    key: 'baseline',
    name: TARGET_NAMES.baseline,
    origin,
    path: '/',
    expect: '"ok":true',
    dedupe: false,
    inFlight: timed.inFlight,
    rows: async () => Number((await admin.query('SELECT count(*)::int AS n FROM bench_baseline')).rows[0].n),
    pool,
  };
}

interface Hookwise {
  token: Target;
  generic: Target;
  'token-detached': Target;
  'generic-detached': Target;
  config: Config;
  apiLogLines(): number;
}

async function startHookwise(infra: Infra, admin: Db, rec: Recorder, detachedStarts: number): Promise<Hookwise> {
  const config: Config = loadConfig({
    DATABASE_URL: infra.databaseUrl,
    TEMPORAL_ADDRESS: infra.temporalAddress,
    TEMPORAL_NAMESPACE: infra.namespace,
    HOOKWISE_TASK_QUEUE: `bench-ingress-${randomUUID().slice(0, 8)}`,
    HOOKWISE_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
  });
  // Under overload the API may log a line per request; show the first few, count the rest.
  let apiLines = 0;
  const logger = createLogger({
    level: 'warn',
    service: 'api',
    destination: new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) {
          if (++apiLines <= 5) log(`api: ${line}`);
          else if (apiLines === 6) log('api: (further API log lines are counted, not shown)');
        }
        done();
      },
    }),
  });
  // The API as src/main/api.ts builds it; the probes go on before its pool opens a connection.
  const api = buildApi(config, { logger });
  const db = api.deps.db;
  const pool = instrumentPool(db, rec);
  const starts = instrumentWorkflowStart(api.deps.temporal.client, rec, detachedStarts);
  const timed = timedListener(api.server, rec, 'hookwise');
  api.server.keepAliveTimeout = 10 * 60_000;
  const origin = (await api.listen(0, '127.0.0.1')).replace(/\/$/, '');
  onCleanup('API', async () => {
    pool.stop();
    await api.close();
  });

  // A fresh org, a workspace with a room, one event source (no verification) with one rule; and a
  // workspace for the generic ingress (no signing secret).
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
  log(`hookwise: API on ${origin}, org ${org.id}, room ${room.id}, source ${source.id}, generic workspace ${genericWs.id}, task queue ${config.HOOKWISE_TASK_QUEUE} (no worker polls it)`);

  const common = { origin, inFlight: timed.inFlight, pool };
  const detached = {
    before: () => starts.setDetached(true),
    async after() {
      starts.setDetached(false);
      const dropped = starts.dropQueued();
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      while (starts.active() > 0 && Date.now() < deadline) await sleep(20);
      return dropped;
    },
  };
  const token: Target = {
    ...common,
    key: 'token',
    name: TARGET_NAMES.token,
    path: `/webhooks/${source.token}`,
    expect: '"ok":true',
    dedupe: false,
    rows: async () => Number((await admin.query('SELECT count(*)::int AS n FROM room_events WHERE source_id = $1', [source.id])).rows[0].n),
  };
  const generic: Target = {
    ...common,
    key: 'generic',
    name: TARGET_NAMES.generic,
    path: `/api/v1/webhooks/generic/${genericWs.id}`,
    expect: '"accepted":true',
    dedupe: true,
    rows: async () => Number((await admin.query('SELECT count(*)::int AS n FROM event_inbox WHERE workspace_id = $1', [genericWs.id])).rows[0].n),
  };
  return {
    config,
    apiLogLines: () => apiLines,
    token,
    generic,
    'token-detached': { ...token, ...detached, key: 'token-detached', name: TARGET_NAMES['token-detached'] },
    'generic-detached': { ...generic, ...detached, key: 'generic-detached', name: TARGET_NAMES['generic-detached'] },
  };
}

// --- scenarios ----------------------------------------------------------------------------------

interface ScenarioResult {
  scenario: ScenarioKey;
  client: LoadResult;
  /** Rows recorded during the scenario, and 2xx acks whose row is missing. */
  rows: number;
  ackedWithoutRow: number;
  server: { timings: Record<string, Dist>; counts: Record<string, number> };
  poolWaiting: { max: number; mean: number };
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** % of one core: this process (the API / baseline), the load generator, the servers, everything else on the machine, hypervisor steal. */
  cpu: { api: number; loadgen: number | null; temporal: number | null; postgres: number | null; others: number | null; steal: number | null; wallMs: number };
  profile?: Array<{ where: string; pct: number }>;
  /** what-if targets: background starts dropped (never begun) when the run ended. */
  detachedStartsDropped?: number;
}

interface Ctx {
  p: Params;
  infra: Infra;
  loadgen: Loadgen;
  rec: Recorder;
  eld: ReturnType<typeof eventLoopMonitor>;
  runId: string;
  /** hookwise's task queue (unique per run; no worker polls it). */
  taskQueue?: string;
  /** Cores used by other processes just before the run. */
  othersBefore: number | null;
}

function spec(ctx: Ctx, t: Target, mode: LoadSpec['mode'], durationSec: number): LoadSpec {
  return {
    mode,
    origin: t.origin,
    path: t.path,
    body: BODY,
    headers: { 'content-type': 'application/json', 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
    dedupePrefix: t.dedupe ? `bench-${ctx.runId}` : undefined,
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

const SCENARIO_MODE: Record<ScenarioKey, LoadSpec['mode']> = { paced: 'paced', 'autocannon-rate': 'autocannon-rate', max: 'autocannon-max' };

/** CPU seconds used so far by our processes: this one, the load generator, PostgreSQL, Temporal. */
function ourCpuSeconds(ctx: Ctx): number {
  const u = process.cpuUsage();
  return (
    (u.user + u.system) / 1e6 +
    (treeCpuSeconds(ctx.loadgen.pid) ?? 0) +
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

async function runScenario(ctx: Ctx, t: Target, scenario: ScenarioKey): Promise<ScenarioResult> {
  await drain(t);
  await sleep(500);
  await waitForQuiet(ctx);
  const rows0 = await t.rows();
  ctx.rec.reset();
  t.pool.resetWaiting();
  ctx.eld.reset();
  t.before?.();
  const cpu0: CpuProbe = cpuProbe(ctx.infra.pids);
  const lg0 = treeCpuSeconds(ctx.loadgen.pid);
  const m0 = machineCpuSeconds();
  const started = performance.now();
  let stopProfile: (() => Promise<Array<{ where: string; pct: number }>>) | null = null;
  if (ctx.p.profileDir && scenario === 'max' && t.key !== 'baseline') {
    await mkdir(ctx.p.profileDir, { recursive: true });
    stopProfile = await startCpuProfile(join(ctx.p.profileDir, `ingress-${t.key}-max-${ctx.runId}.cpuprofile`));
  }
  const client = await ctx.loadgen.run(spec(ctx, t, SCENARIO_MODE[scenario], ctx.p.durationSec));
  const profile = stopProfile ? await stopProfile() : undefined;
  const wallMs = performance.now() - started;
  const cpu1 = cpuProbe(ctx.infra.pids);
  const lg1 = treeCpuSeconds(ctx.loadgen.pid);
  const m1 = machineCpuSeconds();
  const eventLoopDelayMs = ctx.eld.snapshot();
  const poolWaiting = { max: t.pool.maxWaiting(), mean: t.pool.meanWaiting() };
  const shares = cpuShare(cpu0, cpu1, wallMs);
  const perCore = (sec: number) => Math.round((sec / (wallMs / 1000)) * 100);
  const loadgenCpu = lg0 === null || lg1 === null ? null : perCore(lg1 - lg0);
  const ours = shares.bench + (loadgenCpu ?? 0) + (shares.temporal ?? 0) + (shares.postgres ?? 0);
  await drain(t);
  const dropped = t.after ? await t.after() : undefined;
  const server = ctx.rec.snapshot();
  const rows = (await t.rows()) - rows0;
  const twoxx = client.ok + client.mismatches;
  return {
    scenario,
    client,
    rows,
    // The token endpoint also acks when only the workflow start succeeded (its workflow writes the row).
    ackedWithoutRow: Math.max(0, (t.key.startsWith('generic') ? client.ok : twoxx) - rows),
    server,
    poolWaiting,
    eventLoopDelayMs,
    cpu: {
      api: shares.bench,
      loadgen: loadgenCpu,
      temporal: shares.temporal,
      postgres: shares.postgres,
      others: m0 && m1 ? Math.max(0, perCore(m1.busy - m0.busy) - ours) : null,
      steal: m0 && m1 ? perCore(m1.steal - m0.steal) : null,
      wallMs: Math.round(wallMs),
    },
    ...(profile ? { profile } : {}),
    ...(dropped !== undefined ? { detachedStartsDropped: dropped } : {}),
  };
}

async function runTarget(ctx: Ctx, t: Target): Promise<Partial<Record<ScenarioKey, ScenarioResult>>> {
  const out: Partial<Record<ScenarioKey, ScenarioResult>> = {};
  if (ctx.p.warmupSec > 0) {
    log(`${t.name}: warm-up, ${ctx.p.warmupSec}s at ${ctx.p.connections} connections…`);
    t.before?.();
    const w = await ctx.loadgen.run(spec(ctx, t, 'autocannon-max', ctx.p.warmupSec));
    await drain(t);
    await t.after?.();
    log(`${t.name}: warm-up ${w.ok} ok, ${w.non2xx} non-2xx, ${w.errors} errors, ${w.mismatches} unexpected bodies`);
    if (w.ok === 0) throw new Error(`${t.name}: no successful answer during warm-up (${JSON.stringify(w.statusCodes)}; ${w.errorSamples.join('; ')})`);
  }
  for (const s of ctx.p.scenarios) {
    const what =
      s === 'paced'
        ? `${ctx.p.rate} req/s paced (open loop)`
        : s === 'autocannon-rate'
          ? `autocannon overallRate ${ctx.p.rate}`
          : `max throughput`;
    log(`${t.name}: ${what}, ${ctx.p.durationSec}s, ${ctx.p.connections} connections…`);
    const r = await runScenario(ctx, t, s);
    const c = r.client;
    const lat = c.fromSchedule ?? c.latency;
    log(
      `${t.name}: ${what}: ${c.okPerSecond} ok/s, p50 ${fmt(lat.p50)} ms, p99 ${fmt(lat.p99)} ms, ` +
        `${c.ok}/${c.sent} ok, ${c.non2xx} non-2xx, ${c.errors} errors, ${c.mismatches} unexpected bodies; ` +
        `CPU api ${r.cpu.api}% temporal ${r.cpu.temporal ?? '–'}% postgres ${r.cpu.postgres ?? '–'}% loadgen ${r.cpu.loadgen ?? '–'}% others ${r.cpu.others ?? '–'}%`,
    );
    out[s] = r;
  }
  return out;
}

// --- report -------------------------------------------------------------------------------------

type Results = Partial<Record<TargetKey, Partial<Record<ScenarioKey, ScenarioResult>>>>;

function report(ctx: Ctx, results: Results, apiLogLines: number) {
  const { p, infra } = ctx;
  const machine = { cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, totalMemoryBytes: os.totalmem() };
  const date = new Date().toISOString();
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a === null || a === undefined || b === null || b === undefined || b === 0 ? null : Math.round((a / b) * 1000) / 1000;
  const bl = results.baseline;
  const hookwiseKeys = p.targets.filter((k) => k !== 'baseline');
  const ratios: Record<string, { maxThroughput: number | null }> = {};
  for (const k of hookwiseKeys) {
    if (results[k]) ratios[k] = { maxThroughput: ratio(results[k]?.max?.client.okPerSecond, bl?.max?.client.okPerSecond) };
  }
  const aims: Record<string, Record<string, boolean | null>> = {};
  for (const k of hookwiseKeys) {
    const r = results[k];
    if (!r) continue;
    const paced = r.paced?.client;
    aims[k] = {
      [`p99AtMost${AIM_P99_MS}msAt${AIM_RATE}PerSecond`]:
        paced === undefined || p.rate !== AIM_RATE ? null : paced.fromSchedule!.p99 !== null && paced.fromSchedule!.p99 <= AIM_P99_MS && paced.ok === paced.sent,
      [`throughputAtLeast${AIM_THROUGHPUT_RATIO * 100}PctOfBaseline`]:
        ratios[k]?.maxThroughput === null || ratios[k]?.maxThroughput === undefined ? null : ratios[k].maxThroughput! >= AIM_THROUGHPUT_RATIO,
    };
  }

  const keys = p.targets;
  const header = ['', ...keys.map((k) => TARGET_NAMES[k])];
  const withRatio = bl?.max !== undefined && hookwiseKeys.length > 0;
  if (withRatio) header.push(...hookwiseKeys.map((k) => `${k}/baseline`));
  const rows: string[][] = [header];
  const get = (k: TargetKey, s: ScenarioKey) => results[k]?.[s];
  const row = (label: string, f: (r: ScenarioResult) => string, s: ScenarioKey, ratioOf?: (r: ScenarioResult) => number | null) => {
    if (!p.scenarios.includes(s)) return;
    const cells = keys.map((k) => {
      const r = get(k, s);
      return r ? f(r) : '–';
    });
    if (withRatio) {
      cells.push(
        ...hookwiseKeys.map((k) => {
          const a = get(k, s);
          const b = get('baseline', s);
          return ratioOf && a && b ? fmt(ratio(ratioOf(a), ratioOf(b)), 2) : '';
        }),
      );
    }
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
  const pct = (x: number | null) => (x === null ? '–' : `${x}%`);
  const R = p.rate;
  row(`paced ${R}/s: ack p50 ms (from due time)`, (r) => fmt(r.client.fromSchedule?.p50), 'paced', (r) => r.client.fromSchedule?.p50 ?? null);
  row(`paced ${R}/s: ack p99 ms (from due time)`, (r) => fmt(r.client.fromSchedule?.p99), 'paced', (r) => r.client.fromSchedule?.p99 ?? null);
  row(`paced ${R}/s: ack max ms`, (r) => fmt(r.client.fromSchedule?.max), 'paced');
  row(`paced ${R}/s: ok / sent`, outcome, 'paced');
  row(`paced ${R}/s: last answer after (s)`, (r) => fmt(r.client.wallMs / 1000), 'paced');
  row(`paced ${R}/s: generator lag p99 ms`, (r) => fmt(r.client.generatorLag?.p99), 'paced');
  row(`paced ${R}/s: CPU api / pg / temporal`, (r) => `${pct(r.cpu.api)} ${pct(r.cpu.postgres)} ${pct(r.cpu.temporal)}`, 'paced');
  row(`paced ${R}/s: CPU other processes`, (r) => pct(r.cpu.others), 'paced');
  row(`autocannon overallRate ${R}: p50 ms`, (r) => fmt(r.client.latency.p50), 'autocannon-rate', (r) => r.client.latency.p50);
  row(`autocannon overallRate ${R}: p99 ms`, (r) => fmt(r.client.latency.p99), 'autocannon-rate', (r) => r.client.latency.p99);
  row(`autocannon overallRate ${R}: ok / answered`, outcome, 'autocannon-rate');
  row(`max (${p.connections} conns): acks/s`, (r) => fmt(r.client.okPerSecond), 'max', (r) => r.client.okPerSecond);
  row('max: latency p50 ms', (r) => fmt(r.client.latency.p50), 'max', (r) => r.client.latency.p50);
  row('max: latency p99 ms', (r) => fmt(r.client.latency.p99), 'max', (r) => r.client.latency.p99);
  row('max: ok / answered', outcome, 'max');
  row('max: CPU api process (% of a core)', (r) => pct(r.cpu.api), 'max');
  row('max: API CPU per ack, ms', (r) => fmt(cpuPerAck(r)), 'max', cpuPerAck);
  row('max: CPU PostgreSQL', (r) => pct(r.cpu.postgres), 'max');
  row('max: CPU Temporal server', (r) => pct(r.cpu.temporal), 'max');
  row('max: CPU load generator', (r) => pct(r.cpu.loadgen), 'max');
  row('max: CPU other processes (shared machine)', (r) => pct(r.cpu.others), 'max');
  row('max: event-loop delay p99 ms', (r) => fmt(r.eventLoopDelayMs.p99), 'max');

  const out: string[] = [];
  out.push(`hookwise ingress benchmark — ${date}`);
  out.push(`${machine.cpuModel}, ${machine.cores} cores, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, node ${process.version}`);
  out.push(`PostgreSQL: ${infra.source.postgres}; Temporal: ${infra.source.temporal}; body ${Buffer.byteLength(BODY)} bytes (Stripe charge.succeeded)`);
  out.push(
    `API alone (no worker: an ack needs only the row and the workflow start; the worker would compete for the cores); ` +
      `pools of ${POOL_SIZE}; ${p.durationSec}s per scenario after ${p.warmupSec}s warm-up; load from a separate process`,
  );
  if (ctx.othersBefore !== null) out.push(`other processes used ${ctx.othersBefore} cores just before the run (0 = an idle machine)`);
  out.push('');
  out.push(table(rows));

  // Where the time goes, from the server's side.
  for (const k of keys) {
    const scen = (['paced', 'max'] as const).filter((s) => get(k, s));
    if (scen.length === 0) continue;
    const names = new Set<string>();
    for (const s of scen) for (const n of Object.keys(get(k, s)!.server.timings)) names.add(n);
    const ordered = [...names].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
    const t: string[][] = [[`${TARGET_NAMES[k]}: server side, ms p50 / p99`, ...scen.map((s) => (s === 'paced' ? `paced ${R}/s` : 'max'))]];
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
  for (const k of hookwiseKeys) {
    const a = aims[k];
    const paced = get(k, 'paced')?.client;
    const parts: string[] = [];
    const p99Key = `p99AtMost${AIM_P99_MS}msAt${AIM_RATE}PerSecond`;
    const thrKey = `throughputAtLeast${AIM_THROUGHPUT_RATIO * 100}PctOfBaseline`;
    if (a[p99Key] !== null) parts.push(`p99 ≤ ${AIM_P99_MS} ms at ${R}/s: ${a[p99Key] ? 'met' : 'NOT met'} (${fmt(paced?.fromSchedule?.p99)} ms)`);
    if (a[thrKey] !== null)
      parts.push(`throughput ≥ ${AIM_THROUGHPUT_RATIO * 100}% of baseline: ${a[thrKey] ? 'met' : 'NOT met'} (${Math.round((ratios[k].maxThroughput ?? 0) * 100)}%)`);
    if (parts.length > 0) out.push(`aims, ${TARGET_NAMES[k]}: ${parts.join('; ')}`);
    const dropped = SCENARIOS.map((s) => get(k, s)?.detachedStartsDropped ?? 0).reduce((a, b) => a + b, 0);
    if (k.endsWith('-detached'))
      out.push(
        `  (an experiment, not hookwise as it is: starts ran in the background, ${p.detachedStarts} at a time; ` +
          `${dropped} were still queued at the ends of its runs and dropped)`,
      );
  }
  out.push(
    'notes: "paced" sends one request every 1/rate s whatever the answers (open loop) and counts latency from the due time ' +
      '(percentiles over the answered ones; a server slower than the rate leaves the rest unanswered at duration + 10 s); ' +
      "autocannon's overallRate sends each connection's per-second quota back-to-back at the start of every second, so its " +
      'percentiles describe bursts of up to the whole second\'s quota at once, not a steady rate.',
  );
  if (infra.source.temporal === 'TEMPORAL_ADDRESS')
    out.push(`note: the workflows started here stay open on task queue ${ctx.taskQueue ?? '–'} with no worker; terminate them when done.`);
  if (apiLogLines > 0) out.push(`note: the API logged ${apiLogLines} line(s) (first ones on stderr)`);
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
    otherProcessesCoresBeforeRun: ctx.othersBefore,
    bodyBytes: Buffer.byteLength(BODY),
    results,
    ratios,
    aims,
    apiLogLines,
  };
  process.stdout.write(JSON.stringify(json) + '\n');
}

/** CPU ms this process spent per successful answer (background work included). */
function cpuPerAck(r: ScenarioResult): number | null {
  return r.client.ok === 0 ? null : Math.round(((r.cpu.api / 100) * r.cpu.wallMs * 100) / r.client.ok) / 100;
}

function order(name: string): number {
  if (name.includes('server time')) return 0;
  if (name.includes('lookup')) return 1;
  if (name.startsWith('INSERT')) return 2;
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
  try {
    const infra = await startInfra(p);
    log(`infrastructure ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);

    const admin = createPool(infra.databaseUrl, 2);
    onCleanup('admin pool', () => admin.end());
    const rec = new Recorder();
    const eld = eventLoopMonitor();
    onCleanup('event-loop monitor', async () => eld.stop());
    const loadgen = await startLoadgen();
    onCleanup('load generator', () => loadgen.close());

    const targets: Partial<Record<TargetKey, Target>> = {};
    let apiLogLines = () => 0;
    let taskQueue: string | undefined;
    if (p.targets.includes('baseline')) targets.baseline = await startBaseline(infra, admin, rec);
    if (p.targets.some((k) => k !== 'baseline')) {
      const hw = await startHookwise(infra, admin, rec, p.detachedStarts);
      targets.token = hw.token;
      targets.generic = hw.generic;
      targets['token-detached'] = hw['token-detached'];
      targets['generic-detached'] = hw['generic-detached'];
      apiLogLines = hw.apiLogLines;
      taskQueue = hw.config.HOOKWISE_TASK_QUEUE;
    }

    const othersBefore = await othersLoad(() => ourCpuSeconds({ p, infra, loadgen } as Ctx));
    if (othersBefore !== null) {
      log(`other processes on this machine use ${othersBefore} of ${os.cpus().length} cores right now`);
      if (othersBefore > 0.2) log('warning: the machine is not idle; the figures will be skewed (see "CPU other processes")');
    }
    const ctx: Ctx = { p, infra, loadgen, rec, eld, runId: randomUUID().slice(0, 8), taskQueue, othersBefore };
    const results: Results = {};
    for (const k of p.targets) results[k] = await runTarget(ctx, targets[k]!);

    report(ctx, results, apiLogLines());
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
