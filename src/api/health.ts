import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/pool.js';
import { temporalReachable } from '../temporal/client.js';
import type { Registry } from 'prom-client';
import { AppError } from '../errors.js';
import { carriesMetricsToken } from '../metrics.js';
import { doc } from './openapi.js';

/**
 * Bounded like Temporal's check: a PostgreSQL that takes connections but never answers (a black-holed
 * host, a full pool) would otherwise hold the probe for the pool's 30 s connect timeout, past any
 * orchestrator's probe timeout, which then reads as "no answer" instead of "not ready".
 */
async function postgresReachable(db: Db, timeoutMs = 2_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([db.query('SELECT 1').then(() => true, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** /healthz: the process is up. /readyz: it can do its work, i.e. PostgreSQL and Temporal answer. */
export function healthRouter(db: Db, temporal: Client, metrics: { registry: Registry; token: string | undefined }): Router {
  const router = new Router();
  // Prometheus text. HOOKWISE_METRICS_TOKEN, when set, must come as a bearer token (scrape config).
  router.get('/metrics', doc({ summary: 'Prometheus metrics (text format)', public: true, response: 'text/plain; version=0.0.4' }), async (ctx) => {
    if (metrics.token && !carriesMetricsToken(ctx.get('authorization'), metrics.token)) {
      throw new AppError('unauthorized', 'send Authorization: Bearer <HOOKWISE_METRICS_TOKEN>');
    }
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  router.get('/healthz', doc({ summary: 'Liveness: the process is up', public: true }), (ctx) => {
    ctx.body = { ok: true };
  });
  router.get('/readyz', doc({ summary: 'Readiness: PostgreSQL and Temporal answer (else 503)', public: true }), async (ctx) => {
    const [postgres, temporalOk] = await Promise.all([postgresReachable(db), temporalReachable(temporal)]);
    ctx.status = postgres && temporalOk ? 200 : 503;
    ctx.body = { ok: postgres && temporalOk, postgres, temporal: temporalOk };
  });
  return router;
}
