import type { Db } from '../../src/db/pool.js';
import type { Receiver } from './receivers.js';
import type { SendResult } from './traffic.js';

// What really happened, from PostgreSQL (the events, deliveries, delivery_attempts, room_events,
// backlog_items and event_inbox tables, plus agent_runs) and from the receivers: never from logs.

export interface Progress {
  outboundEvents: number;
  deliveriesSucceeded: number;
  roomEvents: number;
  roomMatched: number;
  backlogDone: number;
  inbox: number;
  published: number;
  agentRunsDone: number;
}

export async function progress(db: Db, orgId: string): Promise<Progress> {
  const { rows } = await db.query(
    `SELECT
       (SELECT count(*) FROM events WHERE organization_id = $1 AND type LIKE 'drill.%')::int AS "outboundEvents",
       (SELECT count(*) FROM deliveries WHERE organization_id = $1 AND status = 'succeeded')::int AS "deliveriesSucceeded",
       (SELECT count(*) FROM room_events WHERE organization_id = $1)::int AS "roomEvents",
       (SELECT count(*) FROM room_events WHERE organization_id = $1 AND outcome = 'matched')::int AS "roomMatched",
       (SELECT count(*) FROM backlog_items WHERE organization_id = $1 AND status = 'done')::int AS "backlogDone",
       (SELECT count(*) FROM event_inbox WHERE organization_id = $1)::int AS inbox,
       (SELECT count(*) FROM event_inbox WHERE organization_id = $1 AND published_event_id IS NOT NULL)::int AS published,
       (SELECT count(*) FROM agent_runs r JOIN agents a ON a.id = r.agent_id WHERE a.organization_id = $1 AND r.status = 'done')::int AS "agentRunsDone"`,
    [orgId],
  );
  return rows[0];
}

type ByStage = { outbound: Record<string, number>; room: Record<string, number>; generic: Record<string, number>; total: number; examples: string[] };

export interface Verdict {
  /** Every acknowledged event fully processed (lost and unfinished both empty). */
  complete: boolean;
  acked: { outbound: number; room: number; generic: number; total: number };
  /**
   * Acked but not processed (yet), by where each one stopped: an outbound event whose delivery has not
   * reached the receiver, a room event not matched, a generic event not published.
   */
  lost: ByStage;
  /** Past that, not finished: a room event's backlog item not done, a generic event's agent run not done. */
  unfinished: ByStage;
  /** Terminal, but failed: backlog items and agent runs that ended `failed` (after their retries). */
  failed: { roomItems: number; agentRuns: number };
  /**
   * Processed twice past a dedupe that should have stopped it. Every sender request carries its key
   * (a generic dedupe key, an outbound Idempotency-Key, a room event's webhook-id), so a retry after a
   * lost acknowledgement recorded as a second event counts here too.
   */
  twice: {
    genericPublishedTwice: number;
    genericInboxRowsTwice: number;
    roomEventAdmittedTwice: number;
    deliveriesPerEventTwice: number;
    outboundRecordedTwice: number;
    roomRecordedTwice: number;
    total: number;
  };
  deliveries: { succeeded: number; total: number; dead: number; attempts: Record<string, number> };
  receipts: { delivered: number; duplicates: number; duplicatePct: number };
  roomDropped: number;
  /** Receipt to fully processed: outbound delivery recorded → succeeded, room event → item done, generic event → agent run done. */
  latencySeconds: Record<string, { p50: number; p99: number; max: number }>;
}

const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

/**
 * Checks every acknowledged event against PostgreSQL and the receivers. `webhookOfLane` maps an
 * outbound lane to its webhook id; `receiverOfLane` to its receiver.
 */
export async function verify(
  db: Db,
  o: { orgId: string; results: SendResult[]; webhookOfLane: string[]; receiverOfLane: Receiver[]; genericType: string },
): Promise<Verdict> {
  const acked = o.results.filter((r) => r.acked);
  const lost: ByStage = { outbound: {}, room: {}, generic: {}, total: 0, examples: [] };
  const unfinished: ByStage = { outbound: {}, room: {}, generic: {}, total: 0, examples: [] };
  const note = (into: ByStage) => (kind: 'outbound' | 'room' | 'generic', stage: string, id: string) => {
    bump(into[kind], stage);
    into.total++;
    if (into.examples.length < 10) into.examples.push(`${kind} ${id}: ${stage}`);
  };
  const miss = note(lost);
  const behind = note(unfinished);
  const failed = { roomItems: 0, agentRuns: 0 };

  // --- outbound: the acked event id has a succeeded delivery to its webhook, and the receiver got it.
  const out = await db.query(
    `SELECT e.id AS "eventId", e.body::jsonb -> 'data' ->> 'drillId' AS "drillId", d.id AS "deliveryId", d.webhook_id AS "webhookId",
            d.status, d.replay_of AS "replayOf"
       FROM events e LEFT JOIN deliveries d ON d.event_id = e.id
      WHERE e.organization_id = $1 AND e.type LIKE 'drill.%'`,
    [o.orgId],
  );
  const deliveriesOf = new Map<string, Array<{ webhookId: string; status: string; deliveryId: string }>>();
  const eventsPerDrillId = new Map<string, Set<string>>();
  for (const r of out.rows) {
    if (!eventsPerDrillId.has(r.drillId)) eventsPerDrillId.set(r.drillId, new Set());
    eventsPerDrillId.get(r.drillId)!.add(r.eventId);
    if (r.deliveryId === null) continue;
    if (!deliveriesOf.has(r.eventId)) deliveriesOf.set(r.eventId, []);
    deliveriesOf.get(r.eventId)!.push(r);
  }
  const counts = await db.query(
    `SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded, count(*) FILTER (WHERE status = 'dead')::int AS dead, count(*)::int AS total,
            (SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE organization_id = $1 AND replay_of IS NULL GROUP BY webhook_id, event_id HAVING count(*) > 1) x)::int AS twice
       FROM deliveries WHERE organization_id = $1`,
    [o.orgId],
  );
  const attempts = await db.query(
    `SELECT a.status, count(*)::int AS n FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.organization_id = $1 GROUP BY a.status`,
    [o.orgId],
  );
  for (const r of acked.filter((x) => x.ev.kind === 'outbound')) {
    const webhookId = o.webhookOfLane[r.ev.lane];
    const ds = (deliveriesOf.get(r.eventId!) ?? []).filter((d) => d.webhookId === webhookId);
    if (!eventsPerDrillId.get(r.ev.drillId)?.has(r.eventId!)) miss('outbound', 'event not recorded', r.ev.drillId);
    else if (ds.length === 0) miss('outbound', 'no delivery row', r.ev.drillId);
    else if (!ds.some((d) => d.status === 'succeeded')) miss('outbound', `delivery ${ds[0].status}`, r.ev.drillId);
    else if (!o.receiverOfLane[r.ev.lane].okReceipts.has(r.eventId!)) miss('outbound', 'succeeded in the database, never reached the receiver', r.ev.drillId);
  }

  // --- room: the acked payload was recorded and matched (else lost); its backlog item is done, or it was
  // dropped by the backlog cap (else unfinished).
  const room = await db.query(
    `SELECT re.id, re.source_id AS "sourceId", re.payload::jsonb ->> 'drillId' AS "drillId", re.outcome, re.workflow_started_at IS NOT NULL AS started,
            re.start_error AS "startError", b.id AS "itemId", b.status AS "itemStatus"
       FROM room_events re LEFT JOIN backlog_items b ON b.event_id = re.id
      WHERE re.organization_id = $1`,
    [o.orgId],
  );
  const roomRows = new Map<string, typeof room.rows>();
  const itemsPerEvent = new Map<string, number>();
  for (const r of room.rows) {
    if (!roomRows.has(r.drillId)) roomRows.set(r.drillId, []);
    roomRows.get(r.drillId)!.push(r);
    if (r.itemId) itemsPerEvent.set(r.id, (itemsPerEvent.get(r.id) ?? 0) + 1);
  }
  const dropped = await db.query(`SELECT id, dropped_count::int AS n FROM event_sources WHERE organization_id = $1`, [o.orgId]);
  const droppedBySource = new Map<string, number>(dropped.rows.map((r) => [r.id, r.n]));
  // Matched events without a backlog item: dropped by the cap, or admission still to run. A source's
  // drop count tells how many of its events were dropped (room events carry no per-event mark).
  const notAdmitted = new Map<string, string[]>();
  for (const r of acked.filter((x) => x.ev.kind === 'room')) {
    const rows = roomRows.get(r.ev.drillId) ?? [];
    if (rows.some((x) => x.itemStatus === 'done' || x.itemStatus === 'failed')) {
      if (!rows.some((x) => x.itemStatus === 'done')) failed.roomItems++;
      continue;
    }
    const matched = rows.find((x) => x.outcome === 'matched');
    if (matched) {
      const item = rows.find((x) => x.itemStatus);
      if (item) behind('room', `backlog item ${item.itemStatus}`, r.ev.drillId);
      else notAdmitted.set(matched.sourceId, [...(notAdmitted.get(matched.sourceId) ?? []), r.ev.drillId]);
      continue;
    }
    const stage =
      rows.length === 0
        ? 'never recorded'
        : rows.some((x) => x.outcome === 'no_match')
          ? 'no match'
          : rows.some((x) => x.started)
            ? 'workflow started, not matched'
            : rows.some((x) => x.startError)
              ? `workflow refused: ${rows[0].startError}`
              : 'workflow not started';
    miss('room', stage, r.ev.drillId);
  }
  let roomDropped = 0;
  for (const [sourceId, ids] of notAdmitted) {
    const drops = Math.min(ids.length, droppedBySource.get(sourceId) ?? 0);
    roomDropped += drops;
    for (const id of ids.slice(drops)) behind('room', 'matched, admission to run', id);
  }

  // --- generic: the key's inbox row was published, and the agent's run is done.
  const gen = await db.query(
    `SELECT i.id, i.dedupe_key AS "key", i.published_event_id AS "publishedEventId", i.workflow_started_at IS NOT NULL AS started,
            i.start_error AS "startError", r.status AS "runStatus"
       FROM event_inbox i LEFT JOIN agent_runs r ON r.inbox_id = i.id
      WHERE i.organization_id = $1`,
    [o.orgId],
  );
  const inboxByKey = new Map<string, typeof gen.rows>();
  for (const r of gen.rows) {
    if (!inboxByKey.has(r.key)) inboxByKey.set(r.key, []);
    inboxByKey.get(r.key)!.push(r);
  }
  const ackedKeys = new Set(acked.filter((x) => x.ev.kind === 'generic').map((x) => x.ev.drillId));
  for (const key of ackedKeys) {
    const rows = inboxByKey.get(key) ?? [];
    const published = rows.find((x) => x.publishedEventId);
    if (published) {
      if (rows.some((x) => x.runStatus === 'done')) continue;
      if (rows.some((x) => x.runStatus === 'failed')) {
        failed.agentRuns++;
        continue;
      }
      behind('generic', `published; agent run ${published.runStatus ?? 'not created'}`, key);
      continue;
    }
    const stage =
      rows.length === 0
        ? 'never recorded'
        : rows.some((x) => x.started)
          ? 'workflow started, not published'
          : rows.some((x) => x.startError)
            ? `workflow refused: ${rows[0].startError}`
            : 'workflow not started';
    miss('generic', stage, key);
  }
  const publishedTwice = await db.query(
    `SELECT count(*)::int AS n FROM (
       SELECT 1 FROM events WHERE organization_id = $1 AND type = $2
        GROUP BY body::jsonb -> 'data' ->> 'dedupe_key' HAVING count(*) > 1) x`,
    [o.orgId, o.genericType],
  );

  // --- twice
  let roomTwice = 0;
  for (const n of itemsPerEvent.values()) if (n > 1) roomTwice++;
  let inboxTwice = 0;
  for (const rows of inboxByKey.values()) if (new Set(rows.map((r) => r.id)).size > 1) inboxTwice++;
  let outboundTwice = 0;
  for (const ids of eventsPerDrillId.values()) if (ids.size > 1) outboundTwice++;
  let roomRecordedTwice = 0;
  for (const rows of roomRows.values()) if (new Set(rows.map((r) => r.id)).size > 1) roomRecordedTwice++;
  const twice = {
    genericPublishedTwice: publishedTwice.rows[0].n,
    genericInboxRowsTwice: inboxTwice,
    roomEventAdmittedTwice: roomTwice,
    deliveriesPerEventTwice: counts.rows[0].twice,
    outboundRecordedTwice: outboundTwice,
    roomRecordedTwice,
    total: 0,
  };
  twice.total =
    twice.genericPublishedTwice + twice.genericInboxRowsTwice + twice.roomEventAdmittedTwice + twice.deliveriesPerEventTwice + outboundTwice + roomRecordedTwice;

  let delivered = 0;
  let duplicates = 0;
  for (const rcv of o.receiverOfLane) {
    const s = rcv.stats();
    delivered += s.delivered;
    duplicates += s.duplicateReceipts;
  }

  // Seconds from receipt to fully processed, per kind (where the drain time goes).
  const latency = await db.query(
    `WITH l AS (
       SELECT 'outbound' AS kind, extract(epoch FROM completed_at - created_at) AS s FROM deliveries
        WHERE organization_id = $1 AND status = 'succeeded'
       UNION ALL
       SELECT 'room', extract(epoch FROM b.completed_at - re.received_at) FROM backlog_items b JOIN room_events re ON re.id = b.event_id
        WHERE b.organization_id = $1 AND b.status = 'done'
       UNION ALL
       SELECT 'generic', extract(epoch FROM r.completed_at - i.received_at) FROM agent_runs r JOIN event_inbox i ON i.id = r.inbox_id
        WHERE i.organization_id = $1 AND r.status = 'done')
     SELECT kind, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY s)::numeric, 1)::float AS p50,
            round(percentile_cont(0.99) WITHIN GROUP (ORDER BY s)::numeric, 1)::float AS p99, round(max(s)::numeric, 1)::float AS max
       FROM l GROUP BY kind`,
    [o.orgId],
  );

  const ackedBy = (k: string) => acked.filter((x) => x.ev.kind === k).length;
  return {
    complete: lost.total === 0 && unfinished.total === 0,
    acked: { outbound: ackedBy('outbound'), room: ackedBy('room'), generic: ackedBy('generic'), total: acked.length },
    lost,
    unfinished,
    failed,
    twice,
    deliveries: {
      succeeded: counts.rows[0].succeeded,
      total: counts.rows[0].total,
      dead: counts.rows[0].dead,
      attempts: Object.fromEntries(attempts.rows.map((r) => [r.status, r.n])),
    },
    receipts: { delivered, duplicates, duplicatePct: delivered === 0 ? 0 : (100 * duplicates) / delivered },
    roomDropped,
    latencySeconds: Object.fromEntries(latency.rows.map((r) => [r.kind, { p50: r.p50, p99: r.p99, max: r.max }])),
  };
}
