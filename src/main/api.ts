import { loadConfig, ConfigError } from '../config.js';
import { migrate } from '../db/migrate.js';
import { untilItSucceeds } from './wait-for.js';
import { createPool } from '../db/pool.js';
import { ensureBootstrapKey } from '../tenancy.js';
import { buildApi } from '../roots/api.js';
import { onStopSignals } from './stop-signals.js';
import { warnIfPublicUrlUnset } from '../api/public-url.js';

// The API process: migrations, then the Koa app. It runs alone or beside workers (docker-compose).

async function main(): Promise<void> {
  const config = loadConfig();
  const signals = onStopSignals();
  await untilItSucceeds('migrating the database', () => migrate(config.DATABASE_URL, (line) => console.error(`migrate: ${line}`)), console.error);
  if (config.HOOKWISE_BOOTSTRAP_API_KEY) {
    const db = createPool(config.DATABASE_URL, 1);
    await untilItSucceeds('ensuring the bootstrap key', () => ensureBootstrapKey(db, config.HOOKWISE_BOOTSTRAP_API_KEY!), console.error);
    await db.end();
  }
  const api = buildApi(config);
  // Answer the requests in flight and make the workflow starts owed to acknowledged events (recovery
  // would, later), then go.
  signals.ready(() => {
    setTimeout(() => process.exit(0), 10_000).unref();
    void api.close().finally(() => process.exit(0));
  });
  await api.listen(config.PORT);
  api.deps.logger.info(`hookwise api listening on :${config.PORT}`);
  warnIfPublicUrlUnset(config, (line) => api.deps.logger.warn(line));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
