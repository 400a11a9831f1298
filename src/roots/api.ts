import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { buildCommon } from './common.js';
import { createWebhookSettings } from '../delivery/webhook-settings.js';
import { createSecretBox } from '../domain/secrets.js';
import { createAuthenticator } from '../api/auth.js';
import { createEventFeed } from '../stream/event-feed.js';
import { createBackgroundStarter } from '../temporal/background-starter.js';
import { createApp } from '../api/app.js';
import type { ApiDeps } from '../api/context.js';
import { attachEventSocket } from '../api/stream/websocket.js';

/**
 * How long close() lets requests in flight finish before it cuts their connections; the API process
 * exits at 10 s whatever happens (src/main/api.ts), and the starts owed to acknowledged events come
 * after this.
 */
export const SHUTDOWN_DRAIN_MS = 7_000;

/** Request lines and headers up to this size (long dedupe keys travel in the query or a header). */
export const MAX_HEADER_BYTES = 64 * 1024;

export interface Api {
  deps: ApiDeps;
  app: Koa;
  server: Server;
  /** Listens on `port` (0: any free one) and resolves to the base URL. */
  listen(port: number, host?: string): Promise<string>;
  /**
   * Stops taking connections, ends event streams, lets requests in flight finish (up to
   * `SHUTDOWN_DRAIN_MS`), finishes the workflow starts owed to acknowledged events, closes everything.
   */
  close(): Promise<void>;
}

/**
 * The API process's composition root: every dependency is built here, once, from the configuration.
 * `src/main/api.ts`, the tests and the benchmarks all build the API through it.
 */
export function buildApi(config: Config, options: { logger?: Logger } = {}): Api {
  const { logger, log, db, temporal, dispatcher, metrics } = buildCommon(config, 'api', options.logger);
  const secretBox = createSecretBox(config.HOOKWISE_ENCRYPTION_KEY, config.HOOKWISE_PREVIOUS_ENCRYPTION_KEY);
  const deps: ApiDeps = {
    config,
    db,
    temporal,
    secretBox,
    dispatcher,
    webhookSettings: createWebhookSettings({
      db,
      secretBox,
      allowHttp: config.HOOKWISE_ALLOW_HTTP,
      allowPrivate: config.HOOKWISE_ALLOW_PRIVATE_TARGETS,
      rotationOverlapSeconds: config.HOOKWISE_SECRET_ROTATION_OVERLAP_SECONDS,
      defaultLimits: { inFlight: config.HOOKWISE_ENDPOINT_MAX_IN_FLIGHT, perMinute: config.HOOKWISE_ENDPOINT_MAX_PER_MINUTE },
    }),
    publicUrl: config.HOOKWISE_PUBLIC_URL?.replace(/\/+$/, ''),
    trustProxy: config.HOOKWISE_TRUST_PROXY,
    authenticator: createAuthenticator(db, {
      jwksUrl: config.JWKS_URL,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      keyRecheckMs: config.HOOKWISE_STREAM_KEY_RECHECK_SECONDS * 1000,
    }),
    feed: createEventFeed(db, config.DATABASE_URL, log, { maxStreamsPerOrg: config.HOOKWISE_MAX_STREAMS_PER_ORG }),
    starter: createBackgroundStarter({ log, deferred: (flow) => metrics.startsDeferred.inc({ flow }) }),
    logger,
    log,
    metrics,
  };
  const app = createApp(deps);
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, app.callback());
  const sockets = attachEventSocket(server, deps.feed, deps.authenticator);
  // The responses in progress, so that close() can tell event streams from requests in flight.
  const responses = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    responses.add(res);
    res.once('close', () => responses.delete(res));
  });

  return {
    deps,
    app,
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const { address, port: bound } = server.address() as AddressInfo;
          resolve(`http://${address.includes(':') ? `[${address}]` : address}:${bound}`);
        });
      });
    },
    async close() {
      const closed = new Promise((r) => server.close(r));
      // WebSockets, which the HTTP server no longer tracks once upgraded, and event streams have no end
      // of their own: they end now (1001 for WebSockets; SSE clients reconnect by themselves), and
      // their clients come back to another API process.
      for (const ws of sockets.clients) ws.close(1001, 'server shutting down');
      // Requests in flight get their answers (an acknowledged event must reach its sender, or the
      // sender sends it again); each keep-alive connection is closed as soon as it goes idle. A stream
      // still authenticating now is ended once it has become one.
      const sweep = () => {
        for (const res of responses) if (String(res.getHeader('content-type')).startsWith('text/event-stream')) res.destroy();
        server.closeIdleConnections();
      };
      sweep();
      const idle = setInterval(sweep, 100);
      const cut = setTimeout(() => {
        server.closeAllConnections();
        for (const ws of sockets.clients) ws.terminate();
      }, SHUTDOWN_DRAIN_MS);
      try {
        await closed;
      } finally {
        clearInterval(idle);
        clearTimeout(cut);
      }
      await deps.starter.drained();
      await Promise.all([deps.feed.close(), temporal.client.connection.close(), db.end()]);
    },
  };
}
