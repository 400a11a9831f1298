import { loadConfig, ConfigError } from '../config.js';
import { createPool } from '../db/pool.js';
import { migrate } from '../db/migrate.js';
import { createTemporalClient } from '../temporal/client.js';
import { createApp } from '../api/app.js';
import { createApiDeps } from '../api/context.js';
import { attachEventSocket } from '../api/stream/websocket.js';
import { ensureBootstrapKey } from '../tenancy.js';

// The API process: migrations, then the Koa app. It runs alone or beside workers (docker-compose).

async function main(): Promise<void> {
  const config = loadConfig();
  await migrate(config.DATABASE_URL, (line) => console.error(`migrate: ${line}`));
  const db = createPool(config.DATABASE_URL, 20);
  if (config.HOOKWISE_BOOTSTRAP_API_KEY) await ensureBootstrapKey(db, config.HOOKWISE_BOOTSTRAP_API_KEY);
  const temporal = createTemporalClient({
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.HOOKWISE_TASK_QUEUE,
  });
  const deps = createApiDeps(config, db, temporal);
  const server = createApp(deps).listen(config.PORT, () => console.error(`hookwise api listening on :${config.PORT}`));
  attachEventSocket(server, deps.feed, deps.authenticator);

  const stop = () => {
    // Finish the workflow starts owed to events already acknowledged (recovery would, later), then go.
    server.close(() => {
      void deps.starter
        .drained()
        .then(() => Promise.all([deps.feed.close(), db.end(), temporal.connection.close()]))
        .finally(() => process.exit(0));
    });
    // Keep-alive and streaming connections would hold close() open; give requests a moment, then go.
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
