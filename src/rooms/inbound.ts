import type { Db } from '../db/pool.js';
import { findEventSourceByTokenHash } from '../db/event-sources.js';
import { insertRoomEvent, insertRoomEventByToken } from '../db/room-events.js';
import { hashToken } from '../domain/tokens.js';
import { newId } from '../domain/ids.js';
import { activeKeys } from '../domain/signing-keys.js';
import { verifyInboundWithKeys } from '../domain/inbound-signatures.js';
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

/** What the sender gets: 200 with ok true/false for everything, 503 only when nothing could record it. */
export type InboundAnswer = { status: 200 | 503; body: { ok: boolean; error?: string; eventId?: string } };

function parseBody(raw: Buffer, contentType: string): unknown {
  const text = raw.toString('utf8');
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
 * record instead; only when both fail does the sender get a 503 and retry.
 */
export async function acceptRoomEvent(
  deps: InboundDeps,
  req: { token: string; rawBody: Buffer | null; contentType: string; headers: Record<string, string | string[] | undefined> },
): Promise<InboundAnswer> {
  const refuse = (error: string): InboundAnswer => ({ status: 200, body: { ok: false, error } });
  const unavailable: InboundAnswer = { status: 503, body: { ok: false, error: 'temporarily unavailable, retry later' } };
  if (req.rawBody === null) return refuse('payload too large');
  let payload: string | null = null;
  // Decided below, once it is known whether the token is valid at all.
  let problem: string | null = null;
  try {
    const parsed = parseBody(req.rawBody, req.contentType);
    problem = roomPayloadProblem(parsed);
    if (problem === null) payload = JSON.stringify(parsed);
  } catch {
    problem ??= 'unparsable body';
  }
  const tokenHash = hashToken(req.token);
  const eventId = newId('rev');
  const receivedAt = new Date();
  const accepted = (e: RoomEventToStart): InboundAnswer => {
    deps.starter.submit('room-event', `room event ${eventId}`, () => startRoomEvent(deps.temporal, e));
    return { status: 200, body: { ok: true, eventId } };
  };

  // The common case in one round trip: a source without signature verification records the event
  // in the same statement that finds it by its token.
  if (payload !== null) {
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

  const event = { id: eventId, organizationId: source.organizationId, roomId: source.roomId, sourceId: source.id, payload, receivedAt };
  try {
    await insertRoomEvent(deps.db, event);
  } catch (dbError) {
    // PostgreSQL could not take it: a workflow start carrying the event is the durable record instead.
    try {
      await startRoomEvent(
        deps.temporal,
        { id: eventId, organizationId: source.organizationId, roomId: source.roomId, workspaceId: source.workspaceId },
        { organizationId: source.organizationId, roomId: source.roomId, sourceId: source.id, payload, receivedAt: receivedAt.getTime() },
      );
    } catch (temporalError) {
      deps.log(`room event for source ${source.id} not recorded: database: ${dbError}; temporal: ${temporalError}`);
      return unavailable;
    }
    return { status: 200, body: { ok: true, eventId } };
  }
  return accepted({ id: eventId, organizationId: source.organizationId, roomId: source.roomId, workspaceId: source.workspaceId });
}
