import { useEffect, useState } from 'preact/hooks';
import type { DeliveryStats, InboundStats } from '../api';
import { AttemptsChart, Figure, Loading, Problem } from '../components';
import { formatCount, formatMs, formatRate } from '../format';
import { useApi, useTitle } from '../hooks';
import { Link } from '../router';

const REFRESH_MS = 30_000;

/** Re-renders its users every `ms`, so the figures follow the traffic. */
function useRefresh(reloads: Array<() => void>, ms: number) {
  useEffect(() => {
    const timer = setInterval(() => reloads.forEach((r) => r()), ms);
    return () => clearInterval(timer);
  }, []);
}

function DeliveryWindow({ window, title }: { window: '1h' | '24h'; title: string }) {
  const { data, error, reload } = useApi<DeliveryStats>(`/stats/deliveries?window=${window}`);
  useRefresh([reload], REFRESH_MS);
  const t = data?.totals;
  const rateTone = t?.successRate === null || t?.successRate === undefined ? undefined : t.successRate >= 0.99 ? 'ok' : t.successRate >= 0.9 ? 'warn' : 'bad';
  return (
    <section class="card" aria-labelledby={`stats-${window}`} data-window={window}>
      <h2 id={`stats-${window}`}>{title}</h2>
      <Problem error={error} what="delivery statistics" />
      {!data && !error && <Loading />}
      {t && data && (
        <>
          <dl class="figures">
            <Figure label="Success rate" value={formatRate(t.successRate)} tone={rateTone} />
            <Figure label="Attempts" value={formatCount(t.attempts)} />
            <Figure label="p50 latency" value={formatMs(t.p50LatencyMs)} />
            <Figure label="p99 latency" value={formatMs(t.p99LatencyMs)} />
            <Figure label="Dead letters" value={formatCount(t.dead)} tone={t.dead > 0 ? 'bad' : undefined} />
          </dl>
          <AttemptsChart series={data.series} bucketSeconds={data.bucketSeconds} label={`Attempts, ${title.toLowerCase()}`} />
          {t.dead > 0 && (
            <p class="small">
              <Link href="/dead-letters">See the dead letters →</Link>
            </p>
          )}
        </>
      )}
    </section>
  );
}

function Inbound() {
  const [window, setWindow] = useState<'1h' | '24h'>('1h');
  const { data, error, reload } = useApi<InboundStats>(`/stats/inbound?window=${window}`);
  useRefresh([reload], REFRESH_MS);
  return (
    <section class="card" aria-labelledby="inbound-title">
      <div class="card-head">
        <h2 id="inbound-title">Inbound acknowledgements per source</h2>
        <div class="segmented" role="group" aria-label="Window">
          {(['1h', '24h'] as const).map((w) => (
            <button type="button" key={w} aria-pressed={window === w} onClick={() => setWindow(w)}>
              {w === '1h' ? 'Last hour' : 'Last day'}
            </button>
          ))}
        </div>
      </div>
      <Problem error={error} what="inbound statistics" />
      {!data && !error && <Loading />}
      {data && data.data.length === 0 && <p class="muted">No event sources or generic ingress in this org yet.</p>}
      {data && data.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Source</th>
              <th scope="col">Kind</th>
              <th scope="col" class="num">
                Accepted
              </th>
            </tr>
          </thead>
          <tbody>
            {data.data.map((s) => (
              <tr key={`${s.kind}:${s.id}:${s.sourceKind ?? ''}`}>
                <td>
                  {s.kind === 'room' ? (
                    <Link href={`/rooms?workspace=${encodeURIComponent(s.workspaceId)}&room=${encodeURIComponent(s.roomId ?? '')}`}>{s.name}</Link>
                  ) : (
                    s.name
                  )}
                </td>
                <td>{s.kind === 'room' ? 'room event source' : <>generic ingress · <code>{s.sourceKind}</code></>}</td>
                <td class="num">{formatCount(s.accepted)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Overview() {
  useTitle('Overview');
  return (
    <>
      <header class="page-head">
        <h1 tabIndex={-1}>Overview</h1>
        <p class="muted">Outbound deliveries and inbound acknowledgements; refreshed every 30 s.</p>
      </header>
      <div class="grid-2">
        <DeliveryWindow window="1h" title="Last hour" />
        <DeliveryWindow window="24h" title="Last day" />
      </div>
      <Inbound />
    </>
  );
}
