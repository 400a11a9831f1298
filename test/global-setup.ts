import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { migrate } from '../src/db/migrate.js';
import { WORKFLOWS_PATH } from '../src/temporal/worker.js';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { findOrBuildTemporalCli } from '../src/dev/temporal-cli.js';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn: (m: string) => log(m), error: (m: string) => log(m) };

const log = (line: string) => process.stderr.write(`[test-setup] ${line}\n`);

/**
 * Real PostgreSQL and Temporal for the whole run: DATABASE_URL / TEMPORAL_ADDRESS when set,
 * otherwise a throw-away embedded PostgreSQL and an in-memory Temporal dev server.
 * (vitest applies no timeout to globalSetup, which matters for the one-time Temporal CLI build.)
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
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

  const startPostgres = async (): Promise<string> => {
    if (process.env.DATABASE_URL) {
      log('using DATABASE_URL');
      return process.env.DATABASE_URL;
    }
    tempDir = await mkdtemp(join(tmpdir(), 'hookwise-test-'));
    // As root, PostgreSQL runs as the `postgres` user, which must be able to enter this dir.
    await chmod(tempDir, 0o755);
    log('starting embedded PostgreSQL…');
    const pg = await startEmbeddedPostgres({
      dataDir: join(tempDir, 'pgdata'),
      database: 'hookwise_test',
      persistent: false,
      log,
    });
    stopPostgres = pg.stop;
    return pg.databaseUrl;
  };

  const startTemporal = async (): Promise<string> => {
    if (process.env.TEMPORAL_ADDRESS) {
      log(`using TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS}`);
      return process.env.TEMPORAL_ADDRESS;
    }
    const cliPath = await findOrBuildTemporalCli(log);
    log('starting Temporal dev server…');
    // Drop the server's own log lines (tests starting and stopping workers make it log cancelled
    // polls); failures to start still include its output in the error.
    const server = await startTemporalDevServer({ cliPath, ui: false, log: (l) => !l.includes(' level=') && log(l) });
    stopTemporal = server.stop;
    return server.address;
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
    // Independent and both slow-ish: start them side by side. allSettled, so that whatever did
    // start is known (and stopped) even when the other one fails.
    const [db, temporal, bundle] = await Promise.allSettled([startPostgres(), startTemporal(), bundleWorkflows()]);
    if (db.status === 'rejected') throw db.reason;
    if (temporal.status === 'rejected') throw temporal.reason;
    if (bundle.status === 'rejected') throw bundle.reason;

    log('running migrations…');
    await migrate(db.value);

    project.provide('databaseUrl', db.value);
    project.provide('temporalAddress', temporal.value);
    project.provide('workflowBundlePath', bundle.value);
    return teardown;
  } catch (e) {
    await teardown();
    throw e;
  }
}
