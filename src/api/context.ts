import type Router from '@koa/router';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { WebhookSettings } from '../delivery/webhook-settings.js';
import type { SecretBox } from '../domain/secrets.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { EventFeed } from '../stream/event-feed.js';
import type { BackgroundStarter } from '../temporal/background-starter.js';
import type { Temporal } from '../temporal/client.js';
import type { Authenticator, AuthState } from './auth.js';

/** What the route modules need; built once by `buildApi` (src/roots/api.ts). */
export interface ApiDeps {
  config: Config;
  db: Db;
  temporal: Temporal;
  dispatcher: Dispatcher;
  webhookSettings: WebhookSettings;
  secretBox: SecretBox;
  /** Where senders reach this deployment (HOOKWISE_PUBLIC_URL); unset → the Host header (src/api/public-url.ts). */
  publicUrl: string | undefined;
  /** HOOKWISE_TRUST_PROXY: believe X-Forwarded-Proto/-Host/-For from a proxy in front. */
  trustProxy: boolean;
  authenticator: Authenticator;
  feed: EventFeed;
  /** Starts the workflows of acknowledged inbound events after the answer. */
  starter: BackgroundStarter;
  logger: Logger;
  log: (line: string) => void;
  metrics: Metrics;
}

export type ApiRouter = Router<AuthState>;
