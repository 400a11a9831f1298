import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { bundleWorkflowCode } from '@temporalio/worker';
import { migrate } from '../src/db/migrate.js';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { postgresTarget, startLocalTemporal, temporalEngineFromEnv, type LocalPostgres } from '../src/dev/local-temporal.js';
import { findOrBuildTemporalCli } from '../src/dev/temporal-binaries.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    /** What runs Temporal: the production server (default), the CLI's dev server, or TEMPORAL_ADDRESS. */
    temporalEngine: 'server' | 'dev' | 'external';
    workflowBundlePath: string;
    /** The Temporal CLI for tests that start their own dev server; null when unavailable (see the error). */
    temporalCliPath: string | null;
    temporalCliError: string | null;
  }
}

const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn: (m: string) => log(m), error: (m: string) => log(m) };

const log = (line: string) => process.stderr.write(`[test-setup] ${line}\n`);

/**
 * Real PostgreSQL and Temporal for the whole run: DATABASE_URL / TEMPORAL_ADDRESS when set,
 * otherwise a throw-away embedded PostgreSQL and the production Temporal server on it
 * (HOOKWISE_TEMPORAL_ENGINE=dev: the CLI's dev server instead). On a fresh machine the Temporal
 * server and the CLI (which the dev-server smoke test needs) are built first, side by side.
 * (vitest applies no timeout to globalSetup, which matters for those one-time builds.)
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  let stopPostgres: (() => Promise<void>) | undefined;
  let stopTemporal: (() => Promise<void>) | undefined;
  let tempDir: string | undefined;
  let bundleDir: string | undefined;

  const teardown = async () => {
    await stopTemporal?.().catch((e) => log(`stopping Temporal failed: ${String(e)}`));
    await stopPostgres?.().catch((e) => log(`stopping PostgreSQL failed: ${String(e)}`));
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
    if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
  };

  const engine = process.env.TEMPORAL_ADDRESS ? 'external' : temporalEngineFromEnv('server');

  const startPostgres = async (): Promise<LocalPostgres> => {
    if (process.env.DATABASE_URL) {
      log('using DATABASE_URL');
      // Temporal's databases go beside it, named for this run and dropped at the end.
      const prefix = `${postgresTarget(process.env.DATABASE_URL).database}_t${randomBytes(3).toString('hex')}_`;
      return { url: process.env.DATABASE_URL, databasePrefix: prefix, dropOnStop: true };
    }
    log('starting embedded PostgreSQL…');
    const pg = await startEmbeddedPostgres({
      dataDir: join(tempDir!, 'pgdata'),
      database: 'hookwise_test',
      persistent: false,
      // Two test files run at once, each with several APIs and workers (pools of 20) beside Temporal's
      // own connections: at the default 100, a burst test in one file could starve the other of
      // connections and see 503s that no sized deployment would.
      settings: { max_connections: '300' },
      log,
    });
    stopPostgres = pg.stop;
    return { url: pg.databaseUrl };
  };

  const startTemporal = async (postgres: Promise<LocalPostgres>): Promise<string> => {
    if (engine === 'external') {
      log(`using TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS}`);
      return process.env.TEMPORAL_ADDRESS!;
    }
    const temporal = await startLocalTemporal({
      engine,
      ui: false,
      postgres: engine === 'server' ? postgres : undefined,
      stateDir: join(tempDir!, 'temporal'),
      persistent: false,
      // The dev server's own log lines (tests starting and stopping workers make it log cancelled
      // polls) are dropped; failures to start still include its output in the error.
      log: (l) => !l.includes(' level=') && log(l),
    });
    stopTemporal = temporal.stop;
    log(`Temporal: ${temporal.description}`);
    return temporal.address;
  };

  // The dev-server smoke test needs the CLI; build it (first run) while everything else starts.
  const findCli = async (): Promise<{ path: string | null; error: string | null }> => {
    if (engine === 'external') return { path: null, error: 'TEMPORAL_ADDRESS is set: the run uses an external Temporal' };
    try {
      return { path: await findOrBuildTemporalCli(log), error: null };
    } catch (e) {
      log(`the Temporal CLI is unavailable, so the dev-server smoke test will fail: ${(e as Error).message.split('\n')[0]}`);
      return { path: null, error: (e as Error).message };
    }
  };

  // Every test file's worker runs the same workflow code: bundle it once instead of once per file.
  const bundleWorkflows = async (): Promise<string> => {
    bundleDir = await mkdtemp(join(tmpdir(), 'hookwise-bundle-'));
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
    const path = join(bundleDir, 'workflows.js');
    await writeFile(path, code);
    return path;
  };

  try {
    tempDir = await mkdtemp(join(tmpdir(), 'hookwise-test-'));
    // As root, PostgreSQL runs as the `postgres` user, which must be able to enter this dir.
    await chmod(tempDir, 0o755);
    // Independent and slow-ish (a first run builds Temporal): start them side by side. allSettled,
    // so that whatever did start is known (and stopped) even when another one fails.
    const postgres = startPostgres();
    const [db, temporal, bundle, cli] = await Promise.allSettled([postgres, startTemporal(postgres), bundleWorkflows(), findCli()]);
    if (db.status === 'rejected') throw db.reason;
    if (temporal.status === 'rejected') throw temporal.reason;
    if (bundle.status === 'rejected') throw bundle.reason;
    if (cli.status === 'rejected') throw cli.reason;

    log('running migrations…');
    await migrate(db.value.url);

    project.provide('databaseUrl', db.value.url);
    project.provide('temporalAddress', temporal.value);
    project.provide('temporalEngine', engine);
    project.provide('workflowBundlePath', bundle.value);
    project.provide('temporalCliPath', cli.value.path);
    project.provide('temporalCliError', cli.value.error);
    log(`ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return teardown;
  } catch (e) {
    await teardown();
    throw e;
  }
}
