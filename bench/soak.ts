import http from 'node:http';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createPool, type Db } from '../src/db/pool.js';
import { createOrgWithKey } from '../src/tenancy.js';
import { startFakeLlm } from './fake-llm.js';
import { stripeLikeBody } from './ingress-support.js';
import { hostEnv, rssBytes, startHost, type HostProcess } from './processes.js';
import { createCleanups, fmt, log, postJson, runBenchmark, sleep, startInfraWithBundle, startReceiver, table, withTimeout, type Receiver } from './support.js';

// `npm run bench:soak`: resident memory of hookwise's API and worker (each its own process, built by
// the composition roots) over a long mixed load, to see whether either grows. The load runs at half
// the delivery throughput measured at the start of the same run (or --rate): outbound publishes
// (POST /api/v1/events), room events (POST /webhooks/:token: rule match, backlog, room scheduler,
// room agent) and generic events (POST /api/v1/webhooks/generic/:ws: outbox, delivery, an agent run),
// with a live-stream subscriber reading every event; agents answer through a stand-in LLM server.
// RSS (and the V8 heap) of both processes is sampled every few seconds. Progress goes to stderr; the
// results table and one JSON line go to stdout. Method notes: bench/README.md.
//
//   --minutes M        length of the load (default 10)
//   --warmup-minutes W the first W minutes are warm-up, not judged (default: 2, or a fifth of a shorter run)
//   --rate R           requests per second of the mixed load (default: half the measured delivery throughput)
//   --sample S         seconds between memory samples (default 5)
//   --timeout S        hard limit for the whole run (default: the load's length + 6 minutes)
//   --heap-growth P    HOOKWISE_HEAP_GROWTH_PERCENT for the API and the worker (default: the configuration's)

const AIM_GROWTH = 0.1;
/** Of every 4 requests: 2 publishes, 1 room event, 1 generic event. */
const MIX = ['publish', 'room', 'publish', 'generic'] as const;
type Kind = (typeof MIX)[number];
const CALIBRATION = { events: 300, concurrency: 20 };
/** Requests the pacer lets be outstanding before it skips (and counts) instead of piling up. */
const MAX_OUTSTANDING = 500;
const STOP_STEP_TIMEOUT_MS = 40_000;
const ROOMS = 2;

function positiveNumber(name: string, raw: string | undefined, fallback: number | null, min = 0): number | null {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= min) throw new Error(`${name} must be a number > ${min}, got "${raw}"`);
  return n;
}

function readParams() {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      'warmup-minutes': { type: 'string' },
      rate: { type: 'string' },
      sample: { type: 'string' },
      timeout: { type: 'string' },
      'heap-growth': { type: 'string' },
    },
    strict: true,
  });
  const minutes = positiveNumber('--minutes', values.minutes ?? process.env.BENCH_SOAK_MINUTES, 10)!;
  const warmupMinutes = positiveNumber('--warmup-minutes', values['warmup-minutes'], Math.min(2, minutes / 5))!;
  if (warmupMinutes >= minutes) throw new Error('--warmup-minutes must be shorter than --minutes');
  return {
    minutes,
    warmupMinutes,
    rate: positiveNumber('--rate', values.rate, null),
    sampleSeconds: positiveNumber('--sample', values.sample, 5)!,
    timeoutSeconds: positiveNumber('--timeout', values.timeout, Math.round(minutes * 60 + 360))!,
    /** HOOKWISE_HEAP_GROWTH_PERCENT for both processes; null keeps the configuration's default. */
    heapGrowthPercent: positiveNumber('--heap-growth', values['heap-growth'], null, -1),
  };
}
type Params = ReturnType<typeof readParams>;

const { onCleanup, cleanup } = createCleanups(STOP_STEP_TIMEOUT_MS);

// --- HTTP ---------------------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

const post = (baseUrl: string, path: string, key: string | null, body: string) => postJson(agent, baseUrl, path, body, { key });

async function create(baseUrl: string, key: string, path: string, body: unknown): Promise<{ id: string; token?: string }> {
  const res = await post(baseUrl, path, key, JSON.stringify(body));
  if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${res.text}`);
  return JSON.parse(res.text) as { id: string; token?: string };
}

// --- setup --------------------------------------------------------------------------------------

interface Setup {
  apiKey: string;
  tokens: string[];
  genericWorkspaceId: string;
}

/**
 * An org with a webhook taking every event; rooms with one event source and one rule each (their
 * agent is the room's instructions); a workspace for the generic ingress with an agent holding the
 * role its events get.
 */
async function setUp(apiUrl: string, admin: Db, receiver: Receiver): Promise<Setup> {
  const { apiKey } = await createOrgWithKey(admin, `bench-soak-${randomUUID()}`);
  await create(apiUrl, apiKey, '/api/v1/webhooks', { url: receiver.url, events: ['*'], rateLimit: { maxInFlight: 1000, maxPerMinute: 10_000 } });
  const ws = await create(apiUrl, apiKey, '/api/v1/workspaces', { name: 'soak rooms' });
  const tokens: string[] = [];
  for (let i = 0; i < ROOMS; i++) {
    const room = await create(apiUrl, apiKey, `/api/v1/workspaces/${ws.id}/rooms`, { name: `payments ${i}`, instructions: 'Acknowledge payments.' });
    const source = await create(apiUrl, apiKey, `/api/v1/rooms/${room.id}/event-sources`, { name: 'stripe' });
    await create(apiUrl, apiKey, `/api/v1/event-sources/${source.id}/definitions`, {
      name: 'charge succeeded',
      description: 'a card payment went through',
      priority: 1,
      rule: { path: 'type', equals: 'charge.succeeded' },
    });
    tokens.push(source.token!);
  }
  const generic = await create(apiUrl, apiKey, '/api/v1/workspaces', { name: 'soak generic' });
  await create(apiUrl, apiKey, `/api/v1/workspaces/${generic.id}/agents`, {
    name: 'payments agent',
    instructions: 'Acknowledge payments.',
    roles: ['webhook.stripe.charge_succeeded'],
    modelTier: 'fast',
  });
  return { apiKey, tokens, genericWorkspaceId: generic.id };
}

/** One live-stream client reading every event of the org, as a console would. */
function subscribe(apiUrl: string, key: string): { events(): number; close(): void } {
  const u = new URL(apiUrl);
  let events = 0;
  let req: http.ClientRequest | null = null;
  let closed = false;
  const open = () => {
    if (closed) return;
    req = http.get({ host: u.hostname, port: u.port, path: '/api/v1/events/stream', headers: { authorization: `Bearer ${key}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line.startsWith('data: ')) events++;
      });
      res.on('end', () => setTimeout(open, 1000));
      res.on('error', () => {});
    });
    req.on('error', () => setTimeout(open, 1000));
  };
  open();
  return {
    events: () => events,
    close() {
      closed = true;
      req?.destroy();
    },
  };
}

// --- calibration and load -----------------------------------------------------------------------

/** Deliveries per second of `n` publishes at `concurrency`, from first publish to last receipt. */
async function calibrate(apiUrl: string, key: string, receiver: Receiver): Promise<number> {
  const ids: Array<Promise<number | null>> = [];
  let next = 0;
  const t0 = performance.now();
  const deadline = t0 + 300_000;
  const lane = async () => {
    while (next < CALIBRATION.events) {
      next++;
      const res = await post(apiUrl, '/api/v1/events', key, JSON.stringify({ type: 'bench.calibration', data: { payload: 'x'.repeat(256) } }));
      if (res.status !== 202) throw new Error(`calibration publish answered ${res.status}: ${res.text}`);
      ids.push(receiver.waitFor((JSON.parse(res.text) as { id: string }).id, deadline));
    }
  };
  await Promise.all(Array.from({ length: CALIBRATION.concurrency }, lane));
  const got = (await Promise.all(ids)).filter((x): x is number => x !== null);
  if (got.length === 0) throw new Error('calibration: nothing was delivered');
  return got.length / ((Math.max(...got) - t0) / 1000);
}

interface LoadStats {
  sent: Record<Kind, number>;
  ok: Record<Kind, number>;
  failed: Record<Kind, number>;
  skipped: number;
  errorSamples: string[];
}

/** An open-loop pacer: request i is due at start + i / rate, of kind MIX[i % 4]. */
function startLoad(apiUrl: string, s: Setup, rate: number): { stats: LoadStats; stop(): Promise<void> } {
  const zero = () => ({ publish: 0, room: 0, generic: 0 });
  const stats: LoadStats = { sent: zero(), ok: zero(), failed: zero(), skipped: 0, errorSamples: [] };
  const body = stripeLikeBody(1024);
  let outstanding = 0;
  let i = 0;
  let stopped = false;
  const send = (kind: Kind, n: number) => {
    let path: string;
    let key: string | null = null;
    let payload = body;
    if (kind === 'publish') {
      path = '/api/v1/events';
      key = s.apiKey;
      payload = JSON.stringify({ type: 'bench.soak', data: { n, payload: 'x'.repeat(256) } });
    } else if (kind === 'room') path = `/webhooks/${s.tokens[n % s.tokens.length]}`;
    else path = `/api/v1/webhooks/generic/${s.genericWorkspaceId}?source=stripe&event_type=charge.succeeded&dedupe_key=soak-${n}-${randomUUID()}`;
    stats.sent[kind]++;
    outstanding++;
    post(apiUrl, path, key, payload).then(
      (res) => {
        outstanding--;
        if (res.status >= 200 && res.status < 300 && !res.text.includes('"ok":false')) stats.ok[kind]++;
        else {
          stats.failed[kind]++;
          if (stats.errorSamples.length < 5) stats.errorSamples.push(`${kind}: ${res.status} ${res.text.slice(0, 120)}`);
        }
      },
      (err: unknown) => {
        outstanding--;
        stats.failed[kind]++;
        if (stats.errorSamples.length < 5) stats.errorSamples.push(`${kind}: ${(err as Error).message}`);
      },
    );
  };
  const start = performance.now();
  const interval = 1000 / rate;
  const done = (async () => {
    while (!stopped) {
      const now = performance.now();
      while (start + i * interval <= now) {
        if (outstanding >= MAX_OUTSTANDING) stats.skipped++;
        else send(MIX[i % MIX.length], i);
        i++;
      }
      await sleep(Math.max(1, start + i * interval - performance.now()));
    }
  })();
  return {
    stats,
    async stop() {
      stopped = true;
      await done;
      const deadline = Date.now() + 30_000;
      while (outstanding > 0 && Date.now() < deadline) await sleep(50);
    },
  };
}

// --- memory samples -----------------------------------------------------------------------------

interface MemorySample {
  /** Seconds since the load started. */
  t: number;
  api: ProcessSample;
  worker: ProcessSample;
  temporalRss: number | null;
  delivered: number;
  sent: number;
  streamEvents: number;
}

/** Resident and heap memory, and the CPU the process has used so far (ms, user + system). */
interface ProcessSample {
  rss: number | null;
  heapUsed: number | null;
  cpuMs: number | null;
}

async function memoryOf(h: HostProcess): Promise<ProcessSample> {
  const rss = h.rss();
  const stats = await h.stats(true).catch(() => null);
  return { rss, heapUsed: stats?.memory.heapUsed ?? null, cpuMs: stats ? (stats.cpu.user + stats.cpu.system) / 1000 : null };
}

/** CPU per request sent after the warm-up, ms: what a change to the memory settings costs. */
function cpuPerRequest(samples: MemorySample[], cpu: (s: MemorySample) => number | null, warmupSeconds: number): number | null {
  const from = samples.find((s) => s.t >= warmupSeconds);
  const to = samples[samples.length - 1];
  if (!from || from === to) return null;
  const a = cpu(from);
  const b = cpu(to);
  return a === null || b === null || to.sent === from.sent ? null : (b - a) / (to.sent - from.sent);
}

interface Verdict {
  atStart: number | null;
  /** The median of the first minute after warm-up (of its first fifth, if shorter): the reference. */
  afterWarmup: number | null;
  /** The median of the last minute (or fifth). */
  end: number | null;
  max: number | null;
  /** (end - afterWarmup) / afterWarmup. */
  growth: number | null;
  /** Least-squares slope after warm-up, MiB per minute. */
  slopeMiBPerMinute: number | null;
  /** No sample after warm-up above the reference by more than AIM_GROWTH. */
  within10Pct: boolean | null;
}

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.floor((v.length - 1) / 2)];
}

function judge(samples: MemorySample[], pick: (s: MemorySample) => number | null, warmupSeconds: number): Verdict {
  const all = samples.map((s) => ({ t: s.t, v: pick(s) })).filter((x): x is { t: number; v: number } => x.v !== null);
  const after = all.filter((x) => x.t >= warmupSeconds);
  if (all.length === 0 || after.length < 2) {
    return { atStart: all[0]?.v ?? null, afterWarmup: null, end: null, max: null, growth: null, slopeMiBPerMinute: null, within10Pct: null };
  }
  const span = after[after.length - 1].t - after[0].t;
  const window = Math.min(60, span / 5);
  const base = median(after.filter((x) => x.t <= after[0].t + window).map((x) => x.v));
  const end = median(after.filter((x) => x.t >= after[after.length - 1].t - window).map((x) => x.v));
  const max = Math.max(...after.map((x) => x.v));
  const n = after.length;
  const mt = after.reduce((a, x) => a + x.t, 0) / n;
  const mv = after.reduce((a, x) => a + x.v, 0) / n;
  const slope = after.reduce((a, x) => a + (x.t - mt) * (x.v - mv), 0) / Math.max(1e-9, after.reduce((a, x) => a + (x.t - mt) ** 2, 0));
  return {
    atStart: all[0].v,
    afterWarmup: base,
    end,
    max,
    growth: Math.round(((end - base) / base) * 1000) / 1000,
    slopeMiBPerMinute: Math.round(((slope * 60) / 2 ** 20) * 100) / 100,
    within10Pct: max <= base * (1 + AIM_GROWTH),
  };
}

// --- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const p = readParams();
  const watchdog = setTimeout(() => {
    log(`the whole run exceeded ${p.timeoutSeconds}s; stopping`);
    void cleanup().finally(() => process.exit(1));
  }, p.timeoutSeconds * 1000);
  const loadBefore = os.loadavg();
  log(`load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`);
  try {
    const started = Date.now();
    const { infra, bundlePath } = await startInfraWithBundle({ name: 'bench-soak', pgDurable: false, onCleanup });
    log(`infrastructure ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);

    const receiver = await startReceiver();
    onCleanup('receiver', () => receiver.close());
    onCleanup('HTTP agent', async () => agent.destroy());
    const llm = await startFakeLlm();
    onCleanup('stand-in LLM', () => llm.close());
    const admin = createPool(infra.databaseUrl, 2);
    onCleanup('admin pool', () => admin.end());

    const env: Record<string, string> = {
      ...hostEnv(infra, 'bench-soak'),
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'bench',
      // Rooms run their backlog every 5 s, so the scheduler works all through the soak.
      HOOKWISE_ROOM_TICK_SECONDS: '5',
      ...(p.heapGrowthPercent !== null ? { HOOKWISE_HEAP_GROWTH_PERCENT: String(p.heapGrowthPercent) } : {}),
      // No timing samples kept in the processes: their memory is what is measured.
      BENCH_STATEMENT_SAMPLES: '0',
    };
    const [api, worker] = await Promise.all([startHost('api', 'hookwise API', env), startHost('worker', 'hookwise worker', { ...env, BENCH_WORKFLOW_BUNDLE: bundlePath })]);
    onCleanup('hookwise API', () => api.stop());
    onCleanup('hookwise worker', () => worker.stop());
    const setup = await setUp(api.url, admin, receiver);
    const stream = subscribe(api.url, setup.apiKey);
    onCleanup('stream subscriber', async () => stream.close());

    let rate = p.rate;
    let measured: number | null = null;
    if (rate === null) {
      log(`calibrating: ${CALIBRATION.events} publishes at concurrency ${CALIBRATION.concurrency}…`);
      measured = Math.round((await withTimeout(calibrate(api.url, setup.apiKey, receiver), 300_000, 'calibration')) * 10) / 10;
      rate = Math.max(1, Math.round((measured / 2) * 10) / 10);
      log(`calibration: ${measured} deliveries/s; the soak runs at ${rate} requests/s`);
    }

    const samples: MemorySample[] = [];
    const received0 = receiver.count();
    const t0 = performance.now();
    const sample = async () => {
      const [a, w] = await Promise.all([memoryOf(api), memoryOf(worker)]);
      samples.push({
        t: Math.round((performance.now() - t0) / 100) / 10,
        api: a,
        worker: w,
        temporalRss: infra.pids.temporal === null ? null : rssBytes(infra.pids.temporal),
        delivered: receiver.count() - received0,
        sent: 0,
        streamEvents: stream.events(),
      });
    };
    await sample();
    const load = startLoad(api.url, setup, rate);
    const endAt = t0 + p.minutes * 60_000;
    let lastLog = 0;
    while (performance.now() < endAt) {
      await sleep(Math.min(p.sampleSeconds * 1000, endAt - performance.now()));
      await sample();
      const s = samples[samples.length - 1];
      s.sent = Object.values(load.stats.sent).reduce((a, b) => a + b, 0);
      if (performance.now() - lastLog >= 60_000 || performance.now() >= endAt) {
        lastLog = performance.now();
        const mib = (x: number | null) => (x === null ? '–' : `${(x / 2 ** 20).toFixed(0)} MiB`);
        log(
          `${(s.t / 60).toFixed(1)} min: API ${mib(s.api.rss)} (heap ${mib(s.api.heapUsed)}), worker ${mib(s.worker.rss)} (heap ${mib(s.worker.heapUsed)}); ` +
            `${s.sent} requests sent, ${s.delivered} deliveries received, ${s.streamEvents} stream events; load average ${os.loadavg()[0].toFixed(2)}`,
        );
      }
    }
    await load.stop();
    const loadAfter = os.loadavg();

    // Did hookwise keep up? What was still owed when the load stopped.
    const { rows } = await admin.query(
      `SELECT count(*) FILTER (WHERE status IN ('pending', 'retrying'))::int AS open, count(*)::int AS total FROM deliveries`,
    );
    const backlog = rows[0] as { open: number; total: number };

    const warmupSeconds = p.warmupMinutes * 60;
    const verdicts = {
      api: judge(samples, (s) => s.api.rss, warmupSeconds),
      worker: judge(samples, (s) => s.worker.rss, warmupSeconds),
      apiHeap: judge(samples, (s) => s.api.heapUsed, warmupSeconds),
      workerHeap: judge(samples, (s) => s.worker.heapUsed, warmupSeconds),
      temporal: judge(samples, (s) => s.temporalRss, warmupSeconds),
    };
    const cpu = {
      apiMsPerRequest: cpuPerRequest(samples, (s) => s.api.cpuMs, warmupSeconds),
      workerMsPerRequest: cpuPerRequest(samples, (s) => s.worker.cpuMs, warmupSeconds),
    };
    const mib = (x: number | null) => (x === null ? '–' : (x / 2 ** 20).toFixed(1));
    const pct = (x: number | null) => (x === null ? '–' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`);
    const yes = (x: boolean | null) => (x === null ? '–' : x ? 'yes' : 'NO');
    const row = (name: string, v: Verdict) => [name, mib(v.atStart), mib(v.afterWarmup), mib(v.end), mib(v.max), pct(v.growth), fmt(v.slopeMiBPerMinute, 2), yes(v.within10Pct)];
    const machine = { cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, totalMemoryBytes: os.totalmem() };
    const out: string[] = [];
    out.push(`hookwise soak benchmark — ${new Date().toISOString()}`);
    out.push(
      `${machine.cpuModel}, ${machine.cores} cores, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, node ${process.version}; ` +
        `load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`,
    );
    out.push(`PostgreSQL: ${infra.source.postgres}; Temporal: ${infra.source.temporal}`);
    out.push(
      `${p.minutes} min at ${rate} requests/s${measured !== null ? ` (half of the ${measured} deliveries/s measured first)` : ''}: ` +
        `2 publishes : 1 room event : 1 generic event, one live-stream subscriber; memory every ${p.sampleSeconds} s, the first ${p.warmupMinutes} min are warm-up`,
    );
    out.push('');
    out.push(
      table([
        ['MiB', 'at start', 'after warm-up', 'end', 'max after warm-up', 'end vs warm-up', 'slope MiB/min', 'max ≤ +10 %'],
        row('API, RSS', verdicts.api),
        row('worker, RSS', verdicts.worker),
        row('API, V8 heap used', verdicts.apiHeap),
        row('worker, V8 heap used', verdicts.workerHeap),
        row('Temporal server, RSS (for reference)', verdicts.temporal),
      ]),
    );
    const sent = load.stats.sent;
    const ok = load.stats.ok;
    const failed = load.stats.failed;
    out.push('');
    out.push(
      `requests: publishes ${ok.publish}/${sent.publish} ok, room events ${ok.room}/${sent.room}, generic events ${ok.generic}/${sent.generic}` +
        `${load.stats.skipped > 0 ? `, ${load.stats.skipped} skipped (more than ${MAX_OUTSTANDING} outstanding)` : ''}` +
        `${failed.publish + failed.room + failed.generic > 0 ? `; failures: ${load.stats.errorSamples.join(' | ')}` : ''}`,
    );
    out.push(
      `engine: ${samples[samples.length - 1].delivered} deliveries received, ${backlog.open} of ${backlog.total} deliveries still pending when the load stopped; ` +
        `${stream.events()} events on the live stream; ${llm.requests()} LLM calls`,
    );
    out.push(`CPU after warm-up, ms per request sent: API ${fmt(cpu.apiMsPerRequest, 2)}, worker ${fmt(cpu.workerMsPerRequest, 2)}`);
    const ok10 = verdicts.api.within10Pct && verdicts.worker.within10Pct;
    out.push(`aim: API and worker RSS stay within 10 % of their level after warm-up: ${ok10 === null ? 'not measured' : ok10 ? 'met' : 'NOT met'}`);
    process.stdout.write(out.join('\n') + '\n');
    process.stdout.write(
      JSON.stringify({
        bench: 'soak',
        date: new Date().toISOString(),
        machine,
        node: process.version,
        params: p,
        infra: infra.source,
        loadAverage: { before: loadBefore, after: loadAfter },
        calibratedDeliveriesPerSecond: measured,
        rate,
        verdicts,
        cpu,
        requests: load.stats,
        backlog,
        streamEvents: stream.events(),
        llmCalls: llm.requests(),
        samples,
      }) + '\n',
    );
    return 0;
  } finally {
    log('cleaning up…');
    await cleanup();
    clearTimeout(watchdog);
  }
}

runBenchmark(main, cleanup);
