import type { Db } from '../db/pool.js';
import { findEventSourceByTokenHash } from '../db/event-sources.js';
import { insertRoomEvent, insertRoomEventByToken } from '../db/room-events.js';
import { hashToken } from '../domain/tokens.js';
import { derivedId, newId } from '../domain/ids.js';
import { activeKeys } from '../domain/signing-keys.js';
import { headerValue, verifyInboundWithKeys, type InboundHeaders, type VerificationScheme } from '../domain/inbound-signatures.js';
import { bodyText } from '../domain/body-text.js';
import type { SecretBox } from '../domain/secrets.js';
import { startRoomEvent } from '../flows/room-event.js';
import type { RoomEventToStart } from '../db/room-events.js';
import type { Temporal } from '../temporal/client.js';
import type { BackgroundStarter } from '../temporal/background-starter.js';
import { roomPayloadProblem } from './inbound-limits.js';

export const MAX_ROOM_EVENT_BYTES = 64 * 1024;

export interface InboundDeps {
  db: Db;
  temporal: Temporal;
  secretBox: SecretBox;
  starter: BackgroundStarter;
  log: (line: string) => void;
}

/**
 * What the sender gets: 200 with ok true/false for everything, 503 only when nothing could record it.
 * A repeat of a delivery already recorded gets the first one's answer, with `duplicate: true`.
 */
export type InboundAnswer = { status: 200 | 503; body: { ok: boolean; error?: string; eventId?: string; duplicate?: true } };

/** A longer sender delivery id is none that a sender we know makes: the event is taken, not deduplicated. */
export const MAX_SENDER_EVENT_ID_CHARS = 200;

/**
 * The sender's own id for this delivery, the same on each of its retries, prefixed by its kind; null
 * when there is none. Standard Webhooks' `webhook-id` and GitHub's `X-GitHub-Delivery`, and for a
 * source verified as Stripe the signed payload's `evt_` id. Never a bare payload `id`: a custom app
 * may send distinct events under one.
 */
function senderEventId(headers: InboundHeaders, parsed: unknown, scheme: VerificationScheme | null): string | null {
  const stripeId = scheme === 'stripe' && typeof parsed === 'object' && parsed !== null ? (parsed as { id?: unknown }).id : undefined;
  const candidates: Array<[string, unknown]> = [
    ['stripe', typeof stripeId === 'string' && stripeId.startsWith('evt_') ? stripeId : undefined],
    ['webhook-id', headerValue(headers, 'webhook-id')],
    ['github', headerValue(headers, 'x-github-delivery')],
  ];
  for (const [kind, value] of candidates) {
    if (typeof value === 'string' && value !== '') return value.length <= MAX_SENDER_EVENT_ID_CHARS ? `${kind}:${value}` : null;
  }
  return null;
}

function parseBody(raw: Buffer, contentType: string): unknown {
  const text = bodyText(raw);
  if (/application\/x-www-form-urlencoded/i.test(contentType)) {
    const params = new URLSearchParams(text);
    // No prototype: a field named `constructor` or `__proto__` is a plain field, not Object.prototype's.
    const out: Record<string, string | string[]> = Object.create(null);
    for (const [k, v] of params) {
      const prev = out[k];
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    return out;
  }
  // JSON is the default: many senders omit or mislabel the content type.
  return JSON.parse(text);
}

/**
 * `POST /webhooks/:token`. Never answers a sender with a 4xx: a bad token, a bad body or a bad
 * signature is `200 {ok: false}`. `ok: true` means the event's row is committed in PostgreSQL: its
 * workflow is started right after the answer (the worker's recovery loop starts any that a crash left
 * behind). Should PostgreSQL fail, starting the workflow (which carries the payload) is the durable
 * record instead; only when both fail does the sender get a 503 and retry. A delivery that names
 * itself (senderEventId) is recorded once per source: a repeat answers like the first, `duplicate: true`.
 */
export async function acceptRoomEvent(
  deps: InboundDeps,
  req: { token: string; rawBody: Buffer | null; contentType: string; headers: InboundHeaders },
): Promise<InboundAnswer> {
  const refuse = (error: string): InboundAnswer => ({ status: 200, body: { ok: false, error } });
  const unavailable: InboundAnswer = { status: 503, body: { ok: false, error: 'temporarily unavailable, retry later' } };
  const ok = (eventId: string, duplicate: boolean): InboundAnswer => ({ status: 200, body: { ok: true, eventId, ...(duplicate ? { duplicate: true as const } : {}) } });
  if (req.rawBody === null) return refuse('payload too large');
  let parsed: unknown;
  let payload: string | null = null;
  // Decided below, once it is known whether the token is valid at all.
  let problem: string | null = null;
  try {
    parsed = parseBody(req.rawBody, req.contentType);
    problem = roomPayloadProblem(parsed);
    if (problem === null) payload = JSON.stringify(parsed);
  } catch {
    problem ??= 'unparsable body';
  }
  const tokenHash = hashToken(req.token);
  const receivedAt = new Date();
  const accepted = (e: RoomEventToStart): InboundAnswer => {
    deps.starter.submit('room-event', `room event ${e.id}`, () => startRoomEvent(deps.temporal, e));
    return ok(e.id, false);
  };

  // The common case in one round trip: a source without signature verification records the event
  // in the same statement that finds it by its token. A request that names its delivery takes the
  // long way: its event id is derived from the source's.
  if (payload !== null && senderEventId(req.headers, parsed, null) === null) {
    const eventId = newId('rev');
    const recorded = await insertRoomEventByToken(deps.db, { id: eventId, tokenHash, payload, receivedAt }).catch(() => undefined);
    if (recorded) return accepted({ id: eventId, ...recorded });
  }

  const source = await findEventSourceByTokenHash(deps.db, tokenHash).catch(() => undefined);
  if (source === undefined) return unavailable;
  if (!source) return refuse('unknown token');
  if (payload === null) return refuse(problem ?? 'unparsable body');
  if (source.verificationScheme && source.verificationKeys) {
    const secrets = activeKeys(source.verificationKeys, Date.now()).map((k) => deps.secretBox.open(k.secret));
    const verdict = verifyInboundWithKeys(
      { scheme: source.verificationScheme, header: source.verificationHeader ?? undefined },
      secrets,
      req.rawBody,
      req.headers,
      Date.now(),
    );
    if (!verdict.ok) return refuse(`signature verification failed: ${verdict.reason}`);
  }

  // One delivery, one event id, on every path below: a repeat finds the row taken, or (PostgreSQL
  // down) the workflow id taken.
  const senderId = senderEventId(req.headers, parsed, source.verificationScheme ?? null);
  const eventId = senderId ? derivedId('rev', source.id, senderId) : newId('rev');
  const event = { id: eventId, organizationId: source.organizationId, roomId: source.roomId, sourceId: source.id, payload, receivedAt, senderEventId: senderId };
  let recorded: Awaited<ReturnType<typeof insertRoomEvent>>;
  try {
    recorded = await insertRoomEvent(deps.db, event);
  } catch (dbError) {
    // PostgreSQL could not take it: a workflow start carrying the event is the durable record instead.
    try {
      const started = await startRoomEvent(
        deps.temporal,
        { id: eventId, organizationId: source.organizationId, roomId: source.roomId, workspaceId: source.workspaceId },
        { organizationId: source.organizationId, roomId: source.roomId, sourceId: source.id, payload, receivedAt: receivedAt.getTime() },
      );
      return ok(eventId, started === 'already-started');
    } catch (temporalError) {
      deps.log(`room event for source ${source.id} not recorded: database: ${dbError}; temporal: ${temporalError}`);
      return unavailable;
    }
  }
  // A repeat's workflow is the first one's business (the recovery loop starts it if need be). A
  // sender that reuses a delivery id for another body loses that body: said in the log, not silently.
  if (!recorded.created) {
    if (!recorded.samePayload) deps.log(`room event for source ${source.id}: delivery id ${senderId} came again with another body; the first one was kept`);
    return ok(recorded.id, true);
  }
  return accepted({ id: eventId, organizationId: source.organizationId, roomId: source.roomId, workspaceId: source.workspaceId });
}
