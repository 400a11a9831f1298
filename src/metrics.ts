import { createHash, timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from './db/pool.js';
import { bearerToken } from './bearer-token.js';

/**
 * Every Prometheus metric hookwise exports, in one place. Labels are bounded: routes are templates,
 * outcomes and status classes are fixed sets, flows are the flow names, and per-resource labels exist
 * only for event sources (backlog), never per event or per delivery. Each process (and each test
 * instance) gets its own registry.
 */
export function createMetrics(service: 'api' | 'worker') {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'hookwise_' });
  const registers = [registry];
  const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

  return {
    registry,

    // --- API ------------------------------------------------------------------------------------
    httpRequests: new Counter({
      name: 'hookwise_http_requests_total',
      help: 'HTTP requests answered, by route template and status class.',
      labelNames: ['method', 'route', 'status_class'] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: 'hookwise_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route template.',
      labelNames: ['method', 'route'] as const,
      buckets: latencyBuckets,
      registers,
    }),
    inboundAcks: new Counter({
      name: 'hookwise_inbound_acks_total',
      help: 'Answers to inbound senders by route (room, generic, twilio) and outcome (accepted, duplicate, refused, unavailable).',
      labelNames: ['route', 'outcome'] as const,
      registers,
    }),
    startsDeferred: new Counter({
      name: 'hookwise_workflow_starts_deferred_total',
      help: 'Workflow starts that failed or were shed after the work was recorded; the recovery loop starts them.',
      labelNames: ['flow'] as const,
      registers,
    }),

    // --- worker ---------------------------------------------------------------------------------
    deliveries: new Counter({
      name: 'hookwise_deliveries_total',
      help: 'Deliveries that ended, by outcome (succeeded, dead, cancelled).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    attempts: new Counter({
      name: 'hookwise_delivery_attempts_total',
      help: 'Delivery attempts by result class (2xx, 3xx, 4xx, 5xx, network).',
      labelNames: ['status_class'] as const,
      registers,
    }),
    attemptDuration: new Histogram({
      name: 'hookwise_delivery_attempt_duration_seconds',
      help: 'How long a receiver took to answer a delivery attempt (connect to last byte).',
      buckets: latencyBuckets,
      registers,
    }),
    firstAttemptDelay: new Histogram({
      name: 'hookwise_delivery_first_attempt_delay_seconds',
      help: 'From a delivery being recorded (the publish) to its first attempt starting.',
      buckets: latencyBuckets,
      registers,
    }),
    llmCalls: new Counter({
      name: 'hookwise_llm_calls_total',
      help: 'Model calls by purpose (match, agent) and outcome (ok, error).',
      labelNames: ['purpose', 'outcome'] as const,
      registers,
    }),
    llmCacheHits: new Counter({
      name: 'hookwise_llm_cache_hits_total',
      help: 'Matches answered from earlier model answers instead of a new call.',
      registers,
    }),
    recoveryStarts: new Counter({
      name: 'hookwise_recovery_starts_total',
      help: 'Workflows the recovery loop started, retried later, or found refused for good, by flow.',
      labelNames: ['flow', 'result'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Whether an `Authorization` header is `Bearer <token>`, for /metrics on the API and on workers. Both
 * sides are compared as SHA-256 digests, always of one length, in constant time: how long a wrong
 * guess takes tells nothing of the token, its length included.
 */
export function carriesMetricsToken(authorization: string | undefined, token: string): boolean {
  const presented = bearerToken(authorization) ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

/** Result class of a delivery attempt, for the attempts counter. */
export function statusClass(statusCode: number | null): string {
  return statusCode === null ? 'network' : `${Math.floor(statusCode / 100)}xx`;
}

/**
 * Backlog depth and drops per event source, read from PostgreSQL when Prometheus scrapes (only
 * sources with something pending or dropped, so idle sources add no series).
 */
export function registerBacklogGauges(metrics: Metrics, db: Db): void {
  const dropped = new Gauge({
    name: 'hookwise_backlog_dropped',
    help: 'Matched events dropped (cumulative) because their source already had its cap of pending items, per event source.',
    labelNames: ['source'] as const,
    registers: [],
  });
  new Gauge({
    name: 'hookwise_backlog_pending',
    help: 'Backlog items waiting for a room agent, per event source.',
    labelNames: ['source'] as const,
    registers: [metrics.registry],
    // One query answers both gauges; this one is registered first, so it runs before either is read.
    async collect() {
      const { rows } = await db.query(
        `SELECT s.id, s.dropped_count AS dropped,
                (SELECT count(*)::int FROM backlog_items b WHERE b.source_id = s.id AND b.status = 'pending') AS pending
           FROM event_sources s
          WHERE s.dropped_count > 0 OR EXISTS (SELECT 1 FROM backlog_items b WHERE b.source_id = s.id AND b.status = 'pending')`,
      );
      this.reset();
      dropped.reset();
      for (const r of rows) {
        this.set({ source: r.id }, r.pending);
        dropped.set({ source: r.id }, r.dropped);
      }
    },
  });
  metrics.registry.registerMetric(dropped);
}
