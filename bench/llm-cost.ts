import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createPool, type Db } from '../src/db/pool.js';
import { createOrgWithKey } from '../src/tenancy.js';
import { startFakeLlm } from './fake-llm.js';
import { perfectModel, type PerfectModel } from './llm/model.js';
import { destroyAgent, sendStream, setUpRoom, waitSettled, type Settled } from './llm/phase.js';
import { generateStream, type Stream } from './llm/stream.js';
import { hostEnv, startHost, type HostProcess } from './processes.js';
import { createCleanups, dist, fmt, log, runBenchmark, startInfraWithBundle, table, type Dist } from './support.js';

// `npm run bench:llm`: does the LLM match cache save model calls without changing a single match?
// A seeded stream of room events (50 payload shapes, 20 description-only definitions, several of them
// value-dependent: "an invoice paid for more than 1,000", "a message that asks for a refund", "a
// charge in EUR") goes through hookwise's real inbound route (POST /webhooks/:token) and worker,
// matched by a stand-in model that is perfect (./llm/model.ts): it reads hookwise's prompt, decides by
// the stream's ground truth and names exactly the fields it decided by. The stream runs twice in the
// same run: with the match cache off (HOOKWISE_LLM_MATCH_CACHE=false, the baseline: one call per
// event) and on. Every event's match is compared between the two and with the ground truth; calls are
// counted per distinct (shape, deciding values) pair. A third, short pass runs with no LLM configured:
// nothing may be matched by guess. Method notes and figures: bench/llm.md.
//
//   --events N        events in the stream (default 10000)
//   --shapes S        payload shapes used (default 50, at most 50)
//   --definitions D   definitions, in priority order (default 20, at most 20)
//   --seed X          the stream's seed (default 1)
//   --rate R          events posted per second at most, in each pass (default 40)
//   --in-flight C     events posted but not yet settled at most (default 100)
//   --llm-latency MS  the stand-in model answers after this long (default 200)
//   --no-llm-events K events of the no-LLM pass (default min(300, N))
//   --timeout S       hard limit for the whole run (default 1800)

const AIM_CALLS_PER_PAIR = 1.2;
const STOP_STEP_TIMEOUT_MS = 40_000;

function readParams() {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      shapes: { type: 'string' },
      definitions: { type: 'string' },
      seed: { type: 'string' },
      rate: { type: 'string' },
      'in-flight': { type: 'string' },
      'llm-latency': { type: 'string' },
      'no-llm-events': { type: 'string' },
      timeout: { type: 'string' },
    },
    strict: true,
  });
  const num = (name: string, raw: string | undefined, fallback: number, min: number, integer = true): number => {
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got "${raw}"`);
    return n;
  };
  const events = num('events', values.events, 10_000, 1);
  return {
    events,
    shapes: num('shapes', values.shapes, 50, 1),
    definitions: num('definitions', values.definitions, 20, 1),
    seed: num('seed', values.seed, 1, 0),
    rate: num('rate', values.rate, 40, 0.1, false),
    inFlight: num('in-flight', values['in-flight'], 100, 1),
    llmLatencyMs: num('llm-latency', values['llm-latency'], 200, 0),
    noLlmEvents: Math.min(events, num('no-llm-events', values['no-llm-events'], 300, 1)),
    timeoutSeconds: num('timeout', values.timeout, 1800, 10),
  };
}
type Params = ReturnType<typeof readParams>;

const { onCleanup, cleanup } = createCleanups(STOP_STEP_TIMEOUT_MS);

// --- one pass -----------------------------------------------------------------------------------

interface Pass {
  label: string;
  events: number;
  accepted: number;
  refused: string[];
  settled: Settled;
  llmCalls: number;
  otherLlmCalls: number;
  callsPerPair: Map<string, number>;
  sendSeconds: number;
  /** Events settled per second, first received to last settled. */
  throughput: number;
  latency: Dist;
  /** SQL statements sent by the API and the worker, per event. */
  statementsPerEvent: number;
}

interface Ctx {
  p: Params;
  stream: Stream;
  model: PerfectModel;
  admin: Db;
  api: HostProcess;
  apiKey: string;
  workerEnv: Record<string, string>;
  deadline: number;
}

/** A fresh worker with `env` on top of the common configuration, a room of its own, `n` events of the stream. */
async function runPass(c: Ctx, label: string, env: Record<string, string>, n: number): Promise<Pass> {
  log(`${label}: ${n} events at up to ${c.p.rate}/s, at most ${c.p.inFlight} unsettled…`);
  const worker = await startHost('worker', `hookwise worker (${label})`, { ...c.workerEnv, ...env });
  onCleanup(`hookwise worker (${label})`, () => worker.stop());
  try {
    const room = await setUpRoom(c.api.url, c.apiKey, c.stream, label);
    c.model.reset();
    await Promise.all([worker.stats(true), c.api.stats(true)]);
    const sent = await sendStream(c.api.url, c.admin, room, c.stream, n, c.p);
    const accepted = sent.eventIds.filter((x) => x !== null).length;
    log(`  ${accepted}/${n} accepted in ${sent.seconds.toFixed(1)}s; waiting for every event to be settled…`);
    const settled = await waitSettled(c.admin, room, sent, c.deadline);
    const [ws, as] = await Promise.all([worker.stats(), c.api.stats()]);
    const statements = [ws, as].reduce((sum, s) => sum + Object.values(s.statements).reduce((a, k) => a + k.n, 0), 0);
    const done = accepted - settled.unsettled;
    const pass: Pass = {
      label,
      events: n,
      accepted,
      refused: sent.refused,
      settled,
      llmCalls: c.model.matchCalls(),
      otherLlmCalls: c.model.otherCalls(),
      callsPerPair: new Map(c.model.callsPerPair()),
      sendSeconds: sent.seconds,
      throughput: settled.spanSeconds > 0 ? done / settled.spanSeconds : 0,
      latency: dist(settled.latencyMs),
      statementsPerEvent: done > 0 ? statements / done : 0,
    };
    log(`  ${label}: ${done} settled in ${settled.spanSeconds.toFixed(1)}s (${pass.throughput.toFixed(1)}/s), ${pass.llmCalls} LLM calls`);
    return pass;
  } finally {
    await worker.stop();
  }
}

// --- comparing ----------------------------------------------------------------------------------

interface Mismatch {
  index: number;
  shape: string;
  expected: string | null | undefined;
  got: string | null | undefined;
  reason?: string;
}

function mismatches(stream: Stream, n: number, expected: (i: number) => string | null | undefined, got: Pass): { count: number; samples: Mismatch[] } {
  const samples: Mismatch[] = [];
  let count = 0;
  for (let i = 0; i < n; i++) {
    const e = expected(i);
    const g = got.settled.matched[i];
    if (e === g) continue;
    count++;
    if (samples.length < 5) samples.push({ index: i, shape: stream.shapes[stream.events[i].shape].name, expected: e, got: g, reason: got.settled.reasons[i] });
  }
  return { count, samples };
}

// --- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const p = readParams();
  const started = performance.now();
  const watchdog = setTimeout(() => {
    log(`the whole run exceeded ${p.timeoutSeconds}s; stopping`);
    void cleanup().finally(() => process.exit(1));
  }, p.timeoutSeconds * 1000);
  const loadBefore = os.loadavg();
  log(`load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`);
  try {
    const stream = generateStream(p);
    const events = stream.events.slice(0, p.events);
    const pairs = new Set(events.map((e) => e.pair));
    const shapesSeen = new Set(events.map((e) => e.shapeKey));
    const payloads = new Set(events.map((e) => JSON.stringify(e.payload)));
    const valueDependent = events.filter((e) => e.truth.decidedBy.length > 0).length;
    log(`stream: ${p.events} events, ${shapesSeen.size} shapes, ${stream.definitions.length} definitions, ${pairs.size} distinct (shape, deciding values) pairs, ${payloads.size} distinct payloads`);

    const { infra, bundlePath } = await startInfraWithBundle({ name: 'bench-llm', pgDurable: false, onCleanup });

    const model = perfectModel(stream);
    const llm = await startFakeLlm({ answer: model.answer, delayMs: p.llmLatencyMs });
    onCleanup('stand-in LLM', () => llm.close());
    onCleanup('HTTP agent', async () => destroyAgent());
    const admin = createPool(infra.databaseUrl, 2);
    onCleanup('admin pool', () => admin.end());

    const env: Record<string, string> = {
      ...hostEnv(infra, 'bench-llm'),
      // Matching is measured, not the room agents: the schedulers of admitted items wait an hour.
      HOOKWISE_ROOM_TICK_SECONDS: '3600',
      BENCH_STATEMENT_SAMPLES: '0',
    };
    const api = await startHost('api', 'hookwise API', env);
    onCleanup('hookwise API', () => api.stop());
    const { apiKey } = await createOrgWithKey(admin, `bench-llm-${randomUUID()}`);
    const ctx: Ctx = {
      p,
      stream,
      model,
      admin,
      api,
      apiKey,
      workerEnv: { ...env, BENCH_WORKFLOW_BUNDLE: bundlePath },
      deadline: started + p.timeoutSeconds * 1000 - 60_000,
    };
    const withLlm = { OPENAI_BASE_URL: llm.baseURL, OPENAI_API_KEY: 'bench' };

    const uncached = await runPass(ctx, 'uncached', { ...withLlm, HOOKWISE_LLM_MATCH_CACHE: 'false' }, p.events);
    const cached = await runPass(ctx, 'cached', { ...withLlm, HOOKWISE_LLM_MATCH_CACHE: 'true' }, p.events);
    const noLlm = await runPass(ctx, 'no LLM', {}, p.noLlmEvents);
    const loadAfter = os.loadavg();

    // --- the comparisons
    const truth = (i: number) => events[i].truth.definition;
    const uncachedVsTruth = mismatches(stream, p.events, truth, uncached);
    const cachedVsUncached = mismatches(stream, p.events, (i) => uncached.settled.matched[i], cached);
    const cachedVsTruth = mismatches(stream, p.events, truth, cached);
    const repeated = [...cached.callsPerPair.values()].filter((k) => k > 1);
    const pairsAsked = cached.callsPerPair.size;
    const callsPerPair = cached.llmCalls / pairs.size;
    const cachedAtFirstLook = cached.settled.reasons.filter((r) => r?.endsWith('(cached LLM answer)')).length;
    const noLlmMatched = noLlm.settled.matched.filter((m) => m !== null && m !== undefined).length;
    const noLlmExplained = noLlm.settled.reasons.filter((r) => r?.includes('no LLM configured')).length;
    const noLlmSettled = noLlm.accepted - noLlm.settled.unsettled;

    const aims = {
      sameMatches: cachedVsUncached.count === 0 && cachedVsTruth.count === 0 && uncached.settled.unsettled === 0 && cached.settled.unsettled === 0,
      callsPerPair: callsPerPair <= AIM_CALLS_PER_PAIR,
      noGuess: noLlmMatched === 0 && noLlm.llmCalls === 0 && noLlmExplained === noLlmSettled && noLlm.settled.unsettled === 0,
    };

    const machine = { cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, totalMemoryBytes: os.totalmem() };
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    const ms = (d: Dist) => `${fmt(d.p50 === null ? null : d.p50 / 1000, 2)} / ${fmt(d.p99 === null ? null : d.p99 / 1000, 2)}`;
    const out: string[] = [];
    out.push(`hookwise LLM match cost benchmark — ${new Date().toISOString()}`);
    out.push(
      `${machine.cpuModel}, ${machine.cores} cores, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, node ${process.version}; ` +
        `load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`,
    );
    out.push(`PostgreSQL: ${infra.source.postgres}; Temporal: ${infra.source.temporal}`);
    out.push(
      `stream (seed ${p.seed}): ${p.events} events, ${shapesSeen.size} payload shapes, ${stream.definitions.length} description-only definitions; ` +
        `${pairs.size} distinct (shape, deciding values) pairs; ${payloads.size} distinct payloads; ${valueDependent} events whose answer depends on values; ` +
        `posted at up to ${p.rate}/s with at most ${p.inFlight} unsettled; stand-in model answers after ${p.llmLatencyMs} ms`,
    );
    out.push('');
    out.push(
      table([
        ['', 'uncached (baseline)', 'cached', 'cached / uncached'],
        ['events accepted / settled', `${uncached.accepted} / ${uncached.accepted - uncached.settled.unsettled}`, `${cached.accepted} / ${cached.accepted - cached.settled.unsettled}`, ''],
        ['LLM match calls', String(uncached.llmCalls), String(cached.llmCalls), fmt(cached.llmCalls / Math.max(1, uncached.llmCalls), 3)],
        ['LLM calls per distinct pair', fmt(uncached.llmCalls / pairs.size, 2), fmt(callsPerPair, 3), ''],
        ['pairs asked more than once', '', `${repeated.length} of ${pairsAsked}`, ''],
        ['LLM calls per event', fmt(uncached.llmCalls / Math.max(1, uncached.accepted), 3), fmt(cached.llmCalls / Math.max(1, cached.accepted), 3), ''],
        // Above 1 per event uncached only by activity retries (a call whose answer came too late).
        ['cache hit rate (events − calls) / events', '', pct(1 - cached.llmCalls / Math.max(1, cached.accepted)), ''],
        ['mismatches vs ground truth', String(uncachedVsTruth.count), String(cachedVsTruth.count), ''],
        ['mismatches vs uncached run', '', String(cachedVsUncached.count), ''],
        ['throughput, events settled/s', fmt(uncached.throughput), fmt(cached.throughput), fmt(cached.throughput / Math.max(1e-9, uncached.throughput), 2)],
        ['received → settled p50 / p99, s', ms(uncached.latency), ms(cached.latency), ''],
        ['SQL statements per event (API + worker)', fmt(uncached.statementsPerEvent), fmt(cached.statementsPerEvent), fmt(cached.statementsPerEvent / Math.max(1e-9, uncached.statementsPerEvent), 2)],
      ]),
    );
    out.push('');
    out.push(`cache hits: ${cachedAtFirstLook} at the first look (matchRoomEvent), ${cached.accepted - cached.llmCalls - cachedAtFirstLook} at the look before the call (judgeRoomEvent)`);
    out.push(
      `no LLM configured: ${noLlm.accepted} events, ${noLlmSettled} settled, ${noLlmMatched} matched, ${noLlmExplained} logged as "no LLM configured", ` +
        `${noLlm.llmCalls} LLM calls`,
    );
    for (const [name, m] of [['uncached vs ground truth', uncachedVsTruth], ['cached vs uncached', cachedVsUncached], ['cached vs ground truth', cachedVsTruth]] as const) {
      for (const s of m.samples) out.push(`  mismatch (${name}) #${s.index} ${s.shape}: expected ${s.expected}, got ${s.got} (${s.reason ?? 'not settled'})`);
    }
    const unreadable = model.unreadable();
    if (unreadable.length > 0) out.push(`the stand-in model could not read ${unreadable.length} requests, e.g. ${unreadable[0]}`);
    for (const pass of [uncached, cached, noLlm]) if (pass.refused.length > 0) out.push(`${pass.label}: refused posts, e.g. ${pass.refused.join(' | ')}`);
    out.push(`aim, the same matches as uncached and as the ground truth: ${aims.sameMatches ? 'met' : 'NOT met'}`);
    out.push(`aim, at most ${AIM_CALLS_PER_PAIR} LLM calls per distinct pair: ${aims.callsPerPair ? 'met' : 'NOT met'} (${fmt(callsPerPair, 3)})`);
    out.push(`aim, nothing matched by guess without an LLM: ${aims.noGuess ? 'met' : 'NOT met'}`);
    process.stdout.write(out.join('\n') + '\n');

    const summary = (x: Pass) => ({
      events: x.events,
      accepted: x.accepted,
      unsettled: x.settled.unsettled,
      llmCalls: x.llmCalls,
      otherLlmCalls: x.otherLlmCalls,
      pairsAsked: x.callsPerPair.size,
      pairsAskedMoreThanOnce: [...x.callsPerPair.values()].filter((k) => k > 1).length,
      sendSeconds: x.sendSeconds,
      spanSeconds: x.settled.spanSeconds,
      throughput: x.throughput,
      latencyMs: x.latency,
      statementsPerEvent: x.statementsPerEvent,
    });
    process.stdout.write(
      JSON.stringify({
        bench: 'llm',
        date: new Date().toISOString(),
        machine,
        node: process.version,
        params: p,
        infra: infra.source,
        loadAverage: { before: loadBefore, after: loadAfter },
        stream: { events: p.events, shapes: shapesSeen.size, definitions: stream.definitions.length, pairs: pairs.size, payloads: payloads.size, valueDependent },
        uncached: summary(uncached),
        cached: { ...summary(cached), callsPerPair, hitRate: 1 - cached.llmCalls / Math.max(1, cached.accepted), hitsAtFirstLook: cachedAtFirstLook },
        noLlm: { ...summary(noLlm), matched: noLlmMatched, loggedNoLlm: noLlmExplained },
        mismatches: { uncachedVsTruth, cachedVsUncached, cachedVsTruth },
        unreadableRequests: unreadable,
        aims,
        seconds: (performance.now() - started) / 1000,
      }) + '\n',
    );
    return aims.sameMatches && aims.callsPerPair && aims.noGuess ? 0 : 2;
  } finally {
    log('cleaning up…');
    await cleanup();
    clearTimeout(watchdog);
  }
}

runBenchmark(main, cleanup);
