import type { Config } from '../config.js';
import { createPool, type Db } from '../db/pool.js';
import { createDispatcher, type Dispatcher } from '../delivery/dispatcher.js';
import { applyHeapGrowth } from '../heap-growth.js';
import { createLogger, warnLine, type Logger } from '../log.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { createTemporal, type Temporal } from '../temporal/client.js';

export interface Common {
  logger: Logger;
  log: (line: string) => void;
  db: Db;
  temporal: Temporal;
  dispatcher: Dispatcher;
  metrics: Metrics;
}

/** What both processes are built on: the logger, the pool, the Temporal client, the dispatcher, metrics. */
export function buildCommon(config: Config, service: 'api' | 'worker', logger?: Logger): Common {
  applyHeapGrowth(config.HOOKWISE_HEAP_GROWTH_PERCENT);
  const chosen = logger ?? createLogger({ level: config.LOG_LEVEL, service });
  const log = warnLine(chosen);
  const db = createPool(config.DATABASE_URL, 20, log);
  const temporal = createTemporal({
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.HOOKWISE_TASK_QUEUE,
  });
  return { logger: chosen, log, db, temporal, dispatcher: createDispatcher({ db, temporal, log }), metrics: createMetrics(service) };
}
