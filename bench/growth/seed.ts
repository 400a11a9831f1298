import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.js';
import { startEmbeddedPostgres } from '../../src/dev/embedded-postgres.js';
import { createSecretBox, generateWebhookSecret } from '../../src/domain/secrets.js';
import { createCleanups, log, runBenchmark, table } from '../support.js';
import { FANOUT_ORG, prepareSession, seedDataset, seedFanoutOrg, type SeedCounts } from './dataset.js';

// `npm run seed:growth [-- --scale 1.0]`: fills a hookwise database with the growth data set (1 M
// events, ~3 M deliveries, ~5 M attempts over 100 orgs and 2,000 webhooks at scale 1, plus rooms,
// inbox, agents and chats) and a 1,000-webhook fan-out org. DATABASE_URL seeds that database (it must
// hold no growth data yet); without it, an embedded PostgreSQL in .hookwise/growth/pgdata is used and
// stopped again afterwards (start it again with the same data dir to use the data). --lanes: how many
// connections write time slices side by side (default 2, one per core).

export interface SeededDatabase {
  counts: SeedCounts;
  seconds: number;
  sizeBytes: number;
}

/** Migrates `databaseUrl`, seeds it, vacuums and analyzes it (as a database that has run for weeks is). */
export async function seedDatabase(
  databaseUrl: string,
  o: { scale: number; orgs: 'all' | 'measured'; anchor: Date; encryptionKey: string; fanoutWebhooks: number; fanoutUrl: string; label: string; lanes: number },
): Promise<SeededDatabase> {
  const started = Date.now();
  await migrate(databaseUrl);
  const lanes = Array.from({ length: Math.max(1, o.lanes) }, () => new pg.Client({ connectionString: databaseUrl }));
  const [c] = lanes;
  try {
    await Promise.all(lanes.map((l) => l.connect()));
    const sessions = await Promise.all(lanes.map(prepareSession));
    if (!sessions[0].triggersOff) log(`${o.label}: not a superuser: row triggers stay on (foreign keys checked row by row; slower)`);
    const { rows } = await c.query(`SELECT count(*)::int AS n FROM organizations WHERE name LIKE 'growth-%'`);
    if (rows[0].n > 0) throw new Error(`${o.label}: the database already holds growth data; seed an empty one`);
    const sealedSecret = createSecretBox(o.encryptionKey).seal(generateWebhookSecret());
    const counts = await seedDataset(lanes, { scale: o.scale, orgs: o.orgs, anchor: o.anchor, sealedSecret, log: (l) => log(`${o.label}: ${l}`) });
    await seedFanoutOrg(c, { n: o.fanoutWebhooks, anchor: o.anchor, sealedSecret, url: o.fanoutUrl });
    log(`${o.label}: VACUUM (ANALYZE)…`);
    await c.query('VACUUM (ANALYZE)');
    const size = await c.query(`SELECT pg_database_size(current_database())::bigint AS n`);
    return { counts, seconds: (Date.now() - started) / 1000, sizeBytes: Number(size.rows[0].n) };
  } finally {
    await Promise.all(lanes.map((l) => l.end().catch(() => {})));
  }
}

async function main(onCleanup: (name: string, fn: () => Promise<unknown>) => void): Promise<number> {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: '1.0' }, 'fanout-webhooks': { type: 'string', default: '1000' }, lanes: { type: 'string', default: '2' } } });
  const scale = Number(values.scale);
  if (!(scale > 0 && scale <= 10)) throw new Error('--scale must be a number in (0, 10]');
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const dataDir = join(process.cwd(), '.hookwise', 'growth', 'pgdata');
    await mkdir(dataDir, { recursive: true });
    log(`no DATABASE_URL: embedded PostgreSQL in ${dataDir}`);
    const pgHandle = await startEmbeddedPostgres({ dataDir, database: 'hookwise_growth', persistent: true, log });
    onCleanup('PostgreSQL', pgHandle.stop);
    databaseUrl = pgHandle.databaseUrl;
  }
  const key = process.env.HOOKWISE_ENCRYPTION_KEY ?? 'growth-seed-key-not-for-production-use-0000';
  const r = await seedDatabase(databaseUrl, {
    scale,
    orgs: 'all',
    anchor: new Date(),
    encryptionKey: key,
    fanoutWebhooks: Number(values['fanout-webhooks']),
    fanoutUrl: 'http://127.0.0.1:9/fanout',
    label: 'seed',
    lanes: Number(values.lanes),
  });
  process.stdout.write(`${table([['table', 'rows'], ...Object.entries(r.counts).map(([t, n]) => [t, String(n)])])}\n`);
  process.stdout.write(`seeded in ${r.seconds.toFixed(0)} s; database size ${(r.sizeBytes / 2 ** 30).toFixed(2)} GiB; fan-out org ${FANOUT_ORG}\n`);
  process.stdout.write(`${JSON.stringify({ seed: 'growth', scale, seconds: r.seconds, sizeBytes: r.sizeBytes, counts: r.counts })}\n`);
  return 0;
}

// Run as a command (not when bench/growth.ts imports seedDatabase).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { onCleanup, cleanup } = createCleanups(30_000);
  runBenchmark(async () => {
    try {
      return await main(onCleanup);
    } finally {
      await cleanup();
    }
  }, cleanup);
}
