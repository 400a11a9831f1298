import Router from '@koa/router';
import type { Context } from 'koa';
import { doc } from '../openapi.js';
import { isDatabaseUnavailable } from '../../db/pool.js';
import { findRoom } from '../../db/workspaces.js';
import { appendMessageOnce, roomChat } from '../../db/chats.js';
import { verifyTwilioSignature, type TwilioParams } from '../../domain/inbound-signatures.js';
import { activeKeys } from '../../domain/signing-keys.js';
import { acceptRoomEvent, MAX_ROOM_EVENT_BYTES } from '../../rooms/inbound.js';
import { wakeRoomScheduler } from '../../flows/room-scheduler.js';
import type { ApiDeps } from '../context.js';
import { readRawBody } from './raw-body.js';
import { publicBaseUrlOf } from '../public-url.js';
import { storableParam } from '../path-params.js';
import { AppError } from '../../errors.js';
import { derivedId, newId } from '../../domain/ids.js';
import { acceptGenericEvent, MAX_GENERIC_EVENT_BYTES } from '../../generic/ingest.js';

const TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

/**
 * The one refusal of the Twilio route, for an unknown room, a room without Twilio and a bad signature
 * alike: a caller without the auth token learns neither which rooms exist nor which use Twilio.
 */
const twilioRefused = () => new AppError('forbidden', 'invalid X-Twilio-Signature');

/**
 * The URLs a genuine X-Twilio-Signature may cover: Twilio signs some requests over the URL with its
 * port (`:443`/`:80` when none is written) and some without, so its own validateRequest accepts both.
 */
function twilioSignedUrls(base: string, path: string): string[] {
  const m = /^(https?:\/\/(?:[^/?#@]*@)?(?:\[[^\]]*\]|[^/?#:]*))(?::(\d+))?(.*)$/i.exec(base);
  if (!m) return [`${base}${path}`];
  const [, origin, port, rest] = m;
  const defaultPort = /^https:/i.test(origin) ? '443' : '80';
  return [`${origin}${rest}${path}`, `${origin}:${port ?? defaultPort}${rest}${path}`];
}

/** The form's params, each name with every value it came with (Twilio signs them all). */
function formParams(form: URLSearchParams): TwilioParams {
  const out: Record<string, string[]> = Object.create(null);
  for (const name of new Set(form.keys())) out[name] = form.getAll(name);
  return out;
}

/** Routes that senders call: no API key, their own rules for answers. */
export function ingressRouter(deps: ApiDeps): Router {
  const router = new Router();
  router.param('workspaceId', storableParam('workspaceId', { max: 200, notFound: 'workspace' }));
  // An id that can't be stored (NUL, too long) names no room whatever exists: its 404 tells nothing.
  router.param('roomId', storableParam('roomId', { max: 200, notFound: 'room' }));

  /** Counts every answer to a sender by route and outcome (hookwise_inbound_acks_total). */
  const counted =
    (route: 'room' | 'generic' | 'twilio', handler: (ctx: Context) => Promise<void>) =>
    async (ctx: Context): Promise<void> => {
      try {
        await handler(ctx);
        const body = ctx.body as { ok?: boolean; accepted?: boolean; duplicate?: boolean } | undefined;
        const duplicate = body?.accepted === false || body?.duplicate === true || ctx.state.duplicate === true;
        const outcome = ctx.status === 503 ? 'unavailable' : body?.ok === false ? 'refused' : duplicate ? 'duplicate' : 'accepted';
        deps.metrics.inboundAcks.inc({ route, outcome });
      } catch (err) {
        const unavailable = (err as { status?: number }).status === 503 || isDatabaseUnavailable(err);
        deps.metrics.inboundAcks.inc({ route, outcome: unavailable ? 'unavailable' : 'refused' });
        throw err;
      }
    };

  router.post(
    '/webhooks/:token',
    doc({
      summary: 'Room event webhook: a sender posts an event to a room’s event source',
      description:
        'Always 200 `{ok: true, eventId}` or `{ok: false, error}` (an unknown token included); a repeat of a delivery already recorded (same `webhook-id`, `X-GitHub-Delivery`, or Stripe `evt_` id on a Stripe-verified source) is 200 `{ok: true, eventId: <the first one>, duplicate: true}`; 503 only when PostgreSQL could not be reached to look the token up, or the event could not be recorded at all. Body up to 64 KB.',
      public: true,
      anyParams: true,
      bodyContentTypes: ['application/json', 'application/x-www-form-urlencoded'],
    }),
    counted('room', async (ctx) => {
    const rawBody = await readRawBody(ctx.req, MAX_ROOM_EVENT_BYTES);
    // The rest of an oversized body is not read: close the connection instead of draining it.
    if (rawBody === null) ctx.set('Connection', 'close');
    const answer = await acceptRoomEvent(
      deps,
      { token: ctx.params.token, rawBody, contentType: ctx.get('content-type'), headers: ctx.req.headers },
    );
    ctx.status = answer.status;
    ctx.body = answer.body;
  }));

  // Twilio's messaging webhook: verify X-Twilio-Signature against the URL Twilio called (the public
  // one: proxies change what this server sees), keep the message in the room's chat, and wake the room.
  router.post(
    '/webhooks/channel/twilio/:roomId',
    doc({
      summary: 'Twilio messaging webhook for a room (X-Twilio-Signature verified)',
      description:
        'One 403 `forbidden` "invalid X-Twilio-Signature" for an unknown room, a room without a Twilio auth token and a bad signature alike. A message whose `MessageSid` was already stored is answered 200 and not stored or acted on again.',
      public: true,
      bodyContentTypes: ['application/x-www-form-urlencoded'],
      response: 'Empty TwiML',
    }),
    counted('twilio', async (ctx) => {
    const rawBody = await readRawBody(ctx.req, MAX_ROOM_EVENT_BYTES);
    if (rawBody === null) throw new AppError('payload_too_large', `the body is larger than ${MAX_ROOM_EVENT_BYTES} bytes`);
    // Before the room is looked up: a request this can't check fails alike for every room.
    const base = publicBaseUrlOf(ctx, deps);
    const room = await findRoom(deps.db, null, ctx.params.roomId);
    // Every active token: after a rotation Twilio may still sign with the previous one for a while.
    const tokens = activeKeys(room?.twilioAuthKeys ?? [], Date.now()).map((k) => deps.secretBox.open(k.secret));
    const form = new URLSearchParams(rawBody.toString('utf8'));
    const signature = ctx.get('x-twilio-signature') || undefined;
    const params = formParams(form);
    const urls = twilioSignedUrls(base, ctx.originalUrl);
    const signed = tokens.some((token) => urls.some((url) => verifyTwilioSignature(token, url, params, signature)));
    if (!room || !signed) throw twilioRefused();
    const chatId = await roomChat(deps.db, room);
    const message = { chatId, role: 'user' as const, author: form.get('From') ?? 'twilio', content: form.get('Body') ?? '' };
    // Twilio's MessageSid names the message: a redelivery or a replayed request is stored and acted on once.
    const sid = form.get('MessageSid');
    const isNew = await appendMessageOnce(deps.db, { ...message, id: sid ? derivedId('msg', room.id, `twilio:${sid}`) : newId('msg') });
    if (isNew) {
      await wakeRoomScheduler(deps.temporal, { roomId: room.id, organizationId: room.organizationId, workspaceId: room.workspaceId }, 'now').catch((err) =>
        deps.log(`room ${room.id}: triggerImmediate not sent: ${(err as Error).message}`),
      );
    } else {
      ctx.state.duplicate = true;
    }
    ctx.type = 'text/xml';
    ctx.body = TWIML_EMPTY;
  }));

  // The generic ingress: the workspace id is the address (optionally with Standard Webhooks signing).
  router.post(
    '/api/v1/webhooks/generic/:workspaceId',
    doc({
      summary: 'Generic ingress: any JSON object, normalized, deduplicated and routed to agents',
      description: 'Query: `source`, `event_type`, `source_identifier`, `dedupe_key`. 202 `{accepted: true}`, or `{accepted: false}` for a dedupe key already seen.',
      public: true,
      status: 202,
      bodyContentTypes: ['application/json'],
    }),
    counted('generic', async (ctx) => {
    const rawBody = await readRawBody(ctx.req, MAX_GENERIC_EVENT_BYTES);
    if (rawBody === null) ctx.set('Connection', 'close');
    const result = await acceptGenericEvent(
      deps,
      { workspaceId: ctx.params.workspaceId, rawBody, query: ctx.query, headers: ctx.req.headers },
    );
    ctx.status = 202;
    ctx.body = result;
  }));

  return router;
}
