import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import os from 'node:os';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { listUnstartedDeliveries } from '../src/db/deliveries.js';
import { migrate } from '../src/db/migrate.js';
import { listUnstartedInboxEvents } from '../src/db/inbox.js';
import { listUnstartedOperations } from '../src/db/operations.js';
import { roomsWithOverdueItems } from '../src/db/backlog.js';
import { listUnstartedRoomEvents } from '../src/db/room-events.js';
import { createPool, type Db } from '../src/db/pool.js';
import { CAPABILITIES } from '../src/domain/api-keys.js';
import { createLogger } from '../src/log.js';
import { buildApi, type Api } from '../src/roots/api.js';
import { createApiKey } from '../src/tenancy.js';
import { createCleanups, dist, fmt, log, runBenchmark, startBenchInfra, table, withTimeout } from './support.js';
import { FANOUT_ORG, FULL, MEASURED_ORG } from './growth/dataset.js';
import { explain, statementTap, type Statement } from './growth/plans.js';
import { measuredIds, routes, type MeasuredIds, type Route } from './growth/routes.js';
import { seedDatabase, type SeededDatabase } from './growth/seed.js';

// bench:growth — do the admin API's reads, a publish's fan-out and a recovery pass cost the same when
// the database holds a million events of other orgs? Two databases on one PostgreSQL: "empty" holds
// only the measured org (an average org of the data set) and a 1,000-webhook fan-out org; "seeded"
// holds the same two orgs, row for row, plus 99 other orgs (1 M events, ~3 M deliveries, ~5 M
// attempts in all at scale 1). One API (buildApi, in this process) per database; every measurement
// alternates between them, so both see the same machine. The ratio seeded/empty is the result.

const AIM = 2;
const EXPLAIN_ABOVE = 1.5;

const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: '1.0' },
    calls: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    'fanout-webhooks': { type: 'string', default: '1000' },
    'fanout-publishes': { type: 'string', default: '5' },
    lanes: { type: 'string', default: '2' },
    'seeded-url': { type: 'string' },
    timeout: { type: 'string', default: '3600' },
  },
});

const { onCleanup, cleanup } = createCleanups(30_000);

interface Side {
  label: 'empty' | 'seeded';
  url: string;
  api: Api;
  origin: string;
  key: string;
  fanoutKey: string;
  tap: ReturnType<typeof statementTap>;
  /** A pool of its own for recovery's queries and EXPLAIN, outside the API's. */
  admin: Db;
  seed: SeededDatabase | null;
}

function databaseUrl(base: string, name: string): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

async function startSide(label: Side['label'], url: string, infra: { temporalAddress: string }, encryptionKey: string, taskQueue: string): Promise<Omit<Side, 'key' | 'fanoutKey' | 'seed'>> {
  const config = loadConfig({
    DATABASE_URL: url,
    TEMPORAL_ADDRESS: infra.temporalAddress,
    TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE || 'default',
    HOOKWISE_TASK_QUEUE: taskQueue,
    HOOKWISE_ENCRYPTION_KEY: encryptionKey,
    HOOKWISE_ALLOW_HTTP: 'true',
    HOOKWISE_ALLOW_PRIVATE_TARGETS: 'true',
  });
  const logger = createLogger({
    level: 'warn',
    service: 'api',
    destination: new Writable({
      write(chunk, _e, done) {
        log(`${label} api: ${String(chunk).trim()}`);
        done();
      },
    }),
  });
  const api = buildApi(config, { logger });
  const tap = statementTap(api.deps.db);
  const origin = await api.listen(0, '127.0.0.1');
  const admin = createPool(url, 4, log);
  onCleanup(`${label} API`, async () => {
    await api.close();
    await admin.end();
  });
  return { label, url, api, origin, tap, admin };
}

async function call(side: Side, path: string, init: { method?: string; body?: unknown; key?: string } = {}): Promise<{ ms: number; status: number; text: string }> {
  const t0 = performance.now();
  const res = await fetch(`${side.origin}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${init.key ?? side.key}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  return { ms, status: res.status, text };
}

/** A GET answered 200: its time, the time its SQL took on the API's pool, and its body. */
async function get(side: Side, path: string): Promise<{ ms: number; sqlMs: number; body: Record<string, unknown> }> {
  const sql0 = side.tap.sqlMs();
  const r = await call(side, path);
  if (r.status !== 200) throw new Error(`${side.label}: GET ${path} answered ${r.status}: ${r.text.slice(0, 300)}`);
  return { ms: r.ms, sqlMs: side.tap.sqlMs() - sql0, body: JSON.parse(r.text) };
}

/** The measured work of one recovery pass: each recoverable flow's query, as the worker runs them. */
async function recoveryPass(db: Db): Promise<{ ms: number; rows: number }> {
  const t0 = performance.now();
  const older = 30;
  const found = [
    await listUnstartedDeliveries(db, older, 500, null),
    await listUnstartedRoomEvents(db, older, 500, null),
    await listUnstartedInboxEvents(db, older, 500, null),
    await roomsWithOverdueItems(db, { olderThanSeconds: older, stuckAfterSeconds: 15 * 60, limit: 500, organizationIds: null }),
    await listUnstartedOperations(db, older, 500, null),
  ];
  return { ms: performance.now() - t0, rows: found.reduce((n, r) => n + r.length, 0) };
}

interface Row {
  name: string;
  empty: number[];
  seeded: number[];
  /** The route's SQL time (API pool, send to answer), per call. */
  sql?: { empty: number[]; seeded: number[] };
  statements?: (side: Side) => Promise<Statement[]>;
  note?: string;
}

const p50 = (v: number[]) => dist(v).p50;
/** The median unrounded (SQL times are fractions of a millisecond). */
const median = (v: number[]) => (v.length === 0 ? null : [...v].sort((a, b) => a - b)[Math.ceil(v.length / 2) - 1]);

async function main(): Promise<number> {
  const scaleArg = Number(args.scale);
  const calls = Number(args.calls);
  const warmup = Number(args.warmup);
  const fanoutWebhooks = Number(args['fanout-webhooks']);
  const fanoutPublishes = Number(args['fanout-publishes']);
  const loadBefore = os.loadavg();

  const infra = await startBenchInfra({ name: 'growth', pgDurable: false, onCleanup });
  const maintenance = createPool(infra.databaseUrl, 2, log);
  onCleanup('maintenance pool', () => maintenance.end());
  const base = new URL(infra.databaseUrl).pathname.slice(1);
  const names = { empty: `${base}_growth_empty`, seeded: `${base}_growth_seeded` };
  const encryptionKey = randomBytes(32).toString('hex');
  const taskQueue = `growth-unpolled-${randomBytes(4).toString('hex')}`;

  // The seeded database: made here, or one that seed:growth made (its anchor and scale are read back).
  let seededUrl = args['seeded-url'];
  let anchor = new Date();
  let scale = scaleArg;
  const createDb = async (name: string) => {
    await maintenance.query(`CREATE DATABASE ${name}`);
    onCleanup(`database ${name}`, () => maintenance.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    return databaseUrl(infra.databaseUrl, name);
  };
  if (seededUrl) {
    // Migrations added since it was seeded (an index) apply to it as they would in production.
    await migrate(seededUrl, log);
    const c = new pg.Client({ connectionString: seededUrl });
    await c.connect();
    try {
      const { rows } = await c.query(
        `SELECT o.created_at + interval '40 days' AS anchor, (SELECT count(*) FROM events e WHERE e.organization_id = o.id)::int AS n
           FROM organizations o WHERE o.name = $1`,
        [MEASURED_ORG],
      );
      if (!rows[0]) throw new Error('--seeded-url: no growth data there (run npm run seed:growth)');
      anchor = rows[0].anchor;
      scale = (rows[0].n * FULL.orgs) / FULL.events;
      log(`seeded database given: anchor ${anchor.toISOString()}, scale ${scale}`);
    } finally {
      await c.end();
    }
  }
  const common = { anchor, encryptionKey, fanoutWebhooks, fanoutUrl: 'http://127.0.0.1:9/fanout', lanes: Number(args.lanes) };
  const emptyUrl = await createDb(names.empty);
  const emptySeed = await seedDatabase(emptyUrl, { ...common, scale, orgs: 'measured', label: 'empty' });
  log(`empty: seeded the measured org in ${emptySeed.seconds.toFixed(0)} s`);
  let seededSeed: SeededDatabase | null = null;
  if (!seededUrl) {
    seededUrl = await createDb(names.seeded);
    seededSeed = await seedDatabase(seededUrl, { ...common, scale, orgs: 'all', label: 'seeded' });
    log(`seeded: ${seededSeed.seconds.toFixed(0)} s, ${(seededSeed.sizeBytes / 2 ** 30).toFixed(2)} GiB`);
  }

  const sides: Side[] = [];
  for (const [label, url, seed] of [
    ['empty', emptyUrl, emptySeed],
    ['seeded', seededUrl, seededSeed],
  ] as const) {
    const s = await startSide(label, url, infra, encryptionKey, taskQueue);
    const ids = await measuredIds(s.admin);
    // The fan-out org starts without history: a reused seeded database keeps an earlier run's
    // publishes, whose deliveries no worker started (recovery would find them).
    await s.admin.query(`DELETE FROM events WHERE organization_id = $1`, [ids.fanoutOrgId]);
    const key = (await createApiKey(s.admin, ids.orgId, [...CAPABILITIES], 'bench:growth')).key;
    const fanoutKey = (await createApiKey(s.admin, ids.fanoutOrgId, [...CAPABILITIES], 'bench:growth')).key;
    sides.push({ ...s, key, fanoutKey, seed });
  }
  const [empty, seeded] = sides;
  const ids: MeasuredIds = await measuredIds(empty.admin);
  if (JSON.stringify(await measuredIds(seeded.admin)) !== JSON.stringify(ids)) throw new Error('the measured org differs between the databases');

  // Cursors come from the data, the same in both; the first page must be the same in both too.
  const page1 = await get(empty, '/api/v1/deliveries');
  if (JSON.stringify((await get(seeded, '/api/v1/deliveries')).body) !== JSON.stringify(page1.body)) throw new Error('GET /deliveries differs between the databases');
  const page2 = await get(empty, `/api/v1/deliveries?cursor=${page1.body.nextCursor}`);
  const dead1 = await get(empty, '/api/v1/dead-letters');
  const list = routes(ids, anchor, { deliveries: String(page2.body.nextCursor), deadLetters: String(dead1.body.nextCursor) });
  const rows: Row[] = [];

  // --- routes ---------------------------------------------------------------------------------------
  log(`routes: ${list.length} × ${calls} calls per database (after ${warmup} warm-up calls)`);
  for (const r of list) for (let i = 0; i < warmup; i++) for (const s of sides) await get(s, r.path);
  const times = new Map(list.map((r) => [r, { empty: [] as number[], seeded: [] as number[], sql: { empty: [] as number[], seeded: [] as number[] } }]));
  for (let i = 0; i < calls; i++) {
    for (const r of list) {
      for (const s of i % 2 === 0 ? [empty, seeded] : [seeded, empty]) {
        const { ms, sqlMs } = await get(s, r.path);
        const t = times.get(r)!;
        t[s.label].push(ms);
        t.sql[s.label].push(sqlMs);
      }
    }
  }
  for (const r of list) rows.push({ name: `GET ${r.name}`, ...times.get(r)!, statements: (s) => s.tap.during(() => get(s, r.path)) });

  // --- one recovery pass (before the fan-out, whose deliveries no worker will start) -----------------
  log(`recovery: ${calls} passes per database`);
  const rec = { empty: [] as number[], seeded: [] as number[] };
  const recRows = { empty: 0, seeded: 0 };
  for (const s of sides) await recoveryPass(s.admin);
  for (let i = 0; i < calls; i++) {
    for (const s of i % 2 === 0 ? [empty, seeded] : [seeded, empty]) {
      const r = await recoveryPass(s.admin);
      rec[s.label].push(r.ms);
      recRows[s.label] = r.rows;
    }
  }
  const recoveryStatements = async (s: Side) => {
    const tap = statementTap(s.admin);
    return tap.during(() => recoveryPass(s.admin));
  };
  rows.push({ name: 'recovery pass (5 queries)', ...rec, statements: recoveryStatements, note: `rows found: empty ${recRows.empty}, seeded ${recRows.seeded}` });

  // --- fan-out: one publish to 1,000 webhooks, until its deliveries are committed (the 202) ----------
  log(`fan-out: ${fanoutPublishes} publishes per database to ${fanoutWebhooks} webhooks`);
  const fan = { empty: [] as number[], seeded: [] as number[] };
  for (let i = 0; i < fanoutPublishes + 1; i++) {
    for (const s of i % 2 === 0 ? [empty, seeded] : [seeded, empty]) {
      const r = await call(s, '/api/v1/events', { method: 'POST', key: s.fanoutKey, body: { type: 'growth.fanout', data: { n: i } } });
      if (r.status !== 202) throw new Error(`${s.label}: POST /events answered ${r.status}: ${r.text.slice(0, 300)}`);
      const n = (JSON.parse(r.text).deliveries as string[]).length;
      if (n !== fanoutWebhooks) throw new Error(`${s.label}: the publish made ${n} deliveries, not ${fanoutWebhooks}`);
      if (i > 0) fan[s.label].push(r.ms); // the first is a warm-up
      // Its workflow starts (to a queue no worker polls) run after the answer: let them finish first.
      await withTimeout(s.api.deps.starter.drained(), 300_000, 'workflow starts of the fan-out');
    }
  }
  rows.push({ name: `POST /events fan-out to ${fanoutWebhooks} webhooks`, ...fan });

  // --- results --------------------------------------------------------------------------------------
  const results = rows.map((r) => {
    const e = p50(r.empty);
    const s = p50(r.seeded);
    const ratio = e && s ? s / e : null;
    const sqlEmpty = r.sql ? median(r.sql.empty) : null;
    const sqlSeeded = r.sql ? median(r.sql.seeded) : null;
    return { ...r, p50Empty: e, p50Seeded: s, ratio, sqlEmpty, sqlSeeded, sqlRatio: sqlEmpty && sqlSeeded ? sqlSeeded / sqlEmpty : null };
  });
  const plans: Record<string, { empty: string[]; seeded: string[] }> = {};
  for (const r of results) {
    if (((r.ratio ?? 0) > EXPLAIN_ABOVE || (r.sqlRatio ?? 0) > EXPLAIN_ABOVE) && r.statements) {
      log(`EXPLAIN: ${r.name} (ratio ${fmt(r.ratio, 2)}, SQL ratio ${fmt(r.sqlRatio, 2)})`);
      plans[r.name] = { empty: await explain(empty.admin, await r.statements(empty)), seeded: await explain(seeded.admin, await r.statements(seeded)) };
      for (const side of ['empty', 'seeded'] as const) log(`--- ${r.name}, ${side}:\n${plans[r.name][side].join('\n')}`);
    }
  }

  // GET routes of the OpenAPI document left out (health, metrics, streams, and single items of other kinds).
  const doc = (await get(empty, '/api/v1/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
  const timed = new Set(list.map((r) => r.template));
  const notTimed = Object.entries(doc.paths)
    .filter(([, ops]) => 'get' in ops)
    .map(([p]) => p)
    .filter((p) => !timed.has(p.replace(/:(\w+)/g, '{$1}')));

  const loadAfter = os.loadavg();
  const seedInfo = seeded.seed;
  process.stdout.write(
    `${table([
      ['measurement', 'empty p50 ms', 'seeded p50 ms', 'ratio', `aim ≤ ${AIM}×`, 'SQL empty', 'SQL seeded', 'SQL ratio'],
      ...results.map((r) => [
        r.name,
        fmt(r.p50Empty),
        fmt(r.p50Seeded),
        fmt(r.ratio, 2),
        r.ratio === null ? '–' : r.ratio <= AIM ? '✔' : '✘',
        fmt(r.sqlEmpty, 2),
        fmt(r.sqlSeeded, 2),
        fmt(r.sqlRatio, 2),
      ]),
    ])}\n`,
  );
  process.stdout.write(
    `scale ${scale}; seeded database ${seedInfo ? `${(seedInfo.sizeBytes / 2 ** 30).toFixed(2)} GiB, seeded in ${seedInfo.seconds.toFixed(0)} s` : `given (${args['seeded-url'] ? 'seeded-url' : ''})`}; ` +
      `${calls} calls per route and database; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(' ')} after\n`,
  );
  if (notTimed.length > 0) process.stdout.write(`GET routes not timed: ${notTimed.join(', ')}\n`);
  process.stdout.write(
    `${JSON.stringify({
      benchmark: 'growth',
      scale,
      calls,
      anchor: anchor.toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      load: { before: loadBefore, after: loadAfter },
      infra: infra.source,
      seed: { empty: emptySeed, seeded: seedInfo },
      results: results.map((r) => ({
        name: r.name,
        p50Empty: r.p50Empty,
        p50Seeded: r.p50Seeded,
        ratio: r.ratio,
        sqlP50Empty: r.sqlEmpty,
        sqlP50Seeded: r.sqlSeeded,
        sqlRatio: r.sqlRatio,
        empty: dist(r.empty),
        seeded: dist(r.seeded),
        note: r.note,
      })),
      aimMet: results.every((r) => r.ratio === null || r.ratio <= AIM),
      notTimed,
      plans,
      orgs: { measured: MEASURED_ORG, fanout: FANOUT_ORG },
    })}\n`,
  );
  return 0;
}

runBenchmark(async () => {
  try {
    return await withTimeout(main(), Number(args.timeout) * 1000, 'bench:growth');
  } finally {
    await cleanup();
  }
}, cleanup);
