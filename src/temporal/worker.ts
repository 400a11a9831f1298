import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import { createSecretBox } from '../domain/secrets.js';
import { createDeliveryActivities } from '../../activities/deliveries.js';
import { VERSION } from '../version.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

export type WorkerConfig = Pick<
  Config,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_NAMESPACE'
  | 'HOOKWISE_TASK_QUEUE'
  | 'HOOKWISE_ENCRYPTION_KEY'
  | 'HOOKWISE_DELIVERY_TIMEOUT_MS'
  | 'HOOKWISE_ALLOW_HTTP'
  | 'HOOKWISE_ALLOW_PRIVATE_TARGETS'
  | 'HOOKWISE_ENDPOINT_MAX_IN_FLIGHT'
  | 'HOOKWISE_ENDPOINT_MAX_PER_MINUTE'
  | 'HOOKWISE_MAX_RETRY_AFTER_SECONDS'
>;

/** Builds the worker from its dependencies; `workflowBundle` lets tests bundle the workflows once. */
export async function createWorker(
  config: WorkerConfig,
  db: Db,
  options: { workflowBundle?: WorkflowBundleOption } = {},
): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const activities = createDeliveryActivities({
    db,
    secretBox: createSecretBox(config.HOOKWISE_ENCRYPTION_KEY),
    version: VERSION,
    settings: {
      timeoutMs: config.HOOKWISE_DELIVERY_TIMEOUT_MS,
      allowHttp: config.HOOKWISE_ALLOW_HTTP,
      allowPrivate: config.HOOKWISE_ALLOW_PRIVATE_TARGETS,
      maxInFlight: config.HOOKWISE_ENDPOINT_MAX_IN_FLIGHT,
      maxPerMinute: config.HOOKWISE_ENDPOINT_MAX_PER_MINUTE,
      maxRetryAfterSeconds: config.HOOKWISE_MAX_RETRY_AFTER_SECONDS,
    },
  });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.HOOKWISE_TASK_QUEUE,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities,
    // Deliveries are I/O-bound: many can wait on receivers at once.
    maxConcurrentActivityTaskExecutions: 200,
  });
  return { worker, connection };
}

/** The attempt activity's budget: the HTTP timeout plus its database work. */
export function attemptTimeoutMs(config: Pick<Config, 'HOOKWISE_DELIVERY_TIMEOUT_MS'>): number {
  return config.HOOKWISE_DELIVERY_TIMEOUT_MS + 5_000;
}
