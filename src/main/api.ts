import { loadConfig, ConfigError } from '../config.js';
import { migrate } from '../db/migrate.js';
import { untilItSucceeds } from './wait-for.js';
import { createPool } from '../db/pool.js';
import { ensureBootstrapKey } from '../tenancy.js';
import { buildApi, type Api } from '../roots/api.js';
import { warnIfPublicUrlUnset } from '../api/public-url.js';

// The API process: migrations, then the Koa app. It runs alone or beside workers (docker-compose).

async function main(): Promise<void> {
  const config = loadConfig();
  // Handled from the start (as PID 1 in a container, a signal without a handler is ignored): before the
  // API listens, a stop has nothing to finish; a second signal stops at once.
  let api: Api | null = null;
  let stopping = false;
  const stop = () => {
    if (stopping || !api) process.exit(stopping ? 1 : 0);
    stopping = true;
    // Answer the requests in flight and make the workflow starts owed to acknowledged events (recovery
    // would, later), then go.
    setTimeout(() => process.exit(0), 10_000).unref();
    void api.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await untilItSucceeds('migrating the database', () => migrate(config.DATABASE_URL, (line) => console.error(`migrate: ${line}`)), console.error);
  if (config.HOOKWISE_BOOTSTRAP_API_KEY) {
    const db = createPool(config.DATABASE_URL, 1);
    await untilItSucceeds('ensuring the bootstrap key', () => ensureBootstrapKey(db, config.HOOKWISE_BOOTSTRAP_API_KEY!), console.error);
    await db.end();
  }
  api = buildApi(config);
  await api.listen(config.PORT);
  api.deps.logger.info(`hookwise api listening on :${config.PORT}`);
  warnIfPublicUrlUnset(config, (line) => api!.deps.logger.warn(line));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
