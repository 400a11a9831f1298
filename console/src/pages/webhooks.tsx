import { useState } from 'preact/hooks';
import { ApiError, patch, post, type Page, type Webhook } from '../api';
import { Badge, CopyField, Loading, Modal, OperationProgress, Problem, Time } from '../components';
import { formatAgo, formatCount, formatRate, formatTime, fromLocalInput, toLocalInput } from '../format';
import { useApi, useTitle } from '../hooks';
import { Link } from '../router';

type Outcome = { kind: 'error'; error: ApiError } | { kind: 'test'; deliveryId: string } | { kind: 'recover'; operationId: string } | { kind: 'info'; text: string };

function retrySummary(p: Webhook['retryPolicy']): string {
  if (!p) return 'default retries';
  if (p.scheduleSeconds) return `${p.scheduleSeconds.length + 1} attempts, after ${p.scheduleSeconds.join(', ')} s`;
  return `${p.attempts ?? 15} attempts, ${p.policy ?? 'exponential'} from ${p.delaySeconds ?? 2} s`;
}

function rateLimitSummary(r: Webhook['rateLimit']): string {
  if (r.maxInFlight === null && r.maxPerMinute === null) return 'the deployment defaults';
  return `${r.maxInFlight ?? 'default'} in flight · ${r.maxPerMinute ?? 'default'} per minute`;
}

function WebhookCard({ webhook: w, onChanged }: { webhook: Webhook; onChanged: (w?: Webhook) => void }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [recoverOpen, setRecoverOpen] = useState(false);
  const [since, setSince] = useState(() => toLocalInput(Date.now() - 86_400_000));
  const [rotate, setRotate] = useState<{ step: 'confirm' } | { step: 'done'; secret: string | null; previousExpiresAt: number | null } | null>(null);

  async function act(name: string, fn: () => Promise<void>) {
    setBusy(name);
    try {
      await fn();
    } catch (e) {
      setOutcome({ kind: 'error', error: e as ApiError });
    } finally {
      setBusy(null);
    }
  }

  const toggle = () =>
    act('toggle', async () => {
      const updated = await patch<Webhook>(`/webhooks/${w.id}`, { active: !w.active });
      setOutcome({ kind: 'info', text: updated.active ? 'Enabled: new events are delivered again.' : 'Disabled: new events create no deliveries.' });
      onChanged(updated);
    });
  const test = () =>
    act('test', async () => {
      const r = await post<{ deliveryId: string }>(`/webhooks/${w.id}/test`);
      setOutcome({ kind: 'test', deliveryId: r.deliveryId });
    });
  const recover = (e: Event) => {
    e.preventDefault();
    const at = fromLocalInput(since);
    if (at === null) return setOutcome({ kind: 'info', text: 'Pick a date and time to recover from.' });
    return act('recover', async () => {
      const r = await post<{ operationId: string }>(`/webhooks/${w.id}/recover`, { since: at });
      setRecoverOpen(false);
      setOutcome({ kind: 'recover', operationId: r.operationId });
    });
  };
  const rotateSecret = () =>
    act('rotate', async () => {
      const r = await post<Webhook>(`/webhooks/${w.id}/rotate-secret`, {});
      setRotate({ step: 'done', secret: r.secret ?? null, previousExpiresAt: r.previousSecretExpiresAt });
      onChanged({ ...r, secret: undefined });
    });

  const total = w.successCount + w.failureCount;
  const title = w.name || w.url;
  const headingId = `wh-${w.id}`;
  return (
    <article class="card webhook" aria-labelledby={headingId} data-webhook-id={w.id}>
      <div class="card-head">
        <div>
          <h2 id={headingId}>{title}</h2>
          {w.name && <div class="mono small muted">{w.url}</div>}
        </div>
        <div class="badges">
          {w.active ? <Badge status="active" /> : <Badge status="disabled" />}
          {w.active && w.failingSince && <Badge status="failing" label={`failing since ${formatAgo(w.failingSince).replace(' ago', '')}`} />}
        </div>
      </div>
      {!w.active && w.disabledReason && <p class="notice warn small">Disabled: {w.disabledReason}</p>}
      <dl class="facts">
        <div>
          <dt>Attempts, all time</dt>
          <dd>
            {total === 0 ? (
              'none yet'
            ) : (
              <>
                {formatRate(w.successCount / total)} succeeded{' '}
                <span class="muted small">
                  ({formatCount(w.successCount)} of {formatCount(total)})
                </span>
              </>
            )}
          </dd>
        </div>
        <div>
          <dt>Last triggered</dt>
          <dd>
            <Time ms={w.lastTriggeredAt} />
          </dd>
        </div>
        <div>
          <dt>Last success</dt>
          <dd>
            <Time ms={w.lastSuccessAt} />
          </dd>
        </div>
        <div>
          <dt>Events</dt>
          <dd class="mono small">{w.events.join(', ')}</dd>
        </div>
        <div>
          <dt>Retries</dt>
          <dd>{retrySummary(w.retryPolicy)}</dd>
        </div>
        <div>
          <dt>Rate limit</dt>
          <dd>{rateLimitSummary(w.rateLimit)}</dd>
        </div>
        <div>
          <dt>Signing keys</dt>
          <dd>
            {w.signingKeys.length}
            {w.previousSecretExpiresAt && <> · previous one signs until {formatTime(w.previousSecretExpiresAt)}</>}
          </dd>
        </div>
        {w.filter != null && (
          <div>
            <dt>Filter</dt>
            <dd class="mono small">{JSON.stringify(w.filter)}</dd>
          </div>
        )}
      </dl>
      <div class="actions">
        <button type="button" onClick={toggle} disabled={busy !== null}>
          {w.active ? 'Disable' : 'Enable'}
        </button>
        <button type="button" onClick={test} disabled={busy !== null || !w.active} title={w.active ? undefined : 'Enable the webhook first'}>
          Send test event
        </button>
        <button type="button" onClick={() => setRotate({ step: 'confirm' })} disabled={busy !== null}>
          Rotate secret
        </button>
        <button type="button" onClick={() => setRecoverOpen((o) => !o)} aria-expanded={recoverOpen} disabled={busy !== null}>
          Recover failures since…
        </button>
        <Link href={`/deliveries?webhookId=${encodeURIComponent(w.id)}`} class="button-link">
          Deliveries →
        </Link>
      </div>
      {recoverOpen && (
        <form class="inline-form" onSubmit={recover}>
          <label>
            <span class="label">Replay this webhook's dead and cancelled deliveries since</span>
            <input type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} required />
          </label>
          <button type="submit" class="primary" disabled={busy !== null}>
            Recover
          </button>
        </form>
      )}
      <div aria-live="polite">
        {outcome?.kind === 'error' && <Problem error={outcome.error} what="this action" />}
        {outcome?.kind === 'info' && <p class="notice">{outcome.text}</p>}
        {outcome?.kind === 'test' && (
          <p class="notice ok">
            Test event sent: delivery <Link href={`/deliveries/${outcome.deliveryId}`}>{outcome.deliveryId}</Link>
          </p>
        )}
        {outcome?.kind === 'recover' && <OperationProgress id={outcome.operationId} />}
      </div>

      <Modal open={rotate !== null} title={`Rotate the secret of ${title}`} onClose={() => setRotate(null)}>
        {rotate?.step === 'confirm' && (
          <>
            <p>A new signing secret is generated. Deliveries are signed with both the new and the previous secret for a while, so receivers can switch over.</p>
            <div class="actions">
              <button type="button" class="primary" onClick={rotateSecret} disabled={busy !== null}>
                {busy === 'rotate' ? 'Rotating…' : 'Rotate secret'}
              </button>
              <button type="button" onClick={() => setRotate(null)}>
                Cancel
              </button>
            </div>
            {outcome?.kind === 'error' && <Problem error={outcome.error} what="rotating the secret" />}
          </>
        )}
        {rotate?.step === 'done' && (
          <>
            {rotate.secret ? (
              <>
                <p class="notice warn" role="alert">
                  Copy the new secret now. It is shown only once and can't be read again.
                </p>
                <CopyField label="New signing secret" value={rotate.secret} />
              </>
            ) : (
              <p>The secret was rotated.</p>
            )}
            {rotate.previousExpiresAt && <p class="small muted">The previous secret keeps signing the Standard Webhooks header (webhook-signature) until {formatTime(rotate.previousExpiresAt)}; X-Webhook-Signature and X-Webhook-Hmac use the new secret now.</p>}
            <div class="actions">
              <button type="button" class="primary" onClick={() => setRotate(null)}>
                Done
              </button>
            </div>
          </>
        )}
      </Modal>
    </article>
  );
}

export function Webhooks() {
  useTitle('Webhooks');
  const { data, error, reload } = useApi<Page<Webhook>>('/webhooks');
  const [overrides, setOverrides] = useState<Record<string, Webhook>>({});
  const list = data?.data.map((w) => overrides[w.id] ?? w);
  return (
    <>
      <header class="page-head">
        <h1 tabIndex={-1}>Webhooks</h1>
        <p class="muted">Endpoints that receive this org's events, with their delivery figures.</p>
      </header>
      <Problem error={error} what="the Webhooks page" />
      {!data && !error && <Loading />}
      {list && list.length === 0 && (
        <p class="card muted">
          No webhooks yet. Create one with <code>POST /api/v1/webhooks</code>.
        </p>
      )}
      {list?.map((w) => (
        <WebhookCard
          key={w.id}
          webhook={w}
          onChanged={(updated) => {
            if (updated) setOverrides((o) => ({ ...o, [updated.id]: updated }));
            else reload();
          }}
        />
      ))}
    </>
  );
}
