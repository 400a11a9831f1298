import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { withRequestId, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';

// A caller's X-Request-Id is kept when it is a plain token; otherwise one is made.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;
const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The outermost middleware: gives each request an id (echoed as X-Request-Id and carried by every
 * log line written while it runs), counts and times it by route template, and logs one line per
 * request. Route templates keep the metrics' labels bounded.
 */
export function observe(logger: Logger, metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const given = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(given) ? given : randomUUID();
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    await withRequestId(requestId, async () => {
      try {
        await next();
      } finally {
        const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
        const seconds = (performance.now() - started) / 1000;
        metrics.httpRequests.inc({ method: ctx.method, route, status_class: `${Math.floor(ctx.status / 100)}xx` });
        metrics.httpDuration.observe({ method: ctx.method, route }, seconds);
        if (!QUIET.has(ctx.path)) {
          logger.info({ method: ctx.method, route, status: ctx.status, ms: Math.round(seconds * 1000) }, 'request');
        }
      }
    });
  };
}
