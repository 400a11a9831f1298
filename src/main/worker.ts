import { loadConfig, ConfigError } from '../config.js';
import { createPool } from '../db/pool.js';
import { migrate } from '../db/migrate.js';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createTemporalClient } from '../temporal/client.js';
import { attemptTimeoutMs, createWorker, schedulerSettings } from '../temporal/worker.js';
import { createDispatcher } from '../delivery/dispatcher.js';
import { startRecoveryLoop } from '../temporal/recovery.js';

// The worker process: runs workflows and activities, and starts deliveries whose publisher crashed.

async function main(): Promise<void> {
  const config = loadConfig();
  // The SDK's info level includes the whole webpack report of the workflow bundle: keep it for debug.
  Runtime.install({ logger: new DefaultLogger(config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN') });
  await migrate(config.DATABASE_URL, (line) => console.error(`migrate: ${line}`));
  const db = createPool(config.DATABASE_URL, 20);
  const { worker, close } = await createWorker(config, db);
  const temporal = createTemporalClient({
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.HOOKWISE_TASK_QUEUE,
  });
  const dispatcher = createDispatcher({
    db,
    temporal,
    taskQueue: config.HOOKWISE_TASK_QUEUE,
    attemptTimeoutMs: attemptTimeoutMs(config),
  });
  const recovery = startRecoveryLoop(
    { db, temporal, taskQueue: config.HOOKWISE_TASK_QUEUE, dispatcher, agentTimeoutMs: schedulerSettings(config).agentTimeoutMs },
    config.HOOKWISE_RECOVERY_INTERVAL_SECONDS,
  );
  console.error(`hookwise worker polling task queue ${config.HOOKWISE_TASK_QUEUE}`);
  // Worker.run installs SIGINT/SIGTERM handlers and drains before it resolves.
  await worker.run();
  recovery.stop();
  await Promise.all([db.end(), temporal.connection.close(), close()]);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
