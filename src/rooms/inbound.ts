import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { ingestRoomEvent, IngestRoomEventInput } from '../../workflows/ingest-room-event.js';
import type { Db } from '../db/pool.js';
import { findEventSourceByTokenHash } from '../db/event-sources.js';
import { insertRoomEvent, insertRoomEventByToken } from '../db/room-events.js';
import { hashToken } from '../domain/tokens.js';
import { newId } from '../domain/ids.js';
import { verifyInbound } from '../domain/inbound-signatures.js';
import type { SecretBox } from '../domain/secrets.js';
import { roomEventWorkflowId } from '../temporal/workflow-ids.js';
import { startWithinDeadline } from '../temporal/client.js';
import type { BackgroundStarter } from '../temporal/background-starter.js';
import { roomPayloadProblem } from './inbound-limits.js';

export const MAX_ROOM_EVENT_BYTES = 64 * 1024;

export interface InboundDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  secretBox: SecretBox;
  starter: BackgroundStarter;
  log: (line: string) => void;
}

/** What the sender gets: 200 with ok true/false for everything, 503 only when nothing could record it. */
export type InboundAnswer = { status: 200 | 503; body: { ok: boolean; error?: string; eventId?: string } };

export async function startRoomEventWorkflow(temporal: Client, taskQueue: string, input: IngestRoomEventInput): Promise<void> {
  try {
    await temporal.workflow.start<typeof ingestRoomEvent>('ingestRoomEvent', {
      taskQueue,
      workflowId: roomEventWorkflowId(input.roomId, input.eventId),
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      memo: { roomId: input.roomId, sourceId: input.sourceId },
      staticSummary: `inbound event for room ${input.roomId}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

function parseBody(raw: Buffer, contentType: string): unknown {
  const text = raw.toString('utf8');
  if (/application\/x-www-form-urlencoded/i.test(contentType)) {
    const params = new URLSearchParams(text);
    const out: Record<string, string | string[]> = {};
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
  const accepted = (input: IngestRoomEventInput): InboundAnswer => {
    const start = () => startRoomEventWorkflow(deps.temporal, deps.taskQueue, input);
    deps.starter.submit(`room event ${eventId}`, () => startWithinDeadline(deps.temporal, start));
    return { status: 200, body: { ok: true, eventId } };
  };

  // The common case in one round trip: a source without signature verification records the event
  // in the same statement that finds it by its token.
  if (payload !== null) {
    const recorded = await insertRoomEventByToken(deps.db, { id: eventId, tokenHash, payload, receivedAt }).catch(() => undefined);
    if (recorded) return accepted({ eventId, ...recorded, payload, receivedAt: receivedAt.getTime() });
  }

  const source = await findEventSourceByTokenHash(deps.db, tokenHash).catch(() => undefined);
  if (source === undefined) return unavailable;
  if (!source) return refuse('unknown token');
  if (payload === null) return refuse(problem ?? 'unparsable body');
  if (source.verificationScheme && source.verificationSecretSealed) {
    const verdict = verifyInbound(
      {
        scheme: source.verificationScheme,
        secret: deps.secretBox.open(source.verificationSecretSealed),
        header: source.verificationHeader ?? undefined,
      },
      req.rawBody,
      req.headers,
      Date.now(),
    );
    if (!verdict.ok) return refuse(`signature verification failed: ${verdict.reason}`);
  }

  const input: IngestRoomEventInput = {
    eventId,
    organizationId: source.organizationId,
    roomId: source.roomId,
    sourceId: source.id,
    payload,
    receivedAt: receivedAt.getTime(),
  };
  try {
    await insertRoomEvent(deps.db, { ...input, id: eventId, receivedAt });
  } catch (dbError) {
    try {
      await startWithinDeadline(deps.temporal, () => startRoomEventWorkflow(deps.temporal, deps.taskQueue, input));
    } catch (temporalError) {
      deps.log(`room event for source ${source.id} not recorded: database: ${dbError}; temporal: ${temporalError}`);
      return unavailable;
    }
    return { status: 200, body: { ok: true, eventId } };
  }
  return accepted(input);
}
