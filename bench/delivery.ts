import http from 'node:http';
import { Writable } from 'node:stream';
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../src/config.js';
import type { Db } from '../src/db/pool.js';
import { migrate } from '../src/db/migrate.js';
import { createLogger } from '../src/log.js';
import { buildApi } from '../src/roots/api.js';
import { buildWorker, WORKFLOWS_PATH } from '../src/roots/worker.js';
import { createOrgWithKey } from '../src/tenancy.js';
import { deliveryWorkflowId } from '../src/flows/delivery.js';
import type { baselineDelivery } from './baseline-workflow.js';
import {
  cpuProbe,
  cpuShare,
  createCleanups,
  runBenchmark,
  createBaselineActivities,
  destroyBaselineAgent,
  dist,
  fmt,
  historyBreakdown,
  log,
  spread,
  startBenchInfra,
  type BenchInfra,
  startReceiver,
  table,
  withTimeout,
  type CpuProbe,
  type CpuShare,
  type Dist,
  type Receiver,
} from './support.js';

// `npm run bench:delivery`: end-to-end delivery throughput and latency of hookwise (real API over
// HTTP, real worker, real PostgreSQL and Temporal) against a minimal Temporal workflow doing the same
// POST. Progress goes to stderr; the results table and one JSON line go to stdout.
//
//   --events N        events in the throughput phase (BENCH_EVENTS, default 1000)
//   --concurrency C   publishers in flight in the throughput phase (BENCH_CONCURRENCY, default 20)
//   --light N         events in the light-load phase, one at a time (default 50)
//   --warmup N        events each side sends first, not measured (default 20)
//   --order O         which side runs first in each phase: baseline (default) or hookwise
//   --timeout S       hard limit for the whole run in seconds (BENCH_TIMEOUT_SECONDS, default 420)

const BASELINE_WORKFLOW_PATH = fileURLToPath(new URL('./baseline-workflow.ts', import.meta.url));
const AIM_THROUGHPUT_RATIO = 0.8;
const AIM_LIGHT_P50_MS = 50;
const LIGHT_EVENT_TIMEOUT_MS = 30_000;
const STOP_STEP_TIMEOUT_MS = 20_000;
/** Padding in each event's data, so a delivery body is a realistic few hundred bytes. */
const PAYLOAD = 'x'.repeat(256);

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
      order: { type: 'string' },
      timeout: { type: 'string' },
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
    order: order as 'baseline' | 'hookwise',
    timeoutSeconds: positiveInt('--timeout', values.timeout ?? process.env.BENCH_TIMEOUT_SECONDS, 420),
  };
}
type Params = ReturnType<typeof readParams>;

// --- cleanup ------------------------------------------------------------------------------------

const { onCleanup, cleanup } = createCleanups(STOP_STEP_TIMEOUT_MS);

// --- infrastructure -----------------------------------------------------------------------------

interface Infra extends BenchInfra {
  namespace: string;
  hookwiseBundle: string;
  baselineBundle: string;
}

const quietLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn: (m: string) => log(`bundler: ${m}`),
  error: (m: string) => log(`bundler: ${m}`),
};

async function startInfra(): Promise<Infra> {
  const bundle = async (workflowsPath: string, name: string) => {
    const started = Date.now();
    const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietLogger });
    log(`bundled the ${name} workflows in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return code;
  };

  // Side by side; allSettled so that whatever did start is registered for cleanup before we throw.
  const [infra, hwBundle, blBundle] = await Promise.allSettled([
    startBenchInfra({ name: 'bench', pgDurable: false, onCleanup }),
    bundle(WORKFLOWS_PATH, 'hookwise'),
    bundle(BASELINE_WORKFLOW_PATH, 'baseline'),
  ]);
  for (const r of [infra, hwBundle, blBundle]) if (r.status === 'rejected') throw r.reason;
  const ok = <T>(r: PromiseSettledResult<T>) => (r as PromiseFulfilledResult<T>).value;

  log('running migrations…');
  await migrate(ok(infra).databaseUrl);
  return {
    ...ok(infra),
    namespace: process.env.TEMPORAL_NAMESPACE || 'default',
    hookwiseBundle: ok(hwBundle),
    baselineBundle: ok(blBundle),
  };
}

/** Things hookwise logged that the report should show. */
const counters = { startsGivenUp: 0, recoveryLines: 0 };

// --- the two sides ------------------------------------------------------------------------------

interface Published {
  id: string;
  /** performance.now() just before the request / workflow start was sent. */
  t0: number;
  /** performance.now() when it was accepted (202 / workflow started). */
  tAck: number;
}

interface Side {
  name: 'hookwise' | 'baseline';
  publish(seq: number): Promise<Published>;
  /** The Temporal workflow id behind a published id. */
  workflowId(id: string): string;
  /** Starts the side's worker; the returned function stops it. */
  startWorker(): Promise<() => Promise<void>>;
  /** Extra per-phase numbers (hookwise: where the time went, from its own tables). */
  breakdown?(ids: string[]): Promise<Record<string, unknown>>;
}

function eventData(seq: number) {
  return { seq, payload: PAYLOAD };
}

/** Runs a worker until the returned stop function is called; stop waits for it to drain. */
function runWorker(worker: { run(): Promise<void>; shutdown(): void; close(): Promise<void> }, name: string): () => Promise<void> {
  const done = worker.run().catch((e) => log(`${name} worker stopped with an error: ${(e as Error).message}`));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      worker.shutdown();
      await done;
      await worker.close();
    })());
  onCleanup(`${name} worker`, stop);
  return stop;
}

async function hookwiseSide(infra: Infra, receiverUrl: string): Promise<Side> {
  const env: Record<string, string> = {
    DATABASE_URL: infra.databaseUrl,
    TEMPORAL_ADDRESS: infra.temporalAddress,
    TEMPORAL_NAMESPACE: infra.namespace,
    HOOKWISE_TASK_QUEUE: `bench-hookwise-${randomUUID().slice(0, 8)}`,
    HOOKWISE_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    HOOKWISE_ALLOW_HTTP: 'true',
    HOOKWISE_ALLOW_PRIVATE_TARGETS: 'true',
  };
  const config: Config = loadConfig(env);

  // hookwise's JSON log lines: warnings are shown, and the API's given-up workflow starts counted.
  const logger = createLogger({
    level: 'warn',
    service: 'bench',
    destination: new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) {
          const msg = String((JSON.parse(line) as { msg?: unknown }).msg ?? line);
          if (msg.includes('workflow not started yet')) counters.startsGivenUp++;
          if (msg.startsWith('recovery')) counters.recoveryLines++;
          log(`hookwise: ${msg}`);
        }
        done();
      },
    }),
  });

  // The API as src/main/api.ts builds it.
  const api = buildApi(config, { logger });
  // Idle keep-alive sockets must outlive the pauses between phases: a socket the server closes just
  // as the client reuses it fails the request with ECONNRESET (Node's default is 5 s).
  api.server.keepAliveTimeout = 10 * 60_000;
  const apiUrl = new URL(await api.listen(0, '127.0.0.1'));
  onCleanup('API', () => api.close());
  const apiPort = Number(apiUrl.port);
  const apiDb = api.deps.db;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  onCleanup('API client agent', async () => agent.destroy());

  const call = (method: string, path: string, key: string, body: string, onSend?: () => void) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: apiPort, path, method, agent, timeout: 30_000 },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.setHeader('authorization', `Bearer ${key}`);
      req.setHeader('content-type', 'application/json');
      req.setHeader('content-length', Buffer.byteLength(body));
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      onSend?.();
      req.end(body);
    });

  const { org, apiKey } = await createOrgWithKey(apiDb, `bench-${randomUUID()}`);
  // maxPerMinute: the API caps it at 100 000, far above what one run sends within a minute.
  const created = await call(
    'POST',
    '/api/v1/webhooks',
    apiKey,
    JSON.stringify({ url: receiverUrl, events: ['*'], rateLimit: { maxInFlight: 1000, maxPerMinute: 10_000 } }),
  );
  if (created.status !== 201) throw new Error(`creating the webhook failed: ${created.status} ${created.text}`);
  const webhookId = (JSON.parse(created.text) as { id: string }).id;
  log(`hookwise: API on 127.0.0.1:${apiPort}, org ${org.id}, webhook ${webhookId}, task queue ${config.HOOKWISE_TASK_QUEUE}`);

  return {
    name: 'hookwise',
    workflowId: (eventId) => deliveryWorkflowId(webhookId, eventId),
    async publish(seq) {
      const body = JSON.stringify({ type: 'bench.delivery', data: eventData(seq) });
      let t0 = 0;
      const res = await call('POST', '/api/v1/events', apiKey, body, () => (t0 = performance.now()));
      const tAck = performance.now();
      if (res.status !== 202) throw new Error(`POST /api/v1/events answered ${res.status}: ${res.text}`);
      const event = JSON.parse(res.text) as { id: string; deliveries: string[] };
      if (event.deliveries.length !== 1) throw new Error(`expected one delivery per event, got ${event.deliveries.length}`);
      return { id: event.id, t0, tAck };
    },
    async startWorker() {
      // As src/main/worker.ts, with its recovery loop (it starts deliveries whose start the API gave up on).
      const worker = await buildWorker(config, { workflowBundle: { code: infra.hookwiseBundle }, logger });
      return runWorker(worker, 'hookwise');
    },
    async breakdown(ids) {
      return hookwiseBreakdown(apiDb, ids);
    },
  };
}

/**
 * Where a hookwise delivery's time went, from its own rows (one clock: PostgreSQL's now(), which is
 * the transaction start): recorded → first attempt began (the workflow start, Temporal's dispatch,
 * the workflow and activity tasks, the context query), the attempt's own span (slot transaction,
 * HTTP, result), and the HTTP request alone as the sender measured it.
 */
async function hookwiseBreakdown(db: Db, eventIds: string[]): Promise<Record<string, unknown>> {
  const { rows } = await db.query(
    `WITH x AS (
       SELECT extract(epoch FROM d.started_at - d.created_at) * 1000 AS queued,
              extract(epoch FROM a.finished_at - a.started_at) * 1000 AS attempt,
              a.latency_ms AS http,
              d.attempt_count AS attempts,
              d.status
         FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id AND a.attempt_number = 1
        WHERE d.event_id = ANY($1))
     SELECT count(*)::int AS n,
            count(*) FILTER (WHERE status <> 'succeeded')::int AS "notSucceeded",
            max(attempts)::int AS "maxAttempts",
            round(percentile_cont(0.5) WITHIN GROUP (ORDER BY queued)::numeric, 1)::float AS "recordedToAttemptP50",
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

async function baselineSide(infra: Infra, receiverUrl: string, timeoutMs: number): Promise<Side> {
  const taskQueue = `bench-baseline-${randomUUID().slice(0, 8)}`;
  const connection = await Connection.connect({ address: infra.temporalAddress });
  onCleanup('baseline Temporal client', () => connection.close());
  const client = new Client({ connection, namespace: infra.namespace });
  // Same envelope shape and id lengths as a hookwise event body, so both POST the same number of bytes.
  const orgId = `org_${randomBytes(13).toString('hex').slice(0, 26).toUpperCase()}`;
  log(`baseline: task queue ${taskQueue}`);

  return {
    name: 'baseline',
    workflowId: (id) => `baseline:${id}`,
    async publish(seq) {
      const id = `evt_${randomBytes(13).toString('hex').slice(0, 26).toUpperCase()}`;
      const body = JSON.stringify({ id, type: 'bench.delivery', timestamp: Date.now(), organizationId: orgId, data: eventData(seq) });
      const t0 = performance.now();
      await client.workflow.start<typeof baselineDelivery>('baselineDelivery', {
        taskQueue,
        workflowId: `baseline:${id}`,
        args: [{ url: receiverUrl, body, requestId: id, timeoutMs }],
      });
      return { id, t0, tAck: performance.now() };
    },
    async startWorker() {
      const workerConnection = await NativeConnection.connect({ address: infra.temporalAddress });
      const worker = await Worker.create({
        connection: workerConnection,
        namespace: infra.namespace,
        taskQueue,
        workflowBundle: { code: infra.baselineBundle },
        activities: createBaselineActivities(),
        // As hookwise's worker (src/temporal/worker.ts), so worker settings are not what differs.
        maxConcurrentActivityTaskExecutions: 200,
      });
      return runWorker(
        {
          run: () => worker.run(),
          shutdown: () => {
            if (worker.getState() === 'RUNNING') worker.shutdown();
          },
          close: () => workerConnection.close(),
        },
        'baseline',
      );
    },
  };
}

// --- phases -------------------------------------------------------------------------------------

interface Sample extends Published {
  /** performance.now() when the receiver got it; null if it never came within the phase's time. */
  tRecv: number | null;
}

interface PhaseResult {
  events: number;
  received: number;
  missing: number;
  wallMs: number;
  latency: Dist;
  accept: Dist;
  samples: Sample[];
  cpu: CpuShare;
}

/** Publishes `n` events with `concurrency` publishers, each sending its next one when the last was accepted. */
async function loadPhase(side: Side, receiver: Receiver, n: number, concurrency: number, timeoutMs: number, pids: Infra['pids']) {
  const cpu0: CpuProbe = cpuProbe(pids);
  const samples: Array<Promise<Sample>> = [];
  let next = 0;
  const started = performance.now();
  const deadline = started + timeoutMs;
  let publishedAt = 0;
  let failed = false;
  const publisher = async () => {
    while (next < n && !failed) {
      const seq = next++;
      try {
        const p = await side.publish(seq);
        samples.push(receiver.waitFor(p.id, deadline).then((tRecv) => ({ ...p, tRecv })));
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  // On a failure the other publishers stop taking events; wait for those in flight before reporting it.
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, n) }, publisher));
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failure) throw new Error(`${side.name}: publishing failed: ${(failure.reason as Error).message}`);
  publishedAt = performance.now();
  const done = await Promise.all(samples);
  const cpu1 = cpuProbe(pids);
  const firstT0 = Math.min(...done.map((s) => s.t0));
  const got = done.filter((s) => s.tRecv !== null);
  const lastRecv = got.length > 0 ? Math.max(...got.map((s) => s.tRecv!)) : performance.now();
  const wallMs = lastRecv - firstT0;
  const result: PhaseResult = {
    events: n,
    received: got.length,
    missing: n - got.length,
    wallMs,
    latency: dist(got.map((s) => s.tRecv! - s.t0)),
    accept: dist(done.map((s) => s.tAck - s.t0)),
    samples: done,
    cpu: cpuShare(cpu0, cpu1, performance.now() - started),
  };
  return { ...result, publishMs: publishedAt - firstT0 };
}

/**
 * One event at a time, each waiting for its receipt before the next, alternating between the sides
 * (A, B, A, B, …) so that both see the same background at the same moments. The CPU figures are
 * therefore of the whole interleaved phase, the same for every side.
 */
async function lightPhase(sides: Side[], receiver: Receiver, n: number, pids: Infra['pids']): Promise<Map<Side, PhaseResult>> {
  const cpu0 = cpuProbe(pids);
  const started = performance.now();
  const samples = new Map<Side, Sample[]>(sides.map((s) => [s, []]));
  const stopped = new Set<Side>();
  for (let i = 0; i < n && stopped.size < sides.length; i++) {
    for (const side of sides) {
      if (stopped.has(side)) continue;
      const p = await side.publish(i);
      const tRecv = await receiver.waitFor(p.id, performance.now() + LIGHT_EVENT_TIMEOUT_MS);
      samples.get(side)!.push({ ...p, tRecv });
      if (tRecv === null) {
        log(`${side.name}: event ${p.id} was not received within ${LIGHT_EVENT_TIMEOUT_MS / 1000}s; no more light-load events for it`);
        stopped.add(side);
      }
    }
  }
  const wallMs = performance.now() - started;
  const cpu = cpuShare(cpu0, cpuProbe(pids), wallMs);
  const results = new Map<Side, PhaseResult>();
  for (const [side, list] of samples) {
    const got = list.filter((s) => s.tRecv !== null);
    results.set(side, {
      events: n,
      received: got.length,
      missing: n - got.length,
      wallMs,
      latency: dist(got.map((s) => s.tRecv! - s.t0)),
      accept: dist(list.map((s) => s.tAck - s.t0)),
      samples: list,
      cpu,
    });
  }
  return results;
}

interface SideResult {
  light: Omit<PhaseResult, 'samples'> & { temporal: Record<string, number | null>; breakdown?: Record<string, unknown> };
  load: Omit<PhaseResult, 'samples'> & {
    deliveriesPerSecond: number;
    publishPerSecond: number;
    temporal: Record<string, number | null>;
    breakdown?: Record<string, unknown>;
  };
}

/** How many workflow histories per phase are read for the Temporal breakdown. */
const HISTORY_SAMPLE = 50;

/**
 * Runs the phases side by side in time (warm-ups, then the light phase with the sides' events
 * alternating, then both throughput phases) rather than one side after the other, so that both
 * sides' phases of a kind run close together and a machine whose background load changes disturbs
 * them alike.
 */
async function runSides(sides: Side[], receiver: Receiver, p: Params, pids: Infra['pids'], history: Client): Promise<Record<Side['name'], SideResult>> {
  const stops: Array<{ side: Side; stop: () => Promise<void> }> = [];
  try {
    for (const side of sides) {
      log(`${side.name}: starting its worker…`);
      stops.push({ side, stop: await side.startWorker() });
    }
    if (p.warmup > 0) {
      for (const side of sides) {
        log(`${side.name}: warm-up, ${p.warmup} events…`);
        const w = await loadPhase(side, receiver, p.warmup, Math.min(p.concurrency, p.warmup), 60_000, pids);
        if (w.missing > 0) throw new Error(`${side.name}: ${w.missing} of ${w.events} warm-up deliveries never arrived`);
      }
    }

    log(`light load: ${p.light} events per side, one at a time, alternating between the sides…`);
    const light = await lightPhase(sides, receiver, p.light, pids);
    for (const [side, r] of light) log(`${side.name}: light p50 ${fmt(r.latency.p50)} ms, p99 ${fmt(r.latency.p99)} ms`);

    const load = new Map<Side, Awaited<ReturnType<typeof loadPhase>>>();
    const loadTimeoutMs = Math.max(60_000, p.events * 100);
    for (const side of sides) {
      log(`${side.name}: throughput, ${p.events} events at concurrency ${p.concurrency} (up to ${loadTimeoutMs / 1000}s)…`);
      const r = await loadPhase(side, receiver, p.events, p.concurrency, loadTimeoutMs, pids);
      log(
        `${side.name}: ${(r.received / (r.wallMs / 1000)).toFixed(1)} deliveries/s (${r.received}/${r.events} in ${(r.wallMs / 1000).toFixed(1)}s), ` +
          `p50 ${fmt(r.latency.p50)} ms, p99 ${fmt(r.latency.p99)} ms`,
      );
      load.set(side, r);
    }

    const results = {} as Record<Side['name'], SideResult>;
    for (const side of sides) {
      log(`${side.name}: reading ${HISTORY_SAMPLE * 2} workflow histories…`);
      const histories = (r: PhaseResult) =>
        historyBreakdown(history, spread(r.samples.filter((s) => s.tRecv !== null), HISTORY_SAMPLE).map((s) => side.workflowId(s.id)));
      const strip = <T extends PhaseResult>({ samples: _s, ...rest }: T) => rest;
      const l = light.get(side)!;
      const t = load.get(side)!;
      const result: SideResult = {
        light: { ...strip(l), temporal: await histories(l) },
        load: {
          ...strip(t),
          deliveriesPerSecond: Math.round((t.received / (t.wallMs / 1000)) * 10) / 10,
          publishPerSecond: Math.round((t.events / (t.publishMs / 1000)) * 10) / 10,
          temporal: await histories(t),
        },
      };
      if (side.breakdown) {
        result.light.breakdown = await side.breakdown(l.samples.map((s) => s.id));
        result.load.breakdown = await side.breakdown(t.samples.map((s) => s.id));
      }
      results[side.name] = result;
    }
    return results;
  } finally {
    for (const { side, stop } of stops) {
      log(`${side.name}: stopping its worker…`);
      await withTimeout(stop(), STOP_STEP_TIMEOUT_MS, `${side.name} worker shutdown`).catch((e) => log((e as Error).message));
    }
  }
}

/** CPU ms per delivery in the throughput phase over the processes we can see (null if none delivered). */
function cpuMsPerDelivery(r: SideResult): number | null {
  if (r.load.received === 0) return null;
  const { bench, temporal, postgres } = r.load.cpu.seconds;
  return Math.round(((bench + (temporal ?? 0) + (postgres ?? 0)) * 1000 * 10) / r.load.received) / 10;
}

// --- report -------------------------------------------------------------------------------------

function report(p: Params, infra: Infra, hw: SideResult, bl: SideResult, receiver: Receiver, loadAverage: { before: number[]; after: number[] }) {
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : Math.round((a / b) * 1000) / 1000);
  const ratios = {
    throughput: ratio(hw.load.deliveriesPerSecond, bl.load.deliveriesPerSecond),
    lightP50: ratio(hw.light.latency.p50, bl.light.latency.p50),
    lightP99: ratio(hw.light.latency.p99, bl.light.latency.p99),
    loadP50: ratio(hw.load.latency.p50, bl.load.latency.p50),
    /** CPU per delivery (bench process + Temporal server + PostgreSQL): on a CPU-bound machine, ~ 1 / throughput ratio. */
    cpuPerDelivery: ratio(cpuMsPerDelivery(hw), cpuMsPerDelivery(bl)),
  };
  const aims = {
    throughputAtLeast80PctOfBaseline: ratios.throughput !== null && ratios.throughput >= AIM_THROUGHPUT_RATIO,
    lightP50AtMost50ms: hw.light.latency.p50 !== null && hw.light.latency.p50 <= AIM_LIGHT_P50_MS,
  };
  const machine = { cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, totalMemoryBytes: os.totalmem() };

  const pct = (x: number | null) => (x === null ? '–' : `${x}%`);
  // CPU per delivery is what limits throughput on a saturated machine, and barely depends on background load.
  const perDelivery = (r: SideResult, who: 'bench' | 'temporal' | 'postgres') => {
    const secs = r.load.cpu.seconds[who];
    return secs === null || r.load.received === 0 ? '–' : ((secs * 1000) / r.load.received).toFixed(1);
  };
  const row = (label: string, h: string, b: string, r = '') => [label, h, b, r];
  const rows = [
    ['', 'hookwise', 'baseline', 'hookwise/baseline'],
    row(`light (${p.light} sequential): latency p50 ms`, fmt(hw.light.latency.p50), fmt(bl.light.latency.p50), fmt(ratios.lightP50, 2)),
    row('light: latency p99 ms', fmt(hw.light.latency.p99), fmt(bl.light.latency.p99), fmt(ratios.lightP99, 2)),
    row('light: accepted p50 ms (202 / workflow start)', fmt(hw.light.accept.p50), fmt(bl.light.accept.p50)),
    row('light: CPU other processes on the machine (both sides)', pct(hw.light.cpu.other), pct(bl.light.cpu.other)),
    row(`load (${p.events} @ ${p.concurrency}): deliveries/s`, fmt(hw.load.deliveriesPerSecond), fmt(bl.load.deliveriesPerSecond), fmt(ratios.throughput, 2)),
    row('load: latency p50 ms', fmt(hw.load.latency.p50), fmt(bl.load.latency.p50), fmt(ratios.loadP50, 2)),
    row('load: latency p99 ms', fmt(hw.load.latency.p99), fmt(bl.load.latency.p99)),
    row('load: accepted p50 ms', fmt(hw.load.accept.p50), fmt(bl.load.accept.p50)),
    row('load: accepted p99 ms', fmt(hw.load.accept.p99), fmt(bl.load.accept.p99)),
    row('load: publish rate /s', fmt(hw.load.publishPerSecond), fmt(bl.load.publishPerSecond)),
    row('load: received / sent', `${hw.load.received}/${hw.load.events}`, `${bl.load.received}/${bl.load.events}`),
    row('load: CPU bench process (% of a core)', pct(hw.load.cpu.bench), pct(bl.load.cpu.bench)),
    row('load: CPU Temporal server', pct(hw.load.cpu.temporal), pct(bl.load.cpu.temporal)),
    row('load: CPU PostgreSQL', pct(hw.load.cpu.postgres), pct(bl.load.cpu.postgres)),
    row('load: CPU other processes on the machine', pct(hw.load.cpu.other), pct(bl.load.cpu.other)),
    row('load: CPU ms per delivery, bench process', perDelivery(hw, 'bench'), perDelivery(bl, 'bench')),
    row('load: CPU ms per delivery, Temporal server', perDelivery(hw, 'temporal'), perDelivery(bl, 'temporal')),
    row('load: CPU ms per delivery, PostgreSQL', perDelivery(hw, 'postgres'), perDelivery(bl, 'postgres')),
    row('load: CPU ms per delivery, total', fmt(cpuMsPerDelivery(hw)), fmt(cpuMsPerDelivery(bl)), fmt(ratios.cpuPerDelivery, 2)),
    row('load: machine busy (% of all cores)', pct(hw.load.cpu.machineBusy), pct(bl.load.cpu.machineBusy)),
  ];
  // Temporal's own record of each step (medians over sampled workflow histories).
  const steps: Array<[string, string]> = [
    ['workflow task 1: schedule→start', 'wft1ScheduleToStart'],
    ['workflow task 1: worker processing', 'wft1Processing'],
    ['activity: schedule→start', 'activityScheduleToStart'],
    ['activity: run', 'activityRun'],
    ['workflow task 2: schedule→start', 'wft2ScheduleToStart'],
    ['workflow task 2: worker processing', 'wft2Processing'],
    ['workflow started→closed', 'startedToClosed'],
  ];
  const stepRows = [['Temporal history, p50 ms (light | load)', 'hookwise', 'baseline']];
  for (const [label, key] of steps) {
    stepRows.push([label, `${fmt(hw.light.temporal[key])} | ${fmt(hw.load.temporal[key])}`, `${fmt(bl.light.temporal[key])} | ${fmt(bl.load.temporal[key])}`]);
  }
  const out: string[] = [];
  out.push(`hookwise delivery benchmark — ${new Date().toISOString()}`);
  out.push(`${machine.cpuModel}, ${machine.cores} cores, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, node ${process.version}`);
  out.push(`PostgreSQL: ${infra.source.postgres}; Temporal: ${infra.source.temporal}; phases interleaved (light: events alternate), ${p.order} first; warm-up ${p.warmup} events per side`);
  out.push('');
  out.push(table(rows));
  out.push('');
  out.push(table(stepRows));
  const b = hw.load.breakdown as Record<string, number | null> | undefined;
  const bLight = hw.light.breakdown as Record<string, number | null> | undefined;
  if (b && bLight) {
    out.push('');
    out.push('hookwise, from its own rows (ms, p50 / p99):');
    out.push(
      table([
        ['', 'light', 'load'],
        ['recorded → attempt began (workflow start, task dispatch, context query)', `${fmt(bLight.recordedToAttemptP50)} / ${fmt(bLight.recordedToAttemptP99)}`, `${fmt(b.recordedToAttemptP50)} / ${fmt(b.recordedToAttemptP99)}`],
        ['attempt span (slot transaction, POST, result)', `${fmt(bLight.attemptSpanP50)} / ${fmt(bLight.attemptSpanP99)}`, `${fmt(b.attemptSpanP50)} / ${fmt(b.attemptSpanP99)}`],
        ['POST alone (sender latency_ms)', `${fmt(bLight.httpP50)} / ${fmt(bLight.httpP99)}`, `${fmt(b.httpP50)} / ${fmt(b.httpP99)}`],
      ]),
    );
  }
  out.push('');
  out.push(
    `aims: throughput ≥ ${AIM_THROUGHPUT_RATIO * 100}% of baseline: ${aims.throughputAtLeast80PctOfBaseline ? 'met' : 'NOT met'} ` +
      `(${ratios.throughput === null ? '–' : Math.round(ratios.throughput * 100) + '%'}); ` +
      `light-load p50 ≤ ${AIM_LIGHT_P50_MS} ms: ${aims.lightP50AtMost50ms ? 'met' : 'NOT met'} (${fmt(hw.light.latency.p50)} ms)`,
  );
  const disturbed = [hw.light, hw.load, bl.light, bl.load].some((r) => (r.cpu.other ?? 0) > 25);
  if (disturbed) {
    out.push('warning: other processes used more than a quarter of a core during a phase; these numbers are disturbed.');
  }
  if (counters.startsGivenUp > 0) {
    out.push(
      `note: hookwise's API gave up on ${counters.startsGivenUp} workflow start(s) (its start deadline); ` +
        'the recovery loop started them later, which shows in the latency tail.',
    );
  }
  if (receiver.duplicates() > 0) out.push(`note: the receiver saw ${receiver.duplicates()} duplicate request(s)`);
  process.stdout.write(out.join('\n') + '\n');

  const json = {
    bench: 'delivery',
    date: new Date().toISOString(),
    machine,
    node: process.version,
    params: p,
    infra: infra.source,
    loadAverage,
    hookwise: hw,
    baseline: bl,
    ratios,
    aims,
    receiverDuplicates: receiver.duplicates(),
    hookwiseWorkflowStartsGivenUp: counters.startsGivenUp,
    hookwiseRecoveryLogLines: counters.recoveryLines,
  };
  process.stdout.write(JSON.stringify(json) + '\n');
}

// --- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const p = readParams();
  const watchdog = setTimeout(() => {
    log(`the whole run exceeded ${p.timeoutSeconds}s; stopping`);
    void cleanup().finally(() => process.exit(1));
  }, p.timeoutSeconds * 1000);

  try {
    // Before any worker or native connection exists; signals are ours to handle (below).
    Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
    const started = Date.now();
    const infra = await startInfra();
    log(`infrastructure ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);

    const receiver = await startReceiver();
    onCleanup('receiver', () => receiver.close());
    onCleanup('baseline HTTP agent', async () => destroyBaselineAgent());

    const hookwise = await hookwiseSide(infra, receiver.url);
    const deliveryTimeoutMs = loadConfig({
      DATABASE_URL: infra.databaseUrl,
      TEMPORAL_ADDRESS: infra.temporalAddress,
      HOOKWISE_ENCRYPTION_KEY: 'x'.repeat(32),
    }).HOOKWISE_DELIVERY_TIMEOUT_MS;
    const baseline = await baselineSide(infra, receiver.url, deliveryTimeoutMs);

    // Reads workflow histories for the Temporal breakdown once the phases are done.
    const historyConnection = await Connection.connect({ address: infra.temporalAddress });
    onCleanup('history client', () => historyConnection.close());
    const history = new Client({ connection: historyConnection, namespace: infra.namespace });

    const loadBefore = os.loadavg();
    const order = p.order === 'baseline' ? [baseline, hookwise] : [hookwise, baseline];
    const results = await runSides(order, receiver, p, infra.pids, history);

    report(p, infra, results.hookwise, results.baseline, receiver, { before: loadBefore, after: os.loadavg() });
    const missing = results.hookwise.load.missing + results.hookwise.light.missing + results.baseline.load.missing + results.baseline.light.missing;
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
