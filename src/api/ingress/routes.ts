import Router from '@koa/router';
import { findRoom } from '../../db/workspaces.js';
import { appendMessage, roomChat } from '../../db/chats.js';
import { verifyTwilioSignature } from '../../domain/inbound-signatures.js';
import { acceptRoomEvent, MAX_ROOM_EVENT_BYTES } from '../../rooms/inbound.js';
import { signalRoomScheduler } from '../../rooms/scheduler-client.js';
import type { ApiDeps } from '../context.js';
import { readRawBody } from './raw-body.js';
import { publicBaseUrlOf } from '../public-url.js';
import { storableParam } from '../path-params.js';
import { AppError, notFound } from '../../errors.js';
import { acceptGenericEvent, MAX_GENERIC_EVENT_BYTES } from '../../generic/ingest.js';

const TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

/** Routes that senders call: no API key, their own rules for answers. */
export function ingressRouter(deps: ApiDeps): Router {
  const router = new Router();
  router.param('workspaceId', storableParam('workspaceId', { max: 200, notFound: 'workspace' }));
  router.param('roomId', storableParam('roomId', { max: 200, notFound: 'room' }));

  router.post('/webhooks/:token', async (ctx) => {
    const rawBody = await readRawBody(ctx.req, MAX_ROOM_EVENT_BYTES);
    // The rest of an oversized body is not read: close the connection instead of draining it.
    if (rawBody === null) ctx.set('Connection', 'close');
    const answer = await acceptRoomEvent(
      {
        db: deps.db,
        temporal: deps.temporal,
        taskQueue: deps.taskQueue,
        secretBox: deps.secretBox,
        starter: deps.starter,
        log: deps.log,
      },
      { token: ctx.params.token, rawBody, contentType: ctx.get('content-type'), headers: ctx.req.headers },
    );
    ctx.status = answer.status;
    ctx.body = answer.body;
  });

  // Twilio's messaging webhook: verify X-Twilio-Signature against the URL Twilio called (the public
  // one: proxies change what this server sees), keep the message in the room's chat, and wake the room.
  router.post('/webhooks/channel/twilio/:roomId', async (ctx) => {
    const rawBody = await readRawBody(ctx.req, MAX_ROOM_EVENT_BYTES);
    if (rawBody === null) throw new AppError('payload_too_large', `the body is larger than ${MAX_ROOM_EVENT_BYTES} bytes`);
    const room = await findRoom(deps.db, null, ctx.params.roomId);
    if (!room) throw notFound('room');
    const params = Object.fromEntries(new URLSearchParams(rawBody.toString('utf8')));
    const url = `${publicBaseUrlOf(ctx, deps)}${ctx.originalUrl}`;
    const token = room.twilioAuthTokenSealed ? deps.secretBox.open(room.twilioAuthTokenSealed) : null;
    if (!token) throw new AppError('forbidden', 'Twilio is not configured for this room');
    if (!verifyTwilioSignature(token, url, params, ctx.get('x-twilio-signature') || undefined)) {
      throw new AppError('forbidden', 'invalid X-Twilio-Signature');
    }
    const chatId = await roomChat(deps.db, room);
    await appendMessage(deps.db, { chatId, role: 'user', author: params.From ?? 'twilio', content: params.Body ?? '' });
    await signalRoomScheduler(deps.temporal, deps.scheduler, room.id, true).catch((err) =>
      deps.log(`room ${room.id}: triggerImmediate not sent: ${(err as Error).message}`),
    );
    ctx.type = 'text/xml';
    ctx.body = TWIML_EMPTY;
  });

  // The generic ingress: the workspace id is the address (optionally with Standard Webhooks signing).
  router.post('/api/v1/webhooks/generic/:workspaceId', async (ctx) => {
    const rawBody = await readRawBody(ctx.req, MAX_GENERIC_EVENT_BYTES);
    if (rawBody === null) ctx.set('Connection', 'close');
    const result = await acceptGenericEvent(
      {
        db: deps.db,
        temporal: deps.temporal,
        taskQueue: deps.taskQueue,
        secretBox: deps.secretBox,
        agentTimeoutMs: deps.scheduler.agentTimeoutMs,
        starter: deps.starter,
        log: deps.log,
      },
      { workspaceId: ctx.params.workspaceId, rawBody, query: ctx.query, headers: ctx.req.headers },
    );
    ctx.status = 202;
    ctx.body = result;
  });

  return router;
}
