import { useEffect, useState } from 'preact/hooks';
import { get, patch, query, type ApiError, type Backlog, type BacklogItem, type Definition, type EventSource, type MatchLogEntry, type Page, type Room, type Workspace } from '../api';
import { Badge, Loading, Problem, Time } from '../components';
import { formatCount } from '../format';
import { useApi, useTitle } from '../hooks';
import { Link, navigate, type Route } from '../router';

const BACKLOG_STATUSES: Array<BacklogItem['status']> = ['pending', 'processing', 'done', 'failed'];

/** Definition names by id for a room's sources, so the match log reads as names. */
function useDefinitionNames(sources: EventSource[] | undefined): Map<string, string> {
  const [names, setNames] = useState(new Map<string, string>());
  const ids = sources?.map((s) => s.id).join(',') ?? '';
  useEffect(() => {
    if (!sources?.length) return;
    let cancelled = false;
    void Promise.all(sources.map((s) => get<Page<Definition>>(`/event-sources/${s.id}/definitions`).catch(() => ({ data: [] as Definition[] })))).then((pages) => {
      if (!cancelled) setNames(new Map(pages.flatMap((p) => p.data.map((d) => [d.id, d.name] as [string, string]))));
    });
    return () => {
      cancelled = true;
    };
  }, [ids]);
  return names;
}

/** "Edit room": its name, instructions and model tier (PATCH /rooms/:id). Needs a `manage` key. */
function EditRoom({ room, onSaved }: { room: Room; onSaved: () => void }) {
  const [name, setName] = useState(room.name);
  const [instructions, setInstructions] = useState(room.instructions);
  const [modelTier, setModelTier] = useState(room.modelTier);
  const [state, setState] = useState<{ busy: boolean; saved?: boolean; error?: ApiError }>({ busy: false });
  const submit = async (e: Event) => {
    e.preventDefault();
    setState({ busy: true });
    try {
      await patch<Room>(`/rooms/${encodeURIComponent(room.id)}`, { name: name.trim(), instructions, modelTier });
      setState({ busy: false, saved: true });
      onSaved();
    } catch (err) {
      setState({ busy: false, error: err as ApiError });
    }
  };
  return (
    <details class="card">
      <summary>Edit room…</summary>
      <form class="stack" onSubmit={submit} aria-label="Edit room">
        <label class="block">
          <span class="label">Name</span>
          <input type="text" value={name} required maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label class="block">
          <span class="label">Instructions</span>
          <textarea value={instructions} required maxLength={20_000} rows={6} onInput={(e) => setInstructions(e.currentTarget.value)} />
        </label>
        <label class="block">
          <span class="label">Model tier</span>
          <select value={modelTier} onChange={(e) => setModelTier(e.currentTarget.value)}>
            <option value="fast">fast</option>
            <option value="smart">smart</option>
          </select>
        </label>
        <div class="filter-buttons">
          <button type="submit" class="primary" disabled={state.busy}>
            Save
          </button>
        </div>
      </form>
      <Problem error={state.error} what="editing a room" />
      {state.saved && (
        <p class="muted small" role="status">
          Saved: the room's agent uses these from its next item on.
        </p>
      )}
    </details>
  );
}

function RoomDetail({ roomId, route }: { roomId: string; route: Route }) {
  const status = route.query.get('status') ?? '';
  const room = useApi<Room>(`/rooms/${encodeURIComponent(roomId)}`);
  const sources = useApi<Page<EventSource>>(`/rooms/${encodeURIComponent(roomId)}/event-sources`);
  const backlog = useApi<Backlog>(`/rooms/${encodeURIComponent(roomId)}/backlog${query({ status })}`, () => 5000);
  const log = useApi<Page<MatchLogEntry>>(`/rooms/${encodeURIComponent(roomId)}/match-log?limit=100`, () => 5000);
  const definitions = useDefinitionNames(sources.data?.data);
  const sourceName = (id: string) => sources.data?.data.find((s) => s.id === id)?.name ?? id;
  const setStatus = (s: string) => {
    const q = new URLSearchParams(route.query);
    if (s) q.set('status', s);
    else q.delete('status');
    navigate(`/rooms?${q.toString()}`, { replace: true });
  };

  if (room.error) return <Problem error={room.error} what="a room's page" />;
  if (!room.data) return <Loading />;
  const r = room.data;
  return (
    <div class="stack">
      <section class="card" aria-labelledby="room-title">
        <h2 id="room-title">{r.name}</h2>
        <p class="small clip-3" title={r.instructions}>
          {r.instructions}
        </p>
        <p class="muted small">
          model tier <code>{r.modelTier}</code> · Twilio {r.twilioConfigured ? 'configured' : 'not configured'} · <span class="mono">{r.id}</span>
        </p>
      </section>

      <EditRoom room={r} onSaved={room.reload} />

      <section class="card flush" aria-labelledby="sources-title">
        <h2 id="sources-title" class="pad">
          Event sources
        </h2>
        <Problem error={sources.error ?? backlog.error} what="a room's sources" />
        {sources.data && sources.data.data.length === 0 && <p class="muted pad">No event sources.</p>}
        {sources.data && sources.data.data.length > 0 && (
          <table class="rows">
            <thead>
              <tr>
                <th scope="col">Source</th>
                <th scope="col">Verification</th>
                <th scope="col" class="num">
                  Backlog depth
                </th>
                <th scope="col" class="num">
                  Dropped
                </th>
              </tr>
            </thead>
            <tbody>
              {sources.data.data.map((s) => (
                <tr key={s.id}>
                  <td>
                    {s.name} <span class="mono small muted">{s.id}</span>
                  </td>
                  <td>{s.verification ? <code>{s.verification.scheme}</code> : <span class="muted">none</span>}</td>
                  <td class="num">{formatCount(backlog.data?.depth[s.id] ?? 0)}</td>
                  <td class="num">{formatCount(backlog.data?.dropped[s.id] ?? s.droppedCount)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section class="card flush" aria-labelledby="backlog-title">
        <div class="card-head pad">
          <h2 id="backlog-title">Backlog</h2>
          <label class="inline">
            <span class="label">Status</span>
            <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
              <option value="">any</option>
              {BACKLOG_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        </div>
        {backlog.data && backlog.data.data.length === 0 && <p class="muted pad">The backlog is empty.</p>}
        {backlog.data && backlog.data.data.length > 0 && (
          <table class="rows">
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Source</th>
                <th scope="col">Matched</th>
                <th scope="col" class="num">
                  Priority
                </th>
                <th scope="col">Status</th>
                <th scope="col">Result</th>
                <th scope="col">Queued</th>
              </tr>
            </thead>
            <tbody>
              {backlog.data.data.map((i) => (
                <tr key={i.id}>
                  <td class="mono small">{i.eventId}</td>
                  <td>{sourceName(i.sourceId)}</td>
                  <td class="nowrap">{i.definitionId ? (definitions.get(i.definitionId) ?? <span class="mono small">{i.definitionId}</span>) : '—'}</td>
                  <td class="num">{i.priority}</td>
                  <td>
                    <Badge status={i.status} />
                  </td>
                  <td class="small clip" title={i.error ?? i.result ?? ''}>
                    {i.error ? <span class="error-text">{i.error}</span> : (i.result ?? <span class="muted">—</span>)}
                  </td>
                  <td>
                    <Time ms={i.createdAt} relative />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section class="card flush" aria-labelledby="match-title">
        <h2 id="match-title" class="pad">
          Match log
        </h2>
        <Problem error={log.error} what="the match log" />
        {log.data && log.data.data.length === 0 && <p class="muted pad">No event has been matched in this room yet.</p>}
        {log.data && log.data.data.length > 0 && (
          <table class="rows">
            <thead>
              <tr>
                <th scope="col">At</th>
                <th scope="col">Event</th>
                <th scope="col">Source</th>
                <th scope="col">Matched</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {log.data.data.map((e) => (
                <tr key={e.eventId}>
                  <td>
                    <Time ms={e.at} relative />
                  </td>
                  <td class="mono small">{e.eventId}</td>
                  <td>{sourceName(e.sourceId)}</td>
                  <td>{e.matched ? (definitions.get(e.matched) ?? <span class="mono small">{e.matched}</span>) : <Badge status="cancelled" label="unmatched" />}</td>
                  <td class="small">{e.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

export function Rooms({ route }: { route: Route }) {
  useTitle('Rooms');
  const workspaces = useApi<Page<Workspace>>('/workspaces');
  const workspaceId = route.query.get('workspace') ?? workspaces.data?.data[0]?.id ?? null;
  const rooms = useApi<Page<Room>>(workspaceId ? `/workspaces/${encodeURIComponent(workspaceId)}/rooms` : null);
  const roomId = route.query.get('room') ?? rooms.data?.data[0]?.id ?? null;

  return (
    <>
      <header class="page-head">
        <h1 tabIndex={-1}>Rooms</h1>
        <p class="muted">Inbound events, matched to a room's definitions and waiting in its backlog for the room's agent.</p>
      </header>
      <Problem error={workspaces.error} what="the Rooms page" />
      {!workspaces.data && !workspaces.error && <Loading />}
      {workspaces.data && workspaces.data.data.length === 0 && <p class="card muted">No workspaces yet.</p>}
      {workspaces.data && workspaces.data.data.length > 0 && (
        <div class="split">
          <nav class="card side-list" aria-label="Workspaces and rooms">
            {workspaces.data.data.map((w) => (
              <div key={w.id}>
                <Link href={`/rooms?workspace=${encodeURIComponent(w.id)}`} class="ws" aria-current={w.id === workspaceId ? 'true' : undefined}>
                  {w.name}
                </Link>
                {w.id === workspaceId && (
                  <ul>
                    {rooms.error && (
                      <li>
                        <Problem error={rooms.error} what="listing rooms" />
                      </li>
                    )}
                    {rooms.data?.data.length === 0 && <li class="muted small">no rooms</li>}
                    {rooms.data?.data.map((r) => (
                      <li key={r.id}>
                        <Link
                          href={`/rooms?workspace=${encodeURIComponent(w.id)}&room=${encodeURIComponent(r.id)}`}
                          aria-current={r.id === roomId ? 'page' : undefined}
                        >
                          {r.name}
                        </Link>
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            ))}
          </nav>
          <div>{roomId ? <RoomDetail key={roomId} roomId={roomId} route={route} /> : rooms.data && <p class="card muted">Pick a room.</p>}</div>
        </div>
      )}
    </>
  );
}
