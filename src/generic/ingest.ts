import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { ingestGenericEvent } from '../../workflows/ingest-generic-event.js';
import type { Db } from '../db/pool.js';
import { insertInboxEvent } from '../db/inbox.js';
import { findWorkspaceForIngress } from '../db/workspaces.js';
import { normalizeGenericEvent } from '../domain/generic-event.js';
import { newId } from '../domain/ids.js';
import { verifyInbound } from '../domain/inbound-signatures.js';
import type { SecretBox } from '../domain/secrets.js';
import { AppError } from '../errors.js';
import { genericEventWorkflowId } from '../temporal/workflow-ids.js';
import type { BackgroundStarter } from '../temporal/background-starter.js';
import { startWithinDeadline } from '../temporal/client.js';
import { storageInputError } from '../db/input-errors.js';
import { fieldsProblem, payloadProblem } from './ingress-limits.js';

export const MAX_GENERIC_EVENT_BYTES = 1024 * 1024;

export interface GenericIngestDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  secretBox: SecretBox;
  agentTimeoutMs: number;
  starter: BackgroundStarter;
  log: (line: string) => void;
}

export async function startGenericEventWorkflow(
  deps: Pick<GenericIngestDeps, 'temporal' | 'taskQueue' | 'agentTimeoutMs'>,
  e: { inboxId: string; workspaceId: string; dedupeKey: string | null },
): Promise<void> {
  try {
    await deps.temporal.workflow.start<typeof ingestGenericEvent>('ingestGenericEvent', {
      taskQueue: deps.taskQueue,
      workflowId: genericEventWorkflowId(e.workspaceId, e.dedupeKey, e.inboxId),
      args: [{ inboxId: e.inboxId, agentTimeoutMs: deps.agentTimeoutMs }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      memo: { workspaceId: e.workspaceId, inboxId: e.inboxId },
      staticSummary: `generic event ${e.inboxId}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

function parseObject(raw: Buffer): Record<string, unknown> | AppError {
  let payload: unknown;
  try {
    payload = JSON.parse(raw.toString('utf8'));
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
      const isNew = await insertInboxEvent(
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
          // Stored exactly as received.
          payload: rawBody.toString('utf8'),
        },
        { unsignedOnly },
      );
      return isNew ? fields : null;
    } catch (err) {
      // PostgreSQL refused the input itself (e.g. NUL in text): the request is at fault, retrying won't help.
      const refused = storageInputError(err);
      if (refused) throw new AppError('bad_request', `the event cannot be stored: ${refused.message}`);
      deps.log(`generic event for workspace ${req.workspaceId} not recorded: ${(err as Error).message}`);
      throw new AppError('unavailable', 'the event could not be recorded; retry later');
    }
  };
  const accepted = (dedupeKey: string | null) => {
    // Recorded: the workflow starts after the answer; a start that fails is the recovery loop's job.
    deps.starter.submit(`generic event ${inboxId}`, () =>
      startWithinDeadline(deps.temporal, () => startGenericEventWorkflow(deps, { inboxId, workspaceId: req.workspaceId, dedupeKey })),
    );
    return { accepted: true };
  };

  // The common case in one round trip: an unsigned workspace records the event in the statement
  // that finds it. Anything else (unknown workspace, signing required, a duplicate) takes the long way.
  if (!(payload instanceof AppError)) {
    const fast = await record(null, true).catch(() => null);
    if (fast) return accepted(fast.dedupeKey);
  }

  const workspace = await findWorkspaceForIngress(deps.db, req.workspaceId);
  if (!workspace) throw new AppError('not_found', 'workspace not found');
  if (payload instanceof AppError) throw payload;
  let signatureVerified: boolean | null = null;
  if (workspace.ingressSecretSealed) {
    const verdict = verifyInbound(
      { scheme: 'standard-webhooks', secret: deps.secretBox.open(workspace.ingressSecretSealed) },
      rawBody,
      req.headers,
      Date.now(),
    );
    if (!verdict.ok) throw new AppError('unauthorized', `this workspace requires signed requests (Standard Webhooks): ${verdict.reason}`);
    signatureVerified = true;
  }
  const fields = await record(signatureVerified, false);
  return fields ? accepted(fields.dedupeKey) : { accepted: false };
}
