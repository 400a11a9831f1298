import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { ingestRoomEvent, IngestRoomEventInput } from '../../workflows/ingest-room-event.js';
import type { Db } from '../db/pool.js';
import { findEventSourceByTokenHash } from '../db/event-sources.js';
import { insertRoomEvent } from '../db/room-events.js';
import { hashToken } from '../domain/tokens.js';
import { newId } from '../domain/ids.js';
import { verifyInbound } from '../domain/inbound-signatures.js';
import type { SecretBox } from '../domain/secrets.js';
import { roomEventWorkflowId } from '../temporal/workflow-ids.js';
import { startWithinDeadline } from '../temporal/client.js';

export const MAX_ROOM_EVENT_BYTES = 64 * 1024;

export interface InboundDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  secretBox: SecretBox;
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
 * signature is `200 {ok: false}`. The event is recorded twice over, in PostgreSQL and as the start
 * of its Temporal workflow, at the same time: either one is enough to process it later (the workflow
 * records a missing row; the worker's recovery starts a missing workflow), so only when both fail
 * does the sender get a 503 and retry.
 */
export async function acceptRoomEvent(
  deps: InboundDeps,
  req: { token: string; rawBody: Buffer | null; contentType: string; headers: Record<string, string | string[] | undefined> },
): Promise<InboundAnswer> {
  const refuse = (error: string): InboundAnswer => ({ status: 200, body: { ok: false, error } });
  if (req.rawBody === null) return refuse('payload too large');
  const source = await findEventSourceByTokenHash(deps.db, hashToken(req.token)).catch(() => undefined);
  if (source === undefined) return { status: 503, body: { ok: false, error: 'temporarily unavailable, retry later' } };
  if (!source) return refuse('unknown token');

  let payload: unknown;
  try {
    payload = parseBody(req.rawBody, req.contentType);
  } catch {
    return refuse('unparsable body');
  }
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
    eventId: newId('rev'),
    organizationId: source.organizationId,
    roomId: source.roomId,
    sourceId: source.id,
    payload: JSON.stringify(payload),
    receivedAt: Date.now(),
  };
  const [row, workflow] = await Promise.allSettled([
    insertRoomEvent(deps.db, { ...input, id: input.eventId, receivedAt: new Date(input.receivedAt) }),
    startWithinDeadline(deps.temporal, () => startRoomEventWorkflow(deps.temporal, deps.taskQueue, input)),
  ]);
  if (row.status === 'rejected' && workflow.status === 'rejected') {
    deps.log(`room event for source ${source.id} not recorded: database: ${row.reason}; temporal: ${workflow.reason}`);
    return { status: 503, body: { ok: false, error: 'temporarily unavailable, retry later' } };
  }
  return { status: 200, body: { ok: true, eventId: input.eventId } };
}
