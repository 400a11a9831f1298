import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPool, type Db } from '../src/db/pool.js';
import { createOrgWithKey } from '../src/tenancy.js';
import { freePort } from '../src/dev/free-port.js';
import { REPO_ROOT } from '../src/dev/local-app.js';
import { environOf, PollerProbe, ProcessMonitor, runningCluster, sleep, startCluster, STATE_FILE, type ClusterState, type OwnCluster } from './drill/cluster.js';
import { startDrillLlm, type DrillLlm } from './drill/fake-llm.js';
import { Faults, type FaultRecord, type PgFault } from './drill/faults.js';
import { startReceiver, type Receiver } from './drill/receivers.js';
import { planEvents, runLoad, Senders, type Kind, type SendResult, type Target } from './drill/traffic.js';
import { progress, verify, type Verdict } from './drill/truth.js';

// `npm run drill`: the fault drill. hookwise promises that an acknowledged event survives any crash;
// this proves it on the `npm run start:cluster` topology. It sends mixed traffic at a steady rate
// through both APIs (outbound events to loopback receivers that fail 10 % of requests, room events
// matched by rules, generic events with repeated dedupe keys), with senders that retry like Stripe,
// while it SIGKILLs a worker every 10 s, one API, Temporal's history and frontend services, and
// crashes PostgreSQL. Then it waits for everything acknowledged to be processed and checks every
// event against PostgreSQL and the receivers. See docs/drill.md.

const USAGE = `usage: npm run drill -- [--events N] [--rate R] [--seed S] [--build] [--attach] [--no-faults]
                          [--pg-fault immediate|kill] [--drain-limit S] [--stall-limit S] [--timeout M]

  --events N        events to send (default 10000; --events 500 is a quick try)
  --rate R          requests per second offered, first attempts (default 22: the aim, 21 acked/s, plus headroom for retries' late acks)
  --seed S          plans the traffic and the receivers' failures (default 1)
  --build           npm run build first, and run the cluster's APIs and workers from dist/ as the production
                    image does (compiled, with the prebuilt workflow bundle); default: from the sources (tsx)
  --attach          use the cluster already running (npm run start:cluster) instead of starting one;
                    it must have been started with OPENAI_BASE_URL=http://127.0.0.1:<port>/v1 (the drill
                    serves its fake model there) and HOOKWISE_ROOM_TICK_SECONDS=1
  --no-faults       the same load without faults (a baseline)
  --pg-fault        immediate: pg_ctl restart -m immediate (default); kill: SIGKILL the postmaster
  --drain-limit S   after the load, wait at most this long for everything acked to be processed (default 3600)
  --stall-limit S   ...or until nothing more was processed for this long (default 180): what is left is lost
  --timeout M       the whole run, cluster start included (default: the load + the drain limit + 15 minutes)`;

const AIMS = { rate: 21, duplicatePct: 0.5, drainSeconds: 30 };
/** Offered a little above the aim: acks of retried requests land after the last send and stretch the window. */
const DEFAULT_RATE = 22;
const RECEIVER_FAIL_RATE = 0.1;
const WORKER_KILL_EVERY_MS = 10_000;

const started = Date.now();
const t = () => `t+${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s`;
const log = (line: string) => process.stderr.write(`[drill] ${line}\n`);

interface Params {
  events: number;
  rate: number;
  seed: number;
  attach: boolean;
  build: boolean;
  faults: boolean;
  pgFault: PgFault;
  drainLimitSeconds: number;
  stallSeconds: number;
  timeoutMinutes: number;
}

function readParams(): Params {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      rate: { type: 'string' },
      seed: { type: 'string' },
      attach: { type: 'boolean' },
      build: { type: 'boolean' },
      'no-faults': { type: 'boolean' },
      'pg-fault': { type: 'string' },
      'drain-limit': { type: 'string' },
      'stall-limit': { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const num = (v: string | undefined, d: number, name: string) => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number\n${USAGE}`);
    return n;
  };
  const events = Math.round(num(values.events, 10_000, 'events'));
  const rate = num(values.rate, DEFAULT_RATE, 'rate');
  const pgFault = (values['pg-fault'] ?? 'immediate') as PgFault;
  if (!['immediate', 'kill'].includes(pgFault)) throw new Error(`--pg-fault is immediate or kill\n${USAGE}`);
  const drainLimitSeconds = num(values['drain-limit'], 3600, 'drain-limit');
  return {
    events,
    rate,
    seed: Math.round(num(values.seed, 1, 'seed')),
    attach: values.attach ?? false,
    build: values.build ?? false,
    faults: !values['no-faults'],
    pgFault,
    drainLimitSeconds,
    stallSeconds: num(values['stall-limit'], 180, 'stall-limit'),
    timeoutMinutes: num(values.timeout, Math.ceil(events / rate / 60 + drainLimitSeconds / 60) + 15, 'timeout'),
  };
}

// --- machine load -------------------------------------------------------------------------------------

function cpuTimes(): { steal: number; total: number; idle: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { steal: line[7] ?? 0, idle: (line[3] ?? 0) + (line[4] ?? 0), total: line.reduce((a, b) => a + b, 0) };
}

class LoadWatch {
  private samples: number[] = [];
  private start = cpuTimes();
  private timer = setInterval(() => this.samples.push(os.loadavg()[0]), 5_000);
  summary() {
    clearInterval(this.timer);
    const end = cpuTimes();
    const total = end.total - this.start.total || 1;
    const s = this.samples.length > 0 ? this.samples : [os.loadavg()[0]];
    return {
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      loadAvg1m: { min: Math.min(...s), mean: Math.round((s.reduce((a, b) => a + b, 0) / s.length) * 10) / 10, max: Math.max(...s) },
      cpuBusyPct: Math.round((100 * (total - (end.idle - this.start.idle))) / total),
      cpuStealPct: Math.round((1000 * (end.steal - this.start.steal)) / total) / 10,
    };
  }
}

// --- the API, for setup ---------------------------------------------------------------------------

async function api(base: string, key: string, method: string, path: string, body?: unknown): Promise<any> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch((e: Error) => e);
    if (!(res instanceof Error) && res.status < 300) return res.status === 204 ? null : res.json();
    if (attempt >= 5 || (!(res instanceof Error) && res.status < 500)) {
      throw new Error(`${method} ${path}: ${res instanceof Error ? res.message : `${res.status} ${await res.text()}`}`);
    }
    await sleep(1000);
  }
}

interface Setup {
  orgId: string;
  apiKey: string;
  target: Target;
  webhookIds: string[];
  receivers: Receiver[];
}

const OUTBOUND_TYPES = ['drill.order.created', 'drill.invoice.paid'];
const ROOMS = 8;
/** What a generic event of the drill is published as: webhook.<source>.<event_type slug>. */
const GENERIC_TYPE = 'webhook.drill.payment_succeeded';
const WORKSPACES = 2;

async function setUp(db: Db, cluster: ClusterState, seed: number): Promise<Setup> {
  // A fresh org per run: its rows are the drill's and nothing else's.
  const { org, apiKey } = await createOrgWithKey(db, `drill-${new Date().toISOString()}-${process.pid}`);
  const base = cluster.apiUrls[0];
  const call = (method: string, path: string, body?: unknown) => api(base, apiKey, method, path, body);

  const receivers: Receiver[] = [];
  const webhookIds: string[] = [];
  for (const [i, type] of OUTBOUND_TYPES.entries()) {
    const receiver = await startReceiver({ name: `receiver-${i + 1}`, seed, failRate: RECEIVER_FAIL_RATE });
    receivers.push(receiver);
    const wh = await call('POST', '/webhooks', {
      url: receiver.url,
      name: `drill ${type}`,
      events: [type],
      // Short and fixed, so retries of the receivers' 500s happen during the run.
      retryPolicy: { policy: 'fixed', attempts: 12, delaySeconds: 1 },
      // Above the drill's rate: the limits are not what is being measured.
      rateLimit: { maxInFlight: 50, maxPerMinute: 1200 },
    });
    webhookIds.push(wh.id);
  }

  const workspaceIds: string[] = [];
  for (let w = 1; w <= WORKSPACES; w++) {
    const ws = await call('POST', '/workspaces', { name: `drill ${w}` });
    workspaceIds.push(ws.id);
    await call('POST', `/workspaces/${ws.id}/agents`, {
      name: `payments ${w}`,
      instructions: 'Acknowledge the payment in one line.',
      roles: [GENERIC_TYPE],
      modelTier: 'fast',
    });
  }
  const roomTokens: string[] = [];
  for (let r = 1; r <= ROOMS; r++) {
    const room = await call('POST', `/workspaces/${workspaceIds[0]}/rooms`, { name: `support ${r}`, instructions: 'You triage support tickets.' });
    const source = await call('POST', `/rooms/${room.id}/event-sources`, { name: `helpdesk ${r}` });
    await call('POST', `/event-sources/${source.id}/definitions`, {
      name: 'ticket opened',
      description: 'A customer opened a ticket',
      priority: 1,
      rule: { path: 'type', equals: 'ticket.opened' },
      instructions: 'Say who should take it.',
    });
    roomTokens.push(source.token);
  }
  return {
    orgId: org.id,
    apiKey,
    webhookIds,
    receivers,
    target: { apiUrls: cluster.apiUrls, apiKey, outboundTypes: OUTBOUND_TYPES, roomTokens, workspaceIds },
  };
}

// --- the report -------------------------------------------------------------------------------------

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r, i) => {
    const line = r.map((cell, c) => (cell ?? '').padEnd(widths[c])).join('  ');
    return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);

// --- main -------------------------------------------------------------------------------------------

/** What to undo, in reverse order, however the run ends: the cluster last. */
const cleanups: Array<[string, () => Promise<unknown>]> = [];
async function runCleanups(): Promise<void> {
  for (const [what, fn] of cleanups.splice(0).reverse()) {
    await fn().catch((e: Error) => log(`cleanup ${what}: ${e.message}`));
  }
}

async function main(): Promise<number> {
  const p = readParams();
  const deadline = started + p.timeoutMinutes * 60_000;
  const loadWatch = new LoadWatch();
  const cleanup = runCleanups;
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    log('interrupted: stopping');
    void cleanup().finally(() => process.exit(130));
  });
  const overall = setTimeout(() => {
    log(`the whole run exceeded ${p.timeoutMinutes} minutes: stopping`);
    void cleanup().finally(() => process.exit(2));
  }, p.timeoutMinutes * 60_000);
  overall.unref();

  // --- the cluster, and the fake model its workers call
  let llm: DrillLlm;
  let own: OwnCluster | null = null;
  let cluster: ClusterState;
  if (p.attach) {
    const running = runningCluster();
    if (!running) throw new Error(`--attach: no running cluster in ${STATE_FILE}; start one with npm run start:cluster, or leave out --attach`);
    const worker = running.processes.find((q) => q.role === 'worker' && q.pid !== null);
    const env = worker ? environOf(worker.pid!) : {};
    const port = Number(/^http:\/\/(?:127\.0\.0\.1|localhost):(\d+)\//.exec(env.OPENAI_BASE_URL ?? '')?.[1]);
    if (!port) {
      throw new Error(
        '--attach: the cluster\'s workers have no loopback OPENAI_BASE_URL for the drill\'s fake model. Start it with\n' +
          '  OPENAI_BASE_URL=http://127.0.0.1:18555/v1 HOOKWISE_ROOM_TICK_SECONDS=1 npm run start:cluster',
      );
    }
    if (env.HOOKWISE_ROOM_TICK_SECONDS !== '1') log(`note: the cluster's room tick is ${env.HOOKWISE_ROOM_TICK_SECONDS ?? '30 (default)'} s, not 1 s: rooms drain slower`);
    llm = await startDrillLlm(port);
    cluster = running;
    log(`attached to the cluster of supervisor ${running.supervisorPid}; fake model on ${llm.baseURL}`);
  } else {
    if (runningCluster()) throw new Error(`a cluster is already running (${STATE_FILE}); stop it, or pass --attach to use it`);
    if (p.build) {
      log('npm run build (the APIs and workers will run from dist/)…');
      const built = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/dev/build.ts')], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
      if (built.status !== 0) throw new Error(`npm run build failed (${built.status ?? built.signal})`);
    }
    llm = await startDrillLlm(await freePort());
    log(`starting the cluster (npm run start:cluster) with OPENAI_BASE_URL=${llm.baseURL} HOOKWISE_ROOM_TICK_SECONDS=1…`);
    own = await startCluster(
      { OPENAI_BASE_URL: llm.baseURL, HOOKWISE_ROOM_TICK_SECONDS: '1', ...(p.build ? { HOOKWISE_CLUSTER_BUILD: 'dist' } : {}) },
      (line) => process.stderr.write(`${line.startsWith('[cluster]') ? '' : '[cluster] '}${line}\n`),
      Math.max(60_000, deadline - Date.now()),
    );
    cleanups.push(['the cluster', () => own!.stop()]);
    cluster = runningCluster()!;
    log(`cluster running (supervisor ${own.pid}) after ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }
  cleanups.push(['the fake model', () => llm.close()]);
  if (!cluster.databaseUrl) throw new Error('the state file has no databaseUrl');
  const db = createPool(cluster.databaseUrl, 4, (line) => log(`db: ${line}`));
  cleanups.push(['the database pool', () => db.end()]);

  const setup = await setUp(db, cluster, p.seed);
  for (const r of setup.receivers) cleanups.push([r.name, () => r.close()]);
  cleanups.push(['the drill\'s webhooks', async () => {
    for (const id of setup.webhookIds) await api(cluster.apiUrls[0], setup.apiKey, 'DELETE', `/webhooks/${id}`).catch(() => {});
  }]);
  log(`org ${setup.orgId}: 2 webhooks on loopback receivers (${RECEIVER_FAIL_RATE * 100} % 500s), ${ROOMS} rooms, ${WORKSPACES} workspaces with an agent each`);

  const plan = planEvents({
    events: p.events,
    seed: p.seed,
    mix: { outbound: 40, room: 30, generic: 30, genericRepeats: 0.05 },
    outboundLanes: OUTBOUND_TYPES.length,
    rooms: ROOMS,
    workspaces: WORKSPACES,
  });
  const planned = (k: Kind) => plan.filter((e) => e.kind === k).length;
  log(`plan: ${p.events} events at ${p.rate}/s (~${Math.round(p.events / p.rate)}s): ${planned('outbound')} outbound, ${planned('room')} room, ${planned('generic')} generic (${plan.filter((e) => e.repeatOf).length} repeated dedupe keys)`);

  // --- faults, progress, load
  const monitor = new ProcessMonitor((line) => log(`${t()} ${line}`));
  cleanups.push(['the process monitor', async () => monitor.stop()]);
  if (!cluster.temporal) throw new Error('the state file has no Temporal address');
  const probe = await PollerProbe.connect(cluster.temporal.address, cluster.temporal.namespace);
  cleanups.push(['the Temporal connection', () => probe.close()]);
  const faults = new Faults(monitor, log, t, probe);
  // The cluster says it is running once its APIs answer; workers poll only after bundling their workflows.
  const workers = cluster.processes.filter((q) => q.role === 'worker').map((q) => q.name);
  const appsFrom = (() => {
    const pid = cluster.processes.find((q) => q.role === 'worker')?.pid;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('/dist/src/main/') ? 'from dist/ (npm run build)' : 'from the sources (tsx)';
    } catch {
      return 'from an unknown build';
    }
  })();
  for (const waitedFrom = Date.now(); ; await sleep(1000)) {
    const polling = await probe.pollingPids();
    const state = runningCluster();
    const ready = workers.filter((w) => polling.has(state?.processes.find((q) => q.name === w)?.pid ?? -1));
    if (ready.length === workers.length) {
      log(`${t()} ${workers.join(' and ')} polling Temporal (waited ${((Date.now() - waitedFrom) / 1000).toFixed(0)}s)`);
      break;
    }
    if (Date.now() - waitedFrom > 300_000) throw new Error(`workers not polling Temporal after 300s: only ${ready.join(', ') || 'none'}`);
  }
  const senders = new Senders(setup.target, { timeoutMs: 15_000, maxBackoffMs: 5_000, seed: p.seed });
  let sent = 0;
  let loadDone = false;
  const results: SendResult[] = [];
  const lastProgress: { value: Awaited<ReturnType<typeof progress>> | null } = { value: null };

  const progressTimer = setInterval(() => {
    void progress(db, setup.orgId).then(
      (v) => (lastProgress.value = v),
      () => (lastProgress.value = null),
    ).finally(() => {
      const a = senders.stats.answers;
      const odd = Object.entries({ ...a.outbound })
        .concat(Object.entries(a.room), Object.entries(a.generic))
        .filter(([code]) => !['200', '202'].includes(code))
        .reduce<Record<string, number>>((m, [code, n]) => ((m[code] = (m[code] ?? 0) + n), m), {});
      const v = lastProgress.value;
      const rcv = setup.receivers.reduce((n, r) => n + r.stats().delivered, 0);
      log(
        `${t()} sent ${sent}/${p.events}, in flight ${senders.stats.inFlight}, retries ${senders.stats.retries}` +
          (Object.keys(odd).length ? ` [${Object.entries(odd).map(([c, n]) => `${c}×${n}`).join(' ')}]` : '') +
          ` | received ${rcv}` +
          (v
            ? ` | db: deliveries ok ${v.deliveriesSucceeded}/${v.outboundEvents}, room done ${v.backlogDone}/${v.roomEvents}, generic published ${v.published}/${v.inbox}, agent runs ${v.agentRunsDone}`
            : ' | db: unavailable') +
          ` | load ${os.loadavg()[0].toFixed(1)}`,
      );
    });
  }, 5_000);
  cleanups.push(['progress', async () => clearInterval(progressTimer)]);

  const expectedSeconds = p.events / p.rate;
  const loadStartedAt = Date.now();
  const workerKills: Array<Promise<unknown>> = [];
  let killTimer: NodeJS.Timeout | null = null;
  let workerKillsSkipped = 0;
  let oneOffs: Promise<unknown> = Promise.resolve();
  if (p.faults) {
    // Every 10 s, a worker that is polling (the other one's turn first): a worker still starting up
    // has nothing in flight to lose.
    let n = 0;
    killTimer = setInterval(() => {
      if (loadDone) return;
      const turn = `worker-${(n % 2) + 1}`;
      const other = `worker-${((n + 1) % 2) + 1}`;
      workerKills.push(
        faults.pollingWorker(turn, [other]).then(async (name) => {
          if (name === null) {
            workerKillsSkipped++;
            log(`${t()} worker fault skipped: no worker is polling Temporal right now`);
            return;
          }
          if (name === turn) n++;
          await faults.kill(name);
        }).catch((e: Error) => log(`fault: ${e.message}`)),
      );
    }, WORKER_KILL_EVERY_MS);
    // One of each, spread over the load, each after the previous one is back.
    const schedule: Array<[number, () => Promise<FaultRecord | null>]> = [
      [0.15, () => faults.kill('api-1')],
      [0.35, () => faults.kill('temporal-history')],
      [0.55, () => faults.kill('temporal-frontend')],
      [0.75, () => faults.crashPostgres(p.pgFault)],
    ];
    oneOffs = (async () => {
      for (const [at, fault] of schedule) {
        const wait = loadStartedAt + at * expectedSeconds * 1000 - Date.now();
        if (wait > 0) await sleep(wait);
        if (interrupted) return;
        await fault().catch((e: Error) => log(`fault: ${e.message}`));
        // Separate faults: the next one after this one's process has settled.
        await sleep(5_000);
      }
    })();
  }
  // How much of the load had a worker polling (killed workers take a while to poll again).
  const pollSamples: number[] = [];
  const pollTimer = setInterval(() => {
    void probe.pollingPids().then((pids) => {
      const state = runningCluster();
      pollSamples.push(workers.filter((w) => pids.has(state?.processes.find((q) => q.name === w)?.pid ?? -1)).length);
    });
  }, 2_000);
  cleanups.push(['the polling sampler', async () => clearInterval(pollTimer)]);
  log(`${t()} load starts`);
  const load = await runLoad(plan, p.rate, senders, (n) => (sent = n));
  results.push(...load.results);
  loadDone = true;
  clearInterval(pollTimer);
  if (killTimer) clearInterval(killTimer);
  const lastAckAt = Math.max(...results.map((r) => r.ackedAt ?? 0));
  log(`${t()} load done: ${results.filter((r) => r.acked).length}/${p.events} acked; waiting for the faults to finish`);
  await oneOffs;
  await Promise.all(workerKills);
  const lastFaultAt = faults.lastFaultAt;

  // --- drain: until every acked event is processed, for as long as processing moves
  log(`${t()} draining: waiting until every acknowledged event is processed (gives up after ${p.stallSeconds}s without progress, or ${p.drainLimitSeconds}s in all)`);
  const drainStart = Date.now();
  let verdict: Verdict | null = null;
  let processedAt: number | null = null;
  let drainEnd: 'drained' | 'stalled' | 'limit' = 'limit';
  let remaining = Infinity;
  let movedAt = Date.now();
  for (;;) {
    try {
      verdict = await verify(db, { orgId: setup.orgId, results, webhookOfLane: setup.webhookIds, receiverOfLane: setup.receivers, genericType: GENERIC_TYPE });
      if (verdict.complete) {
        processedAt = Date.now();
        drainEnd = 'drained';
        break;
      }
      if (verdict.lost.total + verdict.unfinished.total < remaining) {
        remaining = verdict.lost.total + verdict.unfinished.total;
        movedAt = Date.now();
      }
    } catch (e) {
      log(`${t()} verify: ${(e as Error).message}`);
    }
    if (Date.now() - movedAt > p.stallSeconds * 1000) {
      drainEnd = 'stalled';
      break;
    }
    if (Date.now() - drainStart > p.drainLimitSeconds * 1000 || Date.now() > deadline - 60_000) break;
    // Each check reads every row of the run: not too often on a big one.
    await sleep(p.events > 1000 ? 5000 : 2000);
  }
  if (drainEnd !== 'drained') log(`${t()} stopped waiting: ${drainEnd === 'stalled' ? `no progress for ${p.stallSeconds}s` : 'the drain limit'}; ${remaining} acknowledged event(s) not processed`);
  // Late duplicates and stragglers: a little longer, then the final word.
  await sleep(3000);
  verdict = await verify(db, { orgId: setup.orgId, results, webhookOfLane: setup.webhookIds, receiverOfLane: setup.receivers, genericType: GENERIC_TYPE });
  monitor.stop();
  clearInterval(progressTimer);
  // Temporal's record of a sample of the drill's workflows: where the processing time went.
  const sample = await db.query(
    `(SELECT workflow_id FROM deliveries WHERE organization_id = $1 ORDER BY random() LIMIT 20)
     UNION ALL (SELECT r.workflow_id FROM agent_runs r JOIN agents a ON a.id = r.agent_id WHERE a.organization_id = $1 ORDER BY random() LIMIT 10)`,
    [setup.orgId],
  ).catch(() => ({ rows: [] as Array<{ workflow_id: string }> }));
  const steps = await probe.stepTimes(sample.rows.map((r) => r.workflow_id));

  // --- report
  const acked = results.filter((r) => r.acked);
  const refused = results.filter((r) => r.refused);
  const answers = senders.stats.answers;
  const allAnswers: Record<string, number> = {};
  for (const k of ['outbound', 'room', 'generic'] as const) for (const [code, n] of Object.entries(answers[k])) allAnswers[code] = (allAnswers[code] ?? 0) + n;
  const fiveXx = Object.fromEntries(Object.entries(allAnswers).filter(([c]) => /^5\d\d$/.test(c)));
  const networkErrors = Object.fromEntries(Object.entries(allAnswers).filter(([c]) => !/^\d+$/.test(c)));
  const exits = {
    killed: monitor.exits.filter((e) => e.cause === 'killed').length,
    recovering: monitor.exits.filter((e) => e.cause === 'recovering').length,
    cascade: monitor.exits.filter((e) => e.cause === 'cascade'),
    own: monitor.exits.filter((e) => e.cause === 'own'),
    beforeTheDrill: monitor.before,
  };
  const exitList = (list: typeof exits.own) => {
    const by = new Map<string, number>();
    for (const e of list) by.set(`${e.name}: ${e.how}`, (by.get(`${e.name}: ${e.how}`) ?? 0) + 1);
    return [...by].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join('; ');
  };
  // Acks per second while they came: from the first ack to the last.
  const ackTimes = acked.map((r) => r.ackedAt!).sort((a, b) => a - b);
  const sendWindow = (ackTimes[ackTimes.length - 1] - ackTimes[0]) / 1000;
  const sustained = (acked.length - 1) / Math.max(sendWindow, 1e-3);
  // The slowest full 10 s of acks (where the faults bite).
  let slowest10s: number | null = null;
  for (let from = ackTimes[0]; from + 10_000 <= ackTimes[ackTimes.length - 1]; from += 1_000) {
    const n = ackTimes.filter((x) => x >= from && x < from + 10_000).length / 10;
    slowest10s = slowest10s === null ? n : Math.min(slowest10s, n);
  }
  const offered = p.events / Math.max((load.lastSendAt - load.startedAt) / 1000, 1e-3);
  const drainSeconds = processedAt === null || lastFaultAt === null ? null : Math.max(0, (processedAt - lastFaultAt) / 1000);
  const drainAfterLoad = processedAt === null ? null : (processedAt - lastAckAt) / 1000;

  const aims = {
    noneLost: verdict.lost.total === 0,
    noneTwicePastDedupe: verdict.twice.total === 0,
    everyRequestAcked: acked.length === p.events,
    no500: Object.keys(fiveXx).every((c) => c === '503'),
    noOwnExits: exits.own.length === 0,
    duplicatesWithinLimit: verdict.receipts.duplicatePct <= AIMS.duplicatePct,
    drainWithin30s: drainSeconds !== null && drainSeconds <= AIMS.drainSeconds,
    sustainedRate: sustained >= AIMS.rate,
  };
  const met = (b: boolean) => (b ? 'met' : 'NOT met');
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  const polling = {
    anyShare: pollSamples.length ? pollSamples.filter((n) => n > 0).length / pollSamples.length : 0,
    bothShare: pollSamples.length ? pollSamples.filter((n) => n >= workers.length).length / pollSamples.length : 0,
    samples: pollSamples.length,
  };
  const machine = loadWatch.summary();
  const faultRows = faults.records.map((f) => [
    f.what,
    `${((f.at - load.startedAt) / 1000).toFixed(0)}s`,
    f.backAt === null ? 'not back' : `${((f.backAt - f.at) / 1000).toFixed(1)}s`,
  ]);
  const detail = (by: Verdict['lost']) =>
    (['outbound', 'room', 'generic'] as const).flatMap((k) => Object.entries(by[k]).map(([stage, n]) => `${k}: ${n} ${stage}`)).join('; ');
  const lostDetail = detail(verdict.lost);

  const out: string[] = [];
  out.push('');
  out.push(`hookwise fault drill — ${new Date().toISOString()}`);
  out.push(`${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${process.version}; load average (1 min) ${machine.loadAvg1m.min}–${machine.loadAvg1m.max} (mean ${machine.loadAvg1m.mean}), CPU busy ${machine.cpuBusyPct} %, steal ${machine.cpuStealPct} %`);
  out.push(`cluster: ${own ? 'started by the drill' : 'attached'} (npm run start:cluster), APIs and workers ${appsFrom}; ${p.events} events at ${p.rate}/s, seed ${p.seed}; faults: ${p.faults ? `a worker every ${WORKER_KILL_EVERY_MS / 1000}s, api-1, temporal-history, temporal-frontend, PostgreSQL (${p.pgFault})` : 'none'}`);
  out.push('');
  out.push(
    table([
      ['aim', 'figure', ''],
      ['0 lost (acked; never received, matched or published)', `${verdict.lost.total} of ${acked.length} acked${lostDetail ? ` (${lostDetail})` : ''}${verdict.lost.total && drainEnd === 'limit' ? '; still moving when the drain limit hit' : ''}`, met(aims.noneLost)],
      ['0 processed twice past dedupe', `${verdict.twice.total} (generic key published twice ${verdict.twice.genericPublishedTwice}, room event admitted twice ${verdict.twice.roomEventAdmittedTwice}, two deliveries of one event to one webhook ${verdict.twice.deliveriesPerEventTwice}, a publish recorded twice under one Idempotency-Key ${verdict.twice.outboundRecordedTwice}, a room event recorded twice under one webhook-id ${verdict.twice.roomRecordedTwice})`, met(aims.noneTwicePastDedupe)],
      ['every sender request acked', `${acked.length} of ${p.events}${refused.length ? ` (${refused.length} refused: ${refused[0].refused})` : ''}`, met(aims.everyRequestAcked)],
      ['no 500 (503 only)', Object.keys(fiveXx).length ? Object.entries(fiveXx).map(([c, n]) => `${c}×${n}`).join(', ') : 'no 5xx', met(aims.no500)],
      ['no process exits on its own', `${exits.own.length}${exits.own.length ? ` (${exitList(exits.own)})` : ''}; ${exits.killed} killed by the drill, ${exits.recovering} failed restarts while coming back, ${exits.cascade.length} Temporal exits during a fault`, met(aims.noOwnExits)],
      ['duplicate receipts ≤ 0.5 % of deliveries', `${verdict.receipts.duplicatePct.toFixed(2)} % (${verdict.receipts.duplicates} of ${verdict.receipts.delivered})`, met(aims.duplicatesWithinLimit)],
      ['drain ≤ 30 s after the last fault', drainSeconds === null ? (processedAt === null ? `not drained (${drainEnd})` : 'no fault') : `${drainSeconds.toFixed(1)} s (${drainAfterLoad!.toFixed(1)} s after the last ack)`, met(aims.drainWithin30s)],
      ['sustained rate ≥ 21 requests/s', `${sustained.toFixed(1)} acked/s over ${sendWindow.toFixed(0)} s (offered ${offered.toFixed(1)}/s; slowest 10 s: ${slowest10s === null ? '–' : slowest10s.toFixed(1)}/s)`, met(aims.sustainedRate)],
    ]),
  );
  out.push('');
  if (faultRows.length) {
    out.push(table([['fault', 'at (from load start)', 'back after'], ...faultRows]));
    out.push('');
  }
  out.push(
    table([
      ['answers to senders', 'outbound', 'room', 'generic'],
      ...[...new Set(Object.keys(allAnswers))].sort().map((code) => [code, String(answers.outbound[code] ?? 0), String(answers.room[code] ?? 0), String(answers.generic[code] ?? 0)]),
    ]),
  );
  out.push('');
  out.push(
    `deliveries: ${verdict.deliveries.succeeded} succeeded of ${verdict.deliveries.total} (${verdict.deliveries.dead} dead); attempts ${Object.entries(verdict.deliveries.attempts).map(([s, n]) => `${s} ${n}`).join(', ')}; ` +
      `receivers answered 500 to ${setup.receivers.reduce((n, r) => n + r.stats().answered500, 0)} of ${setup.receivers.reduce((n, r) => n + r.stats().requests, 0)} requests`,
  );
  out.push(
    `room events dropped by the backlog cap: ${verdict.roomDropped}; model calls: ${llm.calls()}`,
  );
  const pctl = (xs: number[], q: number) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length === 0 ? 0 : v[Math.min(v.length - 1, Math.floor(q * v.length))];
  };
  const ackLatency = Object.fromEntries(
    (['outbound', 'room', 'generic'] as const).map((k) => [k, { p50: pctl(senders.stats.ackMs[k], 0.5), p99: pctl(senders.stats.ackMs[k], 0.99), max: pctl(senders.stats.ackMs[k], 1) }]),
  );
  out.push(`ack latency, ms (p50 / p99 / max): ${Object.entries(ackLatency).map(([k, l]) => `${k} ${l.p50} / ${l.p99} / ${l.max}`).join(', ')}`);
  out.push(
    `receipt to processed, s (p50 / p99 / max): ${(['outbound', 'room', 'generic'] as const)
      .map((k) => {
        const l = verdict!.latencySeconds[k];
        return `${k} ${l ? `${l.p50} / ${l.p99} / ${l.max}` : '–'}`;
      })
      .join(', ')}`,
  );
  out.push(
    `Temporal, sampled workflows (ms p50 / p90): workflow task waiting for a worker ${steps.workflowTaskWait.p50} / ${steps.workflowTaskWait.p90}, ` +
      `activity waiting for a worker ${steps.activityWait.p50} / ${steps.activityWait.p90}, activity running ${steps.activityRun.p50} / ${steps.activityRun.p90}`,
  );
  if (exits.cascade.length) out.push(`Temporal exits during a fault (not hookwise's processes): ${exitList(exits.cascade)}`);
  if (Object.keys(exits.beforeTheDrill).length) out.push(`exits before the drill began (cluster start): ${Object.entries(exits.beforeTheDrill).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (workerKillsSkipped) out.push(`worker faults skipped (no worker polling at the time): ${workerKillsSkipped}`);
  if (verdict.unfinished.total) out.push(`not finished past that when the drill stopped waiting: ${verdict.unfinished.total} (${detail(verdict.unfinished)})`);
  if (verdict.failed.roomItems + verdict.failed.agentRuns) out.push(`ended failed after their retries: ${verdict.failed.roomItems} room backlog items, ${verdict.failed.agentRuns} agent runs`);
  out.push(`workers polling during the load: at least one ${pct(polling.anyShare)} of the time, both ${pct(polling.bothShare)}`);
  if (verdict.lost.examples.length) out.push(`lost, e.g.: ${verdict.lost.examples.join('; ')}`);
  out.push(`aims: ${Object.values(aims).filter(Boolean).length} of ${Object.keys(aims).length} met`);
  process.stdout.write(out.join('\n') + '\n');

  const json = {
    drill: 'faults',
    date: new Date().toISOString(),
    machine,
    node: process.version,
    params: p,
    cluster: own ? 'started' : 'attached',
    appsFrom,
    acked: verdict.acked,
    lost: verdict.lost,
    unfinished: verdict.unfinished,
    failed: verdict.failed,
    workersPolling: polling,
    twice: verdict.twice,
    answers,
    fiveXx,
    networkErrors,
    exits,
    workerKillsSkipped,
    ackLatencyMs: ackLatency,
    latencySeconds: verdict.latencySeconds,
    temporalStepsMs: steps,
    faults: faults.records.map((f) => ({ ...f, at: f.at - load.startedAt, backAt: f.backAt === null ? null : f.backAt - load.startedAt })),
    deliveries: verdict.deliveries,
    receipts: verdict.receipts,
    roomDropped: verdict.roomDropped,
    drainSeconds,
    drainAfterLastAckSeconds: drainAfterLoad,
    sustainedAckedPerSecond: Math.round(sustained * 10) / 10,
    slowest10sAckedPerSecond: slowest10s,
    drainEnd,
    offeredPerSecond: Math.round(offered * 10) / 10,
    llmCalls: llm.calls(),
    aims,
  };
  process.stdout.write(JSON.stringify(json) + '\n');

  log(`${t()} stopping${own ? ' the cluster' : ''}…`);
  await cleanup();
  clearTimeout(overall);
  return Object.values(aims).every(Boolean) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (e: unknown) => {
    log(e instanceof Error ? e.message : String(e));
    await runCleanups();
    process.exit(2);
  },
);
