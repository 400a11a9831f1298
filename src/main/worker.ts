import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig, ConfigError } from '../config.js';
import { migrate } from '../db/migrate.js';
import { untilItSucceeds } from './wait-for.js';
import { buildWorker } from '../roots/worker.js';
import { onStopSignals } from './stop-signals.js';

// The worker process: runs workflows and activities, and starts work whose publisher crashed.

async function main(): Promise<void> {
  const config = loadConfig();
  // The SDK's info level includes the whole webpack report of the workflow bundle: keep it for debug.
  // Signals are ours: the first one drains the worker, and nothing exits before that.
  Runtime.install({ logger: new DefaultLogger(config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN'), shutdownSignals: [] });
  const signals = onStopSignals();
  await untilItSucceeds('migrating the database', () => migrate(config.DATABASE_URL, (line) => console.error(`migrate: ${line}`)), console.error);
  const worker = await buildWorker(config);
  // The first signal drains the worker.
  signals.ready(() => worker.shutdown());
  console.error(`hookwise worker polling task queue ${config.HOOKWISE_TASK_QUEUE}`);
  await worker.run();
  await worker.close();
  // Work given up past the shutdown's force time may still hold sockets open: it is Temporal's to retry.
  process.exit(0);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
