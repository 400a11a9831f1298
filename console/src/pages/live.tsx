import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiError } from '../api';
import { Problem } from '../components';
import { formatTime } from '../format';
import { useTitle } from '../hooks';
import { tailEvents, type StreamMessage } from '../sse';

/** How many events the page keeps in memory (shown, and held while paused). */
export const TAIL_CAP = 500;

interface Shown {
  seq: string;
  type: string;
  id: string;
  at: number | null;
  json: string;
  preview: string;
}

function toShown(m: StreamMessage): Shown {
  try {
    const envelope = JSON.parse(m.data) as { id?: string; type?: string; timestamp?: string | number; data?: unknown };
    const at = envelope.timestamp === undefined ? null : new Date(envelope.timestamp).getTime();
    const preview = JSON.stringify(envelope.data ?? null);
    return {
      seq: m.seq,
      type: envelope.type ?? m.type,
      id: envelope.id ?? m.seq,
      at: Number.isNaN(at) ? null : at,
      json: JSON.stringify(envelope, null, 2),
      preview: preview.length > 140 ? `${preview.slice(0, 140)}…` : preview,
    };
  } catch {
    return { seq: m.seq, type: m.type, id: m.seq, at: null, json: m.data, preview: m.data.slice(0, 140) };
  }
}

// `types`: the filter of the stream that is live (a new filter is live only once its own stream is).
type Connection = { state: 'connecting' } | { state: 'live'; types: string } | { state: 'retrying'; reason: string } | { state: 'stopped'; error: ApiError };

export function LiveTail() {
  useTitle('Live tail');
  const [types, setTypes] = useState('');
  const [applied, setApplied] = useState('');
  const [events, setEvents] = useState<Shown[]>([]);
  const [held, setHeld] = useState<Shown[]>([]);
  const [paused, setPaused] = useState(false);
  const [connection, setConnection] = useState<Connection>({ state: 'connecting' });
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    setConnection({ state: 'connecting' });
    return tailEvents({
      types: applied,
      onOpen: () => setConnection({ state: 'live', types: applied }),
      onRetry: (_ms, reason) => setConnection({ state: 'retrying', reason }),
      onFatal: (error) => setConnection({ state: 'stopped', error }),
      onMessage: (m) => {
        const shown = toShown(m);
        // Newest first; anything past the cap is forgotten.
        if (pausedRef.current) setHeld((h) => [shown, ...h].slice(0, TAIL_CAP));
        else setEvents((e) => [shown, ...e].slice(0, TAIL_CAP));
      },
    });
  }, [applied]);

  const resume = () => {
    setEvents((e) => [...held, ...e].slice(0, TAIL_CAP));
    setHeld([]);
    setPaused(false);
  };
  const apply = (e: Event) => {
    e.preventDefault();
    setEvents([]);
    setHeld([]);
    setApplied(types.replace(/\s+/g, ''));
  };

  const label =
    connection.state === 'live' ? 'live' : connection.state === 'connecting' ? 'connecting…' : connection.state === 'retrying' ? 'reconnecting…' : 'stopped';
  return (
    <>
      <header class="page-head row">
        <h1 tabIndex={-1}>Live tail</h1>
        <span class={`live-dot ${connection.state}`} role="status" data-connection={connection.state} data-types={connection.state === 'live' ? connection.types : undefined} title={connection.state === 'retrying' ? connection.reason : undefined}>
          {label}
        </span>
      </header>
      <p class="muted">This org's events as they are published, newest first; the last {TAIL_CAP} are kept.</p>
      {connection.state === 'stopped' && <Problem error={connection.error} what="the live tail" />}
      <div class="card toolbar">
        <form class="inline-form" onSubmit={apply} aria-label="Filter by event type">
          <label>
            <span class="label">Event types</span>
            <input
              type="text"
              value={types}
              placeholder="all; or e.g. invoice.*, webhook.test"
              onInput={(e) => setTypes(e.currentTarget.value)}
              aria-describedby="types-help"
            />
          </label>
          <button type="submit">Apply filter</button>
        </form>
        <span id="types-help" class="muted small">
          Comma-separated; <code>*</code> ends a prefix.
        </span>
        <span class="spacer" />
        {paused ? (
          <button type="button" class="primary" onClick={resume}>
            Resume{held.length ? ` (${held.length} new)` : ''}
          </button>
        ) : (
          <button type="button" onClick={() => setPaused(true)}>
            Pause
          </button>
        )}
        <button
          type="button"
          onClick={() => {
            setEvents([]);
            setHeld([]);
          }}
        >
          Clear
        </button>
      </div>
      {paused && (
        <p class="notice" role="status">
          Paused: {held.length} new event{held.length === 1 ? '' : 's'} held.
        </p>
      )}
      <ol class="tail" aria-label="Events" data-count={events.length}>
        {events.length === 0 && <li class="muted empty">{connection.state === 'live' ? 'Waiting for events…' : 'Not connected yet.'}</li>}
        {events.map((e) => (
          <li key={e.seq || e.id} data-event-type={e.type}>
            <details>
              <summary>
                <span class="tail-time">{e.at === null ? '—' : formatTime(e.at)}</span>
                <span class="tail-type mono">{e.type}</span>
                <span class="tail-id mono small muted">{e.id}</span>
                <span class="tail-preview mono small">{e.preview}</span>
              </summary>
              <pre>{e.json}</pre>
            </details>
          </li>
        ))}
      </ol>
    </>
  );
}
