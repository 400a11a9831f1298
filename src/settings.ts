import type { Config } from './config.js';

// What activities read from the worker's configuration when they run. Workflow inputs carry business
// ids only, so a changed setting reaches running workflows with the next activity.

export interface DeliverySettings {
  /** One POST, connect to last byte. */
  timeoutMs: number;
  allowHttp: boolean;
  allowPrivate: boolean;
  maxInFlight: number;
  maxPerMinute: number;
  maxRetryAfterSeconds: number;
  autoDisableAfterHours: number;
}

export interface RoomSettings {
  tickMs: number;
  batchSize: number;
  backlogCap: number;
  /** Reuse earlier LLM match answers (llm_match_cache); off, every undecided event asks the model. */
  matchCache: boolean;
}

export function deliverySettings(config: Config): DeliverySettings {
  return {
    timeoutMs: config.HOOKWISE_DELIVERY_TIMEOUT_MS,
    allowHttp: config.HOOKWISE_ALLOW_HTTP,
    allowPrivate: config.HOOKWISE_ALLOW_PRIVATE_TARGETS,
    maxInFlight: config.HOOKWISE_ENDPOINT_MAX_IN_FLIGHT,
    maxPerMinute: config.HOOKWISE_ENDPOINT_MAX_PER_MINUTE,
    maxRetryAfterSeconds: config.HOOKWISE_MAX_RETRY_AFTER_SECONDS,
    autoDisableAfterHours: config.HOOKWISE_AUTO_DISABLE_AFTER_HOURS,
  };
}

export function roomSettings(config: Config): RoomSettings {
  return {
    tickMs: Math.round(config.HOOKWISE_ROOM_TICK_SECONDS * 1000),
    batchSize: config.HOOKWISE_ROOM_BATCH_SIZE,
    backlogCap: config.HOOKWISE_BACKLOG_CAP,
    matchCache: config.HOOKWISE_LLM_MATCH_CACHE,
  };
}
