import Koa from 'koa';
import Router from '@koa/router';
import { authenticate, type AuthState } from './auth.js';
import type { ApiDeps } from './context.js';
import { errorHandler } from './error-handler.js';
import { observe } from './observe.js';
import { healthRouter } from './health.js';
import { webhookRoutes } from './webhooks/routes.js';
import { deliveryRoutes } from './deliveries/routes.js';
import { eventRoutes } from './events/routes.js';
import { chatbotWebhookRoutes } from './chatbots/routes.js';
import { roomRoutes } from './rooms/routes.js';
import { chatRoutes } from './chats/routes.js';
import { agentRoutes } from './agents/routes.js';
import { streamRoutes } from './stream/routes.js';
import { ingressRouter } from './ingress/routes.js';
import { operationRoutes } from './operations/routes.js';
import { statsRoutes } from './stats/routes.js';
import { meRoutes } from './me/routes.js';
import { consoleAssets } from './console.js';
import { rejectDeepJson } from './json-depth-guard.js';
import { jsonBody } from './json-body.js';
import { storableParam } from './path-params.js';
import { doc, openApiDocument } from './openapi.js';

/**
 * Builds the Koa app from its dependencies without listening, so the process entry point and the
 * tests serve the same app.
 */
export function createApp(deps: ApiDeps): Koa {
  const app = new Koa();
  app.proxy = deps.trustProxy;
  // A streaming client that goes away is not an error worth a stack trace; anything else is logged once.
  app.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET' || err.code === 'EPIPE') return;
    deps.log(`koa: ${err.stack ?? err.message}`);
  });
  app.use(observe(deps.logger, deps.metrics));
  app.use(errorHandler(deps.log));
  app.use(consoleAssets());

  const health = healthRouter(deps.db, deps.temporal.client, { registry: deps.metrics.registry, token: deps.config.HOOKWISE_METRICS_TOKEN });
  app.use(health.routes());
  // Sender-facing routes read their raw bodies themselves (signatures are over the exact bytes).
  const ingress = ingressRouter(deps);
  app.use(ingress.routes());

  const api = new Router<AuthState>({ prefix: '/api/v1' });
  // Authentication first: a caller without a key gets its 401 before the server reads, decompresses
  // and parses up to 1 MB of its body.
  api.use(authenticate(deps.authenticator));
  api.use(jsonBody());
  api.use(rejectDeepJson());
  api.param('id', storableParam('id', { max: 200 })).param('chatbotId', storableParam('chatbotId', { max: 200 }));
  webhookRoutes(api, deps);
  deliveryRoutes(api, deps);
  // Before eventRoutes: /events/stream must not be taken for /events/:id.
  streamRoutes(api, deps.feed);
  eventRoutes(api, deps);
  chatbotWebhookRoutes(api, deps);
  roomRoutes(api, deps);
  chatRoutes(api, deps);
  agentRoutes(api, deps);
  operationRoutes(api, deps);
  statsRoutes(api, deps);
  meRoutes(api, deps);
  app.use(api.routes());
  app.use(api.allowedMethods({ throw: false }));

  // Built once, on first request, from the routers above: it lists exactly what they serve.
  let document: Record<string, unknown> | null = null;
  health.get('/api/v1/openapi.json', doc({ summary: 'This OpenAPI 3.1 document', public: true }), (ctx) => {
    document ??= openApiDocument([health, ingress, api]);
    ctx.body = document;
  });
  return app;
}
