import { z } from 'zod';
import { doc } from '../openapi.js';
import { deliveryBuckets, deliveryLatency, inboundCounts } from '../../db/stats.js';
import { orgOf, requireCapability } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';
import { parse } from '../validate.js';

// What an operator watches (the conversation seed's list): delivery success rate, attempts, latency,
// dead letters, and inbound volume per source, over the last hour or day.

const WINDOWS = { '1h': { seconds: 3_600, bucket: 60 }, '24h': { seconds: 86_400, bucket: 900 } } as const;
export const statsQuery = z.object({ window: z.enum(['1h', '24h']).default('1h') });

const round = (v: number | null) => (v === null ? null : Math.round(v));

export function statsRoutes(router: ApiRouter, { db }: ApiDeps): void {
  router.get('/stats/deliveries', doc({ summary: 'Delivery statistics over the last hour or day: totals and a time series', query: statsQuery, response: '`{window, bucketSeconds, totals, series}`' }), requireCapability('manage'), async (ctx) => {
    const { window } = parse(statsQuery, ctx.query);
    const w = WINDOWS[window];
    const [buckets, latency] = await Promise.all([deliveryBuckets(db, orgOf(ctx), w.seconds, w.bucket), deliveryLatency(db, orgOf(ctx), w.seconds)]);
    const sum = (k: 'attempts' | 'succeeded' | 'failed' | 'inFlight' | 'dead') => buckets.reduce((n, b) => n + b[k], 0);
    const [succeeded, failed] = [sum('succeeded'), sum('failed')];
    ctx.body = {
      window,
      bucketSeconds: w.bucket,
      totals: {
        attempts: sum('attempts'),
        succeeded,
        failed,
        inFlight: sum('inFlight'),
        dead: sum('dead'),
        // Over answered attempts: one still waiting on its receiver is neither a success nor a failure yet.
        successRate: succeeded + failed === 0 ? null : succeeded / (succeeded + failed),
        p50LatencyMs: round(latency.p50),
        p99LatencyMs: round(latency.p99),
      },
      series: buckets.map((b) => ({ ...b, at: b.at.getTime(), p50LatencyMs: round(b.p50LatencyMs), p99LatencyMs: round(b.p99LatencyMs) })),
    };
  });

  router.get('/stats/inbound', doc({ summary: 'Inbound events acknowledged per source over the last hour or day', query: statsQuery, response: '`{window, data: [{kind, id, name, roomId, workspaceId, sourceKind, accepted}]}`' }), requireCapability('read'), async (ctx) => {
    const { window } = parse(statsQuery, ctx.query);
    ctx.body = { window, data: await inboundCounts(db, orgOf(ctx), WINDOWS[window].seconds) };
  });
}
