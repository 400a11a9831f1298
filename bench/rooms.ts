import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createPool, type Db } from '../src/db/pool.js';
import { migrate } from '../src/db/migrate.js';
import { postgresTarget } from '../src/dev/local-temporal.js';
import { RETENTION_SCHEDULE_ID } from '../src/flows/retention.js';
import { WORKFLOWS_PATH } from '../src/roots/worker.js';
import { startFakeLlm } from './fake-llm.js';
import { stripeLikeBody } from './ingress-support.js';
import { hostEnv, startHost } from './processes.js';
import { baselineProgress, createBaselineTable, insertBaselineItem, POLLING_WORKFLOW_PATH, startBaseline } from './rooms/baseline.js';
import { seedRooms } from './rooms/seed.js';
import { diff, scrape, tasksOf, temporalMetricsUrl, type Sample, type TaskCounts } from './rooms/temporal-metrics.js';
import { bundleWorkflowsTo, createCleanups, fmt, log, postJson, runBenchmark, sleep, startBenchInfra, startCpuGroups, table, type CpuGroups } from './support.js';

// `npm run bench:rooms`: hookwise's room schedulers (issue 11, aim 3). 10,000 rooms get one event each
// through the real inbound route (POST /webhooks/:token, paced); the backlog drains; then the rooms
// sit idle and the Temporal server's own metrics count the workflow and activity tasks they cost
// (aim: 0 per minute, and no room scheduler left open). The baseline, in the same run: the design it
// replaces, one never-ending workflow per room polling PostgreSQL every tick (rooms/polling-scheduler.ts),
// drained and left idle the same way. Progress on stderr; a table and one JSON line on stdout.
// Method notes and figures: bench/rooms.md.
//
//   --rooms N           rooms, one event each (default 10000)
//   --baseline-rooms M  rooms of the polling baseline (default min(N, 200)); its idle cost is per room, scaled to N
//   --idle-minutes I    length of each idle window (default 2)
//   --tick S            HOOKWISE_ROOM_TICK_SECONDS, and the baseline's poll period (default 5)
//   --rate R            inbound events (and baseline items) per second (default 40)
//   --timeout S         hard limit for the whole run (default 3000: 10,000 rooms took 38 min on 2 cores)

const STOP_STEP_TIMEOUT_MS = 40_000;
/** Requests the pacer lets be outstanding before it waits. */
const MAX_OUTSTANDING = 200;
const NAMESPACE = process.env.TEMPORAL_NAMESPACE || 'default';

function readParams() {
  const { values } = parseArgs({
    options: {
      rooms: { type: 'string' },
      'baseline-rooms': { type: 'string' },
      'idle-minutes': { type: 'string' },
      tick: { type: 'string' },
      rate: { type: 'string' },
      timeout: { type: 'string' },
    },
    strict: true,
  });
  const num = (name: string, raw: string | undefined, fallback: number, integer = false) => {
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be a ${integer ? 'whole ' : ''}number > 0, got "${raw}"`);
    return n;
  };
  const rooms = num('rooms', values.rooms, 10_000, true);
  return {
    rooms,
    baselineRooms: num('baseline-rooms', values['baseline-rooms'], Math.min(rooms, 200), true),
    idleMinutes: num('idle-minutes', values['idle-minutes'], 2),
    tickSeconds: num('tick', values.tick, 5),
    rate: num('rate', values.rate, 40),
    timeoutSeconds: num('timeout', values.timeout, 3000),
  };
}
type Params = ReturnType<typeof readParams>;

const { onCleanup, cleanup } = createCleanups(STOP_STEP_TIMEOUT_MS);

// --- inbound events -----------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_OUTSTANDING });

const post = (baseUrl: string, path: string, body: string) => postJson(agent, baseUrl, path, body);

/** Open loop: call i is due at start + i / rate; at most MAX_OUTSTANDING at once (then it waits). */
async function paced(n: number, rate: number, call: (i: number) => Promise<void>): Promise<{ firstAt: number; seconds: number }> {
  const firstAt = Date.now();
  const t0 = performance.now();
  let outstanding = 0;
  const all: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    while (outstanding >= MAX_OUTSTANDING) await sleep(5);
    outstanding++;
    all.push(call(i).finally(() => outstanding--));
  }
  await Promise.all(all);
  return { firstAt, seconds: (performance.now() - t0) / 1000 };
}

// --- Temporal's side ----------------------------------------------------------------------------

async function countWorkflows(client: Client, query: string): Promise<number> {
  return (await client.workflow.count(query)).count;
}

async function schedulerCounts(client: Client, type: string) {
  const [total, running, completed] = await Promise.all([
    countWorkflows(client, `WorkflowType = "${type}"`),
    countWorkflows(client, `WorkflowType = "${type}" AND ExecutionStatus = "Running"`),
    countWorkflows(client, `WorkflowType = "${type}" AND ExecutionStatus = "Completed"`),
  ]);
  return { total, running, completed };
}

/** Open workflows by type (visibility), for the idle windows. */
async function openByType(client: Client): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for await (const w of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) out[w.type] = (out[w.type] ?? 0) + 1;
  return out;
}

interface Window {
  minutes: number;
  tasks: TaskCounts;
  perMinute: { workflow: number; activity: number };
  /** The server's own (temporal_system namespace): not the app's, shown for reference. */
  systemTasks: { workflow: number; activity: number };
  cpu: CpuGroups;
}

function windowOf(delta: Sample[], minutes: number, cpu: CpuGroups): Window {
  const tasks = tasksOf(delta, NAMESPACE);
  const sys = tasksOf(delta, 'temporal_system');
  const r = (x: number) => Math.round((x / minutes) * 10) / 10;
  return {
    minutes,
    tasks,
    perMinute: { workflow: r(tasks.workflow), activity: r(tasks.activity) },
    systemTasks: { workflow: sys.workflow, activity: sys.activity },
    cpu,
  };
}

// --- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const p: Params = readParams();
  const runStart = Date.now();
  const deadline = runStart + p.timeoutSeconds * 1000;
  const watchdog = setTimeout(() => {
    log(`the whole run exceeded ${p.timeoutSeconds}s; stopping`);
    void cleanup().finally(() => process.exit(1));
  }, p.timeoutSeconds * 1000);
  const loadBefore = os.loadavg();
  log(`load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}; ${p.rooms} rooms at ${p.rate}/s, tick ${p.tickSeconds}s, idle ${p.idleMinutes} min, baseline ${p.baselineRooms} rooms`);
  // The baseline's worker runs in this process: its SDK logs warnings and up to stderr.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  try {
    const dir = await mkdtemp(join(os.tmpdir(), 'hookwise-bench-rooms-'));
    onCleanup('bundle dir', () => rm(dir, { recursive: true, force: true }));
    const bundle = (workflowsPath: string, name: string) => bundleWorkflowsTo(dir, name, workflowsPath);
    const [infraR, hwR, blR] = await Promise.allSettled([
      startBenchInfra({ name: 'bench-rooms', pgDurable: false, onCleanup }),
      bundle(WORKFLOWS_PATH, 'hookwise'),
      bundle(POLLING_WORKFLOW_PATH, 'baseline'),
    ]);
    for (const r of [infraR, hwR, blR]) if (r.status === 'rejected') throw r.reason;
    const infra = (infraR as PromiseFulfilledResult<Awaited<ReturnType<typeof startBenchInfra>>>).value;
    const hookwiseBundle = (hwR as PromiseFulfilledResult<string>).value;
    const baselineBundle = (blR as PromiseFulfilledResult<string>).value;
    log('running migrations…');
    await migrate(infra.databaseUrl);
    const metricsUrl = process.env.BENCH_TEMPORAL_METRICS_URL || (infra.pids.temporal !== null ? temporalMetricsUrl(infra.pids.temporal) : null);
    if (!metricsUrl) throw new Error('no Temporal server metrics: set BENCH_TEMPORAL_METRICS_URL for an external Temporal');
    log(`Temporal server metrics at ${metricsUrl}`);

    const llm = await startFakeLlm();
    onCleanup('stand-in LLM', () => llm.close());
    const admin: Db = createPool(infra.databaseUrl, 8);
    onCleanup('admin pool', () => admin.end());
    onCleanup('HTTP agent', async () => agent.destroy());
    const connection = await Connection.connect({ address: infra.temporalAddress });
    onCleanup('Temporal client', () => connection.close());
    const client = new Client({ connection, namespace: NAMESPACE });

    const env: Record<string, string> = {
      ...hostEnv(infra, 'bench-rooms', NAMESPACE),
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'bench',
      HOOKWISE_ROOM_TICK_SECONDS: String(p.tickSeconds),
      BENCH_STATEMENT_SAMPLES: '0',
    };
    const taskQueue = env.HOOKWISE_TASK_QUEUE;
    const [api, worker] = await Promise.all([startHost('api', 'hookwise API', env), startHost('worker', 'hookwise worker', { ...env, BENCH_WORKFLOW_BUNDLE: hookwiseBundle })]);
    onCleanup('hookwise API', () => api.stop());
    onCleanup('hookwise worker', () => worker.stop());
    // The hourly retention run is not a room's cost: paused so that it cannot land in an idle window.
    await sleep(2000);
    const paused = await client.schedule
      .getHandle(RETENTION_SCHEDULE_ID)
      .pause('bench:rooms idle windows')
      .then(() => true)
      .catch((e: unknown) => (log(`could not pause ${RETENTION_SCHEDULE_ID}: ${(e as Error).message}`), false));

    log(`seeding ${p.rooms} rooms…`);
    const seedStart = Date.now();
    let lastSeedLog = 0;
    const seeded = await seedRooms(admin, p.rooms, (n) => {
      if (Date.now() - lastSeedLog > 10_000 || n === p.rooms) {
        lastSeedLog = Date.now();
        log(`  ${n} rooms`);
      }
    });
    log(`seeded in ${((Date.now() - seedStart) / 1000).toFixed(1)}s`);
    const cpuSpec = {
      trees: { api: api.pid, worker: worker.pid, temporal: infra.pids.temporal },
      postgres: { pid: infra.pids.postgres, appDatabases: [postgresTarget(infra.databaseUrl).database] },
    };

    // --- 1. hookwise: one event per room, then the drain ----------------------------------------
    const body = stripeLikeBody(1024);
    const posts = { ok: 0, failed: 0, errors: [] as string[] };
    const m0 = await scrape(metricsUrl);
    const cpuDrain = startCpuGroups(cpuSpec);
    let drainDone = false;
    const progress = async () => {
      const { rows } = await admin.query(
        `SELECT count(*) FILTER (WHERE status = 'done')::int AS done, count(*) FILTER (WHERE status = 'failed')::int AS failed,
                count(*)::int AS total, (extract(epoch FROM max(completed_at)) * 1000)::float8 AS "lastCompleted" FROM backlog_items`,
      );
      return rows[0] as { done: number; failed: number; total: number; lastCompleted: number | null };
    };
    const reporter = (async () => {
      while (!drainDone) {
        await sleep(10_000);
        if (drainDone) break;
        // Only a progress line: a failed read (the pool ended by a cleanup) must not end the process.
        const pr = await progress().catch(() => null);
        if (pr) log(`  ${posts.ok + posts.failed} events sent, ${pr.total} admitted, ${pr.done} done, ${pr.failed} failed; load ${os.loadavg()[0].toFixed(2)}`);
      }
    })();
    onCleanup('progress reporter', async () => void (drainDone = true));
    log(`sending ${p.rooms} events, one per room, at ${p.rate}/s…`);
    const sent = await paced(p.rooms, p.rate, async (i) => {
      try {
        const res = await post(api.url, `/webhooks/${seeded.rooms[i].token}`, body);
        if (res.status === 200 && res.text.includes('"ok":true')) posts.ok++;
        else {
          posts.failed++;
          if (posts.errors.length < 5) posts.errors.push(`${res.status} ${res.text.slice(0, 120)}`);
        }
      } catch (e) {
        posts.failed++;
        if (posts.errors.length < 5) posts.errors.push((e as Error).message);
      }
    });
    log(`all ${p.rooms} events answered ${sent.seconds.toFixed(1)}s after the first; ${posts.failed} failed`);
    // Whatever the drain takes, leave time for both idle windows and the baseline.
    const drainDeadline = deadline - (2 * p.idleMinutes * 60_000 + 240_000 + (p.baselineRooms / p.rate) * 2000);
    let pr = await progress();
    while (pr.done + pr.failed < posts.ok && Date.now() < drainDeadline) {
      await sleep(1000);
      pr = await progress();
    }
    drainDone = true;
    await reporter;
    const drained = pr.done + pr.failed >= posts.ok;
    const drainSeconds = pr.lastCompleted === null ? null : (pr.lastCompleted - sent.firstAt) / 1000;
    log(drained ? `drained: ${pr.done} done, ${pr.failed} failed, ${fmt(drainSeconds)}s from the first event` : `NOT drained by the deadline: ${pr.done + pr.failed} of ${posts.ok}`);
    // Schedulers end one round after their last item; visibility catches up shortly after.
    const endBy = Date.now() + (3 * p.tickSeconds + 60) * 1000;
    let sched = await schedulerCounts(client, 'roomScheduler');
    while (sched.running > 0 && Date.now() < endBy) {
      await sleep(1000);
      sched = await schedulerCounts(client, 'roomScheduler');
    }
    const allEndedAfter = (Date.now() - sent.firstAt) / 1000;
    const ingest = await schedulerCounts(client, 'ingestRoomEvent');
    const drainCpu = cpuDrain.stop();
    const drainTasks = windowOf(diff(m0, await scrape(metricsUrl)), (Date.now() - sent.firstAt) / 60_000, drainCpu);
    log(`room schedulers: ${sched.total} started, ${sched.completed} completed, ${sched.running} running (${allEndedAfter.toFixed(0)}s after the first event)`);

    // --- 2. hookwise idle -------------------------------------------------------------------------
    const idle = async (label: string) => {
      // One more tick for stragglers (a last timer, a recovery pass) before the window opens.
      await sleep((p.tickSeconds + 5) * 1000);
      const openBefore = await openByType(client);
      const windowStart = new Date();
      const a = await scrape(metricsUrl);
      const cpu = startCpuGroups(cpuSpec);
      log(`${label}: idle for ${p.idleMinutes} min; open workflows ${JSON.stringify(openBefore)}`);
      const end = performance.now() + p.idleMinutes * 60_000;
      while (performance.now() < end) {
        await sleep(Math.min(60_000, end - performance.now()));
        log(`  ${label}: ${((p.idleMinutes * 60_000 - (end - performance.now())) / 60_000).toFixed(1)} min; load ${os.loadavg()[0].toFixed(2)}`);
      }
      const b = await scrape(metricsUrl);
      const w = windowOf(diff(a, b), p.idleMinutes, cpu.stop());
      const openAfter = await openByType(client);
      const startedDuring = await countWorkflows(client, `StartTime >= "${windowStart.toISOString()}"`);
      log(`${label}: ${w.tasks.workflow} workflow tasks, ${w.tasks.activity} activity tasks; open after ${JSON.stringify(openAfter)}`);
      return { ...w, openBefore, openAfter, startedDuring };
    };
    const hookwiseIdle = await idle('hookwise');

    // --- 3. the baseline: one polling workflow per room ------------------------------------------
    const baselineQueue = `${taskQueue}-polling`;
    await createBaselineTable(admin);
    const baseline = await startBaseline({ address: infra.temporalAddress, namespace: NAMESPACE, taskQueue: baselineQueue, bundlePath: baselineBundle, db: admin, llmBaseUrl: llm.baseURL });
    onCleanup('baseline worker and workflows', () => baseline.stop());
    const baselineRoomIds = Array.from({ length: p.baselineRooms }, (_, i) => seeded.rooms[i % seeded.rooms.length].roomId + (i >= seeded.rooms.length ? `-${i}` : ''));
    log(`baseline: starting ${p.baselineRooms} polling schedulers…`);
    const bm0 = await scrape(metricsUrl);
    await baseline.startRooms(baselineRoomIds, p.tickSeconds * 1000, Math.max(p.rate, 100));
    // One tick so every poller is in its loop, then one item per room at the same rate.
    await sleep(p.tickSeconds * 1000);
    log(`baseline: ${p.baselineRooms} items at ${p.rate}/s…`);
    const bCpu = startCpuGroups(cpuSpec);
    const bSent = await paced(p.baselineRooms, p.rate, (i) => insertBaselineItem(admin, baselineRoomIds[i]));
    let bp = await baselineProgress(admin);
    while (bp.done < bp.total && Date.now() < drainDeadline + 120_000) {
      await sleep(1000);
      bp = await baselineProgress(admin);
    }
    const baselineDrainSeconds = bp.lastDone === null ? null : (bp.lastDone - bSent.firstAt) / 1000;
    const baselineDrain = windowOf(diff(bm0, await scrape(metricsUrl)), (Date.now() - bSent.firstAt) / 60_000, bCpu.stop());
    log(`baseline drained: ${bp.done} of ${bp.total} in ${fmt(baselineDrainSeconds)}s`);
    const baselineRunning = await countWorkflows(client, 'WorkflowType = "pollingRoomScheduler" AND ExecutionStatus = "Running"');
    const baselineIdle = await idle('baseline');
    await baseline.stop();
    const loadAfter = os.loadavg();

    // --- report ---------------------------------------------------------------------------------
    const perRoom = (w: Window, rooms: number) => (w.tasks.workflow + w.tasks.activity) / w.minutes / rooms;
    const baselinePerRoomMin = perRoom(baselineIdle, p.baselineRooms);
    const tickRounds = 60 / p.tickSeconds;
    const expectedBaseline = { workflow: 2 * tickRounds, activity: tickRounds };
    const scaled = (x: number) => Math.round((x / p.baselineRooms) * p.rooms);
    const machine = { cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, totalMemoryBytes: os.totalmem() };
    const cpuPerMin = (w: Window, k: string) => {
      const s = w.cpu.seconds[k];
      return s === null || s === undefined ? '–' : (s / w.minutes).toFixed(2);
    };
    const hookwiseRate = drainSeconds ? posts.ok / drainSeconds : null;
    const baselineRate = baselineDrainSeconds ? bp.done / baselineDrainSeconds : null;
    const out: string[] = [];
    out.push(`hookwise room schedulers benchmark — ${new Date().toISOString()}`);
    out.push(
      `${machine.cpuModel}, ${machine.cores} cores, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, node ${process.version}; ` +
        `load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`,
    );
    out.push(`PostgreSQL: ${infra.source.postgres}; Temporal: ${infra.source.temporal}; tasks counted from the server's Prometheus metrics (frontend RespondWorkflowTask* / RespondActivityTask*)`);
    out.push(`tick ${p.tickSeconds}s, events at ${p.rate}/s, idle windows ${p.idleMinutes} min each; retention schedule ${paused ? 'paused' : 'NOT paused'}`);
    out.push('');
    out.push(
      table([
        ['', 'hookwise', `baseline (polling, ${p.baselineRooms} rooms)`],
        ['rooms', String(p.rooms), String(p.baselineRooms)],
        ['events (one per room) accepted', `${posts.ok} of ${p.rooms}`, `${bp.total} (rows)`],
        ['drain: first event → last item done, s', fmt(drainSeconds), fmt(baselineDrainSeconds)],
        ['drain: items/s', fmt(hookwiseRate), fmt(baselineRate)],
        ['drain: items done / failed', `${pr.done} / ${pr.failed}`, `${bp.done} / 0`],
        ['drain: workflow tasks per item', fmt(drainTasks.tasks.workflow / Math.max(1, pr.done), 2), fmt(baselineDrain.tasks.workflow / Math.max(1, bp.done), 2)],
        ['drain: activity tasks per item', fmt(drainTasks.tasks.activity / Math.max(1, pr.done), 2), fmt(baselineDrain.tasks.activity / Math.max(1, bp.done), 2)],
        ['scheduler workflows started', String(sched.total), String(p.baselineRooms)],
        ['scheduler workflows ended', String(sched.completed), '0 (never end)'],
        ['idle: scheduler workflows open', String(hookwiseIdle.openAfter.roomScheduler ?? 0), String(baselineRunning)],
        ['idle: workflow tasks / min', fmt(hookwiseIdle.perMinute.workflow), fmt(baselineIdle.perMinute.workflow)],
        ['idle: activity tasks / min', fmt(hookwiseIdle.perMinute.activity), fmt(baselineIdle.perMinute.activity)],
        ['idle: tasks / room / min', fmt(perRoom(hookwiseIdle, p.rooms), 3), `${fmt(baselinePerRoomMin, 2)} (ideal ${3 * tickRounds})`],
        ['idle: baseline polls kept on time', '', `${fmt((100 * baselineIdle.tasks.activity) / (p.baselineRooms * tickRounds * p.idleMinutes), 0)} %`],
        [`idle: tasks / min for ${p.rooms} rooms`, fmt(hookwiseIdle.perMinute.workflow + hookwiseIdle.perMinute.activity), `${scaled(baselineIdle.perMinute.workflow + baselineIdle.perMinute.activity)} (scaled from ${p.baselineRooms})`],
        ["idle: the server's own tasks (its Schedules worker), not counted above", fmt(hookwiseIdle.tasks.server.workflow + hookwiseIdle.tasks.server.activity), fmt(baselineIdle.tasks.server.workflow + baselineIdle.tasks.server.activity)],
        ['idle: workflows started in the window', String(hookwiseIdle.startedDuring), String(baselineIdle.startedDuring)],
        ['idle: Temporal server CPU, s / min', cpuPerMin(hookwiseIdle, 'temporal'), cpuPerMin(baselineIdle, 'temporal')],
        ["idle: Temporal's PostgreSQL CPU, s / min", cpuPerMin(hookwiseIdle, 'postgres: temporal'), cpuPerMin(baselineIdle, 'postgres: temporal')],
        ['idle: app database CPU, s / min', cpuPerMin(hookwiseIdle, 'postgres: app'), cpuPerMin(baselineIdle, 'postgres: app')],
        ['idle: worker CPU, s / min', cpuPerMin(hookwiseIdle, 'worker'), `${cpuPerMin(baselineIdle, 'bench')} (in the bench process)`],
      ]),
    );
    out.push('');
    out.push(`hookwise's worker still idles on the Temporal side with its long polls; those are not tasks. The baseline's ideal is 2 workflow tasks + 1 activity task per room per tick (${expectedBaseline.workflow} + ${expectedBaseline.activity} per minute at a ${p.tickSeconds}s tick).`);
    if (posts.failed > 0) out.push(`failed events: ${posts.errors.join(' | ')}`);
    const aimDrain = drained && sched.running === 0 && sched.completed === sched.total;
    const aimIdle = hookwiseIdle.tasks.workflow === 0 && hookwiseIdle.tasks.activity === 0 && (hookwiseIdle.openAfter.roomScheduler ?? 0) === 0;
    out.push(`aim: ${p.rooms} rooms with one event each drain, every scheduler ends: ${aimDrain ? 'met' : 'NOT met'}`);
    out.push(`aim: idle rooms cost 0 workflow and activity tasks per minute: ${aimIdle ? 'met' : 'NOT met'}`);
    process.stdout.write(out.join('\n') + '\n');
    process.stdout.write(
      JSON.stringify({
        bench: 'rooms',
        date: new Date().toISOString(),
        machine,
        node: process.version,
        params: p,
        infra: infra.source,
        loadAverage: { before: loadBefore, after: loadAfter },
        retentionSchedulePaused: paused,
        hookwise: {
          events: { sent: p.rooms, accepted: posts.ok, failed: posts.failed, sendSeconds: sent.seconds },
          drain: { drained, seconds: drainSeconds, itemsPerSecond: hookwiseRate, done: pr.done, failed: pr.failed, tasks: drainTasks, allSchedulersEndedAfterSeconds: allEndedAfter },
          schedulers: sched,
          ingestWorkflows: ingest,
          idle: hookwiseIdle,
        },
        baseline: {
          rooms: p.baselineRooms,
          drain: { seconds: baselineDrainSeconds, itemsPerSecond: baselineRate, done: bp.done, total: bp.total, tasks: baselineDrain },
          running: baselineRunning,
          idle: baselineIdle,
          idleTasksPerRoomPerMinute: baselinePerRoomMin,
          idealTasksPerRoomPerMinute: expectedBaseline,
          idleTasksPerMinuteScaledToRooms: scaled(baselineIdle.tasks.workflow + baselineIdle.tasks.activity) / p.idleMinutes,
        },
        aims: { drainAndEnd: aimDrain, idleZero: aimIdle },
      }) + '\n',
    );
    return aimDrain && aimIdle ? 0 : 1;
  } finally {
    log('cleaning up…');
    await cleanup();
    clearTimeout(watchdog);
  }
}

runBenchmark(main, cleanup);
