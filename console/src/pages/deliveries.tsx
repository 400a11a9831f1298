import { useState } from 'preact/hooks';
import { ApiError, post, query, type Delivery, type DeliveryStatus, type Page, type Webhook } from '../api';
import { Badge, Loading, LoadMore, Problem, Time } from '../components';
import { formatMs, fromLocalInput, toLocalInput } from '../format';
import { useApi, usePaged, useTitle } from '../hooks';
import { Link, navigate, type Route } from '../router';

export const STATUSES: DeliveryStatus[] = ['pending', 'retrying', 'succeeded', 'dead', 'cancelled'];

/** The webhooks of the org by id, to show names instead of ids. */
export function useWebhookNames(): { webhooks: Webhook[]; name: (id: string) => string } {
  const { data } = useApi<Page<Webhook>>('/webhooks');
  const webhooks = data?.data ?? [];
  const byId = new Map(webhooks.map((w) => [w.id, w.name || w.url]));
  return { webhooks, name: (id) => byId.get(id) ?? id };
}

/** The last response in a few words: the status code, or the error. */
export function lastResponse(d: { lastStatusCode: number | null; lastError: string | null }) {
  if (d.lastStatusCode !== null) return <span class="mono">{d.lastStatusCode}</span>;
  if (d.lastError) return <span class="small clip" title={d.lastError}>{d.lastError}</span>;
  return <span class="muted">—</span>;
}

function Filters({ route, webhooks }: { route: Route; webhooks: Webhook[] }) {
  const q = route.query;
  const [status, setStatus] = useState(q.get('status') ?? '');
  const [webhookId, setWebhookId] = useState(q.get('webhookId') ?? '');
  const [eventType, setEventType] = useState(q.get('eventType') ?? '');
  const [since, setSince] = useState(q.get('since') ? toLocalInput(Number(q.get('since'))) : '');
  const [until, setUntil] = useState(q.get('until') ? toLocalInput(Number(q.get('until'))) : '');
  const apply = (e: Event) => {
    e.preventDefault();
    navigate(`/deliveries${query({ status, webhookId, eventType: eventType.trim(), since: fromLocalInput(since), until: fromLocalInput(until) })}`, { replace: true });
  };
  const clear = () => {
    setStatus('');
    setWebhookId('');
    setEventType('');
    setSince('');
    setUntil('');
    navigate('/deliveries', { replace: true });
  };
  return (
    <form class="filters card" onSubmit={apply} aria-label="Filter deliveries">
      <label>
        <span class="label">Status</span>
        <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          <option value="">any</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span class="label">Webhook</span>
        <select value={webhookId} onChange={(e) => setWebhookId(e.currentTarget.value)}>
          <option value="">any</option>
          {webhooks.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name || w.url}
            </option>
          ))}
          {webhookId && !webhooks.some((w) => w.id === webhookId) && <option value={webhookId}>{webhookId}</option>}
        </select>
      </label>
      <label>
        <span class="label">Event type</span>
        <input type="text" value={eventType} placeholder="invoice.paid" onInput={(e) => setEventType(e.currentTarget.value)} />
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
        <button type="submit" class="primary">
          Apply
        </button>
        <button type="button" onClick={clear}>
          Clear
        </button>
      </div>
    </form>
  );
}

export function Deliveries({ route }: { route: Route }) {
  useTitle('Deliveries');
  const q = route.query;
  const { webhooks, name } = useWebhookNames();
  const path = `/deliveries${query({ status: q.get('status'), webhookId: q.get('webhookId'), eventType: q.get('eventType'), since: q.get('since'), until: q.get('until'), limit: 50 })}`;
  const list = usePaged<Delivery>(path);
  // Only a failed first page replaces the list: a failed "Load more" keeps the rows read so far, and
  // LoadMore says why below them, with Retry.
  const firstPageFailed = list.error !== undefined && list.items.length === 0;
  return (
    <>
      <header class="page-head">
        <h1 tabIndex={-1}>Deliveries</h1>
        <p class="muted">Every delivery of an event to a webhook, newest first.</p>
      </header>
      <Filters key={route.query.toString()} route={route} webhooks={webhooks} />
      {firstPageFailed && <Problem error={list.error} what="the Deliveries page" />}
      {!firstPageFailed && (
        <section class="card flush" aria-label="Deliveries">
          <table class="rows" aria-busy={list.loading}>
            <thead>
              <tr>
                <th scope="col">Delivery</th>
                <th scope="col">Status</th>
                <th scope="col">Event type</th>
                <th scope="col">Webhook</th>
                <th scope="col" class="num">
                  Attempts
                </th>
                <th scope="col">Last response</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((d) => (
                <tr key={d.id} data-delivery-id={d.id}>
                  <td>
                    <Link href={`/deliveries/${d.id}`} class="mono small">
                      {d.id}
                    </Link>
                  </td>
                  <td>
                    <Badge status={d.status} />
                  </td>
                  <td class="mono small">{d.eventType}</td>
                  <td class="clip" title={name(d.webhookId)}>
                    {name(d.webhookId)}
                  </td>
                  <td class="num">{d.attemptCount}</td>
                  <td>{lastResponse(d)}</td>
                  <td>
                    <Time ms={d.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.loading && <Loading />}
          {!list.loading && list.items.length === 0 && <p class="muted pad">No deliveries match.</p>}
          <LoadMore list={list} what="the Deliveries page" />
        </section>
      )}
    </>
  );
}

const UNSETTLED = new Set(['pending', 'retrying']);

/** Read again every 1.5 s while a delivery is unsettled, so attempts appear as they happen; a retry
 * scheduled far ahead is waited for more calmly (at most 15 s between reads). */
function followUntilSettled(d: Delivery): number | null {
  if (!UNSETTLED.has(d.status)) return null;
  const untilNext = d.nextAttemptAt === null ? 0 : d.nextAttemptAt - Date.now();
  return Math.min(Math.max(1500, untilNext), 15_000);
}

export function DeliveryDetail({ id }: { id: string }) {
  useTitle(`Delivery ${id}`);
  const { data: d, error } = useApi<Delivery>(`/deliveries/${encodeURIComponent(id)}`, followUntilSettled);
  const { name } = useWebhookNames();
  const [replay, setReplay] = useState<{ busy: boolean; result?: Delivery; error?: ApiError }>({ busy: false });

  const doReplay = async () => {
    setReplay({ busy: true });
    try {
      setReplay({ busy: false, result: await post<Delivery>(`/deliveries/${encodeURIComponent(id)}/replay`) });
    } catch (e) {
      setReplay({ busy: false, error: e as ApiError });
    }
  };

  return (
    <>
      <p class="crumbs">
        <Link href="/deliveries">← Deliveries</Link>
      </p>
      <header class="page-head row">
        <h1 tabIndex={-1}>
          Delivery <span class="mono">{id}</span>
        </h1>
        {d && <Badge status={d.status} />}
      </header>
      <Problem error={error} what="a delivery's page" />
      {!d && !error && <Loading />}
      {d && (
        <>
          <section class="card">
            <dl class="facts">
              <div>
                <dt>Event type</dt>
                <dd class="mono">{d.eventType}</dd>
              </div>
              <div>
                <dt>Event</dt>
                <dd class="mono small">{d.eventId}</dd>
              </div>
              <div>
                <dt>Webhook</dt>
                <dd>
                  <Link href={`/deliveries?webhookId=${encodeURIComponent(d.webhookId)}`}>{name(d.webhookId)}</Link>
                </dd>
              </div>
              <div>
                <dt>Created</dt>
                <dd>
                  <Time ms={d.createdAt} />
                </dd>
              </div>
              <div>
                <dt>{d.completedAt ? 'Completed' : 'Next attempt'}</dt>
                <dd>
                  <Time ms={d.completedAt ?? d.nextAttemptAt} />
                </dd>
              </div>
              {d.replayOf && (
                <div>
                  <dt>Replay of</dt>
                  <dd>
                    <Link href={`/deliveries/${d.replayOf}`} class="mono small">
                      {d.replayOf}
                    </Link>
                  </dd>
                </div>
              )}
            </dl>
            <div class="actions">
              <button type="button" onClick={doReplay} disabled={replay.busy}>
                {replay.busy ? 'Replaying…' : 'Replay'}
              </button>
              <span aria-live="polite">
                {replay.result && (
                  <span class="notice ok inline">
                    Replayed as <Link href={`/deliveries/${replay.result.id}`}>{replay.result.id}</Link>
                  </span>
                )}
              </span>
            </div>
            <Problem error={replay.error} what="replaying" />
          </section>

          <section class="card flush" aria-labelledby="attempts-title">
            <h2 id="attempts-title" class="pad">
              Attempts ({d.attempts?.length ?? 0})
            </h2>
            {d.attempts && d.attempts.length > 0 ? (
              <table class="rows attempts">
                <thead>
                  <tr>
                    <th scope="col" class="num">
                      #
                    </th>
                    <th scope="col">Started</th>
                    <th scope="col">Status</th>
                    <th scope="col">HTTP</th>
                    <th scope="col" class="num">
                      Latency
                    </th>
                    <th scope="col">Error and response</th>
                  </tr>
                </thead>
                <tbody>
                  {d.attempts.map((a) => (
                    <tr key={a.attemptNumber} data-attempt={a.attemptNumber}>
                      <td class="num">{a.attemptNumber}</td>
                      <td>
                        <Time ms={a.startedAt} />
                      </td>
                      <td>
                        <Badge status={a.status} />
                      </td>
                      <td class="mono" data-status-code={a.statusCode ?? ''}>
                        {a.statusCode ?? '—'}
                      </td>
                      <td class="num">{formatMs(a.latencyMs)}</td>
                      <td class="response">
                        {a.error && <div class="error-text">{a.error}</div>}
                        {a.responseBody ? <pre aria-label={`Response of attempt ${a.attemptNumber}`}>{a.responseBody}</pre> : !a.error && <span class="muted">empty response</span>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p class="muted pad">No attempt yet.</p>
            )}
            {/* While a read fails the page isn't following: the error above says why; a transient one is retried. */}
            {UNSETTLED.has(d.status) && (!error || error.transient) && (
              <p class="muted small pad" role="status">
                {error ? 'Trying again: the page updates once the API answers.' : 'Following this delivery: the page updates as attempts happen.'}
              </p>
            )}
          </section>
        </>
      )}
    </>
  );
}
