import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../src/config.js';
import { createPool, type Db } from '../src/db/pool.js';
import { migrate } from '../src/db/migrate.js';
import { postgresTarget } from '../src/dev/local-temporal.js';
import { WORKFLOWS_PATH } from '../src/roots/worker.js';
import { createOrgWithKey } from '../src/tenancy.js';
import { deliveryWorkflowId } from '../src/flows/delivery.js';
import { recordEvent } from '../src/db/events.js';
import { claimAttempt, finishAttempt } from '../src/db/delivery-attempts.js';
import type { Queryable } from '../src/db/pool.js';
import { actionsOfWorkflows, USD_PER_MILLION_ACTIONS, type ActionSummary } from './actions.js';
import type { HostStats } from './host.js';
import { hostEnv, mergeStatements, startHost, type HostProcess } from './processes.js';
import {
  startCpuGroups,
  bundleWorkflowsTo,
  createCleanups,
  dist,
  fmt,
  historyBreakdown,
  log,
  postJson,
  runBenchmark,
  sleep,
  spread,
  startBenchInfra,
  startReceiver,
  table,
  treeCpuSeconds,
  withTimeout,
  type BenchInfra,
  type CpuGroups,
  type CpuGroupsSpec,
  type Dist,
  type Receiver,
} from './support.js';
import { lockSampler, type LockWaits } from './locks.js';
import { othersLoad } from './ingress-support.js';

// `npm run bench:delivery`: end-to-end delivery by hookwise (its API and worker, each its own process
// built by the composition roots, real PostgreSQL and Temporal) against a baseline in the same run: a
// minimal HTTP handler that starts a one-activity Temporal workflow doing the same POST
// (bench/baseline-workflow.ts), with its worker. Both are published to over HTTP by this process, which
// also runs the receiver. Progress goes to stderr; the results table and one JSON line go to stdout.
// Method notes: bench/README.md.
//
//   --events N        events per throughput phase (BENCH_EVENTS, default 1000)
//   --concurrency C   publishers in flight in the throughput phases (BENCH_CONCURRENCY, default 20)
//   --light N         events per side in the light-load phase, one at a time (default 50)
//   --warmup N        events each side sends first, not measured (default 20)
//   --orgs K          the spread phase: the same load over K orgs with one webhook each (default 10; 0 skips it)
//   --retry N         deliveries per side whose receiver fails the first 2 attempts, one at a time (default 5; 0 skips)
//   --limits N        events to a webhook limited to 3 in flight with a slow receiver (default 30; 0 skips)
//   --max-in-flight N, --max-per-minute N
//                     the load webhooks' rateLimit (default 1000 and 10000, the most the API takes): high
//                     enough never to hold the load back, and still enforced by the slot leases
//   --order O         which side runs first in each phase: baseline (default) or hookwise
//   --quiet-wait S    on a shared machine: before each throughput phase, wait up to S seconds for other
//                     processes to use < 0.3 cores (default 0: don't wait; the report shows what they used)
//   --timeout S       hard limit for the whole run in seconds (BENCH_TIMEOUT_SECONDS, default 1200)
//   --profile DIR     a CPU profile of each of the four processes over the whole run, written to DIR
//                     (open in Chrome DevTools); each prints its busiest packages when it stops

const BASELINE_WORKFLOW_PATH = fileURLToPath(new URL('./baseline-workflow.ts', import.meta.url));
const AIM = { throughputRatio: 0.9, lightP50Ratio: 1.2, cpuRatio: 1.2 };
const LIGHT_EVENT_TIMEOUT_MS = 30_000;
const RETRY_EVENT_TIMEOUT_MS = 60_000;
const STOP_STEP_TIMEOUT_MS = 40_000;
/** Padding in each event's data, so a delivery body is a realistic few hundred bytes. */
const PAYLOAD = 'x'.repeat(256);
const LIMITS_PHASE = { maxInFlight: 3, receiverDelayMs: 100, concurrency: 10 };
/** How many workflow histories per phase are read for the Temporal breakdown and the Actions. */
const HISTORY_SAMPLE = 50;

// --- arguments ----------------------------------------------------------------------------------

function positiveInt(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
}

function readParams() {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      concurrency: { type: 'string' },
      light: { type: 'string' },
      warmup: { type: 'string' },
      orgs: { type: 'string' },
      retry: { type: 'string' },
      limits: { type: 'string' },
      'max-in-flight': { type: 'string' },
      'max-per-minute': { type: 'string' },
      order: { type: 'string' },
      'quiet-wait': { type: 'string' },
      timeout: { type: 'string' },
      profile: { type: 'string' },
    },
    strict: true,
  });
  const order = values.order ?? process.env.BENCH_ORDER ?? 'baseline';
  if (order !== 'baseline' && order !== 'hookwise') throw new Error(`--order must be baseline or hookwise, got "${order}"`);
  return {
    events: positiveInt('--events', values.events ?? process.env.BENCH_EVENTS, 1000),
    concurrency: positiveInt('--concurrency', values.concurrency ?? process.env.BENCH_CONCURRENCY, 20),
    light: positiveInt('--light', values.light ?? process.env.BENCH_LIGHT, 50),
    warmup: positiveInt('--warmup', values.warmup ?? process.env.BENCH_WARMUP, 20, 0),
    orgs: positiveInt('--orgs', values.orgs, 10, 0),
    retry: positiveInt('--retry', values.retry, 5, 0),
    limits: positiveInt('--limits', values.limits, 30, 0),
    highLimits: {
      maxInFlight: positiveInt('--max-in-flight', values['max-in-flight'], 1000),
      maxPerMinute: positiveInt('--max-per-minute', values['max-per-minute'], 10_000),
    },
    order: order as 'baseline' | 'hookwise',
    profileDir: values.profile ? resolve(values.profile) : null,
    quietWaitSec: positiveInt('--quiet-wait', values['quiet-wait'] ?? process.env.BENCH_QUIET_WAIT, 0, 0),
    timeoutSeconds: positiveInt('--timeout', values.timeout ?? process.env.BENCH_TIMEOUT_SECONDS, 1200 + 3 * Number(values['quiet-wait'] ?? process.env.BENCH_QUIET_WAIT ?? 0)),
  };
}
type Params = ReturnType<typeof readParams>;

const { onCleanup, cleanup } = createCleanups(STOP_STEP_TIMEOUT_MS);

// --- infrastructure -----------------------------------------------------------------------------

interface Infra extends BenchInfra {
  namespace: string;
  appDatabase: string;
  hookwiseBundlePath: string;
  baselineBundlePath: string;
}

async function startInfra(): Promise<Infra> {
  const dir = await mkdtemp(join(os.tmpdir(), 'hookwise-bench-bundles-'));
  onCleanup('bundle dir', () => rm(dir, { recursive: true, force: true }));
  const bundle = (workflowsPath: string, name: string) => bundleWorkflowsTo(dir, name, workflowsPath);
  // Side by side; allSettled so that whatever did start is registered for cleanup before we throw.
  const [infra, hw, bl] = await Promise.allSettled([
    startBenchInfra({ name: 'bench', pgDurable: false, onCleanup }),
    bundle(WORKFLOWS_PATH, 'hookwise'),
    bundle(BASELINE_WORKFLOW_PATH, 'baseline'),
  ]);
  for (const r of [infra, hw, bl]) if (r.status === 'rejected') throw r.reason;
  const ok = <T>(r: PromiseSettledResult<T>) => (r as PromiseFulfilledResult<T>).value;
  log('running migrations…');
  await migrate(ok(infra).databaseUrl);
  return {
    ...ok(infra),
    namespace: process.env.TEMPORAL_NAMESPACE || 'default',
    appDatabase: postgresTarget(ok(infra).databaseUrl).database,
    hookwiseBundlePath: ok(hw),
    baselineBundlePath: ok(bl),
  };
}

// --- publishing over HTTP -----------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

const post = (baseUrl: string, path: string, key: string | null, body: string, onSend?: () => void) =>
  postJson(agent, baseUrl, path, body, { key, onSend });

interface Published {
  /** What the receiver sees as the request id. */
  id: string;
  workflowId: string;
  /** performance.now() just before the request was sent. */
  t0: number;
  /** performance.now() when the 202 was back. */
  tAck: number;
}

/** Where one side publishes an event type to: one API, one or more (org key, webhook) pairs. */
interface Target {
  baseUrl: string;
  path: string;
  /** One per org; publishers take them in turn. */
  tenants: Array<{ key: string | null; webhookId: string | null }>;
  workflowId(id: string, webhookId: string | null): string;
}

function publisher(target: Target, type: string) {
  let turn = 0;
  return async (seq: number): Promise<Published> => {
    const tenant = target.tenants[turn++ % target.tenants.length];
    const body = JSON.stringify({ type, data: { seq, payload: PAYLOAD } });
    let t0 = 0;
    const res = await post(target.baseUrl, target.path, tenant.key, body, () => (t0 = performance.now()));
    const tAck = performance.now();
    if (res.status !== 202) throw new Error(`POST ${target.path} answered ${res.status}: ${res.text}`);
    const event = JSON.parse(res.text) as { id: string; deliveries: string[] };
    if (event.deliveries.length !== 1) throw new Error(`expected one delivery per event, got ${event.deliveries.length}`);
    return { id: event.id, workflowId: target.workflowId(event.id, tenant.webhookId), t0, tAck };
  };
}

// --- the two sides ------------------------------------------------------------------------------

interface Side {
  name: 'hookwise' | 'baseline';
  /** hookwise: the org of the load webhook. */
  orgId?: string;
  api: HostProcess;
  worker: HostProcess;
  /** Event type → where to publish it. */
  targets: Record<string, Target>;
}

async function api(baseUrl: string, key: string, path: string, body: unknown): Promise<{ id: string }> {
  const res = await post(baseUrl, path, key, JSON.stringify(body));
  if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${res.text}`);
  return JSON.parse(res.text) as { id: string };
}

async function startHookwise(infra: Infra, admin: Db, receiver: Receiver, p: Params): Promise<Side> {
  const env = hostEnv(infra, 'bench-hookwise', infra.namespace);
  const [apiProc, workerProc] = await Promise.all([
    startHost('api', 'hookwise API', env),
    startHost('worker', 'hookwise worker', { ...env, BENCH_WORKFLOW_BUNDLE: infra.hookwiseBundlePath }),
  ]);
  onCleanup('hookwise API', () => apiProc.stop());
  onCleanup('hookwise worker', () => workerProc.stop());

  const org = await createOrgWithKey(admin, `bench-${randomUUID()}`);
  const webhook = (key: string, url: string, events: string[], extra: Record<string, unknown> = {}) =>
    api(apiProc.url, key, '/api/v1/webhooks', { url, events, rateLimit: p.highLimits, ...extra });
  const main = await webhook(org.apiKey, receiver.url, ['bench.delivery']);
  // Fixed 1 s retries, like the baseline's first retry interval.
  const retry = await webhook(org.apiKey, receiver.failUrl(2), ['bench.retry'], { retryPolicy: { attempts: 5, delaySeconds: 1, policy: 'fixed' } });
  const limited = await webhook(org.apiKey, receiver.slowUrl(LIMITS_PHASE.receiverDelayMs), ['bench.limits'], {
    rateLimit: { maxInFlight: LIMITS_PHASE.maxInFlight, maxPerMinute: p.highLimits.maxPerMinute },
  });
  const spreadTenants: Target['tenants'] = [];
  for (let i = 0; i < p.orgs; i++) {
    const o = await createOrgWithKey(admin, `bench-spread-${i}-${randomUUID()}`);
    spreadTenants.push({ key: o.apiKey, webhookId: (await webhook(o.apiKey, receiver.url, ['bench.delivery'])).id });
  }
  log(`hookwise: org ${org.org.id}, webhook ${main.id}, ${p.orgs} more orgs for the spread phase, task queue ${env.HOOKWISE_TASK_QUEUE}`);
  const target = (tenants: Target['tenants']): Target => ({
    baseUrl: apiProc.url,
    path: '/api/v1/events',
    tenants,
    workflowId: (eventId, webhookId) => deliveryWorkflowId(webhookId!, eventId),
  });
  return {
    name: 'hookwise',
    orgId: org.org.id,
    api: apiProc,
    worker: workerProc,
    targets: {
      'bench.delivery': target([{ key: org.apiKey, webhookId: main.id }]),
      'bench.retry': target([{ key: org.apiKey, webhookId: retry.id }]),
      'bench.limits': target([{ key: org.apiKey, webhookId: limited.id }]),
      spread: target(spreadTenants),
    },
  };
}

async function startBaseline(infra: Infra, receiver: Receiver): Promise<Side> {
  const env: Record<string, string> = {
    DATABASE_URL: infra.databaseUrl,
    TEMPORAL_ADDRESS: infra.temporalAddress,
    TEMPORAL_NAMESPACE: infra.namespace,
    HOOKWISE_TASK_QUEUE: `bench-baseline-${randomUUID().slice(0, 8)}`,
    HOOKWISE_ENCRYPTION_KEY: 'x'.repeat(32),
  };
  const timeoutMs = loadConfig(env).HOOKWISE_DELIVERY_TIMEOUT_MS;
  const [apiProc, workerProc] = await Promise.all([
    startHost('baseline-api', 'baseline API', {
      ...env,
      BENCH_DELIVERY_TIMEOUT_MS: String(timeoutMs),
      BENCH_BASELINE_TARGETS: JSON.stringify({ 'bench.delivery': receiver.url, 'bench.retry': receiver.failUrl(2) }),
    }),
    startHost('baseline-worker', 'baseline worker', { ...env, BENCH_WORKFLOW_BUNDLE: infra.baselineBundlePath }),
  ]);
  onCleanup('baseline API', () => apiProc.stop());
  onCleanup('baseline worker', () => workerProc.stop());
  log(`baseline: task queue ${env.HOOKWISE_TASK_QUEUE}`);
  const target: Target = { baseUrl: apiProc.url, path: '/events', tenants: [{ key: null, webhookId: null }], workflowId: (id) => `baseline:${id}` };
  return { name: 'baseline', api: apiProc, worker: workerProc, targets: { 'bench.delivery': target, 'bench.retry': target } };
}

// --- phases -------------------------------------------------------------------------------------

interface Sample extends Published {
  /** performance.now() when the receiver got it; null if it never came within the phase's time. */
  tRecv: number | null;
}

interface LoadResult {
  events: number;
  received: number;
  missing: number;
  wallMs: number;
  deliveriesPerSecond: number;
  publishPerSecond: number;
  latency: Dist;
  accept: Dist;
  cpu: CpuGroups;
  /** Statements each process sent during the phase. */
  statements: { api: HostStats['statements']; worker: HostStats['statements'] };
  locks: LockWaits | null;
  /** The most requests the receiver had open at once. */
  receiverMaxConcurrent: number;
  samples: Sample[];
}

interface Ctx {
  p: Params;
  infra: Infra;
  receiver: Receiver;
  cpuSpec: CpuGroupsSpec;
  lockDb: Db | null;
}

/** CPU seconds so far of everything this benchmark runs (this process, its children, Temporal, PostgreSQL). */
function ourCpuSeconds(ctx: Ctx): number {
  const u = process.cpuUsage();
  let total = (u.user + u.system) / 1e6;
  for (const pid of Object.values(ctx.cpuSpec.trees)) total += treeCpuSeconds(pid) ?? 0;
  return total + (treeCpuSeconds(ctx.cpuSpec.postgres?.pid ?? null) ?? 0);
}

/** With --quiet-wait: waits (bounded) until other processes on the machine use less than 0.3 cores. */
async function waitForQuiet(ctx: Ctx): Promise<void> {
  if (ctx.p.quietWaitSec === 0) return;
  const deadline = Date.now() + ctx.p.quietWaitSec * 1000;
  for (;;) {
    const others = await othersLoad(() => ourCpuSeconds(ctx), 2000);
    if (others === null || others < 0.3) return;
    if (Date.now() >= deadline) {
      log(`other processes still use ${others} cores after waiting ${ctx.p.quietWaitSec}s; going ahead`);
      return;
    }
    log(`other processes use ${others} cores; waiting…`);
  }
}

/** Publishes `n` events with `concurrency` publishers, each sending its next one when the last was accepted. */
async function loadPhase(ctx: Ctx, side: Side, target: Target, type: string, n: number, concurrency: number, timeoutMs: number): Promise<LoadResult> {
  const publish = publisher(target, type);
  await Promise.all([side.api.stats(true), side.worker.stats(true)]);
  ctx.receiver.resetConcurrency();
  const locks = ctx.lockDb ? lockSampler(ctx.lockDb, ctx.infra.appDatabase) : null;
  const cpuGroups = startCpuGroups(ctx.cpuSpec);
  const samples: Array<Promise<Sample>> = [];
  let next = 0;
  const started = performance.now();
  const deadline = started + timeoutMs;
  let failed = false;
  const lane = async () => {
    while (next < n && !failed) {
      const seq = next++;
      try {
        const pub = await publish(seq);
        samples.push(ctx.receiver.waitFor(pub.id, deadline).then((tRecv) => ({ ...pub, tRecv })));
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  // On a failure the other publishers stop taking events; wait for those in flight before reporting it.
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, n) }, lane));
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failure) {
    cpuGroups.stop();
    await locks?.stop();
    throw new Error(`${side.name}: publishing failed: ${(failure.reason as Error).message}`);
  }
  const publishedAt = performance.now();
  const done = await Promise.all(samples);
  const cpu = cpuGroups.stop();
  const lockWaits = (await locks?.stop()) ?? null;
  // The attempts' closing statements run just after the receiver answered.
  await sleep(1000);
  const [apiStats, workerStats] = await Promise.all([side.api.stats(), side.worker.stats()]);
  const firstT0 = Math.min(...done.map((s) => s.t0));
  const got = done.filter((s) => s.tRecv !== null);
  const lastRecv = got.length > 0 ? Math.max(...got.map((s) => s.tRecv!)) : performance.now();
  const wallMs = lastRecv - firstT0;
  return {
    events: n,
    received: got.length,
    missing: n - got.length,
    wallMs: Math.round(wallMs),
    deliveriesPerSecond: Math.round((got.length / (wallMs / 1000)) * 10) / 10,
    publishPerSecond: Math.round((n / ((publishedAt - firstT0) / 1000)) * 10) / 10,
    latency: dist(got.map((s) => s.tRecv! - s.t0)),
    accept: dist(done.map((s) => s.tAck - s.t0)),
    cpu,
    statements: { api: apiStats.statements, worker: workerStats.statements },
    locks: lockWaits,
    receiverMaxConcurrent: ctx.receiver.maxConcurrent(),
    samples: done,
  };
}

/**
 * One event at a time, each waiting for its receipt before the next, alternating between the sides
 * (A, B, A, B, …) so that both see the same background at the same moments.
 */
async function sequentialPhase(ctx: Ctx, sides: Side[], type: string, n: number, timeoutMs: number): Promise<Map<Side, Sample[]>> {
  const out = new Map<Side, Sample[]>(sides.map((s) => [s, []]));
  const publishers = new Map(sides.map((s) => [s, publisher(s.targets[type], type)]));
  const stopped = new Set<Side>();
  for (let i = 0; i < n && stopped.size < sides.length; i++) {
    for (const side of sides) {
      if (stopped.has(side)) continue;
      const pub = await publishers.get(side)!(i);
      const tRecv = await ctx.receiver.waitFor(pub.id, performance.now() + timeoutMs);
      out.get(side)!.push({ ...pub, tRecv });
      if (tRecv === null) {
        log(`${side.name}: ${type} event ${pub.id} was not received within ${timeoutMs / 1000}s; no more of these for it`);
        stopped.add(side);
      }
    }
  }
  return out;
}

const received = (samples: Sample[]) => samples.filter((s) => s.tRecv !== null);
const latencyOf = (samples: Sample[]) => dist(received(samples).map((s) => s.tRecv! - s.t0));

// --- hookwise's own view ------------------------------------------------------------------------

/**
 * Where a hookwise delivery's time went, from its own rows (one clock: PostgreSQL's now(), which is
 * the transaction start): recorded → first attempt began, the attempt's own span, and the POST alone.
 */
async function hookwiseBreakdown(db: Db, eventIds: string[]): Promise<Record<string, number | null>> {
  const { rows } = await db.query(
    `WITH x AS (
       SELECT extract(epoch FROM d.started_at - d.created_at) * 1000 AS queued,
              extract(epoch FROM a.finished_at - a.started_at) * 1000 AS attempt,
              a.latency_ms AS http
         FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id AND a.attempt_number = 1
        WHERE d.event_id = ANY($1))
     SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY queued)::numeric, 1)::float AS "recordedToAttemptP50",
            round(percentile_cont(0.99) WITHIN GROUP (ORDER BY queued)::numeric, 1)::float AS "recordedToAttemptP99",
            round(percentile_cont(0.5) WITHIN GROUP (ORDER BY attempt)::numeric, 1)::float AS "attemptSpanP50",
            round(percentile_cont(0.99) WITHIN GROUP (ORDER BY attempt)::numeric, 1)::float AS "attemptSpanP99",
            round(percentile_cont(0.5) WITHIN GROUP (ORDER BY http)::numeric, 1)::float AS "httpP50",
            round(percentile_cont(0.99) WITHIN GROUP (ORDER BY http)::numeric, 1)::float AS "httpP99"
       FROM x`,
    [eventIds],
  );
  return rows[0];
}

/**
 * The endpoint limits as they held, from the attempt rows: the most attempts of one webhook in flight
 * at once, and the most started within any 60 s, over the given events' deliveries.
 */
async function limitsHeld(db: Db, eventIds: string[]): Promise<{ maxInFlight: number; maxPerMinute: number; attempts: number }> {
  const { rows } = await db.query(
    `SELECT a.webhook_id AS w, extract(epoch FROM a.started_at) * 1000 AS s, extract(epoch FROM coalesce(a.finished_at, now())) * 1000 AS f
       FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = ANY($1)`,
    [eventIds],
  );
  const byWebhook = new Map<string, Array<{ s: number; f: number }>>();
  for (const r of rows as Array<{ w: string; s: number; f: number }>) byWebhook.set(r.w, [...(byWebhook.get(r.w) ?? []), { s: Number(r.s), f: Number(r.f) }]);
  let maxInFlight = 0;
  let maxPerMinute = 0;
  for (const list of byWebhook.values()) {
    const edges = list.flatMap((a) => [[a.s, 1], [a.f, -1]] as Array<[number, number]>).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    let open = 0;
    for (const [, d] of edges) maxInFlight = Math.max(maxInFlight, (open += d));
    const starts = list.map((a) => a.s).sort((x, y) => x - y);
    for (let i = 0, j = 0; i < starts.length; i++) {
      while (starts[i] - starts[j] >= 60_000) j++;
      maxPerMinute = Math.max(maxPerMinute, i - j + 1);
    }
  }
  return { maxInFlight, maxPerMinute, attempts: rows.length };
}

/**
 * The attempt's two statements as they run against the load phase's tables, right after it: one
 * delivery of the load webhook is recorded, claimed and finished through hookwise's own functions
 * (src/db/delivery-attempts.ts) with EXPLAIN (ANALYZE, BUFFERS) in front of each statement, inside a
 * transaction that is rolled back. Also the claim's per-minute step alone.
 */
async function explainAttempt(db: Db, orgId: string, webhookId: string, maxPerMinute: number): Promise<{ claim: string[]; finish: string[]; perMinuteStep: string[] }> {
  const client = await db.connect();
  const plans: string[][] = [];
  const explaining = {
    // Unnamed, whatever the caller passes: a named (prepared) statement cannot be prefixed with EXPLAIN.
    async query(q: string | { text: string; values?: unknown[] }, values?: unknown[]) {
      const [text, params] = typeof q === 'string' ? [q, values] : [q.text, q.values];
      const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`, params);
      plans.push(rows.map((r: Record<string, string>) => r['QUERY PLAN']));
      return { rows: [] };
    },
  } as unknown as Queryable;
  try {
    await client.query('BEGIN');
    const suffix = randomBytes(8).toString('hex');
    const [eventId, deliveryId, attemptId] = [`evt_explain${suffix}`, `dlv_explain${suffix}`, `atm_explain${suffix}`];
    await recordEvent(client, { id: eventId, organizationId: orgId, type: 'bench.delivery', sessionId: null, body: '{}' }, [
      { id: deliveryId, webhookId, workflowId: deliveryWorkflowId(webhookId, eventId) },
    ]);
    await claimAttempt(explaining, { deliveryId, attemptId, leaseMs: 60_000, maxInFlight: 10, maxPerMinute: 100 });
    await finishAttempt(explaining, {
      attemptId,
      deliveryId,
      webhookId,
      succeeded: true,
      statusCode: 200,
      latencyMs: 1,
      error: null,
      responseBody: 'ok',
      deliveryStatus: 'succeeded',
      deliveryError: null,
      nextAttemptInMs: null,
      disableWebhookReason: null,
      autoDisableAfterHours: 120,
    });
    // The claim's per-minute search as it runs: from a random slot up (then around from slot 1).
    const { rows } = await client.query(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
       SELECT n FROM endpoint_slots
        WHERE webhook_id = $1 AND kind = 'm' AND n >= $3 AND n <= $2 AND free_at <= now()
        ORDER BY n LIMIT 1 FOR UPDATE SKIP LOCKED`,
      [webhookId, maxPerMinute, 1 + Math.floor(Math.random() * maxPerMinute)],
    );
    return { claim: plans[0] ?? [], finish: plans[1] ?? [], perMinuteStep: rows.map((r: Record<string, string>) => r['QUERY PLAN']) };
  } catch (err) {
    log(`explaining the attempt's statements failed: ${(err as Error).message}`);
    return { claim: [], finish: [], perMinuteStep: [] };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

/** A plan's total execution time, ms. */
const executionMs = (plan: string[]) => {
  const m = /Execution Time: ([\d.]+) ms/.exec(plan.join('\n'));
  return m ? Number(m[1]) : null;
};

// --- the run ------------------------------------------------------------------------------------

interface SideResult {
  light: { latency: Dist; accept: Dist; missing: number; temporal: Record<string, number | null>; actions: ActionSummary; breakdown?: Record<string, number | null> };
  load: Omit<LoadResult, 'samples'> & { temporal: Record<string, number | null>; actions: ActionSummary; breakdown?: Record<string, number | null> };
  retry: { latency: Dist; missing: number; actions: ActionSummary } | null;
}

interface RunResult {
  sides: Record<Side['name'], SideResult>;
  spread: (Omit<LoadResult, 'samples'> & { orgs: number }) | null;
  limits: { events: number; missing: number; receiverMaxConcurrent: number; held: Awaited<ReturnType<typeof limitsHeld>>; actions: ActionSummary; wallMs: number } | null;
  loadLimits: Awaited<ReturnType<typeof limitsHeld>> | null;
  plans: Awaited<ReturnType<typeof explainAttempt>>;
}

async function run(ctx: Ctx, sides: Side[], hookwise: Side, admin: Db, history: Client): Promise<RunResult> {
  const { p, receiver } = ctx;
  const strip = <T extends { samples: Sample[] }>({ samples: _s, ...rest }: T) => rest;
  const histories = async (samples: Sample[]) => {
    const ids = spread(received(samples), HISTORY_SAMPLE).map((s) => s.workflowId);
    return { temporal: await historyBreakdown(history, ids), actions: await actionsOfWorkflows(history, ids) };
  };

  if (p.warmup > 0) {
    for (const side of sides) {
      log(`${side.name}: warm-up, ${p.warmup} events…`);
      const w = await loadPhase(ctx, side, side.targets['bench.delivery'], 'bench.delivery', p.warmup, Math.min(p.concurrency, p.warmup), 120_000);
      if (w.missing > 0) throw new Error(`${side.name}: ${w.missing} of ${w.events} warm-up deliveries never arrived`);
    }
    if (p.orgs > 0) {
      // Each webhook's first attempt creates its slot rows: not part of what the spread phase measures.
      log(`hookwise: warm-up of the ${p.orgs} spread webhooks, one event each…`);
      await loadPhase(ctx, hookwise, hookwise.targets.spread, 'bench.delivery', p.orgs, p.orgs, 120_000);
    }
  }

  log(`light load: ${p.light} events per side, one at a time, alternating between the sides…`);
  const light = await sequentialPhase(ctx, sides, 'bench.delivery', p.light, LIGHT_EVENT_TIMEOUT_MS);
  for (const [side, s] of light) log(`${side.name}: light p50 ${fmt(latencyOf(s).p50)} ms, p99 ${fmt(latencyOf(s).p99)} ms`);

  const loadTimeoutMs = Math.max(180_000, p.events * 250);
  const load = new Map<Side, LoadResult>();
  for (const side of sides) {
    await waitForQuiet(ctx);
    log(`${side.name}: throughput, ${p.events} events at concurrency ${p.concurrency} (up to ${loadTimeoutMs / 1000}s)…`);
    const r = await loadPhase(ctx, side, side.targets['bench.delivery'], 'bench.delivery', p.events, p.concurrency, loadTimeoutMs);
    log(`${side.name}: ${r.deliveriesPerSecond} deliveries/s (${r.received}/${r.events} in ${(r.wallMs / 1000).toFixed(1)}s), p50 ${fmt(r.latency.p50)} ms, p99 ${fmt(r.latency.p99)} ms`);
    load.set(side, r);
  }
  const hwLoad = load.get(hookwise)!;
  const loadLimits = await limitsHeld(admin, hwLoad.samples.map((s) => s.id));
  const plans = await explainAttempt(admin, hookwise.orgId!, hookwise.targets['bench.delivery'].tenants[0].webhookId!, p.highLimits.maxPerMinute);

  let spreadResult: RunResult['spread'] = null;
  if (p.orgs > 0) {
    await waitForQuiet(ctx);
    log(`hookwise: spread, ${p.events} events over ${p.orgs} orgs (one webhook each) at concurrency ${p.concurrency}…`);
    const r = await loadPhase(ctx, hookwise, hookwise.targets.spread, 'bench.delivery', p.events, p.concurrency, loadTimeoutMs);
    log(`hookwise: spread ${r.deliveriesPerSecond} deliveries/s (${r.received}/${r.events}), p50 ${fmt(r.latency.p50)} ms`);
    spreadResult = { ...strip(r), orgs: p.orgs };
  }

  let retry: Map<Side, Sample[]> | null = null;
  if (p.retry > 0) {
    log(`3-attempt deliveries: ${p.retry} per side, one at a time (the receiver fails the first two attempts)…`);
    retry = await sequentialPhase(ctx, sides, 'bench.retry', p.retry, RETRY_EVENT_TIMEOUT_MS);
  }

  let limits: RunResult['limits'] = null;
  if (p.limits > 0) {
    log(`hookwise: limits, ${p.limits} events at concurrency ${LIMITS_PHASE.concurrency} to a webhook limited to ${LIMITS_PHASE.maxInFlight} in flight…`);
    const r = await loadPhase(ctx, hookwise, hookwise.targets['bench.limits'], 'bench.limits', p.limits, LIMITS_PHASE.concurrency, 120_000);
    limits = {
      events: r.events,
      missing: r.missing,
      receiverMaxConcurrent: r.receiverMaxConcurrent,
      held: await limitsHeld(admin, r.samples.map((s) => s.id)),
      actions: await actionsOfWorkflows(history, received(r.samples).map((s) => s.workflowId)),
      wallMs: r.wallMs,
    };
  }

  const sidesOut = {} as Record<Side['name'], SideResult>;
  for (const side of sides) {
    log(`${side.name}: reading workflow histories…`);
    const l = light.get(side)!;
    const t = load.get(side)!;
    const lh = await histories(l);
    const th = await histories(t.samples);
    const rs = retry?.get(side);
    sidesOut[side.name] = {
      light: { latency: latencyOf(l), accept: dist(l.map((s) => s.tAck - s.t0)), missing: l.length - received(l).length, ...lh },
      load: { ...strip(t), ...th },
      retry: rs ? { latency: latencyOf(rs), missing: rs.length - received(rs).length, actions: await actionsOfWorkflows(history, received(rs).map((s) => s.workflowId)) } : null,
    };
    if (side === hookwise) {
      sidesOut.hookwise.light.breakdown = await hookwiseBreakdown(admin, l.map((s) => s.id));
      sidesOut.hookwise.load.breakdown = await hookwiseBreakdown(admin, t.samples.map((s) => s.id));
    }
  }
  return { sides: sidesOut, spread: spreadResult, limits, loadLimits, plans };
}

// --- report -------------------------------------------------------------------------------------

const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : Math.round((a / b) * 1000) / 1000;

/** CPU ms per delivery of the given groups over a throughput phase. */
function cpuMs(r: { cpu: CpuGroups; received: number }, groups: string[]): number | null {
  if (r.received === 0) return null;
  let total = 0;
  for (const g of groups) {
    const s = r.cpu.seconds[g];
    if (s === null || s === undefined) return null;
    total += s;
  }
  return Math.round(((total * 1000) / r.received) * 10) / 10;
}

/**
 * Statements per delivery by kind, most frequent first: the API's per event published, the worker's
 * per delivery received (the same number when the phase completed; the table shows received / sent).
 */
function statementsPerDelivery(r: { statements: LoadResult['statements']; received: number; events: number }) {
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const per = (n: number, by: number) => n / Math.max(1, by);
  const periodic = (k: string) => k.startsWith('recovery') || k.startsWith('feed');
  const kinds = new Map<string, { perDelivery: number; n: number; ms: number }>();
  for (const [proc, by] of [['api', r.events], ['worker', r.received]] as const) {
    for (const [kind, v] of Object.entries(r.statements[proc])) {
      const k = kinds.get(kind) ?? { perDelivery: 0, n: 0, ms: 0 };
      k.perDelivery += per(v.n, by);
      k.n += v.n;
      k.ms += v.ms;
      kinds.set(kind, k);
    }
  }
  const total = (proc: 'api' | 'worker', by: number) =>
    r2(per(Object.entries(r.statements[proc]).filter(([k]) => !periodic(k)).reduce((a, [, x]) => a + x.n, 0), by));
  const list = [...kinds]
    .map(([kind, v]) => ({ kind, perDelivery: r2(v.perDelivery), meanMs: r2(v.ms / Math.max(1, v.n)) }))
    .sort((a, b) => b.perDelivery - a.perDelivery);
  return {
    api: total('api', r.events),
    worker: total('worker', r.received),
    total: r2(total('api', r.events) + total('worker', r.received)),
    transactions: r2(list.find((k) => k.kind === 'BEGIN')?.perDelivery ?? 0),
    kinds: list,
  };
}

/** Mean duration of one statement kind in the first and the last quarter of a phase (by when it was sent). */
function quarters(r: { statements: LoadResult['statements'] }, kind: string): { first: number | null; last: number | null } {
  const samples = [...(r.statements.api[kind]?.samples ?? []), ...(r.statements.worker[kind]?.samples ?? [])].sort((a, b) => a[0] - b[0]);
  if (samples.length < 8) return { first: null, last: null };
  const q = Math.floor(samples.length / 4);
  const mean = (xs: Array<[number, number]>) => Math.round((xs.reduce((a, x) => a + x[1], 0) / xs.length) * 100) / 100;
  return { first: mean(samples.slice(0, q)), last: mean(samples.slice(-q)) };
}

const CLAIM = 'attempt: claim (slot + attempt row)';

function report(p: Params, infra: Infra, res: RunResult, receiver: Receiver, loadAverage: { before: number[]; after: number[] }, hostLogs: Record<string, HostStats>) {
  const hw = res.sides.hookwise;
  const bl = res.sides.baseline;
  const APP = { hookwise: ['hookwise API', 'hookwise worker', 'postgres: app'], baseline: ['baseline API', 'baseline worker', 'postgres: app'] };
  const TEMPORAL = ['temporal server', 'postgres: temporal'];
  const cpu = {
    hookwise: { app: cpuMs(hw.load, APP.hookwise), temporal: cpuMs(hw.load, TEMPORAL) },
    baseline: { app: cpuMs(bl.load, APP.baseline), temporal: cpuMs(bl.load, TEMPORAL) },
  };
  const sql = { hookwise: statementsPerDelivery(hw.load), baseline: statementsPerDelivery(bl.load) };
  const ratios = {
    throughput: ratio(hw.load.deliveriesPerSecond, bl.load.deliveriesPerSecond),
    lightP50: ratio(hw.light.latency.p50, bl.light.latency.p50),
    lightP99: ratio(hw.light.latency.p99, bl.light.latency.p99),
    loadP50: ratio(hw.load.latency.p50, bl.load.latency.p50),
    cpuPerDelivery: ratio(cpu.hookwise.app, cpu.baseline.app),
    temporalCpuPerDelivery: ratio(cpu.hookwise.temporal, cpu.baseline.temporal),
    actionsFirstTry: ratio(hw.light.actions.perWorkflow.total, bl.light.actions.perWorkflow.total),
    actionsThreeAttempts: ratio(hw.retry?.actions.perWorkflow.total, bl.retry?.actions.perWorkflow.total),
    spreadThroughput: res.spread ? ratio(res.spread.deliveriesPerSecond, hw.load.deliveriesPerSecond) : null,
  };
  const aims = {
    throughputAtLeast90PctOfBaseline: ratios.throughput === null ? null : ratios.throughput >= AIM.throughputRatio,
    lightP50AtMost120PctOfBaseline: ratios.lightP50 === null ? null : ratios.lightP50 <= AIM.lightP50Ratio,
    cpuPerDeliveryAtMost120PctOfBaseline: ratios.cpuPerDelivery === null ? null : ratios.cpuPerDelivery <= AIM.cpuRatio,
  };
  const machine = { cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, totalMemoryBytes: os.totalmem() };
  const per = (r: { cpu: CpuGroups; received: number }, g: string) => fmt(cpuMs(r, [g]));
  const usd = (a: ActionSummary | undefined) => (a ? `${fmt(a.perWorkflow.total, 2)} ($${fmt(a.usdPerMillion, 0)})` : '–');

  const rows: string[][] = [
    ['', 'hookwise', 'baseline', 'ratio', 'aim'],
    [`light (${p.light} one at a time): latency p50 ms`, fmt(hw.light.latency.p50), fmt(bl.light.latency.p50), fmt(ratios.lightP50, 2), `≤ ${AIM.lightP50Ratio} ${mark(aims.lightP50AtMost120PctOfBaseline)}`],
    ['light: latency p99 ms', fmt(hw.light.latency.p99), fmt(bl.light.latency.p99), fmt(ratios.lightP99, 2), ''],
    ['light: accepted (202) p50 ms', fmt(hw.light.accept.p50), fmt(bl.light.accept.p50), '', ''],
    [`load (${p.events} @ ${p.concurrency}, 1 webhook): deliveries/s`, fmt(hw.load.deliveriesPerSecond), fmt(bl.load.deliveriesPerSecond), fmt(ratios.throughput, 2), `≥ ${AIM.throughputRatio} ${mark(aims.throughputAtLeast90PctOfBaseline)}`],
    ['load: latency p50 / p99 ms', `${fmt(hw.load.latency.p50)} / ${fmt(hw.load.latency.p99)}`, `${fmt(bl.load.latency.p50)} / ${fmt(bl.load.latency.p99)}`, fmt(ratios.loadP50, 2), ''],
    ['load: accepted p50 / p99 ms', `${fmt(hw.load.accept.p50)} / ${fmt(hw.load.accept.p99)}`, `${fmt(bl.load.accept.p50)} / ${fmt(bl.load.accept.p99)}`, '', ''],
    ['load: received / sent', `${hw.load.received}/${hw.load.events}`, `${bl.load.received}/${bl.load.events}`, '', ''],
    ['CPU ms per delivery: API process', per(hw.load, 'hookwise API'), per(bl.load, 'baseline API'), '', ''],
    ['CPU ms per delivery: worker process', per(hw.load, 'hookwise worker'), per(bl.load, 'baseline worker'), '', ''],
    ['CPU ms per delivery: PostgreSQL, app database', per(hw.load, 'postgres: app'), per(bl.load, 'postgres: app'), '', ''],
    ['CPU ms per delivery: API + worker + PostgreSQL', fmt(cpu.hookwise.app), fmt(cpu.baseline.app), fmt(ratios.cpuPerDelivery, 2), `≤ ${AIM.cpuRatio} ${mark(aims.cpuPerDeliveryAtMost120PctOfBaseline)}`],
    ['CPU ms per delivery: Temporal server', per(hw.load, 'temporal server'), per(bl.load, 'temporal server'), '', ''],
    ["CPU ms per delivery: Temporal's PostgreSQL", per(hw.load, 'postgres: temporal'), per(bl.load, 'postgres: temporal'), '', ''],
    ['CPU ms per delivery: Temporal in all', fmt(cpu.hookwise.temporal), fmt(cpu.baseline.temporal), fmt(ratios.temporalCpuPerDelivery, 2), ''],
    ['CPU ms per delivery: PostgreSQL shared (WAL, checkpoints, vacuum)', per(hw.load, 'postgres: shared'), per(bl.load, 'postgres: shared'), '', ''],
    ['CPU ms per delivery: this process (publishers, receiver)', per(hw.load, 'bench'), per(bl.load, 'bench'), '', ''],
    ['load: other processes on the machine, cores', fmt(hw.load.cpu.othersCores, 2), fmt(bl.load.cpu.othersCores, 2), '', ''],
    ['SQL statements per delivery (API + worker)', `${fmt(sql.hookwise.api, 2)} + ${fmt(sql.hookwise.worker, 2)}`, `${fmt(sql.baseline.api, 2)} + ${fmt(sql.baseline.worker, 2)}`, '', ''],
    ['SQL transactions (BEGIN) per delivery', fmt(sql.hookwise.transactions, 2), fmt(sql.baseline.transactions, 2), '', ''],
    ['Temporal Actions per delivery, first try ($ per 1 M deliveries)', usd(hw.light.actions), usd(bl.light.actions), fmt(ratios.actionsFirstTry, 2), ''],
    ['Temporal Actions per delivery, 3 attempts ($ per 1 M)', usd(hw.retry?.actions), usd(bl.retry?.actions), fmt(ratios.actionsThreeAttempts, 2), ''],
    ['Temporal Actions per delivery, load phase sample', usd(hw.load.actions), usd(bl.load.actions), '', ''],
  ];

  const out: string[] = [];
  out.push(`hookwise delivery benchmark — ${new Date().toISOString()}`);
  out.push(`${machine.cpuModel}, ${machine.cores} cores, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, node ${process.version}; load average before ${loadAverage.before.map((x) => x.toFixed(2)).join(' ')}, after ${loadAverage.after.map((x) => x.toFixed(2)).join(' ')}`);
  out.push(`PostgreSQL: ${infra.source.postgres}; Temporal: ${infra.source.temporal}; ${p.order} first; warm-up ${p.warmup} events per side; Actions at $${USD_PER_MILLION_ACTIONS} per million`);
  out.push(`hookwise's load webhooks: rateLimit ${p.highLimits.maxInFlight} in flight, ${p.highLimits.maxPerMinute} per minute (enforced by slot leases)`);
  out.push('');
  out.push(table(rows));

  // Serialization: the same load on one webhook of one org, and spread over many orgs.
  if (res.spread) {
    const s = res.spread;
    const q1 = quarters(hw.load, CLAIM);
    const qs = quarters(s, CLAIM);
    const sqlS = statementsPerDelivery(s);
    const claimMean = (r: { statements: LoadResult['statements'] }) => {
      const c = r.statements.worker[CLAIM];
      return c ? c.ms / c.n : null;
    };
    out.push('');
    out.push(
      table([
        ['serialization (hookwise)', '1 org, 1 webhook', `${s.orgs} orgs, 1 webhook each`, 'ratio'],
        ['deliveries/s', fmt(hw.load.deliveriesPerSecond), fmt(s.deliveriesPerSecond), fmt(ratios.spreadThroughput, 2)],
        ['publishes/s (202s)', fmt(hw.load.publishPerSecond), fmt(s.publishPerSecond), fmt(ratio(s.publishPerSecond, hw.load.publishPerSecond), 2)],
        ['accepted p50 / p99 ms', `${fmt(hw.load.accept.p50)} / ${fmt(hw.load.accept.p99)}`, `${fmt(s.accept.p50)} / ${fmt(s.accept.p99)}`, ''],
        ['latency p50 / p99 ms', `${fmt(hw.load.latency.p50)} / ${fmt(hw.load.latency.p99)}`, `${fmt(s.latency.p50)} / ${fmt(s.latency.p99)}`, ''],
        ['claim statement mean ms (whole phase)', fmt(claimMean(hw.load), 2), fmt(claimMean(s), 2), ''],
        ['claim statement mean ms, first → last quarter', `${fmt(q1.first, 2)} → ${fmt(q1.last, 2)}`, `${fmt(qs.first, 2)} → ${fmt(qs.last, 2)}`, ''],
        ['backends waiting on locks, mean per sample', fmt(hw.load.locks?.meanWaiting, 2), fmt(s.locks?.meanWaiting, 2), ''],
        ['SQL statements per delivery', fmt(sql.hookwise.total, 2), fmt(sqlS.total, 2), ''],
        ['CPU ms per delivery: API + worker + PostgreSQL', fmt(cpu.hookwise.app), fmt(cpuMs(s, APP.hookwise)), ''],
      ]),
    );
    for (const [name, l] of [['1 webhook', hw.load.locks], [`${s.orgs} orgs`, s.locks]] as const) {
      if (l && l.top.length > 0) out.push(`  lock waits (${name}): ${l.top.map((t) => `${t.what} ×${t.samples}`).join('; ')}`);
    }
  }

  // Statements by kind.
  out.push('');
  const kinds = sql.hookwise.kinds;
  out.push(table([['hookwise SQL by kind (load phase)', 'per delivery', 'mean ms'], ...kinds.map((k) => [k.kind, fmt(k.perDelivery, 2), fmt(k.meanMs, 2)])]));
  if (res.plans.claim.length > 0) {
    const removed = (plan: string[]) => plan.filter((l) => /Rows Removed by Filter/.test(l)).map((l) => Number(/(\d+)/.exec(l)?.[1] ?? 0));
    out.push('');
    out.push(
      `the attempt's statements right after the load phase (EXPLAIN ANALYZE, rolled back; plans in the JSON): ` +
        `claim ${fmt(executionMs(res.plans.claim), 2)} ms, finish ${fmt(executionMs(res.plans.finish), 2)} ms; ` +
        `the claim's per-minute step alone ${fmt(executionMs(res.plans.perMinuteStep), 2)} ms, passing over ${removed(res.plans.perMinuteStep).join(' + ') || 0} taken slot rows`,
    );
  }

  // Actions by kind.
  out.push('');
  const actionKinds = new Set<string>();
  for (const a of [hw.light.actions, bl.light.actions, hw.retry?.actions, bl.retry?.actions, res.limits?.actions]) for (const k of Object.keys(a?.perWorkflow ?? {})) actionKinds.add(k);
  const ak = [...actionKinds].filter((k) => k !== 'total').sort();
  const av = (a: ActionSummary | undefined, k: string) => (a ? fmt(a.perWorkflow[k] ?? 0, 2) : '–');
  const actionHeader = ['Temporal Actions per delivery, by kind', 'hookwise 1st try', 'baseline 1st try', 'hookwise 3 attempts', 'baseline 3 attempts'];
  if (res.limits) actionHeader.push(`hookwise waiting for a slot`);
  const actionRow = (k: string) => {
    const r = [k, av(hw.light.actions, k), av(bl.light.actions, k), av(hw.retry?.actions, k), av(bl.retry?.actions, k)];
    if (res.limits) r.push(av(res.limits.actions, k));
    return r;
  };
  out.push(table([actionHeader, ...ak.map(actionRow), actionRow('total')]));

  // Temporal's own record of each step (medians over sampled workflow histories).
  const steps: Array<[string, string]> = [
    ['workflow task 1: schedule→start', 'wft1ScheduleToStart'],
    ['workflow task 1: worker processing (a local attempt in it)', 'wft1Processing'],
    ['activity: schedule→start', 'activityScheduleToStart'],
    ['activity: run', 'activityRun'],
    ['workflow task 2: schedule→start', 'wft2ScheduleToStart'],
    ['workflow task 2: worker processing', 'wft2Processing'],
    ['workflow started→closed', 'startedToClosed'],
  ];
  out.push('');
  out.push(
    table([
      ['Temporal history, p50 ms (light | load)', 'hookwise', 'baseline'],
      ...steps.map(([label, key]) => [label, `${fmt(hw.light.temporal[key])} | ${fmt(hw.load.temporal[key])}`, `${fmt(bl.light.temporal[key])} | ${fmt(bl.load.temporal[key])}`]),
    ]),
  );
  const b = hw.load.breakdown;
  const bLight = hw.light.breakdown;
  if (b && bLight) {
    out.push('');
    out.push(
      table([
        ['hookwise, from its own rows (ms, p50 / p99)', 'light', 'load'],
        ['recorded → attempt began (workflow start, task dispatch)', `${fmt(bLight.recordedToAttemptP50)} / ${fmt(bLight.recordedToAttemptP99)}`, `${fmt(b.recordedToAttemptP50)} / ${fmt(b.recordedToAttemptP99)}`],
        ['attempt span (claim, POST, finish)', `${fmt(bLight.attemptSpanP50)} / ${fmt(bLight.attemptSpanP99)}`, `${fmt(b.attemptSpanP50)} / ${fmt(b.attemptSpanP99)}`],
        ['POST alone (sender latency_ms)', `${fmt(bLight.httpP50)} / ${fmt(bLight.httpP99)}`, `${fmt(b.httpP50)} / ${fmt(b.httpP99)}`],
      ]),
    );
  }

  out.push('');
  if (res.loadLimits) {
    out.push(
      `limits, load phase: at most ${res.loadLimits.maxInFlight} attempts in flight (limit ${p.highLimits.maxInFlight}) and ${res.loadLimits.maxPerMinute} started within 60 s (limit ${p.highLimits.maxPerMinute}): ` +
        `${res.loadLimits.maxInFlight <= p.highLimits.maxInFlight && res.loadLimits.maxPerMinute <= p.highLimits.maxPerMinute ? 'held' : 'EXCEEDED'}`,
    );
  }
  if (res.limits) {
    const l = res.limits;
    out.push(
      `limits phase: ${l.events} events to a webhook limited to ${LIMITS_PHASE.maxInFlight} in flight, receiver answering after ${LIMITS_PHASE.receiverDelayMs} ms: ` +
        `at most ${l.held.maxInFlight} in flight by the attempt rows, ${l.receiverMaxConcurrent} requests open at once at the receiver, ` +
        `${l.events - l.missing}/${l.events} delivered in ${(l.wallMs / 1000).toFixed(1)} s: ${l.held.maxInFlight <= LIMITS_PHASE.maxInFlight && l.receiverMaxConcurrent <= LIMITS_PHASE.maxInFlight ? 'held' : 'EXCEEDED'}`,
    );
    const signals = Math.round((l.actions.perWorkflow.signal ?? 0) * l.actions.workflows);
    const waits = Math.round((l.actions.perWorkflow['timer started'] ?? 0) * l.actions.workflows);
    out.push(
      `  in its deliveries' histories: ${waits} wait(s) for a slot, ${signals} slotFreed wake-up(s), ` +
        `${l.actions.timersFired} wait(s) that ran out their timer (no wake-up came: up to 30 s lost each)`,
    );
  }
  const verdict = (x: boolean | null) => (x === null ? 'not measured' : x ? 'met' : 'NOT met');
  out.push(
    `aims: throughput ≥ ${AIM.throughputRatio} × baseline: ${verdict(aims.throughputAtLeast90PctOfBaseline)} (${fmt(ratios.throughput, 2)}); ` +
      `light-load p50 ≤ ${AIM.lightP50Ratio} × baseline: ${verdict(aims.lightP50AtMost120PctOfBaseline)} (${fmt(ratios.lightP50, 2)}); ` +
      `CPU per delivery ≤ ${AIM.cpuRatio} × baseline: ${verdict(aims.cpuPerDeliveryAtMost120PctOfBaseline)} (${fmt(ratios.cpuPerDelivery, 2)})`,
  );
  const others = Math.max(hw.load.cpu.othersCores ?? 0, bl.load.cpu.othersCores ?? 0);
  if (others > 0.25) out.push(`warning: other processes used up to ${others.toFixed(2)} cores during a throughput phase; these numbers are disturbed.`);
  const given = Object.values(hostLogs).reduce((a, s) => a + s.startsGivenUp, 0);
  if (given > 0) out.push(`note: hookwise gave up on ${given} workflow start(s) (its start deadline); the recovery loop started them later, which shows in the latency tail.`);
  if (receiver.duplicates() > 0) out.push(`note: the receiver saw ${receiver.duplicates()} duplicate request(s)`);
  process.stdout.write(out.join('\n') + '\n');

  // Samples of statement timings are raw material for the tables, not for the JSON line.
  const lean = <T extends { statements: LoadResult['statements'] }>(r: T) => ({
    ...r,
    statements: Object.fromEntries(
      (['api', 'worker'] as const).map((k) => [k, Object.fromEntries(Object.entries(r.statements[k]).map(([kind, v]) => [kind, { n: v.n, ms: Math.round(v.ms) }]))]),
    ),
  });
  const json = {
    bench: 'delivery',
    date: new Date().toISOString(),
    machine,
    node: process.version,
    params: p,
    infra: infra.source,
    loadAverage,
    hookwise: { ...hw, load: lean(hw.load) },
    baseline: { ...bl, load: lean(bl.load) },
    spread: res.spread ? lean(res.spread) : null,
    limits: res.limits,
    loadLimits: res.loadLimits,
    plans: res.plans,
    cpuMsPerDelivery: cpu,
    sqlPerDelivery: { hookwise: sql.hookwise, baseline: { api: sql.baseline.api, worker: sql.baseline.worker, total: sql.baseline.total } },
    ratios,
    aims,
    receiverDuplicates: receiver.duplicates(),
    logs: Object.fromEntries(Object.entries(hostLogs).map(([k, s]) => [k, { logLines: s.logLines, startsGivenUp: s.startsGivenUp, recoveryLines: s.recoveryLines }])),
  };
  process.stdout.write(JSON.stringify(json) + '\n');
}

const mark = (x: boolean | null) => (x === null ? '' : x ? '✔' : '✘');

// --- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const p = readParams();
  const watchdog = setTimeout(() => {
    log(`the whole run exceeded ${p.timeoutSeconds}s; stopping`);
    void cleanup().finally(() => process.exit(1));
  }, p.timeoutSeconds * 1000);

  try {
    const loadBefore = os.loadavg();
    log(`load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`);
    const started = Date.now();
    if (p.profileDir) {
      // Each host process (bench/host.ts) profiles itself while it runs and writes <role>-<pid>.cpuprofile here.
      mkdirSync(p.profileDir, { recursive: true });
      process.env.BENCH_PROFILE_DIR = p.profileDir;
    }
    const infra = await startInfra();
    log(`infrastructure ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);

    const receiver = await startReceiver();
    onCleanup('receiver', () => receiver.close());
    onCleanup('HTTP agent', async () => agent.destroy());
    const admin = createPool(infra.databaseUrl, 2);
    onCleanup('admin pool', () => admin.end());
    // The lock sampler reads pg_stat_activity from the maintenance database, so its own work is not
    // counted as the app database's.
    const lockUrl = new URL(infra.databaseUrl);
    lockUrl.pathname = '/postgres';
    const lockDb = createPool(lockUrl.toString(), 1);
    onCleanup('lock sampler pool', () => lockDb.end());

    const [hookwise, baseline] = await Promise.all([startHookwise(infra, admin, receiver, p), startBaseline(infra, receiver)]);
    const cpuSpec: CpuGroupsSpec = {
      trees: {
        'hookwise API': hookwise.api.pid,
        'hookwise worker': hookwise.worker.pid,
        'baseline API': baseline.api.pid,
        'baseline worker': baseline.worker.pid,
        'temporal server': infra.pids.temporal,
      },
      postgres: { pid: infra.pids.postgres, appDatabases: [infra.appDatabase] },
    };

    // Reads workflow histories once the phases are done.
    const historyConnection = await Connection.connect({ address: infra.temporalAddress });
    onCleanup('history client', () => historyConnection.close());
    const history = new Client({ connection: historyConnection, namespace: infra.namespace });

    const sides = p.order === 'baseline' ? [baseline, hookwise] : [hookwise, baseline];
    const ctx: Ctx = { p, infra, receiver, cpuSpec, lockDb };
    const result = await run(ctx, sides, hookwise, admin, history);
    const hostLogs = Object.fromEntries(
      await Promise.all([hookwise.api, hookwise.worker, baseline.api, baseline.worker].map(async (h) => [h.name, await h.stats()] as const)),
    );
    report(p, infra, result, receiver, { before: loadBefore, after: os.loadavg() }, hostLogs);
    const missing =
      result.sides.hookwise.load.missing + result.sides.hookwise.light.missing + result.sides.baseline.load.missing + result.sides.baseline.light.missing +
      (result.spread?.missing ?? 0) + (result.limits?.missing ?? 0) + (result.sides.hookwise.retry?.missing ?? 0) + (result.sides.baseline.retry?.missing ?? 0);
    if (missing > 0) {
      log(`error: ${missing} deliveries never arrived within their phase's time limit`);
      return 1;
    }
    return 0;
  } finally {
    log('cleaning up…');
    await cleanup();
    clearTimeout(watchdog);
  }
}

runBenchmark(main, cleanup);
