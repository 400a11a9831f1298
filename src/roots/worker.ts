import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import { createSecretBox } from '../domain/secrets.js';
import { createLlm } from '../llm/llm.js';
import { deliverySettings, roomSettings } from '../settings.js';
import { startRecoveryLoop } from '../temporal/recovery.js';
import { VERSION } from '../version.js';
import { carriesMetricsToken, registerBacklogGauges } from '../metrics.js';
import type { Logger } from '../log.js';
import { buildCommon } from './common.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDeliveryActivities } from '../../activities/deliveries.js';
import { createRoomActivities } from '../../activities/rooms.js';
import { createGenericEventActivities } from '../../activities/generic-events.js';
import { createOperationActivities } from '../../activities/operations.js';
import { createRetentionActivities } from '../../activities/retention.js';
import { markDatabaseOutages } from '../temporal/outages.js';
import { ensureRetentionSchedule } from '../flows/retention.js';
import { setTimeout as sleep } from 'node:timers/promises';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
/** Made at build time (`npm run build`); a worker started from the build loads it instead of bundling. */
export const PREBUILT_BUNDLE_PATH = fileURLToPath(new URL('../../workflow-bundle.js', import.meta.url));

/** How long past the grace time a stopping worker waits for its activities before it gives up on them. */
const SHUTDOWN_FORCE_AFTER_GRACE_MS = 10_000;

/**
 * How long a stopping worker lets its running activities finish before cancelling them: a delivery's
 * POST plus its two statements. An orchestrator must give the worker this plus 10 s (the force time)
 * before it kills it (docker-compose.yml: `stop_grace_period`).
 */
export function shutdownGraceMs(config: Pick<Config, 'HOOKWISE_DELIVERY_TIMEOUT_MS'>): number {
  return config.HOOKWISE_DELIVERY_TIMEOUT_MS + 5_000;
}

export interface HookwiseWorker {
  /** Where this worker serves /metrics and /healthz (null when HOOKWISE_METRICS_PORT is off). */
  metricsUrl: string | null;
  /** Polls until shutdown(); a worker that fails (Temporal lost for too long) is rebuilt, not exited. */
  run(): Promise<void>;
  shutdown(): void;
  /** After run() has resolved: closes the connections. */
  close(): Promise<void>;
}

/**
 * The worker process's composition root: every activity gets its dependencies here, once, from the
 * configuration. `src/main/worker.ts`, the tests and the benchmarks all build workers through it.
 * It waits for Temporal rather than failing when Temporal is not up yet.
 */
export async function buildWorker(
  config: Config,
  options: { workflowBundle?: WorkflowBundleOption; logger?: Logger; recovery?: boolean } = {},
): Promise<HookwiseWorker> {
  const { logger, log, db, temporal, dispatcher, metrics } = buildCommon(config, 'worker', options.logger);
  registerBacklogGauges(metrics, db);
  const llm = createLlm({
    apiKey: config.OPENAI_API_KEY,
    baseURL: config.OPENAI_BASE_URL,
    models: { fast: config.HOOKWISE_MODEL_FAST, smart: config.HOOKWISE_MODEL_SMART },
    timeoutMs: config.HOOKWISE_LLM_TIMEOUT_MS,
  });
  const activities = {
    ...createDeliveryActivities({
      db,
      temporal,
      dispatcher,
      secretBox: createSecretBox(config.HOOKWISE_ENCRYPTION_KEY, config.HOOKWISE_PREVIOUS_ENCRYPTION_KEY),
      version: VERSION,
      settings: deliverySettings(config),
      log,
      metrics,
    }),
    ...createRoomActivities({ db, llm, temporal, dispatcher, settings: roomSettings(config), metrics }),
    ...createGenericEventActivities({ db, llm, dispatcher, metrics }),
    ...createOperationActivities({ db, dispatcher, defaultInFlight: config.HOOKWISE_ENDPOINT_MAX_IN_FLIGHT }),
    ...createRetentionActivities({ db, olderThanDays: config.HOOKWISE_RETENTION_DAYS, batch: 1_000 }),
  };
  const prebuilt = config.HOOKWISE_WORKFLOW_BUNDLE ?? (existsSync(PREBUILT_BUNDLE_PATH) ? PREBUILT_BUNDLE_PATH : null);
  const workflowSource: { workflowBundle: WorkflowBundleOption } | { workflowsPath: string } = options.workflowBundle
    ? { workflowBundle: options.workflowBundle }
    : prebuilt
      ? { workflowBundle: { codePath: prebuilt } }
      : { workflowsPath: WORKFLOWS_PATH };

  logger.info(
    'workflowBundle' in workflowSource
      ? `workflows: a prebuilt bundle (${'codePath' in workflowSource.workflowBundle ? workflowSource.workflowBundle.codePath : 'in memory'})`
      : `workflows: bundled from source at start (${WORKFLOWS_PATH}); \`npm run build\` prebuilds them`,
  );
  let connection: NativeConnection | null = null;
  let worker: Worker | null = null;
  let stopping = false;
  // Ends the back-off waits below at once when shutdown() comes.
  const stopped = new AbortController();
  const pause = (ms: number) => sleep(ms, undefined, { signal: stopped.signal }).catch(() => {});

  /** Connects and registers the search attributes, retrying while Temporal is unreachable. */
  async function connect(): Promise<NativeConnection> {
    for (let attempt = 1; ; attempt++) {
      try {
        const c = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
        await temporal.ready();
        await ensureRetentionSchedule(temporal);
        return c;
      } catch (err) {
        if (stopping) throw err;
        const waitMs = Math.min(1000 * 2 ** (attempt - 1), 15_000);
        log(`worker: Temporal at ${config.TEMPORAL_ADDRESS} not reachable (${(err as Error).message}); retrying in ${waitMs / 1000}s`);
        await pause(waitMs);
        if (stopping) throw err;
      }
    }
  }

  const recovery =
    options.recovery === false
      ? null
      : startRecoveryLoop(
          { db, temporal, organizationIds: null, log, roomTickSeconds: config.HOOKWISE_ROOM_TICK_SECONDS },
          config.HOOKWISE_RECOVERY_INTERVAL_SECONDS,
          metrics,
        );

  // The worker has no API: a tiny server of its own for Prometheus and liveness probes.
  const metricsServer: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    if (path !== '/metrics') return void res.writeHead(404).end();
    if (config.HOOKWISE_METRICS_TOKEN && !carriesMetricsToken(req.headers.authorization, config.HOOKWISE_METRICS_TOKEN)) {
      return void res.writeHead(401).end();
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      // A collector's error (a query's, say) can name hosts and tables: the log gets it, the scraper not.
      (err) => {
        log(`worker: /metrics failed: ${(err as Error).message}`);
        res.writeHead(500).end('metrics unavailable');
      },
    );
  });
  const metricsUrl = await new Promise<string>((resolve, reject) => {
    metricsServer.once('error', reject);
    metricsServer.listen(config.HOOKWISE_METRICS_PORT, () => resolve(`http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}`));
  });

  return {
    metricsUrl,
    async run() {
      for (let failures = 0; !stopping; ) {
        try {
          connection ??= await connect();
          worker = await Worker.create({
            connection,
            namespace: config.TEMPORAL_NAMESPACE,
            taskQueue: config.HOOKWISE_TASK_QUEUE,
            ...workflowSource,
            activities,
            interceptors: { activity: [markDatabaseOutages] },
            // Agent runs and model calls are I/O-bound (deliveries are local activities now, below).
            maxConcurrentActivityTaskExecutions: 200,
            // A delivery attempt is a local activity, and holds its workflow task (and that task's slot)
            // while it waits on the receiver: receivers that hang fill the slots every flow of the worker
            // needs. 40 (the SDK's default) is the setting the fault drill was run with; 100 held in the
            // delivery benchmark, but the drill with 100 (and deliveries on a queue of their own, 16:00)
            // lost 294 attempts to killed workers and received 24 % twice; 200 ran tasks late under load.
            maxConcurrentLocalActivityExecutions: config.HOOKWISE_WORKER_TASK_SLOTS,
            maxConcurrentWorkflowTaskExecutions: config.HOOKWISE_WORKER_TASK_SLOTS,
            // A workflow's next task goes to the queue of the worker that has it cached; if that worker
            // died, the task moves to the shared queue after this long (default 10 s). The fault drill
            // kills a worker every 10 s: the default doubled the stall of every workflow it held.
            stickyQueueScheduleToStartTimeout: '5s',
            // On shutdown the worker stops polling and lets the work it runs finish. A delivery attempt
            // (a local activity) is waited for with its workflow task: its POST is bounded by the
            // delivery timeout, so a deploy costs no duplicate. Longer work (an agent run's model call,
            // an activity) is told to cancel after the grace time, which our activities don't act on,
            // and is given up at the force time: Temporal retries it elsewhere once its heartbeat stops.
            shutdownGraceTime: shutdownGraceMs(config),
            shutdownForceTime: shutdownGraceMs(config) + SHUTDOWN_FORCE_AFTER_GRACE_MS,
          });
          const running = worker.run();
          // A shutdown that came while the worker was being created: run() must start for it to end.
          if (stopping) worker.shutdown();
          await running;
          failures = 0;
        } catch (err) {
          if (stopping) break;
          failures++;
          const waitMs = Math.min(1000 * 2 ** (failures - 1), 15_000);
          log(`worker: stopped with an error (${(err as Error).message}); starting again in ${waitMs / 1000}s`);
          await connection?.close().catch(() => {});
          connection = null;
          await pause(waitMs);
        } finally {
          worker = null;
        }
      }
    },
    shutdown() {
      stopping = true;
      stopped.abort();
      recovery?.stop();
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    },
    async close() {
      await new Promise((r) => metricsServer.close(r));
      await Promise.all([connection?.close(), temporal.client.connection.close(), db.end()]);
    },
  };
}
