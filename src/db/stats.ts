import type { Queryable } from './pool.js';

export interface DeliveryBucket {
  at: Date;
  attempts: number;
  succeeded: number;
  failed: number;
  /** Attempts started and not yet answered: counted in `attempts`, in neither outcome. */
  inFlight: number;
  dead: number;
  p50LatencyMs: number | null;
  p99LatencyMs: number | null;
}

/**
 * An org's attempts over the last `windowSeconds` in `bucketSeconds` buckets: counts by outcome,
 * latency percentiles, and deliveries that ended dead. Read through the per-webhook attempt index,
 * so the cost follows the window's traffic, not the table's size.
 */
export async function deliveryBuckets(db: Queryable, organizationId: string, windowSeconds: number, bucketSeconds: number): Promise<DeliveryBucket[]> {
  const { rows } = await db.query(
    `WITH hooks AS (SELECT id FROM webhooks WHERE organization_id = $1),
     buckets AS (
       SELECT generate_series(0, ceil($2::float8 / $3)::int - 1) AS n
     ),
     a AS (
       SELECT floor(extract(epoch FROM (a.started_at - (now() - make_interval(secs => $2)))) / $3)::int AS n,
              a.status, a.latency_ms
         FROM delivery_attempts a
        WHERE a.webhook_id IN (SELECT id FROM hooks) AND a.started_at > now() - make_interval(secs => $2)
     ),
     dead AS (
       SELECT floor(extract(epoch FROM (d.completed_at - (now() - make_interval(secs => $2)))) / $3)::int AS n, count(*)::int AS dead
         FROM deliveries d
        WHERE d.organization_id = $1 AND d.status = 'dead' AND d.completed_at > now() - make_interval(secs => $2)
        GROUP BY 1
     )
     SELECT now() - make_interval(secs => $2) + make_interval(secs => b.n * $3) AS at,
            count(a.status)::int AS attempts,
            count(*) FILTER (WHERE a.status = 'succeeded')::int AS succeeded,
            count(*) FILTER (WHERE a.status IN ('failed', 'lost'))::int AS failed,
            count(*) FILTER (WHERE a.status = 'in_flight')::int AS "inFlight",
            coalesce(max(dead.dead), 0) AS dead,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY a.latency_ms) AS "p50LatencyMs",
            percentile_cont(0.99) WITHIN GROUP (ORDER BY a.latency_ms) AS "p99LatencyMs"
       FROM buckets b LEFT JOIN a ON a.n = b.n LEFT JOIN dead ON dead.n = b.n
      GROUP BY b.n ORDER BY b.n`,
    [organizationId, windowSeconds, bucketSeconds],
  );
  return rows;
}

/** Whole-window latency percentiles (not derivable from the buckets'). */
export async function deliveryLatency(db: Queryable, organizationId: string, windowSeconds: number): Promise<{ p50: number | null; p99: number | null }> {
  const { rows } = await db.query(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99
       FROM delivery_attempts
      WHERE webhook_id IN (SELECT id FROM webhooks WHERE organization_id = $1) AND started_at > now() - make_interval(secs => $2)
        AND latency_ms IS NOT NULL`,
    [organizationId, windowSeconds],
  );
  return rows[0];
}

export interface InboundCount {
  kind: 'room' | 'generic';
  /** The event source (room events) or the workspace (generic ingress). */
  id: string;
  name: string;
  roomId: string | null;
  workspaceId: string;
  /** For generic events: `webhook.<source>`. */
  sourceKind: string | null;
  accepted: number;
}

/** Inbound events acknowledged in the window, per event source and per generic source kind. */
export async function inboundCounts(db: Queryable, organizationId: string, windowSeconds: number): Promise<InboundCount[]> {
  const { rows } = await db.query(
    `SELECT 'room' AS kind, s.id, s.name, s.room_id AS "roomId", r.workspace_id AS "workspaceId", NULL AS "sourceKind",
            count(e.id)::int AS accepted
       FROM event_sources s JOIN rooms r ON r.id = s.room_id
       LEFT JOIN room_events e ON e.source_id = s.id AND e.received_at > now() - make_interval(secs => $2)
      WHERE s.organization_id = $1
      GROUP BY s.id, s.name, s.room_id, r.workspace_id
     UNION ALL
     SELECT 'generic', w.id, w.name, NULL, w.id, i.source_kind, count(*)::int
       FROM event_inbox i JOIN workspaces w ON w.id = i.workspace_id
      WHERE i.organization_id = $1 AND i.received_at > now() - make_interval(secs => $2)
      GROUP BY w.id, w.name, i.source_kind
      ORDER BY 1, 3`,
    [organizationId, windowSeconds],
  );
  return rows;
}
