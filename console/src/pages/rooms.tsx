import { useEffect, useState } from 'preact/hooks';
import { api, get, patch, post, query, type Backlog, type BacklogItem, type Definition, type EventSource, type MatchLogEntry, type Page, type Room, type Workspace } from '../api';
import { Badge, Confirm, EditForm, Loading, Problem, Time } from '../components';
import { useApi, useTitle } from '../hooks';
import { Link, navigate, type Route } from '../router';
import { EventSourcesCard } from './event-sources';

const BACKLOG_STATUSES: Array<BacklogItem['status']> = ['pending', 'processing', 'done', 'failed'];

/** The definitions of a room's sources, in priority order per source; `reload` after an edit. */
function useDefinitions(sources: EventSource[] | undefined): { definitions: Definition[]; reload: () => void } {
  const [definitions, setDefinitions] = useState<Definition[]>([]);
  const [version, setVersion] = useState(0);
  const ids = sources?.map((s) => s.id).join(',') ?? '';
  useEffect(() => {
    if (!sources?.length) return setDefinitions([]);
    let cancelled = false;
    void Promise.all(sources.map((s) => get<Page<Definition>>(`/event-sources/${s.id}/definitions`).catch(() => ({ data: [] as Definition[] })))).then((pages) => {
      if (!cancelled) setDefinitions(pages.flatMap((p) => p.data));
    });
    return () => {
      cancelled = true;
    };
  }, [ids, version]);
  return { definitions, reload: () => setVersion((v) => v + 1) };
}

/** A rule as one line of JSON for the table; empty when the definition has none (only the model matches it). */
const ruleText = (rule: unknown) => (rule === null || rule === undefined ? '' : JSON.stringify(rule));

/** What a definition form edits; `rule` and `instructions` are null when left empty. */
interface DefinitionInput {
  name: string;
  description: string;
  priority: number;
  rule: unknown;
  instructions: string | null;
}

/** The fields of a definition form (add and edit), and `read()` for what they say; it throws on a rule that is not JSON. */
function useDefinitionFields(initial?: Definition) {
  const [name, setName] = useState(initial?.name ?? '');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [priority, setPriority] = useState(String(initial?.priority ?? 10));
  const [rule, setRule] = useState(initial && ruleText(initial.rule) ? JSON.stringify(initial.rule, null, 2) : '');
  const [instructions, setInstructions] = useState(initial?.instructions ?? '');
  const read = (): DefinitionInput => {
    let parsedRule: unknown = null;
    if (rule.trim() !== '') {
      try {
        parsedRule = JSON.parse(rule);
      } catch (err) {
        throw new Error(`The rule is not JSON: ${(err as Error).message}`);
      }
    }
    return { name: name.trim(), description, priority: Number(priority), rule: parsedRule, instructions: instructions.trim() === '' ? null : instructions };
  };
  const fields = (
    <>
      <label class="block">
        <span class="label">Name</span>
        <input type="text" value={name} required maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label class="block">
        <span class="label">Description</span>
        <textarea value={description} required maxLength={4_000} rows={2} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <label class="block">
        <span class="label">Priority</span>
        <input type="number" value={priority} required step={1} onInput={(e) => setPriority(e.currentTarget.value)} />
      </label>
      <label class="block">
        <span class="label">Rule (JSON; empty: the model decides)</span>
        <textarea class="mono" value={rule} rows={4} onInput={(e) => setRule(e.currentTarget.value)} />
      </label>
      <label class="block">
        <span class="label">Agent instructions (empty: none)</span>
        <textarea value={instructions} maxLength={20_000} rows={3} onInput={(e) => setInstructions(e.currentTarget.value)} />
      </label>
    </>
  );
  return { fields, read };
}

/** A definition's name, description, priority, rule and instructions (PATCH /definitions/:id); an empty rule or instructions removes it. */
function EditDefinition({ definition, onSaved }: { definition: Definition; onSaved: () => void }) {
  const form = useDefinitionFields(definition);
  const save = async () => {
    await patch<Definition>(`/definitions/${encodeURIComponent(definition.id)}`, form.read());
  };
  return (
    <EditForm summary="Edit…" label={`Edit definition ${definition.name}`} what="editing a definition" saved="Saved: matching uses it from the next event on." save={save} onSaved={onSaved}>
      {form.fields}
    </EditForm>
  );
}

/** "Add definition…" to one of the room's sources (POST /event-sources/:id/definitions). */
function AddDefinition({ sources, onSaved }: { sources: EventSource[]; onSaved: () => void }) {
  const [sourceId, setSourceId] = useState(sources[0]?.id ?? '');
  const form = useDefinitionFields();
  const save = async () => {
    const { rule, instructions, ...rest } = form.read();
    await post<Definition>(`/event-sources/${encodeURIComponent(sourceId)}/definitions`, {
      ...rest,
      ...(rule === null ? {} : { rule }),
      ...(instructions === null ? {} : { instructions }),
    });
  };
  return (
    <EditForm summary="Add definition…" label="Add definition" class="pad" what="adding a definition" saved="Added: matching uses it from the next event on." save={save} onSaved={onSaved}>
      <label class="block">
        <span class="label">Source</span>
        <select value={sourceId} onChange={(e) => setSourceId(e.currentTarget.value)}>
          {sources.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      </label>
      {form.fields}
    </EditForm>
  );
}

/** "Edit room": its name, instructions and model tier (PATCH /rooms/:id). */
function EditRoom({ room, onSaved }: { room: Room; onSaved: () => void }) {
  const [name, setName] = useState(room.name);
  const [instructions, setInstructions] = useState(room.instructions);
  const [modelTier, setModelTier] = useState(room.modelTier);
  const save = async () => {
    await patch<Room>(`/rooms/${encodeURIComponent(room.id)}`, { name: name.trim(), instructions, modelTier });
  };
  return (
    <EditForm summary="Edit room…" label="Edit room" class="card" what="editing a room" saved="Saved: the room's agent uses these from its next item on." save={save} onSaved={onSaved}>
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
    </EditForm>
  );
}

function RoomDetail({ roomId, route, onDeleted }: { roomId: string; route: Route; onDeleted: () => void }) {
  const status = route.query.get('status') ?? '';
  const [confirming, setConfirming] = useState<{ kind: 'room' } | { kind: 'definition'; definition: Definition } | null>(null);
  const room = useApi<Room>(`/rooms/${encodeURIComponent(roomId)}`);
  const sources = useApi<Page<EventSource>>(`/rooms/${encodeURIComponent(roomId)}/event-sources`);
  const backlog = useApi<Backlog>(`/rooms/${encodeURIComponent(roomId)}/backlog${query({ status })}`, () => 5000);
  const log = useApi<Page<MatchLogEntry>>(`/rooms/${encodeURIComponent(roomId)}/match-log?limit=100`, () => 5000);
  const defs = useDefinitions(sources.data?.data);
  const definitions = new Map(defs.definitions.map((d) => [d.id, d.name]));
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
  const deleteRoom = async () => {
    await api('DELETE', `/rooms/${encodeURIComponent(r.id)}`);
    setConfirming(null);
    onDeleted();
  };
  const deleteDefinition = (d: Definition) => async () => {
    await api('DELETE', `/definitions/${encodeURIComponent(d.id)}`);
    setConfirming(null);
    defs.reload();
  };
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
        <div class="actions">
          <button type="button" onClick={() => setConfirming({ kind: 'room' })}>
            Delete room…
          </button>
        </div>
      </section>
      <Confirm
        open={confirming?.kind === 'room'}
        title={`Delete ${r.name}`}
        text="The room goes with its event sources (their URLs stop working at once), definitions, events, backlog and chat. An item in the agent's hands is finished, and its answer is not kept."
        confirm="Delete the room"
        busy="Deleting…"
        what="deleting the room"
        action={deleteRoom}
        onClose={() => setConfirming(null)}
      />

      <EditRoom room={r} onSaved={room.reload} />

      <EventSourcesCard roomId={roomId} sources={sources} backlog={backlog} />

      <section class="card flush" aria-labelledby="definitions-title">
        <h2 id="definitions-title" class="pad">
          Event definitions
        </h2>
        {sources.data && defs.definitions.length === 0 && <p class="muted pad">No event definitions: nothing is admitted to the backlog.</p>}
        {defs.definitions.length > 0 && (
          <table class="rows">
            <thead>
              <tr>
                <th scope="col">Definition</th>
                <th scope="col">Source</th>
                <th scope="col" class="num">
                  Priority
                </th>
                <th scope="col">Rule</th>
                <th scope="col">Description</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {defs.definitions.map((d) => (
                <tr key={d.id}>
                  <td>
                    <span id={`definition-${d.id}`}>{d.name}</span> <span class="mono small muted">{d.id}</span>
                    <EditDefinition key={d.id} definition={d} onSaved={defs.reload} />
                  </td>
                  <td>{sourceName(d.sourceId)}</td>
                  <td class="num">{d.priority}</td>
                  <td class="mono small clip" title={ruleText(d.rule)}>
                    {ruleText(d.rule) || <span class="muted">model decides</span>}
                  </td>
                  <td class="small">
                    <div class="clip-3" title={d.description}>
                      {d.description}
                    </div>
                  </td>
                  <td class="row-actions">
                    <button type="button" onClick={() => setConfirming({ kind: 'definition', definition: d })} aria-describedby={`definition-${d.id}`}>
                      Delete…
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {sources.data && sources.data.data.length > 0 && <AddDefinition key={sources.data.data.map((s) => s.id).join(',')} sources={sources.data.data} onSaved={defs.reload} />}
        <Confirm
          open={confirming?.kind === 'definition'}
          title={confirming?.kind === 'definition' ? `Delete ${confirming.definition.name}` : ''}
          text="Events are no longer matched to this definition from the next one on; what it admitted stays in the backlog."
          confirm="Delete the definition"
          busy="Deleting…"
          what="deleting the definition"
          action={confirming?.kind === 'definition' ? deleteDefinition(confirming.definition) : async () => {}}
          onClose={() => setConfirming(null)}
        />
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
          <div>
            {roomId ? (
              <RoomDetail
                key={roomId}
                roomId={roomId}
                route={route}
                onDeleted={() => {
                  rooms.reload();
                  navigate(`/rooms?workspace=${encodeURIComponent(workspaceId ?? '')}`);
                }}
              />
            ) : (
              rooms.data && <p class="card muted">Pick a room.</p>
            )}
          </div>
        </div>
      )}
    </>
  );
}
