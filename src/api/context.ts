import type Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/pool.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { WebhookSettings } from '../delivery/webhook-settings.js';
import type { AuthState } from './auth.js';

/** What the route modules need; built once in app.ts from the process's real dependencies. */
export interface ApiDeps {
  db: Db;
  temporal: Client;
  dispatcher: Dispatcher;
  webhookSettings: WebhookSettings;
}

export type ApiRouter = Router<AuthState>;

import type { Config } from '../config.js';
import { createDispatcher } from '../delivery/dispatcher.js';
import { createWebhookSettings } from '../delivery/webhook-settings.js';
import { createSecretBox } from '../domain/secrets.js';
import { attemptTimeoutMs } from '../temporal/worker.js';

export function createApiDeps(config: Config, db: Db, temporal: Client): ApiDeps {
  return {
    db,
    temporal,
    dispatcher: createDispatcher({
      db,
      temporal,
      taskQueue: config.HOOKWISE_TASK_QUEUE,
      attemptTimeoutMs: attemptTimeoutMs(config),
    }),
    webhookSettings: createWebhookSettings({
      db,
      secretBox: createSecretBox(config.HOOKWISE_ENCRYPTION_KEY),
      allowHttp: config.HOOKWISE_ALLOW_HTTP,
      allowPrivate: config.HOOKWISE_ALLOW_PRIVATE_TARGETS,
      rotationOverlapSeconds: config.HOOKWISE_SECRET_ROTATION_OVERLAP_SECONDS,
    }),
  };
}
