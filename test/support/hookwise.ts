import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { inject } from 'vitest';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig, type Config } from '../../src/config.js';
import { createPool, type Db } from '../../src/db/pool.js';
import { createLogger } from '../../src/log.js';
import { buildApi } from '../../src/roots/api.js';
import { buildWorker, type HookwiseWorker } from '../../src/roots/worker.js';
import { createOrgWithKey, createApiKey } from '../../src/tenancy.js';
import { recoverUnstarted } from '../../src/temporal/recovery.js';
import type { RecoveryResult } from '../../src/flows/recovery.js';
import type { Capability } from '../../src/domain/api-keys.js';
import type { Temporal } from '../../src/temporal/client.js';
import { startFakeLlm, type FakeHandler, type FakeLlm } from './fake-llm.js';

export const TEST_ENCRYPTION_KEY = 'test-encryption-key-0123456789abcdef0123456789';

let runtimeInstalled = false;

/** The environment a test's hookwise runs with: real PostgreSQL and Temporal, short timeouts. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    // Each test file gets its own task queue so its worker only runs its own workflows.
    HOOKWISE_TASK_QUEUE: `test-${randomUUID().slice(0, 8)}`,
    HOOKWISE_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    HOOKWISE_ALLOW_HTTP: 'true',
    HOOKWISE_ALLOW_PRIVATE_TARGETS: 'true',
    HOOKWISE_DELIVERY_TIMEOUT_MS: '2000',
    // Worker processes spawned by tests would sweep the whole shared database; tests call h.recover().
    HOOKWISE_RECOVERY_INTERVAL_SECONDS: '3600',
    // Every test worker serves /metrics on a port of its own.
    HOOKWISE_METRICS_PORT: '0',
    // Worker processes a test spawns load the run's bundle instead of bundling the workflows again.
    HOOKWISE_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
    ...overrides,
  };
}

export interface Hookwise {
  baseUrl: string;
  config: Config;
  env: Record<string, string>;
  db: Db;
  /**
   * The API's own Temporal client (lazily connected, closed by stop()), for tests that look at
   * workflows: describe, history, results, visibility queries.
   */
  temporal: Temporal;
  /** Every JSON log line the API and the in-process worker wrote. */
  logs: string[];
  request(method: string, path: string, opts?: { key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; text: string }>;
  newOrg(): Promise<{ orgId: string; key: string }>;
  newKey(orgId: string, capabilities: Capability[]): Promise<string>;
  /** What the worker's recovery loop does on each tick, for this harness's orgs; returns how many it started. */
  recover(olderThanSeconds?: number): Promise<number>;
  recoverDetailed(olderThanSeconds?: number): Promise<RecoveryResult>;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The API served on a loopback port plus (unless `worker: false`) an in-process worker, both built by
 * the same composition roots as the real entry points (src/roots).
 */
export async function startHookwise(
  opts: { env?: Record<string, string>; worker?: boolean; workerEnv?: Record<string, string> } = {},
): Promise<Hookwise> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const env = testEnv(opts.env);
  const config = loadConfig(env);
  const logs: string[] = [];
  const capture = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'info', service: 'test', destination: capture });
  const api = buildApi(config, { logger });
  const baseUrl = await api.listen(0, '127.0.0.1');
  // The harness's own connection, for tests that look at rows directly.
  const db = createPool(config.DATABASE_URL, 5);

  const ownOrgs: string[] = [];
  let running: { worker: HookwiseWorker; done: Promise<void> } | null = null;
  async function startWorker() {
    // A deployment may run its workers with other settings than its API (workerEnv).
    const worker = await buildWorker(loadConfig({ ...env, ...opts.workerEnv }), {
      workflowBundle: { codePath: inject('workflowBundlePath') },
      logger,
      recovery: false,
    });
    running = { worker, done: worker.run() };
  }
  async function stopWorker() {
    if (!running) return;
    const r = running;
    running = null;
    r.worker.shutdown();
    await r.done;
    await r.worker.close();
  }
  if (opts.worker !== false) await startWorker();
  const recoverDetailed = (olderThanSeconds = 0) =>
    // Only this harness's orgs: other test files share the database, and their work is theirs to start.
    recoverUnstarted({
      db: api.deps.db,
      temporal: api.deps.temporal,
      olderThanSeconds,
      organizationIds: ownOrgs,
      log: (line) => logs.push(line),
      roomTickSeconds: config.HOOKWISE_ROOM_TICK_SECONDS,
    });

  return {
    baseUrl,
    config,
    env,
    db,
    temporal: api.deps.temporal,
    logs,
    async request(method, path, o = {}) {
      const res = await fetch(baseUrl + path, {
        method,
        headers: {
          ...(o.key ? { authorization: `Bearer ${o.key}` } : {}),
          ...(o.body !== undefined || o.rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
          ...o.headers,
        },
        body: o.rawBody ?? (o.body === undefined ? undefined : JSON.stringify(o.body)),
      });
      const text = await res.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      return { status: res.status, body, text };
    },
    async newOrg() {
      const { org, apiKey } = await createOrgWithKey(db, `org-${randomUUID()}`);
      ownOrgs.push(org.id);
      return { orgId: org.id, key: apiKey };
    },
    async newKey(orgId, capabilities) {
      return (await createApiKey(db, orgId, capabilities)).key;
    },
    recoverDetailed,
    recover: async (olderThanSeconds = 0) => (await recoverDetailed(olderThanSeconds)).started,
    startWorker,
    stopWorker,
    async stop() {
      await stopWorker();
      await api.close();
      await db.end();
    },
  };
}

/**
 * hookwise whose model is the fake LLM server (./fake-llm.ts) answering with `script`, for tests whose
 * rooms and agents call a model; `stop()` stops both.
 */
export async function startHookwiseWithLlm(
  script: FakeHandler,
  env: Record<string, string> = {},
): Promise<{ h: Hookwise; llm: FakeLlm; stop(): Promise<void> }> {
  const llm = await startFakeLlm();
  llm.script(script);
  try {
    const h = await startHookwise({ env: { OPENAI_BASE_URL: llm.baseURL, ...env } });
    return {
      h,
      llm,
      stop: async () => {
        await h.stop();
        await llm.close();
      },
    };
  } catch (err) {
    await llm.close();
    throw err;
  }
}
