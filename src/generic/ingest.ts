import type { Db } from '../db/pool.js';
import { insertInboxEvent } from '../db/inbox.js';
import { findWorkspaceForIngress } from '../db/workspaces.js';
import { normalizeGenericEvent, type GenericEnvelopeFields } from '../domain/generic-event.js';
import { newId } from '../domain/ids.js';
import { verifyInboundWithKeys } from '../domain/inbound-signatures.js';
import { activeKeys } from '../domain/signing-keys.js';
import type { SecretBox } from '../domain/secrets.js';
import { AppError } from '../errors.js';
import { startGenericEvent } from '../flows/generic-event.js';
import type { BackgroundStarter } from '../temporal/background-starter.js';
import type { Temporal } from '../temporal/client.js';
import { storageInputError } from '../db/input-errors.js';
import { bodyText } from '../domain/body-text.js';
import { fieldsProblem, payloadProblem } from './ingress-limits.js';

export const MAX_GENERIC_EVENT_BYTES = 1024 * 1024;

export interface GenericIngestDeps {
  db: Db;
  temporal: Temporal;
  secretBox: SecretBox;
  starter: BackgroundStarter;
  log: (line: string) => void;
}

function parseObject(raw: Buffer): Record<string, unknown> | AppError {
  let payload: unknown;
  try {
    payload = JSON.parse(bodyText(raw));
  } catch {
    return new AppError('bad_request', 'the body must be a JSON object; it is not valid JSON');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return new AppError('bad_request', 'the body must be a JSON object');
  }
  return payloadProblem(payload) ?? (payload as Record<string, unknown>);
}

/**
 * `POST /api/v1/webhooks/generic/:workspaceId`: a JSON object in, normalized and written to the
 * durable inbox (that commit is what `accepted: true` promises), then handed to its workflow after the
 * answer. A repeated dedupe key is `accepted: false`: the unique index on the inbox decides, and the
 * workflow id (keyed by the dedupe key) would refuse it too.
 */
export async function acceptGenericEvent(
  deps: GenericIngestDeps,
  req: {
    workspaceId: string;
    rawBody: Buffer | null;
    query: Record<string, string | string[] | undefined>;
    headers: Record<string, string | string[] | undefined>;
  },
): Promise<{ accepted: boolean }> {
  if (req.rawBody === null) throw new AppError('payload_too_large', `the body is larger than ${MAX_GENERIC_EVENT_BYTES} bytes`);
  const rawBody = req.rawBody;
  const payload = parseObject(rawBody);
  const inboxId = newId('inb');

  const record = async (signatureVerified: boolean | null, unsignedOnly: boolean) => {
    if (payload instanceof AppError) throw payload;
    const fields = normalizeGenericEvent({ workspaceId: req.workspaceId, query: req.query, headers: req.headers, payload, signatureVerified });
    const unstorable = fieldsProblem(fields);
    if (unstorable) throw unstorable;
    try {
      const organizationId = await insertInboxEvent(
        deps.db,
        {
          id: inboxId,
          workspaceId: req.workspaceId,
          sourceKind: fields.sourceKind,
          eventType: fields.eventType,
          sourceIdentifier: fields.sourceIdentifier,
          dedupeKey: fields.dedupeKey,
          headers: fields.headers,
          verified: fields.verified,
          // Stored as received, but for a leading BOM (the envelope parses it again later).
          payload: bodyText(rawBody),
        },
        { unsignedOnly },
      );
      return organizationId === null ? null : { fields, organizationId };
    } catch (err) {
      // PostgreSQL refused the input itself (e.g. NUL in text): the request is at fault, retrying won't help.
      const refused = storageInputError(err);
      if (refused) throw new AppError('bad_request', `the event cannot be stored: ${refused.message}`);
      deps.log(`generic event for workspace ${req.workspaceId} not recorded: ${(err as Error).message}`);
      throw new AppError('unavailable', 'the event could not be recorded; retry later');
    }
  };
  const accepted = ({ fields, organizationId }: { fields: GenericEnvelopeFields; organizationId: string }) => {
    // Recorded: the workflow starts after the answer; a start that fails is the recovery loop's job.
    deps.starter.submit('generic-event', `generic event ${inboxId}`, () =>
      startGenericEvent(deps.temporal, {
        id: inboxId,
        organizationId,
        workspaceId: req.workspaceId,
        dedupeKey: fields.dedupeKey,
        sourceKind: fields.sourceKind,
        eventType: fields.eventType,
      }),
    );
    return { accepted: true };
  };

  // The common case in one round trip: an unsigned workspace records the event in the statement
  // that finds it. Anything else (unknown workspace, signing required, a duplicate) takes the long way.
  if (!(payload instanceof AppError)) {
    const fast = await record(null, true).catch(() => null);
    if (fast) return accepted(fast);
  }

  const workspace = await findWorkspaceForIngress(deps.db, req.workspaceId);
  if (!workspace) throw new AppError('not_found', 'workspace not found');
  if (payload instanceof AppError) throw payload;
  let signatureVerified: boolean | null = null;
  if (workspace.ingressKeys) {
    const secrets = activeKeys(workspace.ingressKeys, Date.now()).map((k) => deps.secretBox.open(k.secret));
    const verdict = verifyInboundWithKeys({ scheme: 'standard-webhooks' }, secrets, rawBody, req.headers, Date.now());
    if (!verdict.ok) throw new AppError('unauthorized', `this workspace requires signed requests (Standard Webhooks): ${verdict.reason}`);
    signatureVerified = true;
  }
  const recorded = await record(signatureVerified, false);
  return recorded ? accepted(recorded) : { accepted: false };
}
