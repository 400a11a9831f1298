import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type DeliveryStatus, type Operation, type StatsPoint } from './api';
import { formatAgo, formatClock, formatCount, formatMs, formatTime } from './format';
import { useApi, type Paged } from './hooks';

/** An API error as the user should read it: its message, or which capability the key lacks. */
export function Problem({ error, what = 'this page' }: { error: ApiError | undefined; what?: string }) {
  if (!error) return null;
  if (error.status === 403) {
    return (
      <div class="notice warn" role="alert" data-problem="forbidden">
        Your key lacks the <code>{error.missingCapability}</code> capability, which {what} needs. Sign in with a key that has it, or ask an
        admin for one.
      </div>
    );
  }
  // A 422 lists what was wrong, field by field: the message alone ("request is invalid") says little.
  const issues = Array.isArray(error.details.issues) ? (error.details.issues as Array<{ path?: string; message?: string }>) : [];
  return (
    <div class="notice error" role="alert" data-problem={error.code}>
      {error.message}
      {issues.length > 0 && (
        <ul class="small">
          {issues.map((i, n) => (
            <li key={n}>
              {i.path ? <code>{i.path}</code> : null}
              {i.path ? ': ' : null}
              {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="muted" role="status">
      {label}
    </p>
  );
}

/** An instant in local time (the relative one on hover), or `relative`: "3 min ago" (the exact one on hover). */
export function Time({ ms, relative = false }: { ms: number | null | undefined; relative?: boolean }) {
  if (ms === null || ms === undefined) return <span class="muted">—</span>;
  return (
    <time dateTime={new Date(ms).toISOString()} title={relative ? formatTime(ms) : formatAgo(ms)}>
      {relative ? formatAgo(ms) : formatTime(ms)}
    </time>
  );
}

const STATUS_TONE: Record<string, string> = {
  succeeded: 'ok',
  completed: 'ok',
  done: 'ok',
  active: 'ok',
  pending: 'neutral',
  in_flight: 'neutral',
  processing: 'neutral',
  running: 'neutral',
  retrying: 'warn',
  failing: 'warn',
  failed: 'bad',
  lost: 'warn',
  dead: 'bad',
  disabled: 'bad',
  cancelled: 'neutral',
};

export function Badge({ status, label }: { status: DeliveryStatus | string; label?: string }) {
  return (
    <span class={`badge ${STATUS_TONE[status] ?? 'neutral'}`} data-status={status}>
      {label ?? status.replace('_', ' ')}
    </span>
  );
}

/** One figure with its label, as on the overview. */
export function Figure({ label, value, tone }: { label: string; value: string; tone?: 'ok' | 'bad' | 'warn' }) {
  return (
    <div class={`figure ${tone ?? ''}`}>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

/**
 * Attempts per bucket as stacked bars (succeeded below, failed above), hand-drawn in SVG; each bar's
 * tooltip has its figures. The axis labels are HTML so they stay crisp while the bars stretch.
 */
export function AttemptsChart({ series, bucketSeconds, label }: { series: StatsPoint[]; bucketSeconds: number; label: string }) {
  const max = Math.max(1, ...series.map((p) => p.attempts));
  const height = 100;
  const bar = 10;
  const gap = series.length > 70 ? 2 : 3;
  const width = series.length * bar;
  const total = series.reduce((n, p) => n + p.attempts, 0);
  const scale = (n: number) => (n / max) * (height - 4);
  return (
    <figure class="chart">
      <div class="chart-plot">
        <span class="chart-max" aria-hidden="true">
          {formatCount(max)}
        </span>
        <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={`${label}: ${formatCount(total)} attempts`}>
          <line x1="0" y1={height - 0.5} x2={width} y2={height - 0.5} class="chart-axis" />
          {series.map((p, i) => {
            const ok = scale(p.succeeded);
            const bad = scale(p.failed);
            const x = i * bar + gap / 2;
            const w = bar - gap;
            const title = `${formatClock(p.at)}–${formatClock(p.at + bucketSeconds * 1000)}: ${p.attempts} attempts, ${p.succeeded} succeeded, ${p.failed} failed, ${p.dead} dead; p50 ${formatMs(p.p50LatencyMs)}, p99 ${formatMs(p.p99LatencyMs)}`;
            return (
              <g key={p.at}>
                <title>{title}</title>
                {/* A full-height transparent target, so even empty buckets have a tooltip. */}
                <rect x={i * bar} y="0" width={bar} height={height} class="chart-hit" />
                {ok > 0 && <rect x={x} y={height - ok} width={w} height={ok} class="chart-ok" />}
                {bad > 0 && <rect x={x} y={height - ok - bad} width={w} height={bad} class="chart-bad" />}
              </g>
            );
          })}
        </svg>
      </div>
      <figcaption class="chart-legend">
        <span>{series.length ? formatClock(series[0].at) : ''}</span>
        <span>
          <i class="swatch ok" /> succeeded <i class="swatch bad" /> failed · per {bucketSeconds >= 60 ? `${bucketSeconds / 60} min` : `${bucketSeconds} s`}
        </span>
        <span>now</span>
      </figcaption>
    </figure>
  );
}

/** A bulk operation's progress, read from GET /operations/:id every second until it completes. */
export function OperationProgress({ id }: { id: string }) {
  const { data: op, error } = useApi<Operation>(`/operations/${encodeURIComponent(id)}`, (o) => (o.status === 'running' ? 1000 : null));
  // A failed read keeps the last progress on show: a transient error is retried, and clears once it answers.
  const problem = <Problem error={error} what="following this operation" />;
  if (!op) return error ? problem : <Loading label="Starting…" />;
  const done = op.succeeded + op.failed;
  return (
    <>
      {problem}
      <div class="operation" role="status" aria-live="polite" data-operation-status={op.status}>
        <progress max={Math.max(op.total, 1)} value={op.total === 0 ? 1 : done} aria-label="progress" />
        <span>
          {op.total === 0 ? (
            'Nothing matched: no deliveries to replay.'
          ) : (
            <>
              <strong>{op.status === 'completed' ? 'Completed' : 'Running'}</strong>: {formatCount(op.succeeded)} succeeded, {formatCount(op.failed)}{' '}
              failed, {formatCount(op.inFlight)} in flight, of {formatCount(op.total)}
            </>
          )}
          <span class="muted"> · operation <code>{op.id}</code></span>
        </span>
      </div>
    </>
  );
}

/** A paged list's foot: "Load more" while pages remain, or why the last one failed, with Retry (the rows read so far stay). */
export function LoadMore({ list, what }: { list: Paged<unknown>; what: string }) {
  if (list.loading) return null;
  if (list.error) {
    return (
      <div class="pad">
        <Problem error={list.error} what={what} />
        <button type="button" onClick={list.loadMore}>
          Retry
        </button>
      </div>
    );
  }
  if (!list.more) return null;
  return (
    <div class="pad">
      <button type="button" onClick={list.loadMore}>
        Load more
      </button>
    </div>
  );
}

/** A read-only value with a Copy button (the clipboard API where allowed, else select + copy). */
export function CopyField({ value, label }: { value: string; label: string }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      input.current?.select();
      document.execCommand('copy');
    }
    setCopied(true);
  };
  return (
    <div class="copy-field">
      <label>
        <span class="label">{label}</span>
        <input ref={input} readOnly value={value} class="mono" onFocus={(e) => e.currentTarget.select()} />
      </label>
      <button type="button" onClick={copy}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

/** A modal `<dialog>`: focus stays inside, Escape closes it. */
export function Modal({ open, title, onClose, children }: { open: boolean; title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby="modal-title">
      {open && (
        <>
          <h2 id="modal-title">{title}</h2>
          {children}
        </>
      )}
    </dialog>
  );
}

/**
 * Asks before an action that can't be undone (a deletion, a new URL that retires the old one): runs
 * `action` on confirmation and shows the API's refusal if there is one. `action` closes the dialog
 * (or opens the next step) itself.
 */
export function Confirm(props: { open: boolean; title: string; text: string; confirm: string; busy: string; what: string; action: () => Promise<void>; onClose: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const close = () => {
    setError(undefined);
    props.onClose();
  };
  // The dialog also closes when `open` turns false (the action moved on to its next step): only a
  // close while still open (Escape) is the user's.
  const dismissed = () => (props.open ? close() : setError(undefined));
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await props.action();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'client', (err as Error).message));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal open={props.open} title={props.title} onClose={dismissed}>
      <p>{props.text}</p>
      <div class="actions">
        <button type="button" class="primary" onClick={run} disabled={busy}>
          {busy ? props.busy : props.confirm}
        </button>
        <button type="button" onClick={close}>
          Cancel
        </button>
      </div>
      <Problem error={error} what={props.what} />
    </Modal>
  );
}

/**
 * A form behind a summary ("Edit…", "Add…") that saves with one request: Save, then `saved` or what
 * was wrong (an input the console itself can't send, or the API's refusal field by field). Edits need
 * a `manage` key.
 */
export function EditForm(props: {
  summary: string;
  label: string;
  class?: string;
  what: string;
  saved: string;
  /** The submit button's text (Save). */
  submit?: string;
  /** Throws an Error (not an ApiError) for input that can't be sent. */
  save: () => Promise<void>;
  onSaved?: () => void;
  children: ComponentChildren;
}) {
  const [state, setState] = useState<{ busy: boolean; saved?: boolean; error?: ApiError; invalid?: string }>({ busy: false });
  const submit = async (e: Event) => {
    e.preventDefault();
    setState({ busy: true });
    try {
      await props.save();
      setState({ busy: false, saved: true });
      props.onSaved?.();
    } catch (err) {
      setState(err instanceof ApiError ? { busy: false, error: err } : { busy: false, invalid: (err as Error).message });
    }
  };
  return (
    <details class={props.class}>
      <summary>{props.summary}</summary>
      <form class="stack" onSubmit={submit} aria-label={props.label}>
        {props.children}
        <div class="filter-buttons">
          <button type="submit" class="primary" disabled={state.busy}>
            {props.submit ?? 'Save'}
          </button>
        </div>
      </form>
      {state.invalid && (
        <p class="error-text small" role="alert">
          {state.invalid}
        </p>
      )}
      <Problem error={state.error} what={props.what} />
      {state.saved && (
        <p class="muted small" role="status">
          {props.saved}
        </p>
      )}
    </details>
  );
}
