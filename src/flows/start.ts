import { WorkflowExecutionAlreadyStartedError, type WorkflowStartOptions } from '@temporalio/client';
import { WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import type { Workflow } from '@temporalio/common';
import type { SignalDefinition } from '@temporalio/common';
import { withinDeadline, type Temporal } from '../temporal/client.js';

/**
 * How every flow starts its workflow: one error policy for all of them. Starting an id that exists is
 * success (ids make starts idempotent); anything else throws, bounded by the start deadline, and the
 * caller's row stays unstarted for recovery (which tells transient from permanent failures).
 */
export interface StartSpec {
  workflowType: string;
  workflowId: string;
  args: unknown[];
  memo: Record<string, unknown>;
  searchAttributes: SearchAttributePair[];
  summary: string;
  /**
   * Deliveries and generic events run once per id, ever (an operator's terminate or cancel stands).
   * Room events run again after a run that did not complete (terminated, failed, timed out): a run
   * started as the event's only record (PostgreSQL down) may end before it writes the row, and the
   * row a sender's repeat writes later must still be processed. Schedulers start again after they end.
   */
  reuse: 'never' | 'after-failure' | 'after-completion';
}

export type StartOutcome = 'started' | 'already-started';

/** Keyword search attributes are stored in 255-byte columns: a longer value would fail the start for good. */
const MAX_KEYWORD_BYTES = 255;
const fitKeyword = (pair: SearchAttributePair): SearchAttributePair =>
  typeof pair.value === 'string' && Buffer.byteLength(pair.value) > MAX_KEYWORD_BYTES
    ? { ...pair, value: Buffer.from(pair.value).subarray(0, MAX_KEYWORD_BYTES).toString('utf8').replace(/\uFFFD$/, '') }
    : pair;

const REUSE = {
  never: WorkflowIdReusePolicy.REJECT_DUPLICATE,
  'after-failure': WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
  'after-completion': WorkflowIdReusePolicy.ALLOW_DUPLICATE,
} as const;

function options(temporal: Temporal, spec: StartSpec): WorkflowStartOptions<Workflow> {
  return {
    taskQueue: temporal.taskQueue,
    workflowId: spec.workflowId,
    args: spec.args,
    memo: spec.memo,
    typedSearchAttributes: spec.searchAttributes.map(fitKeyword),
    staticSummary: spec.summary,
    workflowIdReusePolicy: REUSE[spec.reuse],
  };
}

export async function startOnce(temporal: Temporal, spec: StartSpec): Promise<StartOutcome> {
  try {
    await withinDeadline(temporal.client, async () => {
      await temporal.ready();
      await temporal.client.workflow.start(spec.workflowType, options(temporal, spec));
    });
    return 'started';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'already-started';
    throw err;
  }
}

/** Signals a long-lived workflow, starting it first if it isn't running. */
export async function signalWithStart(temporal: Temporal, spec: StartSpec, signal: SignalDefinition): Promise<void> {
  await withinDeadline(temporal.client, async () => {
    await temporal.ready();
    await temporal.client.workflow.signalWithStart(spec.workflowType, { ...options(temporal, spec), signal, signalArgs: [] });
  });
}
