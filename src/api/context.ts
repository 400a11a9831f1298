import type Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import { createDispatcher, type Dispatcher } from '../delivery/dispatcher.js';
import { createWebhookSettings, type WebhookSettings } from '../delivery/webhook-settings.js';
import { createSecretBox, type SecretBox } from '../domain/secrets.js';
import type { SchedulerSettings } from '../rooms/scheduler-client.js';
import { attemptTimeoutMs, schedulerSettings } from '../temporal/worker.js';
import { createAuthenticator, type Authenticator, type AuthState } from './auth.js';
import { createEventFeed, type EventFeed } from '../stream/event-feed.js';
import { createBackgroundStarter, type BackgroundStarter } from '../temporal/background-starter.js';

/** What the route modules need; built once from the process's real dependencies. */
export interface ApiDeps {
  db: Db;
  temporal: Client;
  dispatcher: Dispatcher;
  webhookSettings: WebhookSettings;
  secretBox: SecretBox;
  scheduler: SchedulerSettings;
  taskQueue: string;
  /** Where senders reach this deployment (HOOKWISE_PUBLIC_URL); unset → the Host header (src/api/public-url.ts). */
  publicUrl: string | undefined;
  /** HOOKWISE_TRUST_PROXY: believe X-Forwarded-Proto/-Host/-For from a proxy in front. */
  trustProxy: boolean;
  authenticator: Authenticator;
  feed: EventFeed;
  /** Starts the workflows of acknowledged inbound events after the answer. */
  starter: BackgroundStarter;
  log: (line: string) => void;
}

export type ApiRouter = Router<AuthState>;

export function createApiDeps(config: Config, db: Db, temporal: Client, log: (line: string) => void = console.error): ApiDeps {
  const secretBox = createSecretBox(config.HOOKWISE_ENCRYPTION_KEY);
  return {
    db,
    temporal,
    secretBox,
    dispatcher: createDispatcher({
      db,
      temporal,
      taskQueue: config.HOOKWISE_TASK_QUEUE,
      attemptTimeoutMs: attemptTimeoutMs(config),
      log,
    }),
    webhookSettings: createWebhookSettings({
      db,
      secretBox,
      allowHttp: config.HOOKWISE_ALLOW_HTTP,
      allowPrivate: config.HOOKWISE_ALLOW_PRIVATE_TARGETS,
      rotationOverlapSeconds: config.HOOKWISE_SECRET_ROTATION_OVERLAP_SECONDS,
    }),
    scheduler: schedulerSettings(config),
    taskQueue: config.HOOKWISE_TASK_QUEUE,
    publicUrl: config.HOOKWISE_PUBLIC_URL?.replace(/\/+$/, ''),
    trustProxy: config.HOOKWISE_TRUST_PROXY,
    authenticator: createAuthenticator(db, { jwksUrl: config.JWKS_URL, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE }),
    feed: createEventFeed(db, config.DATABASE_URL, log),
    starter: createBackgroundStarter({ log }),
    log,
  };
}
