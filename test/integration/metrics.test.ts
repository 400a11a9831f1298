import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: the package ships no types; it is the Prometheus Go parser's port to JS.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { orgApi } from '../support/fixtures.js';
import { startReceiver } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';
import { buildWorker, type HookwiseWorker } from '../../src/roots/worker.js';
import { loadConfig } from '../../src/config.js';
import { inject } from 'vitest';

// GET /metrics on the API and on the worker, read the way Prometheus reads it: the text format,
// families with HELP and TYPE, and labels that stay bounded (no per-event or per-delivery values).

interface Family {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string }>;
}

let h: Hookwise;
let worker: HookwiseWorker;
let workerDone: Promise<void>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  // The worker is built here (not by the harness) to read its metrics URL.
  h = await startHookwise({ worker: false });
  worker = await buildWorker(loadConfig(h.env), { workflowBundle: { codePath: inject('workflowBundlePath') }, recovery: false });
  workerDone = worker.run();
  receiver = await startReceiver({ replies: [{ status: 503 }], fallback: { status: 200 } });
});
afterAll(async () => {
  worker?.shutdown();
  await workerDone;
  await worker?.close();
  await receiver?.close();
  await h?.stop();
});

async function scrape(url: string): Promise<Map<string, Family>> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await res.text()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

const sum = (f: Family | undefined, match: Record<string, string> = {}) =>
  (f?.metrics ?? [])
    .filter((m) => Object.entries(match).every(([k, v]) => m.labels?.[k] === v))
    .reduce((n, m) => n + Number(m.value ?? m.count ?? m.buckets?.['+Inf'] ?? 0), 0);

// Wrong tokens for `scrape-token-0123456789`: one of its length (one character off), a longer one
// that starts with it, and a shorter one.
const WRONG_TOKENS = ['scrape-token-0123456780', 'scrape-token-0123456789-and-more', 'scrape-token'];

describe('Prometheus metrics', () => {
  it('count deliveries, attempts by class, latencies, inbound acks and starts, with bounded labels', async () => {
    const { call } = await orgApi(h);
    await call('POST', '/api/v1/webhooks', { url: receiver.url, events: ['*'], retryPolicy: { policy: 'fixed', attempts: 3, delaySeconds: 0.05 } });
    const published = await call('POST', '/api/v1/events', { type: 'metrics.check', data: {} });
    const ws = await call('POST', '/api/v1/workspaces', { name: 'm' });
    await fetch(`${h.baseUrl}/api/v1/webhooks/generic/${ws.id}?dedupe_key=m1`, { method: 'POST', body: '{}' });
    await fetch(`${h.baseUrl}/api/v1/webhooks/generic/${ws.id}?dedupe_key=m1`, { method: 'POST', body: '{}' });
    await fetch(`${h.baseUrl}/webhooks/not-a-token`, { method: 'POST', body: '{}' });
    await waitFor(async () => (await call('GET', `/api/v1/deliveries/${published.deliveries[0]}`)).status === 'succeeded', { what: 'the delivery' });

    const w = await waitFor(async () => {
      const m = await scrape(`${worker.metricsUrl}/metrics`);
      return sum(m.get('hookwise_deliveries_total'), { outcome: 'succeeded' }) >= 1 ? m : null;
    });
    expect(sum(w.get('hookwise_delivery_attempts_total'), { status_class: '5xx' })).toBeGreaterThanOrEqual(1);
    expect(sum(w.get('hookwise_delivery_attempts_total'), { status_class: '2xx' })).toBeGreaterThanOrEqual(1);
    expect(w.get('hookwise_delivery_attempt_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(sum(w.get('hookwise_delivery_first_attempt_delay_seconds'))).toBeGreaterThanOrEqual(1);
    expect(w.get('hookwise_llm_calls_total')?.type).toBe('COUNTER');
    expect(w.get('hookwise_recovery_starts_total')?.type).toBe('COUNTER');
    expect(w.get('hookwise_process_resident_memory_bytes')).toBeDefined();

    const a = await scrape(`${h.baseUrl}/metrics`);
    expect(sum(a.get('hookwise_inbound_acks_total'), { route: 'generic', outcome: 'accepted' })).toBe(1);
    expect(sum(a.get('hookwise_inbound_acks_total'), { route: 'generic', outcome: 'duplicate' })).toBe(1);
    expect(sum(a.get('hookwise_inbound_acks_total'), { route: 'room', outcome: 'refused' })).toBe(1);
    expect(sum(a.get('hookwise_http_requests_total'), { route: '/api/v1/events', method: 'POST', status_class: '2xx' })).toBe(1);
    expect(a.get('hookwise_workflow_starts_deferred_total')?.type).toBe('COUNTER');

    // Bounded labels: route templates, never ids of events, deliveries, webhooks or orgs.
    for (const family of [...a.values(), ...w.values()]) {
      expect(family.help.length, family.name).toBeGreaterThan(0);
      for (const m of family.metrics) {
        for (const [label, value] of Object.entries(m.labels ?? {})) {
          if (label === 'source') continue; // per event source, by design (backlog gauges)
          expect(value, `${family.name}{${label}}`).not.toMatch(/^(evt|dlv|wh|org|inb|rev|atm)_/);
          expect(value, `${family.name}{${label}}`).not.toMatch(/[0-9A-Z]{26}/);
        }
      }
    }
  });

  it('HOOKWISE_METRICS_TOKEN, when set, is required', async () => {
    const guarded = await startHookwise({ worker: false, env: { HOOKWISE_METRICS_TOKEN: 'scrape-token-0123456789' } });
    try {
      expect((await fetch(`${guarded.baseUrl}/metrics`)).status).toBe(401);
      const ok = await fetch(`${guarded.baseUrl}/metrics`, { headers: { authorization: 'Bearer scrape-token-0123456789' } });
      expect(ok.status).toBe(200);
      for (const wrong of WRONG_TOKENS) {
        const res = await fetch(`${guarded.baseUrl}/metrics`, { headers: { authorization: `Bearer ${wrong}` } });
        expect(res.status, wrong).toBe(401);
      }
    } finally {
      await guarded.stop();
    }
  });

  it("a worker's /metrics takes only its token, and a failing scrape answers 500 without the error's detail", async () => {
    // Its PostgreSQL refuses connections, so the backlog gauges' query fails on every scrape.
    const env = { ...h.env, HOOKWISE_METRICS_TOKEN: 'scrape-token-0123456789', DATABASE_URL: 'postgres://hookwise@127.0.0.1:1/none' };
    const guarded = await buildWorker(loadConfig(env), { workflowBundle: { codePath: inject('workflowBundlePath') }, recovery: false });
    try {
      expect((await fetch(`${guarded.metricsUrl}/metrics`)).status).toBe(401);
      for (const wrong of WRONG_TOKENS) {
        const res = await fetch(`${guarded.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${wrong}` } });
        expect(res.status, wrong).toBe(401);
      }
      const failed = await fetch(`${guarded.metricsUrl}/metrics`, { headers: { authorization: 'Bearer scrape-token-0123456789' } });
      expect(failed.status).toBe(500);
      expect(await failed.text()).toBe('metrics unavailable');
    } finally {
      await guarded.close();
    }
  });
});
