import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import { createSecretBox } from '../domain/secrets.js';
import { createDeliveryActivities } from '../../activities/deliveries.js';
import { createRoomActivities } from '../../activities/rooms.js';
import { createGenericEventActivities } from '../../activities/generic-events.js';
import { createDispatcher } from '../delivery/dispatcher.js';
import { createLlm } from '../llm/llm.js';
import { createTemporalClient } from './client.js';
import { VERSION } from '../version.js';
import type { SchedulerSettings } from '../rooms/scheduler-client.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** The attempt activity's budget: the HTTP timeout plus its database work. */
export function attemptTimeoutMs(config: Pick<Config, 'HOOKWISE_DELIVERY_TIMEOUT_MS'>): number {
  return config.HOOKWISE_DELIVERY_TIMEOUT_MS + 5_000;
}

/** How the room schedulers are started and paced; the API (replies) and the worker (admissions) agree on it. */
export function schedulerSettings(config: Config): SchedulerSettings {
  return {
    taskQueue: config.HOOKWISE_TASK_QUEUE,
    tickMs: Math.round(config.HOOKWISE_ROOM_TICK_SECONDS * 1000),
    agentTimeoutMs: config.HOOKWISE_LLM_TIMEOUT_MS + 10_000,
  };
}

export function createLlmFromConfig(config: Config) {
  return createLlm({
    apiKey: config.OPENAI_API_KEY,
    baseURL: config.OPENAI_BASE_URL,
    models: { fast: config.HOOKWISE_MODEL_FAST, smart: config.HOOKWISE_MODEL_SMART },
    timeoutMs: config.HOOKWISE_LLM_TIMEOUT_MS,
  });
}

/**
 * Builds the worker from its dependencies: every activity gets what it needs here, once.
 * `workflowBundle` lets tests bundle the workflows once for all their workers.
 */
export async function createWorker(
  config: Config,
  db: Db,
  options: { workflowBundle?: WorkflowBundleOption } = {},
): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  // Activities that start or signal workflows (deliveries of agent results, room schedulers) use a client.
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
  const llm = createLlmFromConfig(config);
  const activities = {
    ...createDeliveryActivities({
      db,
      secretBox: createSecretBox(config.HOOKWISE_ENCRYPTION_KEY),
      version: VERSION,
      settings: {
        timeoutMs: config.HOOKWISE_DELIVERY_TIMEOUT_MS,
        attemptTimeoutMs: attemptTimeoutMs(config),
        allowHttp: config.HOOKWISE_ALLOW_HTTP,
        allowPrivate: config.HOOKWISE_ALLOW_PRIVATE_TARGETS,
        maxInFlight: config.HOOKWISE_ENDPOINT_MAX_IN_FLIGHT,
        maxPerMinute: config.HOOKWISE_ENDPOINT_MAX_PER_MINUTE,
        maxRetryAfterSeconds: config.HOOKWISE_MAX_RETRY_AFTER_SECONDS,
      },
    }),
    ...createRoomActivities({
      db,
      llm,
      temporal,
      dispatcher,
      scheduler: schedulerSettings(config),
      backlogCap: config.HOOKWISE_BACKLOG_CAP,
    }),
    ...createGenericEventActivities({ db, llm, dispatcher }),
  };
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.HOOKWISE_TASK_QUEUE,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities,
    // Deliveries and agent runs are I/O-bound: many can wait on receivers and models at once.
    maxConcurrentActivityTaskExecutions: 200,
  });
  return {
    worker,
    close: async () => {
      await temporal.connection.close();
      await connection.close();
    },
  };
}
