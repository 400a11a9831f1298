import { useState } from 'preact/hooks';
import { ApiError, post, type Delivery } from '../api';
import { Badge, Loading, LoadMore, OperationProgress, Problem, Time } from '../components';
import { fromLocalInput } from '../format';
import { usePaged, useTitle } from '../hooks';
import { Link } from '../router';
import { lastResponse, useWebhookNames } from './deliveries';

type Result = { state: 'replaying' } | { state: 'replayed'; delivery: Delivery } | { state: 'failed'; error: ApiError };

function ReplayResult({ result }: { result: Result | undefined }) {
  if (!result) return null;
  if (result.state === 'replaying') return <span class="muted">replaying…</span>;
  if (result.state === 'failed') {
    return (
      <span class="error-text" role="alert">
        {result.error.message}
      </span>
    );
  }
  return (
    <span class="ok-text">
      replayed as{' '}
      <Link href={`/deliveries/${result.delivery.id}`} class="mono small break">
        {result.delivery.id}
      </Link>
    </span>
  );
}

/** "Replay all matching": one bulk operation on the server, followed until it completes. */
function ReplayAll({ webhooks }: { webhooks: Array<{ id: string; name: string | null; url: string }> }) {
  const [webhookId, setWebhookId] = useState('');
  const [type, setType] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [state, setState] = useState<{ busy: boolean; operationId?: string; total?: number; error?: ApiError }>({ busy: false });
  const submit = async (e: Event) => {
    e.preventDefault();
    setState({ busy: true });
    try {
      const body = {
        ...(webhookId ? { webhookId } : {}),
        ...(type.trim() ? { type: type.trim() } : {}),
        ...(fromLocalInput(since) !== null ? { since: fromLocalInput(since) } : {}),
        ...(fromLocalInput(until) !== null ? { until: fromLocalInput(until) } : {}),
      };
      const r = await post<{ operationId: string; total: number }>('/dead-letters/replay', body);
      setState({ busy: false, ...r });
    } catch (err) {
      setState({ busy: false, error: err as ApiError });
    }
  };
  return (
    <details class="card">
      <summary>Replay all matching…</summary>
      <form class="filters" onSubmit={submit} aria-label="Replay all matching dead letters">
        <label>
          <span class="label">Webhook</span>
          <select value={webhookId} onChange={(e) => setWebhookId(e.currentTarget.value)}>
            <option value="">any</option>
            {webhooks.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name || w.url}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span class="label">Event type</span>
          <input type="text" value={type} onInput={(e) => setType(e.currentTarget.value)} placeholder="any" />
        </label>
        <label>
          <span class="label">Since</span>
          <input type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        </label>
        <label>
          <span class="label">Until</span>
          <input type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
        </label>
        <div class="filter-buttons">
          <button type="submit" class="primary" disabled={state.busy}>
            Replay all matching
          </button>
        </div>
      </form>
      <Problem error={state.error} what="replaying dead letters" />
      {state.operationId && <OperationProgress id={state.operationId} />}
    </details>
  );
}

export function DeadLetters() {
  useTitle('Dead letters');
  const { webhooks, name } = useWebhookNames();
  const list = usePaged<Delivery>('/dead-letters?limit=50');
  // Only a failed first page replaces the list: a failed "Load more" keeps the rows read so far, and
  // LoadMore says why below them, with Retry.
  const firstPageFailed = list.error !== undefined && list.items.length === 0;
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [results, setResults] = useState<Record<string, Result>>({});

  const replayOne = async (id: string) => {
    setResults((r) => ({ ...r, [id]: { state: 'replaying' } }));
    try {
      const delivery = await post<Delivery>(`/deliveries/${encodeURIComponent(id)}/replay`);
      setResults((r) => ({ ...r, [id]: { state: 'replayed', delivery } }));
    } catch (e) {
      setResults((r) => ({ ...r, [id]: { state: 'failed', error: e as ApiError } }));
    }
  };
  // One replay call per selected dead letter, a few at a time, each result shown on its row.
  const replaySelected = async () => {
    const ids = [...selected];
    setSelected(new Set());
    for (let i = 0; i < ids.length; i += 4) await Promise.all(ids.slice(i, i + 4).map(replayOne));
  };
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const allSelected = list.items.length > 0 && list.items.every((d) => selected.has(d.id));

  return (
    <>
      <header class="page-head">
        <h1 tabIndex={-1}>Dead letters</h1>
        <p class="muted">Deliveries that used up their retries. A replay sends the same event again, as a new delivery.</p>
      </header>
      {!firstPageFailed && <ReplayAll webhooks={webhooks} />}
      {firstPageFailed && <Problem error={list.error} what="the Dead letters page" />}
      {!firstPageFailed && (
        <section class="card flush" aria-label="Dead letters">
          <div class="toolbar pad">
            <button type="button" class="primary" disabled={selected.size === 0} onClick={replaySelected}>
              Replay selected ({selected.size})
            </button>
          </div>
          <table class="rows" aria-busy={list.loading}>
            <thead>
              <tr>
                <th scope="col" class="check">
                  <input
                    type="checkbox"
                    aria-label="Select all shown"
                    checked={allSelected}
                    onChange={() => setSelected(allSelected ? new Set() : new Set(list.items.map((d) => d.id)))}
                  />
                </th>
                <th scope="col">Delivery</th>
                <th scope="col">Event type</th>
                <th scope="col">Webhook</th>
                <th scope="col">Last response</th>
                <th scope="col">Died</th>
                <th scope="col">Replay</th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((d) => (
                <tr key={d.id} data-delivery-id={d.id}>
                  <td class="check">
                    <input type="checkbox" aria-label={`Select ${d.id}`} checked={selected.has(d.id)} onChange={() => toggle(d.id)} />
                  </td>
                  <td>
                    <Link href={`/deliveries/${d.id}`} class="mono small">
                      {d.id}
                    </Link>
                    {d.status !== 'dead' && <Badge status={d.status} />}
                  </td>
                  <td class="mono small">{d.eventType}</td>
                  <td class="clip" title={name(d.webhookId)}>
                    {name(d.webhookId)}
                  </td>
                  <td>{lastResponse(d)}</td>
                  <td>
                    <Time ms={d.completedAt} />
                  </td>
                  <td class="replay-cell" aria-live="polite">
                    {results[d.id] ? (
                      <ReplayResult result={results[d.id]} />
                    ) : (
                      <button type="button" class="small" onClick={() => replayOne(d.id)} aria-label={`Replay ${d.id}`}>
                        Replay
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.loading && <Loading />}
          {!list.loading && list.items.length === 0 && <p class="muted pad">No dead letters. Every delivery got through or is still trying.</p>}
          <LoadMore list={list} what="the Dead letters page" />
        </section>
      )}
    </>
  );
}
