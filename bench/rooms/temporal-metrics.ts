import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Workflow and activity tasks counted by the Temporal server itself, from its Prometheus endpoint
// (`global.metrics.prometheus`, which src/dev/temporal-server-config.ts always configures), so that
// nothing hookwise's own code says is trusted. A task is counted when a worker hands it back: the
// frontend's `service_requests` for RespondWorkflowTaskCompleted/Failed and RespondActivityTask*,
// per namespace. The matching service's `poll_success` (tasks handed to polls, by task queue) is kept
// beside it but is not the count: activities dispatched eagerly in a workflow task's answer, which
// the TypeScript SDK does by default, never pass through matching.

/** The metrics URL of a local Temporal server process: from its `--root <dir>`'s development.yaml. */
export function temporalMetricsUrl(serverPid: number): string {
  const argv = readFileSync(`/proc/${serverPid}/cmdline`, 'utf8').split('\0');
  const root = argv[argv.indexOf('--root') + 1];
  if (!root || argv.indexOf('--root') < 0) throw new Error(`process ${serverPid} is not a Temporal server started with --root`);
  // Written as JSON (which is YAML) by src/dev/temporal-server-config.ts.
  const config = JSON.parse(readFileSync(join(root, 'development.yaml'), 'utf8')) as {
    global?: { metrics?: { prometheus?: { listenAddress?: string } } };
  };
  const address = config.global?.metrics?.prometheus?.listenAddress;
  if (!address) throw new Error('the Temporal server has no Prometheus listenAddress');
  return `http://${address}/metrics`;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (counters and gauges; histogram series come as _bucket/_sum/_count). */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

export async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return parsePrometheus(await res.text());
}

const key = (s: Sample) => `${s.name}{${Object.entries(s.labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}}`;

/** after − before, series by series (a series missing before counts from 0). */
export function diff(before: Sample[], after: Sample[]): Sample[] {
  const base = new Map(before.map((s) => [key(s), s.value]));
  return after.map((s) => ({ ...s, value: s.value - (base.get(key(s)) ?? 0) })).filter((s) => s.value !== 0);
}

export interface TaskCounts {
  /** Workflow tasks completed or failed by a worker (frontend RespondWorkflowTask*). */
  workflow: number;
  /** Activity tasks completed, failed or cancelled by a worker (frontend RespondActivityTask*). */
  activity: number;
  /** Tasks handed out by the matching service (poll_success), by task queue and type: eagerly dispatched activities never pass through it. */
  matched: Record<string, { workflow: number; activity: number }>;
  /** Every frontend operation of the namespace that changed, for the record. */
  operations: Record<string, number>;
  /**
   * Tasks of the server's own per-namespace worker (it runs Schedules, such as the paused retention
   * schedule, in the app's namespace): matched on its `temporal-sys-*` queue, and taken out of
   * `workflow` and `activity` above, which count the app's.
   */
  server: { workflow: number; activity: number };
}

const WORKFLOW_TASK_OPS = new Set(['RespondWorkflowTaskCompleted', 'RespondWorkflowTaskFailed']);
const ACTIVITY_TASK_OPS = new Set([
  'RespondActivityTaskCompleted',
  'RespondActivityTaskFailed',
  'RespondActivityTaskCanceled',
  'RespondActivityTaskCompletedById',
  'RespondActivityTaskFailedById',
  'RespondActivityTaskCanceledById',
]);

/** Tasks of one namespace over a diff. */
export function tasksOf(delta: Sample[], namespace: string): TaskCounts {
  const out: TaskCounts = { workflow: 0, activity: 0, matched: {}, operations: {}, server: { workflow: 0, activity: 0 } };
  for (const s of delta) {
    if (s.labels.namespace !== namespace) continue;
    if (s.name === 'service_requests' && s.labels.service_name === 'frontend') {
      const op = s.labels.operation ?? '';
      out.operations[op] = (out.operations[op] ?? 0) + s.value;
      if (WORKFLOW_TASK_OPS.has(op)) out.workflow += s.value;
      if (ACTIVITY_TASK_OPS.has(op)) out.activity += s.value;
    } else if (s.name === 'poll_success') {
      const type = (s.labels.task_type ?? '').toLowerCase();
      const kind = type.startsWith('workflow') ? 'workflow' : type.startsWith('activity') ? 'activity' : null;
      if (kind === null) continue;
      const q = (out.matched[s.labels.taskqueue ?? ''] ??= { workflow: 0, activity: 0 });
      q[kind] += s.value;
    }
  }
  for (const [queue, n] of Object.entries(out.matched)) {
    if (!/^temporal[-_]sys/.test(queue)) continue;
    out.server.workflow += n.workflow;
    out.server.activity += n.activity;
  }
  out.workflow = Math.max(0, out.workflow - out.server.workflow);
  out.activity = Math.max(0, out.activity - out.server.activity);
  return out;
}
