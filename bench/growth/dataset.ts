import type pg from 'pg';

// The growth data set, written with set-based SQL straight into hookwise's own tables (after its
// migrations), with what the app itself writes: events with their envelope bodies and feed columns
// (seq, xid), deliveries one per (webhook, event) with workflow ids, attempts numbered 1…n with the
// retry schedule's spacing, webhook_stats shards summing the attempts, endpoint_slots rows 1…limit,
// replays pointing at dead deliveries (some made by bulk operations), rooms with sources, definitions,
// a match log and a backlog, generic ingress rows, agents, their runs and chats.
//
// Everything is a function of row numbers (hashint8extended), not of random(): an org's rows are the
// same in every database seeded with the same anchor and scale, so the benchmark can put the one
// "measured" org, identical, into an empty database and into the full one.

export const FULL = { orgs: 100, webhooksPerOrg: 20, events: 1_000_000, roomEvents: 500_000, inbox: 200_000 } as const;
export const SPAN_DAYS = 35;
export const MEASURED_ORG = 'growth-measured';
export const FANOUT_ORG = 'growth-fanout';
export const EVENT_TYPES = ['message.created', 'agent.run.completed', 'agent.run.failed', 'session.started', 'session.ended', 'tool.called'];

export interface SeedOptions {
  /** Fraction of the full row counts of the large tables (orgs and webhooks stay as they are). */
  scale: number;
  /** Every org, or only the measured one (index 0), whose rows are the same either way. */
  orgs: 'all' | 'measured';
  /** "Now" for the data: the newest rows are just before it. */
  anchor: Date;
  /** A sealed signing key (any webhook secret sealed with the deployment's key). */
  sealedSecret: string;
  log: (line: string) => void;
  /** Event rows per batch (each batch also writes its deliveries, attempts, room and inbox rows). */
  batchEvents?: number;
}

export interface SeedCounts {
  [table: string]: number;
}

// Deterministic draws and ids. sid(): prefix_ + 10 hex chars of epoch ms + 16 of hash, the length of
// hookwise's ULID-like ids and sorting by time as they do.
const HELPERS = `
CREATE OR REPLACE FUNCTION growth_seed.r(n bigint, salt int) RETURNS float8 LANGUAGE sql STABLE PARALLEL SAFE AS
  $$ SELECT (hashint8extended(n, salt) & 4503599627370495)::float8 / 4503599627370496.0 $$;
CREATE OR REPLACE FUNCTION growth_seed.sid(p text, t timestamptz, n bigint) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
  $$ SELECT p || '_' || upper(lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 10, '0'))
                     || upper(lpad(to_hex(hashint8extended(n, 11) & 1152921504606846975), 16, '0')) $$;
-- Attempt a of a delivery made at t starts after the retry schedule's delays (30 s, doubling).
CREATE OR REPLACE FUNCTION growth_seed.att_start(t timestamptz, a int) RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS
  $$ SELECT t + make_interval(secs => 0.05 + 30 * (power(2, a - 1) - 1)) $$;
CREATE OR REPLACE FUNCTION growth_seed.att_ok(status text, a int, count int) RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS
  $$ SELECT status = 'succeeded' AND a = count $$;
CREATE OR REPLACE FUNCTION growth_seed.att_timeout(n bigint, a int, ok boolean) RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS
  $$ SELECT NOT ok AND growth_seed.r(n * 16 + a, 6) < 0.3 $$;
CREATE OR REPLACE FUNCTION growth_seed.att_latency(n bigint, a int, ok boolean) RETURNS int LANGUAGE sql STABLE PARALLEL SAFE AS
  $$ SELECT CASE WHEN ok THEN 20 + floor(power(growth_seed.r(n * 16 + a, 5), 3) * 2000)::int
                 WHEN growth_seed.att_timeout(n, a, ok) THEN 10000
                 ELSE 5 + floor(growth_seed.r(n * 16 + a, 5) * 500)::int END $$;
CREATE OR REPLACE FUNCTION growth_seed.att_code(n bigint, a int, ok boolean) RETURNS int LANGUAGE sql STABLE PARALLEL SAFE AS
  $$ SELECT CASE WHEN ok THEN 200 WHEN growth_seed.att_timeout(n, a, ok) THEN NULL
                 ELSE (ARRAY[500, 502, 503, 429, 404])[1 + floor(growth_seed.r(n * 16 + a, 7) * 5)::int] END $$;
CREATE OR REPLACE FUNCTION growth_seed.att_error(n bigint, a int, ok boolean) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
  $$ SELECT CASE WHEN ok THEN NULL WHEN growth_seed.att_timeout(n, a, ok) THEN 'timed out after 10000 ms'
                 ELSE 'endpoint answered ' || growth_seed.att_code(n, a, ok) END $$;
`;

/** Sizes per org: the measured org (index 0) is an average org; the others follow a skewed spread. */
function orgPlan(scale: number, which: 'all' | 'measured') {
  const n = FULL.orgs;
  const per = (total: number) => Math.max(1, Math.round((total * scale) / n));
  const weights = Array.from({ length: n - 1 }, (_, k) => 1 / Math.pow(k + 1, 0.8));
  const wsum = weights.reduce((a, b) => a + b, 0);
  const share = (total: number, k: number) => (k === 0 ? per(total) : Math.max(1, Math.round(((total * scale - per(total)) * weights[k - 1]) / wsum)));
  const orgs = [];
  let ev = 0;
  let rev = 0;
  let inb = 0;
  for (let k = 0; k < n; k++) {
    const o = { idx: k, name: k === 0 ? MEASURED_ORG : `growth-org-${String(k).padStart(2, '0')}`, nEv: share(FULL.events, k), evLo: ev, nRev: share(FULL.roomEvents, k), revLo: rev, nInb: share(FULL.inbox, k), inbLo: inb };
    ev += o.nEv;
    rev += o.nRev;
    inb += o.nInb;
    if (which === 'all' || k === 0) orgs.push(o);
  }
  return orgs;
}

async function q(c: pg.Client, sql: string, params: unknown[] = []): Promise<number> {
  const t0 = Date.now();
  const r = await c.query(sql, params);
  // GROWTH_SEED_TIMING=1: each statement's time on stderr (to see where seeding spends it).
  if (process.env.GROWTH_SEED_TIMING) process.stderr.write(`  ${Date.now() - t0} ms ${r.rowCount} rows: ${sql.trim().slice(0, 60).replace(/\s+/g, ' ')}\n`);
  return r.rowCount ?? 0;
}

/**
 * Settings of a seeding session. As the superuser (the embedded PostgreSQL), row triggers are off
 * (session_replication_role = replica): the foreign-key checks, which the construction satisfies,
 * and the per-row NOTIFY of the live feed, which nobody listens to yet, would cost a third of the time.
 */
export async function prepareSession(c: pg.Client): Promise<{ triggersOff: boolean }> {
  await c.query(`SET synchronous_commit = off`);
  await c.query(`SET work_mem = '256MB'`);
  await c.query(`SET maintenance_work_mem = '1GB'`);
  const { rows } = await c.query(`SELECT rolsuper FROM pg_roles WHERE rolname = current_user`);
  if (rows[0]?.rolsuper) await c.query(`SET session_replication_role = replica`);
  return { triggersOff: Boolean(rows[0]?.rolsuper) };
}

// Tables loaded in bulk: their secondary indexes are dropped first and built again (from their own
// definitions, so the schema ends exactly as migrated) after the load: a sorted build is several times
// cheaper than millions of scattered insertions. Primary keys and constraints stay and check as rows go in;
// a unique index rebuilt over duplicates would fail the seed.
const BULK_TABLES = ['events', 'deliveries', 'delivery_attempts', 'room_events', 'backlog_items', 'event_inbox', 'chat_messages'];

async function dropSecondaryIndexes(c: pg.Client, tables: string[]): Promise<string[]> {
  const { rows } = await c.query(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = current_schema() AND t.relname = ANY($1) AND NOT i.indisprimary
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
      ORDER BY pg_relation_size(t.oid) DESC, 1`,
    [tables],
  );
  for (const r of rows) await c.query(`DROP INDEX ${r.name}`);
  return rows.map((r) => r.def as string);
}

/**
 * Fills a migrated, empty hookwise database. `lanes` are dedicated connections, each prepared with
 * prepareSession (they use temp tables); the time slices are shared out among them.
 */
export async function seedDataset(lanes: pg.Client[], o: SeedOptions): Promise<SeedCounts> {
  const c = lanes[0];
  const counts: SeedCounts = {};
  const add = (t: string, n: number) => (counts[t] = (counts[t] ?? 0) + n);
  const anchor = o.anchor.toISOString();
  const span = SPAN_DAYS * 86_400;
  await c.query(`DROP SCHEMA IF EXISTS growth_seed CASCADE; CREATE SCHEMA growth_seed`);
  await c.query(HELPERS);

  const plan = orgPlan(o.scale, o.orgs);
  await c.query(`CREATE UNLOGGED TABLE growth_seed.seed_orgs (idx int PRIMARY KEY, id text, name text, n_ev bigint, ev_lo bigint, n_rev bigint, rev_lo bigint, n_inb bigint, inb_lo bigint, created_at timestamptz)`);
  await c.query(
    `INSERT INTO growth_seed.seed_orgs
     SELECT p.idx, growth_seed.sid('org', t, p.idx), p.name, p.n_ev, p.ev_lo, p.n_rev, p.rev_lo, p.n_inb, p.inb_lo, t
       FROM jsonb_to_recordset($1::jsonb) AS p(idx int, name text, n_ev bigint, ev_lo bigint, n_rev bigint, rev_lo bigint, n_inb bigint, inb_lo bigint),
            LATERAL (SELECT $2::timestamptz - interval '40 days' + make_interval(hours => p.idx)) x(t)`,
    [JSON.stringify(plan.map((p) => ({ idx: p.idx, name: p.name, n_ev: p.nEv, ev_lo: p.evLo, n_rev: p.nRev, rev_lo: p.revLo, n_inb: p.nInb, inb_lo: p.inbLo }))), anchor],
  );
  add('organizations', await q(c, `INSERT INTO organizations (id, name, created_at) SELECT id, name, created_at FROM growth_seed.seed_orgs`));

  // Webhooks: a quarter take every event, the rest three of the six types; a few failing, a few disabled.
  await c.query(
    `CREATE UNLOGGED TABLE growth_seed.seed_hooks AS
     SELECT o.idx AS org_idx, o.id AS org_id, j, growth_seed.sid('wh', t, o.idx * 64 + j) AS id, t AS created_at,
            j % 4 = 0 AS star,
            CASE WHEN j % 4 = 0 THEN ARRAY['*'] ELSE ARRAY[($2::text[])[1 + j % 6], ($2::text[])[1 + (j + 2) % 6], ($2::text[])[1 + (j + 3) % 6]] END AS events,
            growth_seed.r(o.idx * 64 + j, 20) AS u
       FROM growth_seed.seed_orgs o, generate_series(0, $1::int - 1) j,
            LATERAL (SELECT o.created_at + make_interval(hours => j)) x(t)`,
    [FULL.webhooksPerOrg, EVENT_TYPES],
  );
  await c.query(`CREATE INDEX ON growth_seed.seed_hooks (org_idx)`);
  add(
    'webhooks',
    await q(
      c,
      `INSERT INTO webhooks (id, organization_id, name, url, events, signing_keys, custom_headers, retry_policy, max_in_flight, max_per_minute,
                             active, disabled_reason, failing_since, created_at, updated_at)
       SELECT id, org_id, 'endpoint ' || j, 'https://hooks-' || org_idx || '.example.com/in/' || j, events,
              jsonb_build_array(jsonb_build_object('secret', $1::text, 'createdAt', (extract(epoch FROM created_at) * 1000)::bigint, 'expiresAt', NULL)),
              CASE WHEN j % 5 = 0 THEN '{"x-team": "growth"}'::jsonb ELSE '{}'::jsonb END,
              '{"policy": "exponential", "attempts": 8, "delaySeconds": 30}'::jsonb,
              CASE WHEN j % 7 = 0 THEN 50 END, CASE WHEN j % 7 = 0 THEN 200 END,
              u >= 0.01, CASE WHEN u < 0.01 THEN 'the endpoint answered 410 Gone' END,
              CASE WHEN u < 0.05 THEN $2::timestamptz - interval '3 hours' END, created_at, created_at
         FROM growth_seed.seed_hooks ORDER BY created_at`,
      [o.sealedSecret, anchor],
    ),
  );

  // Bulk operations, one every 3 days per org; totals are set from the replays they made, at the end.
  await c.query(
    `CREATE UNLOGGED TABLE growth_seed.seed_ops AS
     SELECT o.idx AS org_idx, o.id AS org_id, k, t, growth_seed.sid('op', t, o.idx * 16 + k) AS id
       FROM growth_seed.seed_orgs o, generate_series(0, 9) k, LATERAL (SELECT $1::timestamptz - make_interval(days => 3 * (k + 1))) x(t)`,
    [anchor],
  );
  add(
    'operations',
    await q(
      c,
      `INSERT INTO operations (id, organization_id, kind, params, status, total, created_at, completed_at, workflow_started_at)
       SELECT p.id, p.org_id, CASE WHEN k % 2 = 0 THEN 'dead_letters.replay' ELSE 'webhook.recover' END,
              CASE WHEN k % 2 = 0 THEN jsonb_build_object('statuses', jsonb_build_array('dead'))
                   ELSE jsonb_build_object('webhookId', h.id, 'statuses', jsonb_build_array('dead', 'cancelled'), 'since', to_char(t - interval '7 days', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) END,
              'completed', 0, t, t + interval '1 hour', t
         FROM growth_seed.seed_ops p JOIN growth_seed.seed_hooks h ON h.org_idx = p.org_idx AND h.j = p.k % 20
        ORDER BY t`,
    ),
  );

  // Rooms: per org one workspace with two rooms of two sources each, three definitions per source,
  // and two agents (roles support, billing).
  await c.query(
    `CREATE UNLOGGED TABLE growth_seed.seed_ws AS SELECT o.idx AS org_idx, o.id AS org_id, growth_seed.sid('ws', o.created_at, o.idx) AS id, o.created_at FROM growth_seed.seed_orgs o`,
  );
  add('workspaces', await q(c, `INSERT INTO workspaces (id, organization_id, name, created_at) SELECT id, org_id, 'main', created_at FROM growth_seed.seed_ws`));
  await c.query(
    `CREATE UNLOGGED TABLE growth_seed.seed_sources AS
     SELECT w.org_idx, w.org_id, w.id AS ws_id, s, s / 2 AS room_k,
            growth_seed.sid('room', w.created_at, w.org_idx * 8 + s / 2) AS room_id,
            growth_seed.sid('src', w.created_at, w.org_idx * 8 + s) AS id, w.created_at
       FROM growth_seed.seed_ws w, generate_series(0, 3) s`,
  );
  await c.query(`CREATE INDEX ON growth_seed.seed_sources (org_idx, s)`);
  add(
    'rooms',
    await q(
      c,
      `INSERT INTO rooms (id, organization_id, workspace_id, name, instructions, model_tier, created_at)
       SELECT DISTINCT room_id, org_id, ws_id, CASE WHEN room_k = 0 THEN 'payments' ELSE 'support' END,
              'Handle the events of this room and summarise them.', 'fast', created_at
         FROM growth_seed.seed_sources`,
    ),
  );
  add(
    'event_sources',
    await q(
      c,
      `INSERT INTO event_sources (id, organization_id, room_id, name, token_hash, definitions_version, dropped_count, created_at)
       SELECT id, org_id, room_id, CASE WHEN s % 2 = 0 THEN 'stripe' ELSE 'github' END,
              encode(sha256(convert_to(id, 'UTF8')), 'hex'), 3, (org_idx * 7 + s) % 13, created_at
         FROM growth_seed.seed_sources`,
    ),
  );
  await c.query(
    `CREATE UNLOGGED TABLE growth_seed.seed_defs AS
     SELECT s.org_idx, s.s, d, growth_seed.sid('def', s.created_at, (s.org_idx * 8 + s.s) * 4 + d) AS id, s.id AS source_id, s.org_id, s.created_at
       FROM growth_seed.seed_sources s, generate_series(1, 3) d`,
  );
  await c.query(`CREATE INDEX ON growth_seed.seed_defs (org_idx, s, d)`);
  add(
    'event_definitions',
    await q(
      c,
      `INSERT INTO event_definitions (id, organization_id, source_id, name, description, priority, rule, created_at)
       SELECT id, org_id, source_id, 'definition ' || d, 'events of kind ' || d, d,
              jsonb_build_object('path', 'kind', 'equals', 'kind-' || d), created_at
         FROM growth_seed.seed_defs`,
    ),
  );
  add(
    'chats',
    await q(
      c,
      `INSERT INTO chats (id, organization_id, workspace_id, room_id, title, created_at)
       SELECT DISTINCT growth_seed.sid('chat', created_at, org_idx * 8 + room_k), org_id, ws_id, room_id,
              'Room ' || CASE WHEN room_k = 0 THEN 'payments' ELSE 'support' END, created_at
         FROM growth_seed.seed_sources`,
    ),
  );
  await c.query(
    `CREATE UNLOGGED TABLE growth_seed.seed_agents AS
     SELECT w.org_idx, w.org_id, w.id AS ws_id, a, growth_seed.sid('agent', w.created_at, w.org_idx * 4 + a) AS id, w.created_at
       FROM growth_seed.seed_ws w, generate_series(0, 1) a`,
  );
  add(
    'agents',
    await q(
      c,
      `INSERT INTO agents (id, organization_id, workspace_id, name, instructions, model_tier, roles, created_at, updated_at)
       SELECT id, org_id, ws_id, CASE WHEN a = 0 THEN 'support' ELSE 'billing' END, 'Answer the event.', 'fast',
              ARRAY[CASE WHEN a = 0 THEN 'support' ELSE 'billing' END], created_at, created_at
         FROM growth_seed.seed_agents`,
    ),
  );

  // The large tables, in time slices across all orgs (so an org's rows are spread over the heap as
  // they are in a database that grew over weeks), one transaction per slice.
  const totalEvents = plan.reduce((n, p) => n + p.nEv, 0);
  const batches = Math.max(1, Math.ceil(totalEvents / (o.batchEvents ?? 25_000)));
  const deferred = await dropSecondaryIndexes(c, BULK_TABLES);
  o.log(`${deferred.length} secondary indexes of ${BULK_TABLES.join(', ')} are built after the load`);
  const started = Date.now();
  let next = 0;
  let finished = 0;
  await Promise.all(
    lanes.map(async (lane) => {
      while (next < batches) {
        const b = next++;
        await lane.query('BEGIN');
        await seedSlice(lane, { b, batches, anchor, span, add });
        await lane.query('COMMIT');
        const done = ++finished / batches;
        const elapsed = (Date.now() - started) / 1000;
        o.log(`slice ${finished}/${batches}: ${counts.events ?? 0} events, ${counts.deliveries ?? 0} deliveries, ${counts.delivery_attempts ?? 0} attempts; ${elapsed.toFixed(0)} s, ~${(elapsed / done - elapsed).toFixed(0)} s to go`);
      }
    }),
  );

  o.log(`building ${deferred.length} indexes…`);
  const t0 = Date.now();
  await Promise.all(
    lanes.map(async (lane, i) => {
      for (let k = i; k < deferred.length; k += lanes.length) await lane.query(deferred[k]);
    }),
  );
  o.log(`indexes built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  // What the app keeps beside the rows: statistics shards, slot leases, operation totals.
  o.log('webhook_stats, endpoint_slots, operation totals…');
  add(
    'webhook_stats',
    await q(
      c,
      `INSERT INTO webhook_stats (webhook_id, shard, success_count, failure_count, last_attempt_at, last_success_at)
       SELECT a.webhook_id, (hashint8extended(a.id_n, 3) & 7)::smallint,
              count(*) FILTER (WHERE a.status = 'succeeded'), count(*) FILTER (WHERE a.status <> 'succeeded'),
              max(a.started_at), max(a.started_at) FILTER (WHERE a.status = 'succeeded')
         FROM (SELECT webhook_id, status, started_at, hashtext(id)::bigint AS id_n FROM delivery_attempts) a
        GROUP BY 1, 2`,
    ),
  );
  add(
    'endpoint_slots',
    await q(
      c,
      `INSERT INTO endpoint_slots (webhook_id, kind, n, free_at)
       SELECT w.id, k.kind, g, $1::timestamptz - interval '5 minutes'
         FROM webhooks w CROSS JOIN (VALUES ('f', 10), ('m', 100)) k(kind, lim),
              LATERAL generate_series(1, CASE WHEN w.max_in_flight IS NULL THEN k.lim WHEN k.kind = 'f' THEN w.max_in_flight ELSE w.max_per_minute END) g
        WHERE w.organization_id IN (SELECT id FROM growth_seed.seed_orgs)`,
      [anchor],
    ),
  );
  await c.query(`UPDATE operations o SET total = n FROM (SELECT operation_id, count(*) AS n FROM deliveries WHERE operation_id IS NOT NULL GROUP BY 1) d WHERE d.operation_id = o.id`);
  await c.query(`DROP SCHEMA growth_seed CASCADE`);
  return counts;
}

/**
 * The FROM-clause part shared by every slice's rows of one kind (`ev`, `rev`, `inb`): this batch's
 * share of each org's rows (g.i), and each row's time t, row i of n at (i + 0.5)/n of the span. The
 * statement's parameters are $1 batch, $2 batches, $3 anchor, $4 span in seconds; `extra` adds columns
 * beside t.
 */
const batchSlice = (kind: 'ev' | 'rev' | 'inb', extra = '') =>
  `generate_series(o.${kind}_lo + floor(o.n_${kind} * $1::float8 / $2)::bigint, o.${kind}_lo + floor(o.n_${kind} * ($1 + 1)::float8 / $2)::bigint - 1) g(i),
            LATERAL (SELECT $3::timestamptz - make_interval(secs => $4 * (1 - (g.i - o.${kind}_lo + 0.5) / o.n_${kind})) AS t${extra}) x`;

/** One time slice of every org: events, deliveries (and replays), attempts, room events, backlog, inbox. */
async function seedSlice(c: pg.Client, s: { b: number; batches: number; anchor: string; span: number; add: (t: string, n: number) => void }) {
  const { b, batches, anchor, span, add } = s;
  // Event i of an org with n events is at (i + 0.5)/n of the span, the last one just before the anchor.
  await c.query(
    `CREATE TEMP TABLE b_ev ON COMMIT DROP AS
     SELECT o.idx AS org_idx, o.id AS org_id, g.i, x.t, growth_seed.sid('evt', x.t, g.i) AS id,
            CASE WHEN u < 0.40 THEN 'message.created' WHEN u < 0.60 THEN 'agent.run.completed' WHEN u < 0.65 THEN 'agent.run.failed'
                 WHEN u < 0.75 THEN 'session.started' WHEN u < 0.85 THEN 'session.ended' ELSE 'tool.called' END AS type,
            CASE WHEN growth_seed.r(g.i, 2) < 0.3 THEN 'sess_' || (g.i % 5000) END AS session_id
       FROM growth_seed.seed_orgs o,
            ${batchSlice('ev', ', growth_seed.r(g.i, 1) AS u')}`,
    [b, batches, anchor, span],
  );
  add(
    'events',
    await q(
      c,
      `INSERT INTO events (id, organization_id, type, session_id, body, created_at)
       SELECT id, org_id, type, session_id,
              json_strip_nulls(json_build_object('id', id, 'type', type, 'timestamp', (extract(epoch FROM t) * 1000)::bigint, 'organizationId', org_id,
                                'sessionId', session_id,
                                'data', json_build_object('message', 'event number ' || i, 'amount', i % 10000, 'currency', 'usd',
                                                          'tags', json_build_array('growth', type), 'attempt', i % 3)))::text,
              t
         FROM b_ev ORDER BY t`,
    ),
  );

  // Deliveries: each subscribed webhook of the org takes an event with probability 0.24 (≈ 3 per event).
  // Recent ones may still be pending (waiting for a slot) or retrying; older ones have ended.
  await c.query(
    `CREATE TEMP TABLE b_d0 ON COMMIT DROP AS
     SELECT e.org_id, e.id AS event_id, h.id AS webhook_id, e.i * 64 + h.j AS n, e.t, NULL::text AS replay_of, NULL::text AS operation_id,
            x.status,
            CASE x.status WHEN 'pending' THEN 0
                          WHEN 'retrying' THEN 1 + floor(growth_seed.r(e.i * 64 + h.j, 8) * 3)::int
                          WHEN 'dead' THEN 5 + floor(growth_seed.r(e.i * 64 + h.j, 8) * 4)::int
                          WHEN 'cancelled' THEN floor(growth_seed.r(e.i * 64 + h.j, 8) * 3)::int
                          ELSE (SELECT CASE WHEN v < 0.72 THEN 1 WHEN v < 0.87 THEN 2 WHEN v < 0.95 THEN 3 ELSE 4 END
                                  FROM growth_seed.r(e.i * 64 + h.j, 8) v) END AS attempts
       FROM b_ev e JOIN growth_seed.seed_hooks h ON h.org_idx = e.org_idx AND (h.star OR e.type = ANY(h.events)),
            LATERAL (SELECT growth_seed.r(e.i * 64 + h.j, 4) AS u, $1::timestamptz - e.t AS age) y,
            LATERAL (SELECT CASE WHEN y.age < interval '2 hours' THEN
                                   CASE WHEN y.u < 0.03 THEN 'pending' WHEN y.u < 0.10 THEN 'retrying' WHEN y.u < 0.14 THEN 'dead' ELSE 'succeeded' END
                                 ELSE CASE WHEN y.u < 0.06 THEN 'dead' WHEN y.u < 0.075 THEN 'cancelled' ELSE 'succeeded' END END AS status) x
      WHERE growth_seed.r(e.i * 64 + h.j, 3) < 0.24`,
    [anchor],
  );
  // Replays of a quarter of the dead letters older than a day: half by hand an hour after, half by the
  // org's next bulk operation; most succeed at once.
  await c.query(
    `INSERT INTO b_d0
     SELECT d.org_id, d.event_id, d.webhook_id, d.n + 1000000000000000, x.rt, growth_seed.sid('dlv', d.t, d.n), x.op_id,
            CASE WHEN growth_seed.r(d.n, 10) < 0.85 THEN 'succeeded' ELSE 'dead' END,
            CASE WHEN growth_seed.r(d.n, 10) < 0.85 THEN 1 ELSE 5 END
       FROM b_d0 d,
            LATERAL (SELECT growth_seed.att_start(d.t, d.attempts) AS done_at) c,
            LATERAL (SELECT floor(extract(epoch FROM $1::timestamptz - c.done_at) / (3 * 86400))::int - 1 AS k) kk,
            LATERAL (SELECT CASE WHEN growth_seed.r(d.n, 9) < 0.125 OR kk.k < 0 OR kk.k > 9 THEN c.done_at + interval '1 hour'
                                 ELSE $1::timestamptz - make_interval(days => 3 * (kk.k + 1)) + make_interval(secs => growth_seed.r(d.n, 12) * 1800) END AS rt,
                            CASE WHEN growth_seed.r(d.n, 9) < 0.125 OR kk.k < 0 OR kk.k > 9 THEN NULL
                                 ELSE (SELECT p.id FROM growth_seed.seed_ops p WHERE p.org_id = d.org_id AND p.k = kk.k) END AS op_id) x
      WHERE d.status = 'dead' AND d.t < $1::timestamptz - interval '1 day' AND growth_seed.r(d.n, 9) < 0.25`,
    [anchor],
  );
  add(
    'deliveries',
    await q(
      c,
      `INSERT INTO deliveries (id, organization_id, webhook_id, event_id, replay_of, workflow_id, status, attempt_count, last_status_code, last_error,
                               next_attempt_at, started_at, completed_at, created_at, updated_at, waiting_since, operation_id)
       SELECT growth_seed.sid('dlv', d.t, d.n),
              d.org_id, d.webhook_id, d.event_id, d.replay_of,
              'deliver:' || d.webhook_id || ':' || d.event_id || CASE WHEN d.replay_of IS NULL THEN '' ELSE ':replay:' || growth_seed.sid('dlv', d.t, d.n) END,
              d.status, d.attempts,
              CASE WHEN d.attempts > 0 THEN growth_seed.att_code(d.n, d.attempts, ok) END,
              CASE WHEN d.status = 'dead' THEN 'gave up after ' || d.attempts || ' attempts: ' || growth_seed.att_error(d.n, d.attempts, false)
                   WHEN d.status = 'cancelled' THEN 'the webhook was disabled'
                   WHEN d.attempts > 0 THEN growth_seed.att_error(d.n, d.attempts, ok) END,
              CASE WHEN d.status = 'retrying' THEN $1::timestamptz + make_interval(secs => growth_seed.r(d.n, 13) * 600) END,
              d.t + interval '50 milliseconds',
              CASE WHEN d.status IN ('succeeded', 'dead') THEN last_end WHEN d.status = 'cancelled' THEN d.t + interval '1 hour' END,
              d.t,
              CASE WHEN d.status = 'cancelled' THEN d.t + interval '1 hour' ELSE coalesce(last_end, d.t + interval '50 milliseconds') END,
              CASE WHEN d.status = 'pending' THEN d.t + interval '50 milliseconds' END,
              d.operation_id
         FROM b_d0 d,
              LATERAL (SELECT growth_seed.att_ok(d.status, d.attempts, d.attempts) AS ok) k,
              LATERAL (SELECT CASE WHEN d.attempts > 0 THEN growth_seed.att_start(d.t, d.attempts)
                                   + make_interval(secs => growth_seed.att_latency(d.n, d.attempts, k.ok) / 1000.0) END AS last_end) l
        ORDER BY d.t`,
      [anchor],
    ),
  );
  add(
    'delivery_attempts',
    await q(
      c,
      `INSERT INTO delivery_attempts (id, delivery_id, webhook_id, attempt_number, status, status_code, latency_ms, error, response_body, started_at, finished_at)
       SELECT growth_seed.sid('atm', st, d.n * 16 + a), growth_seed.sid('dlv', d.t, d.n), d.webhook_id, a,
              CASE WHEN ok THEN 'succeeded' ELSE 'failed' END,
              growth_seed.att_code(d.n, a, ok), lat, growth_seed.att_error(d.n, a, ok),
              CASE WHEN ok THEN '{"ok":true}' WHEN growth_seed.att_timeout(d.n, a, ok) THEN NULL ELSE '{"error":"upstream unavailable"}' END,
              st, st + make_interval(secs => lat / 1000.0)
         FROM b_d0 d, generate_series(1, d.attempts) a,
              LATERAL (SELECT growth_seed.att_ok(d.status, a, d.attempts) AS ok, growth_seed.att_start(d.t, a) AS st) k,
              LATERAL (SELECT growth_seed.att_latency(d.n, a, k.ok) AS lat) l
        ORDER BY st`,
    ),
  );

  // Room events of the slice: matched (60 %) or not, recorded 1.5 s after arrival; the last minute's
  // are still being matched. Matched ones went to the backlog; items older than ten minutes are done.
  await c.query(
    `CREATE TEMP TABLE b_rev ON COMMIT DROP AS
     SELECT o.idx AS org_idx, o.id AS org_id, g.i, x.t, growth_seed.sid('rev', x.t, g.i) AS id, (g.i % 4)::int AS s,
            1 + floor(growth_seed.r(g.i, 31) * 3)::int AS d,
            CASE WHEN $3::timestamptz - x.t < interval '1 minute' THEN NULL WHEN growth_seed.r(g.i, 30) < 0.6 THEN 'matched' ELSE 'no_match' END AS outcome
       FROM growth_seed.seed_orgs o,
            ${batchSlice('rev')}`,
    [b, batches, anchor, span],
  );
  add(
    'room_events',
    await q(
      c,
      `INSERT INTO room_events (id, organization_id, room_id, source_id, payload, received_at, workflow_started_at, outcome, matched_definition_id, match_reason, matched_at)
       SELECT e.id, e.org_id, s.room_id, s.id,
              json_build_object('id', 'ev_' || e.i, 'kind', 'kind-' || e.d, 'amount', e.i % 5000, 'customer', 'cus_' || (e.i % 997))::text,
              e.t, e.t + interval '20 milliseconds', e.outcome, CASE WHEN e.outcome = 'matched' THEN df.id END,
              CASE e.outcome WHEN 'matched' THEN 'rule: kind equals kind-' || e.d WHEN 'no_match' THEN 'no definition matched' END,
              CASE WHEN e.outcome IS NOT NULL THEN e.t + interval '1.5 seconds' END
         FROM b_rev e JOIN growth_seed.seed_sources s ON s.org_idx = e.org_idx AND s.s = e.s
              JOIN growth_seed.seed_defs df ON df.org_idx = e.org_idx AND df.s = e.s AND df.d = e.d
        ORDER BY e.t`,
    ),
  );
  add(
    'backlog_items',
    await q(
      c,
      `INSERT INTO backlog_items (id, organization_id, room_id, source_id, event_id, definition_id, priority, status, result, error, created_at, started_at, completed_at)
       SELECT growth_seed.sid('item', e.t, e.i), e.org_id, s.room_id, s.id, e.id, df.id, e.d, x.status,
              CASE WHEN x.status = 'done' THEN 'Handled: kind-' || e.d || ' for cus_' || (e.i % 997) END,
              CASE WHEN x.status = 'failed' THEN 'the model did not answer in time' END,
              e.t + interval '2 seconds',
              CASE WHEN x.status <> 'pending' THEN e.t + interval '30 seconds' END,
              CASE WHEN x.status <> 'pending' THEN e.t + interval '45 seconds' END
         FROM b_rev e JOIN growth_seed.seed_sources s ON s.org_idx = e.org_idx AND s.s = e.s
              JOIN growth_seed.seed_defs df ON df.org_idx = e.org_idx AND df.s = e.s AND df.d = e.d,
              LATERAL (SELECT CASE WHEN $1::timestamptz - e.t < interval '10 minutes' THEN 'pending'
                                   WHEN growth_seed.r(e.i, 32) < 0.05 THEN 'failed' ELSE 'done' END AS status) x
        WHERE e.outcome = 'matched'
        ORDER BY e.t`,
      [anchor],
    ),
  );
  // The room chat shows one message for a fifth of the finished items.
  add(
    'chat_messages',
    await q(
      c,
      `INSERT INTO chat_messages (id, chat_id, role, author, content, created_at)
       SELECT growth_seed.sid('msg', e.t, e.i * 4 + 3), growth_seed.sid('chat', o.created_at, e.org_idx * 8 + e.s / 2), 'assistant', 'agent',
              'Handled event ' || e.i || ' (kind-' || e.d || ').', e.t + interval '45 seconds'
         FROM b_rev e JOIN growth_seed.seed_orgs o ON o.idx = e.org_idx
        WHERE e.outcome = 'matched' AND $1::timestamptz - e.t >= interval '10 minutes' AND growth_seed.r(e.i, 33) < 0.2
        ORDER BY e.t`,
      [anchor],
    ),
  );

  // Generic ingress: normalized events, half with a dedupe key; a tenth went to an agent, whose run
  // wrote a chat of two messages.
  await c.query(
    `CREATE TEMP TABLE b_inb ON COMMIT DROP AS
     SELECT o.idx AS org_idx, o.id AS org_id, g.i, x.t, growth_seed.sid('inb', x.t, g.i) AS id,
            (ARRAY['stripe', 'github', 'custom'])[1 + (g.i % 3)::int] AS kind,
            growth_seed.r(g.i, 40) < 0.1 AS to_agent, (g.i % 2)::int AS agent
       FROM growth_seed.seed_orgs o,
            ${batchSlice('inb')}`,
    [b, batches, anchor, span],
  );
  add(
    'event_inbox',
    await q(
      c,
      `INSERT INTO event_inbox (id, organization_id, workspace_id, source_kind, event_type, source_identifier, dedupe_key, dedupe_hash,
                                headers, verified, payload, received_at, workflow_started_at)
       SELECT e.id, e.org_id, w.id, 'webhook.' || e.kind, e.kind || '.event', e.kind || '-sender',
              CASE WHEN e.i % 2 = 0 THEN 'key-' || e.i END,
              CASE WHEN e.i % 2 = 0 THEN encode(sha256(convert_to('key-' || e.i, 'UTF8')), 'hex') END,
              '{"content-type": "application/json"}'::jsonb, '{"scheme": null}'::jsonb,
              json_build_object('id', 'g_' || e.i, 'event', e.kind || '.event', 'value', e.i % 1000)::text,
              e.t, e.t + interval '15 milliseconds'
         FROM b_inb e JOIN growth_seed.seed_ws w ON w.org_idx = e.org_idx
        ORDER BY e.t`,
    ),
  );
  add(
    'chats',
    await q(
      c,
      `INSERT INTO chats (id, organization_id, workspace_id, agent_id, inbox_id, title, created_at)
       SELECT growth_seed.sid('chat', e.t, e.i), e.org_id, a.ws_id, a.id, e.id, a.id || ' on ' || e.kind || '.event', e.t + interval '1 second'
         FROM b_inb e JOIN growth_seed.seed_agents a ON a.org_idx = e.org_idx AND a.a = e.agent
        WHERE e.to_agent ORDER BY e.t`,
    ),
  );
  add(
    'agent_runs',
    await q(
      c,
      `INSERT INTO agent_runs (id, agent_id, chat_id, inbox_id, workflow_id, status, answer, created_at, completed_at)
       SELECT growth_seed.sid('run', e.t, e.i), a.id, growth_seed.sid('chat', e.t, e.i), e.id, 'agent-run:' || a.id || ':' || e.id, 'done',
              'Answered ' || e.kind || ' event ' || e.i, e.t + interval '1 second', e.t + interval '8 seconds'
         FROM b_inb e JOIN growth_seed.seed_agents a ON a.org_idx = e.org_idx AND a.a = e.agent
        WHERE e.to_agent ORDER BY e.t`,
    ),
  );
  add(
    'chat_messages',
    await q(
      c,
      `INSERT INTO chat_messages (id, chat_id, role, author, content, created_at)
       SELECT growth_seed.sid('msg', e.t, e.i * 4 + m), growth_seed.sid('chat', e.t, e.i), CASE WHEN m = 0 THEN 'event' ELSE 'assistant' END,
              CASE WHEN m = 0 THEN e.kind ELSE 'agent' END,
              CASE WHEN m = 0 THEN 'Event ' || e.i ELSE 'Answered ' || e.kind || ' event ' || e.i END, e.t + make_interval(secs => 1 + 7 * m)
         FROM b_inb e, generate_series(0, 1) m
        WHERE e.to_agent ORDER BY e.t`,
    ),
  );
}

/**
 * An org with `n` webhooks taking every event and no history: the fan-out target, the same in every
 * database. Its slot rows exist (as after each webhook's first attempt).
 */
export async function seedFanoutOrg(c: pg.Client, o: { n: number; anchor: Date; sealedSecret: string; url: string }): Promise<void> {
  await c.query(`CREATE SCHEMA IF NOT EXISTS growth_seed`);
  await c.query(HELPERS);
  await c.query(`INSERT INTO organizations (id, name, created_at) VALUES (growth_seed.sid('org', $1::timestamptz, 999), $2, $1::timestamptz - interval '40 days')`, [
    o.anchor.toISOString(),
    FANOUT_ORG,
  ]);
  await c.query(
    `INSERT INTO webhooks (id, organization_id, name, url, events, signing_keys, retry_policy, created_at, updated_at)
     SELECT growth_seed.sid('wh', t, 999 * 4096 + j), (SELECT id FROM organizations WHERE name = $2), 'fan-out ' || j, $3 || '/' || j, ARRAY['*'],
            jsonb_build_array(jsonb_build_object('secret', $4::text, 'createdAt', (extract(epoch FROM t) * 1000)::bigint, 'expiresAt', NULL)),
            '{"policy": "exponential", "attempts": 8, "delaySeconds": 30}'::jsonb, t, t
       FROM generate_series(0, $5::int - 1) j, LATERAL (SELECT $1::timestamptz - interval '39 days' + make_interval(secs => j)) x(t)`,
    [o.anchor.toISOString(), FANOUT_ORG, o.url, o.sealedSecret, o.n],
  );
  await c.query(`DROP SCHEMA growth_seed CASCADE`);
}
