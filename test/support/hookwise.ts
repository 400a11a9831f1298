import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../../src/config.js';
import { createPool, type Db } from '../../src/db/pool.js';
import { createTemporalClient } from '../../src/temporal/client.js';
import { createWorker } from '../../src/temporal/worker.js';
import { createApp } from '../../src/api/app.js';
import { createApiDeps } from '../../src/api/context.js';
import { attachEventSocket } from '../../src/api/stream/websocket.js';
import { createOrgWithKey, createApiKey } from '../../src/tenancy.js';
import { recoverUnstarted } from '../../src/temporal/recovery.js';
import type { Capability } from '../../src/domain/api-keys.js';

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
    ...overrides,
  };
}

export interface Hookwise {
  baseUrl: string;
  config: Config;
  env: Record<string, string>;
  db: Db;
  logs: string[];
  request(method: string, path: string, opts?: { key?: string; body?: unknown; rawBody?: string }): Promise<{ status: number; body: any; text: string }>;
  newOrg(): Promise<{ orgId: string; key: string }>;
  newKey(orgId: string, capabilities: Capability[]): Promise<string>;
  /** What the worker's recovery loop does on each tick. */
  recover(olderThanSeconds?: number): Promise<number>;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The API served on a loopback port plus (unless `worker: false`) an in-process worker, both wired
 * from the same config as the real entry points.
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
  const db = createPool(config.DATABASE_URL);
  const temporal = createTemporalClient({
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.HOOKWISE_TASK_QUEUE,
  });
  const logs: string[] = [];
  const deps = createApiDeps(config, db, temporal, (line) => logs.push(line));
  const server: Server = createServer(createApp(deps).callback());
  attachEventSocket(server, deps.feed, deps.authenticator);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const ownOrgs: string[] = [];
  let running: { worker: Worker; done: Promise<void>; close: () => Promise<void> } | null = null;
  async function startWorker() {
    // A deployment may run its workers with other settings than its API (workerEnv).
    const workerConfig = loadConfig({ ...env, ...opts.workerEnv });
    const { worker, close } = await createWorker(workerConfig, db, {
      workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    running = { worker, done: worker.run(), close };
  }
  async function stopWorker() {
    if (!running) return;
    const r = running;
    running = null;
    r.worker.shutdown();
    await r.done;
    await r.close();
  }
  if (opts.worker !== false) await startWorker();

  return {
    baseUrl,
    config,
    env,
    db,
    logs,
    async request(method, path, o = {}) {
      const res = await fetch(baseUrl + path, {
        method,
        headers: {
          ...(o.key ? { authorization: `Bearer ${o.key}` } : {}),
          ...(o.body !== undefined || o.rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
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
    // Only this harness's orgs: other test files share the database, and their work is theirs to start.
    recover: (olderThanSeconds = 0) =>
      recoverUnstarted(
        { db, temporal, taskQueue: config.HOOKWISE_TASK_QUEUE, dispatcher: deps.dispatcher, agentTimeoutMs: deps.scheduler.agentTimeoutMs },
        olderThanSeconds,
        ownOrgs,
      ),
    startWorker,
    stopWorker,
    async stop() {
      await stopWorker();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await deps.starter.drained();
      await deps.feed.close();
      await temporal.connection.close();
      await db.end();
    },
  };
}
