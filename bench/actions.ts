import type { Client } from '@temporalio/client';

// Temporal Cloud "Actions" (its billing unit) counted from workflow histories, following
// https://docs.temporal.io/cloud/actions (the "Temporal Cloud Actions" page, read 2026-12-01):
//
//   Workflow started ....................... 1 (WORKFLOW_EXECUTION_STARTED; continue-as-new and child
//                                              starts too; search attributes given at start are free)
//   Upsert search attributes ............... 1 per UPSERT_WORKFLOW_SEARCH_ATTRIBUTES command
//   Start child workflow ................... 2 per START_CHILD_WORKFLOW_EXECUTION_INITIATED
//   Activity started or retried ............ 1 per ACTIVITY_TASK_SCHEDULED, plus (attempt - 1) from
//                                              its ACTIVITY_TASK_STARTED (server-side retries)
//   Local activities ....................... 1 per workflow task that recorded markers
//   Timer started .......................... 1 per TIMER_STARTED (implicit ones too: `condition` with a timeout)
//   Signal ................................. 1 per WORKFLOW_EXECUTION_SIGNALED (signal-with-start: 1 in all)
//   Update accepted ........................ 1 per WORKFLOW_EXECUTION_UPDATE_ACCEPTED
//   Workflow options updated ............... 1 per WORKFLOW_EXECUTION_OPTIONS_UPDATED
//
// Not in a history, so not counted here: activity heartbeats that reach the server, queries. (A
// delivery attempt is a local activity: one longer than 8 s keeps its workflow task alive with
// workflow-task heartbeats, which are workflow tasks, not Actions.)

/** temporal.api.enums.v1.EventType values. */
const EV = {
  WORKFLOW_EXECUTION_STARTED: 1,
  ACTIVITY_TASK_SCHEDULED: 10,
  ACTIVITY_TASK_STARTED: 11,
  TIMER_STARTED: 17,
  TIMER_FIRED: 18,
  MARKER_RECORDED: 25,
  WORKFLOW_EXECUTION_SIGNALED: 26,
  START_CHILD_WORKFLOW_EXECUTION_INITIATED: 29,
  UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: 40,
  WORKFLOW_EXECUTION_UPDATE_ACCEPTED: 41,
  WORKFLOW_EXECUTION_OPTIONS_UPDATED: 55,
} as const;

/** Pay-as-you-go list price for the first 5 M Actions of a month (https://docs.temporal.io/cloud/pricing). */
export const USD_PER_MILLION_ACTIONS = 50;

export type ActionCounts = Record<string, number> & { total: number };

interface HistoryEvent {
  eventType?: number | string | null;
  activityTaskStartedEventAttributes?: { attempt?: number | null } | null;
  markerRecordedEventAttributes?: { workflowTaskCompletedEventId?: unknown } | null;
}

/** The Actions one history holds, by kind. */
export function actionsOf(events: HistoryEvent[]): ActionCounts {
  const c: ActionCounts = { total: 0 };
  const add = (kind: string, n = 1) => {
    if (n <= 0) return;
    c[kind] = (c[kind] ?? 0) + n;
    c.total += n;
  };
  const markerTasks = new Set<string>();
  for (const e of events) {
    switch (Number(e.eventType)) {
      case EV.WORKFLOW_EXECUTION_STARTED:
        add('workflow started');
        break;
      case EV.ACTIVITY_TASK_SCHEDULED:
        add('activity scheduled');
        break;
      case EV.ACTIVITY_TASK_STARTED:
        add('activity retried (server-side)', (e.activityTaskStartedEventAttributes?.attempt ?? 1) - 1);
        break;
      case EV.TIMER_STARTED:
        add('timer started');
        break;
      case EV.MARKER_RECORDED:
        markerTasks.add(String(e.markerRecordedEventAttributes?.workflowTaskCompletedEventId ?? ''));
        break;
      case EV.WORKFLOW_EXECUTION_SIGNALED:
        add('signal');
        break;
      case EV.START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        add('child workflow started', 2);
        break;
      case EV.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        add('search attributes upserted');
        break;
      case EV.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        add('update accepted');
        break;
      case EV.WORKFLOW_EXECUTION_OPTIONS_UPDATED:
        add('workflow options updated');
        break;
    }
  }
  add('local activities (per workflow task)', markerTasks.size);
  return c;
}

export interface ActionSummary {
  workflows: number;
  /** Not Actions: timers that ran out (a wait nothing cut short), over all the workflows read. */
  timersFired: number;
  /** Mean Actions per workflow, by kind. */
  perWorkflow: Record<string, number>;
  /** What a million such workflows would cost at USD_PER_MILLION_ACTIONS. */
  usdPerMillion: number;
  /** Workflows whose total differs from the most common one (waits, retries, signals). */
  irregular: number;
}

/** Reads the histories (8 at a time) and averages their Actions. */
export async function actionsOfWorkflows(client: Client, workflowIds: string[]): Promise<ActionSummary> {
  const all: ActionCounts[] = [];
  let timersFired = 0;
  let next = 0;
  const lane = async () => {
    while (next < workflowIds.length) {
      const id = workflowIds[next++];
      const events = ((await client.workflow.getHandle(id).fetchHistory()).events ?? []) as HistoryEvent[];
      all.push(actionsOf(events));
      timersFired += events.filter((e) => Number(e.eventType) === EV.TIMER_FIRED).length;
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  const perWorkflow: Record<string, number> = {};
  for (const c of all) for (const [k, v] of Object.entries(c)) perWorkflow[k] = (perWorkflow[k] ?? 0) + v;
  for (const k of Object.keys(perWorkflow)) perWorkflow[k] = Math.round((perWorkflow[k] / Math.max(1, all.length)) * 100) / 100;
  const totals = new Map<number, number>();
  for (const c of all) totals.set(c.total, (totals.get(c.total) ?? 0) + 1);
  const mode = [...totals].sort((a, b) => b[1] - a[1])[0]?.[0];
  return {
    workflows: all.length,
    timersFired,
    perWorkflow,
    usdPerMillion: Math.round((perWorkflow.total ?? 0) * USD_PER_MILLION_ACTIONS * 100) / 100,
    irregular: all.filter((c) => c.total !== mode).length,
  };
}
