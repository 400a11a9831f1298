import type { Hookwise } from './hookwise.js';
import type { SseClient } from './sse.js';
import { waitFor } from './wait.js';

// Waits on real state instead of sleeps. A test that checks that nothing more happened (no duplicate,
// no extra event) first waits until the org's work is provably finished: then a count is final.

/** An org's recorded work that has not reached a final state, by table (ids in `leftPending` excepted). */
const UNFINISHED_WORK = `
  SELECT
    (SELECT count(*) FROM deliveries
      WHERE organization_id = $1 AND status IN ('pending', 'retrying') AND start_error IS NULL AND NOT id = ANY($2))::int AS deliveries,
    (SELECT count(*) FROM room_events
      WHERE organization_id = $1 AND outcome IS NULL AND start_error IS NULL)::int AS "roomEvents",
    (SELECT count(*) FROM event_inbox
      WHERE organization_id = $1 AND published_event_id IS NULL AND start_error IS NULL)::int AS inbox,
    (SELECT count(*) FROM backlog_items
      WHERE organization_id = $1 AND status IN ('pending', 'processing') AND NOT id = ANY($2))::int AS backlog,
    (SELECT count(*) FROM agent_runs r JOIN agents a ON a.id = r.agent_id
      WHERE a.organization_id = $1 AND r.status = 'queued')::int AS "agentRuns",
    (SELECT count(*) FROM operations WHERE organization_id = $1 AND status = 'running')::int AS operations`;

export interface QuiesceOptions {
  /**
   * Workflow ids the test knows of, waited for until closed: visibility (what the org-wide query
   * reads) is eventually consistent, a workflow's own state is not.
   */
  closed?: string[];
  /**
   * Workflows meant to stay running, waiting on a timer (a scheduler on an hour-long tick, a delivery
   * waiting for the next minute): waited for until parked, with nothing else to do until it fires.
   */
  parked?: string[];
  /** Delivery or backlog item ids the test leaves unfinished on purpose. */
  leftPending?: string[];
  timeoutMs?: number;
}

/**
 * Waits until nothing more can happen for the org: Temporal runs no workflow of it (the visibility
 * query `HookwiseOrg = "<org>" AND ExecutionStatus = "Running"`, plus the known `closed` ids, apart
 * from the `parked` ones), and PostgreSQL holds none of its work unstarted or unfinished: deliveries
 * not final, room events without an outcome, inbox rows unpublished, backlog items pending or
 * processing, agent runs queued, operations running. Every workflow records its work in one of those
 * before it starts, so a workflow that visibility does not show yet still shows there. Both must hold
 * on two polls in a row.
 */
export async function quiesce(h: Hookwise, orgId: string, opts: QuiesceOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  // The search attributes must exist before a query names them (the first start registers them).
  await h.temporal.ready();
  const closed = new Set<string>();
  let quietPolls = 0;
  for (;;) {
    const busy = await whatIsBusy(h, orgId, opts, closed);
    quietPolls = busy === null ? quietPolls + 1 : 0;
    if (quietPolls === 2) return;
    if (Date.now() > deadline) throw new Error(`org ${orgId} still busy after ${timeoutMs} ms: ${busy}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What keeps the org busy, or null when nothing does. */
async function whatIsBusy(h: Hookwise, orgId: string, opts: QuiesceOptions, closed: Set<string>): Promise<string | null> {
  const { rows } = await h.db.query(UNFINISHED_WORK, [orgId, opts.leftPending ?? []]);
  const unfinished = Object.entries(rows[0] as Record<string, number>).filter(([, n]) => n > 0);
  if (unfinished.length > 0) return `unfinished rows: ${JSON.stringify(Object.fromEntries(unfinished))}`;

  for (const id of opts.closed ?? []) {
    if (closed.has(id)) continue;
    if (!(await isClosed(h, id))) return `workflow ${id} not closed`;
    closed.add(id);
  }
  const parked = new Set(opts.parked ?? []);
  const running: string[] = [];
  for await (const w of h.temporal.client.workflow.list({ query: `HookwiseOrg = "${orgId}" AND ExecutionStatus = "Running"` })) {
    if (!parked.has(w.workflowId)) running.push(w.workflowId);
  }
  if (running.length > 0) return `running workflows: ${running.join(', ')}`;
  for (const id of parked) {
    if (!(await isParked(h, id))) return `workflow ${id} not parked on a timer`;
  }
  return null;
}

async function isClosed(h: Hookwise, workflowId: string): Promise<boolean> {
  const description = await h.temporal.client.workflow
    .getHandle(workflowId)
    .describe()
    .catch(() => null);
  return description !== null && description.status.name !== 'RUNNING';
}

/**
 * The workflow is running and has nothing to do until a timer fires: no activity, child or workflow
 * task pending, and a timer started that has neither fired nor been cancelled.
 */
export async function isParked(h: Hookwise, workflowId: string): Promise<boolean> {
  const handle = h.temporal.client.workflow.getHandle(workflowId);
  const description = await handle.describe().catch(() => null);
  if (description?.status.name !== 'RUNNING') return false;
  const { raw } = description;
  if ((raw.pendingActivities?.length ?? 0) > 0 || (raw.pendingChildren?.length ?? 0) > 0 || raw.pendingWorkflowTask) return false;
  const history = await handle.fetchHistory();
  const open = new Set<string>();
  for (const e of history.events ?? []) {
    if (e.timerStartedEventAttributes?.timerId) open.add(e.timerStartedEventAttributes.timerId);
    if (e.timerFiredEventAttributes?.timerId) open.delete(e.timerFiredEventAttributes.timerId);
    if (e.timerCanceledEventAttributes?.timerId) open.delete(e.timerCanceledEventAttributes.timerId);
  }
  return open.size > 0;
}

/** Waits until each workflow exists in Temporal (started; whether or not a worker has run it). */
export async function waitStarted(h: Hookwise, workflowIds: string[], timeoutMs = 20_000): Promise<void> {
  const started = (id: string) =>
    h.temporal.client.workflow
      .getHandle(id)
      .describe()
      .then(
        () => true,
        () => false,
      );
  await waitFor(async () => (await Promise.all(workflowIds.map(started))).every(Boolean), { timeoutMs, what: `${workflowIds.join(', ')} started` });
}

/** Waits until the workflow is parked on a timer (see isParked). */
export async function waitParked(h: Hookwise, workflowId: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(() => isParked(h, workflowId), { timeoutMs, what: `${workflowId} to wait on a timer` });
}

/** `types=a,b,webhook.*` as a stream reads it: exact types, or prefixes ending in `*`. */
function typesMatch(types: string | undefined, type: string): boolean {
  const parts = (types ?? '').split(',').filter(Boolean);
  return parts.length === 0 || parts.some((p) => (p.endsWith('*') ? type.startsWith(p.slice(0, -1)) : type === p));
}

/**
 * For "nothing more arrives" on a live stream (SSE client or WebSocket messages): waits until the org
 * is quiesced, so that its events are all published, then until the stream has received the last of
 * them (in feed order, xid then seq) that passes its `types` filter. Anything after that would be an
 * event that does not exist.
 */
export async function streamCaughtUp(
  h: Hookwise,
  orgId: string,
  stream: Pick<SseClient, 'events'> | { messages: string[] },
  opts: { types?: string } = {},
): Promise<void> {
  await quiesce(h, orgId);
  const { rows } = await h.db.query(`SELECT id, type FROM events WHERE organization_id = $1 ORDER BY xid, seq`, [orgId]);
  const last = rows.filter((r) => typesMatch(opts.types, r.type)).at(-1);
  if (!last) return;
  const received = () =>
    'events' in stream ? stream.events.map((e) => JSON.parse(e.data).id as string) : stream.messages.map((m) => JSON.parse(m).id as string);
  await waitFor(() => received().includes(last.id), { what: `the stream to receive ${last.type} ${last.id}` });
}

/**
 * "At once" for a room woken by a reply or a channel message, against the hour-long tick the tests
 * configure: far enough from the tick to tell them apart, loose enough for a loaded CI machine.
 */
export const AT_ONCE_MS = 5_000;
