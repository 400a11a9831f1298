import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type pg from 'pg';
import type { Client as TemporalClient } from '@temporalio/client';
import { statementKind } from './sql-kinds.js';
import { dist, log, withTimeout, type Dist } from './support.js';

// Helpers of bench/ingress.ts: the request body, the load generator (a child process running
// autocannon and an open-loop pacer), and the server-side probes (timed queries, timed workflow
// starts, request times, event-loop delay, an optional CPU profile).

const THIS_FILE = fileURLToPath(import.meta.url);

// --- the body -----------------------------------------------------------------------------------

/**
 * A Stripe `charge.succeeded` event as Stripe sends it (trimmed), padded with metadata to exactly
 * `bytes` bytes. The same bytes go to every target.
 */
export function stripeLikeBody(bytes = 1024): string {
  const event = {
    id: 'evt_3PqXbench0000000000000001',
    object: 'event',
    api_version: '2024-06-20',
    created: 1718000000,
    data: {
      object: {
        id: 'ch_3PqXbench0000000000000001',
        object: 'charge',
        amount: 2000,
        amount_captured: 2000,
        amount_refunded: 0,
        billing_details: {
          address: { city: 'Berlin', country: 'DE', postal_code: '10117' },
          email: 'jenny.rosen@example.com',
          name: 'Jenny Rosen',
          phone: null,
        },
        captured: true,
        created: 1718000000,
        currency: 'eur',
        customer: 'cus_QbenchCustomer01',
        description: 'Subscription',
        livemode: false,
        metadata: { order_id: '6735', pad: '' },
        outcome: { network_status: 'approved_by_network', risk_level: 'normal', type: 'authorized' },
        paid: true,
        payment_intent: 'pi_3PqXbench0000000000000001',
        payment_method_details: {
          card: { brand: 'visa', country: 'US', exp_month: 8, exp_year: 2027, last4: '4242' },
          type: 'card',
        },
        status: 'succeeded',
      },
    },
    livemode: false,
    pending_webhooks: 1,
    request: { id: 'req_benchRequest01', idempotency_key: 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d' },
    type: 'charge.succeeded',
  };
  const base = Buffer.byteLength(JSON.stringify(event));
  if (base > bytes) throw new Error(`the body skeleton is ${base} bytes, more than ${bytes}`);
  event.data.object.metadata.pad = 'x'.repeat(bytes - base);
  return JSON.stringify(event);
}

// --- the load generator (runs in a child process) -----------------------------------------------

export interface LoadSpec {
  /** autocannon without a rate, autocannon with overallRate, or the open-loop pacer. */
  mode: 'autocannon-max' | 'autocannon-rate' | 'paced';
  origin: string;
  path: string;
  body: string;
  headers: Record<string, string>;
  /** When set, each request gets `?dedupe_key=<prefix>-<n>` (n counts per child, never repeats). */
  dedupePrefix?: string;
  connections: number;
  /** Requests per second (autocannon-rate, paced). */
  rate?: number;
  durationSec: number;
  /** A response counts as a success when it is 2xx and its body contains this. */
  expect: string;
  timeoutSec: number;
}

export interface LoadResult {
  mode: LoadSpec['mode'];
  wallMs: number;
  /** Requests written (autocannon: `requests.sent`). */
  sent: number;
  responses: number;
  /** 2xx with the expected body. */
  ok: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  /** 2xx whose body lacked `expect` (e.g. `{"ok":false}` from the token endpoint). */
  mismatches: number;
  okPerSecond: number;
  /** ms, request written → response complete, 2xx only. */
  latency: Dist;
  /** Paced only: ms from the request's scheduled time (includes waiting for a free connection). */
  fromSchedule?: Dist;
  /** Paced only: ms the generator itself was late in issuing requests. */
  generatorLag?: Dist;
  /** Paced only: requests still unanswered at the deadline (duration + timeout), abandoned and not in `latency`. */
  unanswered?: number;
  /** autocannon's own figures (1 ms resolution), for reference. */
  autocannon?: { latencyP50: number; latencyP99: number; requestsPerSecondMean: number };
  errorSamples: string[];
}

let dedupeCounter = 0;

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  const { default: autocannon } = await import('autocannon');
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  const started = performance.now();
  const result = await new Promise<import('autocannon').Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.origin + spec.path,
        method: 'POST',
        headers: spec.headers,
        body: spec.body,
        connections: spec.connections,
        duration: spec.durationSec,
        timeout: spec.timeoutSec,
        // Its coordinated-omission correction uses ceil(1 / per-connection rate) = 1 ms as the expected
        // interval, which floods its histogram with synthetic values; we keep our own raw samples.
        ...(spec.mode === 'autocannon-rate' ? { overallRate: spec.rate, ignoreCoordinatedOmission: true } : {}),
        verifyBody: (body: unknown) => typeof body === 'string' && body.includes(spec.expect),
        ...(spec.dedupePrefix !== undefined
          ? {
              requests: [
                {
                  setupRequest: (req: import('autocannon').Request) => {
                    req.path = `${spec.path}?dedupe_key=${spec.dedupePrefix}-${++dedupeCounter}`;
                    return req;
                  },
                },
              ],
            }
          : {}),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
    instance.on('reqError', (err) => {
      if (errorSamples.length < 5) errorSamples.push(String(err?.message ?? err));
    });
  });
  const wallMs = performance.now() - started;
  const statusCodes: Record<string, number> = {};
  for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = v?.count ?? 0;
  const twoxx = result['2xx'];
  const ok = twoxx - result.mismatches;
  return {
    mode: spec.mode,
    wallMs: Math.round(wallMs),
    sent: result.requests.sent,
    responses: Object.values(statusCodes).reduce((a, b) => a + b, 0),
    ok,
    non2xx: result.non2xx,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
    okPerSecond: Math.round((ok / (result.duration || wallMs / 1000)) * 10) / 10,
    latency: dist(latencies),
    autocannon: { latencyP50: result.latency.p50, latencyP99: result.latency.p99, requestsPerSecondMean: result.requests.average },
    errorSamples,
  };
}

/**
 * Open loop: request i is due at start + i / rate, whatever happened to the earlier ones, over a
 * keep-alive agent with `connections` sockets. Latency counts from the due time too, so a slow
 * server cannot hide its queueing by slowing the generator down (no coordinated omission).
 */
async function runPaced(spec: LoadSpec): Promise<LoadResult> {
  const rate = spec.rate ?? 500;
  const total = Math.round(rate * spec.durationSec);
  const interval = 1000 / rate;
  const url = new URL(spec.origin);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
  const body = Buffer.from(spec.body);
  const headers = { ...spec.headers, 'content-length': String(body.length) };
  const latencies: number[] = [];
  const fromSchedule: number[] = [];
  const lags: number[] = [];
  const statusCodes: Record<string, number> = {};
  const errorSamples: string[] = [];
  let errors = 0;
  let timeouts = 0;
  let mismatches = 0;
  let ok = 0;
  let non2xx = 0;
  let sent = 0;
  let outstanding = 0;
  let allSent = false;
  const inflight = new Set<http.ClientRequest>();
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const maybeDone = () => {
    if (allSent && outstanding === 0) finish();
  };

  const fire = (due: number) => {
    const issued = performance.now();
    lags.push(issued - due);
    sent++;
    outstanding++;
    const path = spec.dedupePrefix === undefined ? spec.path : `${spec.path}?dedupe_key=${spec.dedupePrefix}-${++dedupeCounter}`;
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      outstanding--;
      inflight.delete(req);
      return true;
    };
    const req = http.request({ host: url.hostname, port: url.port, path, method: 'POST', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const end = performance.now();
        if (!settle()) return;
        const status = res.statusCode ?? 0;
        statusCodes[status] = (statusCodes[status] ?? 0) + 1;
        if (status >= 200 && status < 300) {
          latencies.push(end - issued);
          fromSchedule.push(end - due);
          if (Buffer.concat(chunks).toString('utf8').includes(spec.expect)) ok++;
          else mismatches++;
        } else non2xx++;
        maybeDone();
      });
      res.on('error', (e) => {
        if (abandoned || !settle()) return;
        errors++;
        if (errorSamples.length < 5) errorSamples.push(e.message);
        maybeDone();
      });
    });
    req.setTimeout(spec.timeoutSec * 1000, () => {
      timeouts++;
      req.destroy(new Error(`timeout after ${spec.timeoutSec}s`));
    });
    inflight.add(req);
    req.on('error', (e) => {
      if (abandoned || !settle()) return;
      errors++;
      if (errorSamples.length < 5) errorSamples.push(e.message);
      maybeDone();
    });
    req.end(body);
  };

  const start = performance.now() + 5;
  let next = 0;
  let abandoned = false;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        fire(start + next * interval);
        next++;
      }
      if (next >= total) return resolve();
      setTimeout(tick, Math.max(0, start + next * interval - performance.now() - 0.3));
    };
    setTimeout(tick, 5);
  });
  allSent = true;
  maybeDone();
  // A server slower than the rate builds a queue that only grows; stop waiting for it at the deadline.
  // (A request waiting for a socket has no socket timeout yet, so that alone would not end it.)
  let deadlineTimer: NodeJS.Timeout | undefined;
  const unanswered = await Promise.race([
    finished.then(() => 0),
    new Promise<number>((r) => {
      deadlineTimer = setTimeout(() => r(outstanding), Math.max(0, start + (spec.durationSec + spec.timeoutSec) * 1000 - performance.now()));
    }),
  ]);
  clearTimeout(deadlineTimer);
  abandoned = true;
  for (const req of inflight) req.destroy();
  const wallMs = performance.now() - start;
  agent.destroy();
  return {
    mode: spec.mode,
    wallMs: Math.round(wallMs),
    sent,
    responses: Object.values(statusCodes).reduce((a, b) => a + b, 0),
    ok,
    non2xx,
    statusCodes,
    errors,
    timeouts,
    mismatches,
    okPerSecond: Math.round((ok / (wallMs / 1000)) * 10) / 10,
    latency: dist(latencies),
    fromSchedule: dist(fromSchedule),
    generatorLag: dist(lags),
    unanswered,
    errorSamples,
  };
}

type ToChild = { type: 'run'; id: number; spec: LoadSpec };
type FromChild = { type: 'ready' } | { type: 'result'; id: number; result: LoadResult } | { type: 'error'; id: number; message: string };

function loadgenChildMain(): void {
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ToChild) => {
    if (m?.type !== 'run') return;
    const run = m.spec.mode === 'paced' ? runPaced(m.spec) : runAutocannon(m.spec);
    run.then(
      (result) => process.send!({ type: 'result', id: m.id, result } satisfies FromChild),
      (err: unknown) => process.send!({ type: 'error', id: m.id, message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies FromChild),
    );
  });
  process.send!({ type: 'ready' } satisfies FromChild);
}

export interface Loadgen {
  pid: number;
  run(spec: LoadSpec): Promise<LoadResult>;
  close(): Promise<void>;
}

/**
 * Forks this file as the load generator: its own process (and event loop), so the generator and
 * the servers under test only share the machine's cores, not a thread.
 */
export async function startLoadgen(): Promise<Loadgen> {
  const child: ChildProcess = fork(THIS_FILE, [], {
    env: { ...process.env, HOOKWISE_BENCH_LOADGEN: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let exitInfo: string | null = null;
  const waiting = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();
  child.on('exit', (code, signal) => {
    exitInfo = `load generator exited with ${code ?? signal}`;
    for (const w of waiting.values()) w.reject(new Error(exitInfo));
    waiting.clear();
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: FromChild) => {
      if (m.type === 'ready') return resolve();
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (m.type === 'result') w.resolve(m.result);
      else w.reject(new Error(`load generator: ${m.message}`));
    });
    child.once('error', reject);
    child.once('exit', () => reject(new Error(exitInfo ?? 'load generator exited')));
  });
  await withTimeout(ready, 60_000, 'starting the load generator');
  let nextId = 0;
  return {
    pid: child.pid!,
    run(spec) {
      if (exitInfo) return Promise.reject(new Error(exitInfo));
      const id = ++nextId;
      const p = new Promise<LoadResult>((resolve, reject) => waiting.set(id, { resolve, reject }));
      child.send({ type: 'run', id, spec } satisfies ToChild);
      // Its own duration, the time to finish what is in flight, and slack for a loaded machine.
      return withTimeout(p, (spec.durationSec + spec.timeoutSec + 30) * 1000, `load run (${spec.mode} ${spec.path})`);
    },
    async close() {
      if (exitInfo) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(t);
    },
  };
}

// --- server-side probes -------------------------------------------------------------------------

/** Named duration samples (ms), reset between scenarios. */
export class Recorder {
  private samples = new Map<string, number[]>();
  private counts = new Map<string, number>();
  record(name: string, ms: number): void {
    let a = this.samples.get(name);
    if (!a) this.samples.set(name, (a = []));
    a.push(ms);
  }
  count(name: string, n = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }
  reset(): void {
    this.samples.clear();
    this.counts.clear();
  }
  snapshot(): { timings: Record<string, Dist>; counts: Record<string, number> } {
    return {
      timings: Object.fromEntries([...this.samples].map(([k, v]) => [k, dist(v)])),
      counts: Object.fromEntries(this.counts),
    };
  }
}

type AnyFn = (...args: unknown[]) => unknown;

/** Error class and message, shortened; ids and numbers blanked so that counts group. */
function errorName(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { message?: string } };
  const msg = `${e?.message ?? String(err)}${e?.cause?.message ? ` (cause: ${e.cause.message})` : ''}`;
  return `${e?.name ?? 'Error'}: ${msg.replace(/[0-9a-f]{8,}|\d+/gi, '#').slice(0, 120)}`;
}

/** Times `fn`'s promise or node-style callback, whichever form the caller used. */
function timed(fn: AnyFn, self: unknown, args: unknown[], done: (ms: number, failed: boolean, err?: unknown) => void): unknown {
  const t0 = performance.now();
  const last = args.length - 1;
  if (last >= 0 && typeof args[last] === 'function') {
    const cb = args[last] as AnyFn;
    args = [...args.slice(0, last), (err: unknown, ...rest: unknown[]) => {
      done(performance.now() - t0, Boolean(err), err);
      return cb(err, ...rest);
    }];
    return fn.apply(self, args);
  }
  const r = fn.apply(self, args);
  if (r && typeof (r as Promise<unknown>).then === 'function') {
    (r as Promise<unknown>).then(
      () => done(performance.now() - t0, false),
      (err) => done(performance.now() - t0, true, err),
    );
  }
  return r;
}

/**
 * Times every `pool.query` (waiting for a pooled connection included) as `<kind>`, and every
 * statement on the pool's connections (round trip and execution only) as `<kind> [on connection]`;
 * the difference is the wait for a connection. Samples the pool's queue length as well.
 * Must be called before the pool opens its first connection.
 */
export function instrumentPool(pool: pg.Pool, rec: Recorder): { stop(): void; maxWaiting(): number; meanWaiting(): number; resetWaiting(): void } {
  const sqlOf = (q: unknown) => (typeof q === 'string' ? q : String((q as { text?: string } | null)?.text ?? ''));
  const poolQuery = pool.query as unknown as AnyFn;
  (pool as unknown as { query: AnyFn }).query = function (this: unknown, ...args: unknown[]) {
    const kind = statementKind(sqlOf(args[0]));
    return timed(poolQuery, pool, args, (ms, failed) => rec.record(failed ? `${kind} (failed)` : kind, ms));
  };
  pool.on('connect', (client) => {
    const clientQuery = client.query as unknown as AnyFn;
    (client as unknown as { query: AnyFn }).query = function (this: unknown, ...args: unknown[]) {
      const kind = statementKind(sqlOf(args[0]));
      return timed(clientQuery, client, args, (ms) => rec.record(`${kind} [on connection]`, ms));
    };
  });
  let max = 0;
  let sum = 0;
  let n = 0;
  const timer = setInterval(() => {
    max = Math.max(max, pool.waitingCount);
    sum += pool.waitingCount;
    n++;
  }, 5);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    maxWaiting: () => max,
    meanWaiting: () => (n === 0 ? 0 : Math.round((sum / n) * 10) / 10),
    resetWaiting: () => {
      max = 0;
      sum = 0;
      n = 0;
    },
  };
}

/** Times `client.workflow.start` as `workflow start <type>`; failures are counted by error. */
export function instrumentWorkflowStart(client: TemporalClient, rec: Recorder): { completed(): number } {
  const wf = client.workflow as unknown as { start: AnyFn };
  const start = wf.start;
  let completed = 0;
  wf.start = function (this: unknown, ...args: unknown[]) {
    const type = typeof args[0] === 'string' ? args[0] : 'workflow';
    return timed(start, client.workflow, args, (ms, failed, err) => {
      rec.record(`workflow start ${type}${failed ? ' (failed)' : ''}`, ms);
      if (failed) rec.count(`workflow start ${type} failed: ${errorName(err)}`);
      else completed++;
    });
  };
  return { completed: () => completed };
}

/** Server-side time per request (request event → response finished) and requests in flight, on `server`. */
export function timedListener(server: Server, rec: Recorder, name: string): { inFlight(): number } {
  let inFlight = 0;
  // First, so that the clock starts before the app sees the request.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    const t0 = performance.now();
    inFlight++;
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      inFlight--;
    };
    res.once('finish', () => {
      rec.record(`${name}: server time (request → response written)`, performance.now() - t0);
      end();
    });
    // A client that hangs up (autocannon at its end) closes the response before it is written.
    res.once('close', end);
  });
  return { inFlight: () => inFlight };
}

/** Event-loop delay of this process (the API's thread), in ms. */
export function eventLoopMonitor() {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const ms = (ns: number) => Math.round((ns / 1e6) * 10) / 10;
  return {
    reset: () => h.reset(),
    snapshot: () => ({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) }),
    stop: () => h.disable(),
  };
}

// --- the whole machine's CPU (Linux; null elsewhere) -------------------------------------------

/** CPU seconds the whole machine has been busy (all cores: user, nice, system, irq, softirq) and stolen by the hypervisor. */
export function machineCpuSeconds(): { busy: number; steal: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …, in USER_HZ (100 on Linux).
    return { busy: (f[0] + f[1] + f[2] + f[5] + f[6]) / 100, steal: (f[7] ?? 0) / 100 };
  } catch {
    return null;
  }
}

/** Cores' worth of CPU used by processes other than ours over a short sample (a shared machine skews every figure). */
export async function othersLoad(ours: () => number, ms = 1000): Promise<number | null> {
  const m0 = machineCpuSeconds();
  const o0 = ours();
  await new Promise((r) => setTimeout(r, ms));
  const m1 = machineCpuSeconds();
  if (!m0 || !m1) return null;
  return Math.max(0, Math.round(((m1.busy - m0.busy - (ours() - o0)) / (ms / 1000)) * 100)) / 100;
}

// Run as the load generator when forked by startLoadgen().
if (process.env.HOOKWISE_BENCH_LOADGEN === '1' && typeof process.send === 'function' && process.argv[1] === THIS_FILE) {
  loadgenChildMain();
}
