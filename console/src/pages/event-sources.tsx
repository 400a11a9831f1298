import { useState } from 'preact/hooks';
import { api, post, type Backlog, type EventSource, type Page } from '../api';
import { Confirm, CopyField, EditForm, Modal, Problem } from '../components';
import { formatCount } from '../format';
import type { Loaded } from '../hooks';

// The schemes a source can verify its senders with (POST /rooms/:id/event-sources), as the API names them.
const SCHEMES = ['stripe', 'github', 'standard-webhooks', 'hmac-sha256', 'hmac-sha512'] as const;

/** A source's inbound URL carries its token, so the API shows it only at creation and at regeneration. */
interface Issued {
  name: string;
  url: string;
  why: 'created' | 'regenerated';
}

/** What the dialogs are doing: confirming an action on a source, or showing a URL issued once. */
type Step = { kind: 'regenerate' | 'delete'; source: EventSource } | { kind: 'issued'; issued: Issued };

/**
 * A room's event sources: their verification, backlog depth and drops, and what an admin does with
 * them (add one, issue a new URL, delete one). Changing them needs a `manage` key; the API says so.
 */
export function EventSourcesCard({ roomId, sources, backlog }: { roomId: string; sources: Loaded<Page<EventSource>>; backlog: Loaded<Backlog> }) {
  const [step, setStep] = useState<Step | null>(null);
  const changed = () => {
    sources.reload();
    backlog.reload();
  };
  const regenerate = (source: EventSource) => async () => {
    const r = await post<{ url: string }>(`/event-sources/${encodeURIComponent(source.id)}/regenerate-token`);
    setStep({ kind: 'issued', issued: { name: source.name, url: r.url, why: 'regenerated' } });
    changed();
  };
  const remove = (source: EventSource) => async () => {
    await api('DELETE', `/event-sources/${encodeURIComponent(source.id)}`);
    setStep(null);
    changed();
  };

  const list = sources.data?.data;
  return (
    <section class="card flush" aria-labelledby="sources-title">
      <h2 id="sources-title" class="pad">
        Event sources
      </h2>
      <Problem error={sources.error ?? backlog.error} what="a room's sources" />
      {list && list.length === 0 && <p class="muted pad">No event sources: nothing can post to this room yet.</p>}
      {list && list.length > 0 && (
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
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.id}>
                <td>
                  <span id={`source-${s.id}`}>{s.name}</span> <span class="mono small muted">{s.id}</span>
                </td>
                <td>{s.verification ? <code>{s.verification.scheme}</code> : <span class="muted">none</span>}</td>
                <td class="num">{formatCount(backlog.data?.depth[s.id] ?? 0)}</td>
                <td class="num">{formatCount(backlog.data?.dropped[s.id] ?? s.droppedCount)}</td>
                <td class="row-actions">
                  <button type="button" onClick={() => setStep({ kind: 'regenerate', source: s })} aria-describedby={`source-${s.id}`}>
                    New URL…
                  </button>
                  <button type="button" onClick={() => setStep({ kind: 'delete', source: s })} aria-describedby={`source-${s.id}`}>
                    Delete…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="pad">
        <NewSource roomId={roomId} onCreated={(issued) => (sources.reload(), setStep({ kind: 'issued', issued }))} />
      </div>

      <Confirm
        open={step?.kind === 'regenerate'}
        title={step?.kind === 'regenerate' ? `A new URL for ${step.source.name}` : ''}
        text="The source gets a new URL. The current one stops working at once: senders must be given the new one."
        confirm="Issue a new URL"
        busy="Issuing…"
        what="issuing a new URL"
        action={step?.kind === 'regenerate' ? regenerate(step.source) : async () => {}}
        onClose={() => setStep(null)}
      />
      <Confirm
        open={step?.kind === 'delete'}
        title={step?.kind === 'delete' ? `Delete ${step.source.name}` : ''}
        text="The source goes with its event definitions, its events and its backlog items. Its URL stops working at once."
        confirm="Delete the source"
        busy="Deleting…"
        what="deleting the source"
        action={step?.kind === 'delete' ? remove(step.source) : async () => {}}
        onClose={() => setStep(null)}
      />
      <Modal open={step?.kind === 'issued'} title={step?.kind === 'issued' ? issuedTitle(step.issued) : ''} onClose={() => setStep(null)}>
        {step?.kind === 'issued' && (
          <>
            <p class="notice warn" role="alert">
              Copy the URL now and give it to the sender. It carries the source's token, is shown only once and can't be read again.
            </p>
            <CopyField label={`Inbound URL of ${step.issued.name}`} value={step.issued.url} />
            <div class="actions">
              <button type="button" class="primary" onClick={() => setStep(null)}>
                Done
              </button>
            </div>
          </>
        )}
      </Modal>
    </section>
  );
}

const issuedTitle = (i: Issued) => (i.why === 'created' ? `${i.name} was added` : `The new URL of ${i.name}`);

/** "Add event source…": a name, and how senders are verified (none, or a scheme and its secret). */
function NewSource({ roomId, onCreated }: { roomId: string; onCreated: (issued: Issued) => void }) {
  const [name, setName] = useState('');
  const [scheme, setScheme] = useState('');
  const [secret, setSecret] = useState('');
  const [header, setHeader] = useState('');
  // Plain HMAC has no header of its own: the sender's is named here (the other schemes know theirs).
  const needsHeader = scheme.startsWith('hmac-');
  const save = async () => {
    const verification = scheme ? { scheme, secret, ...(needsHeader ? { header: header.trim() } : {}) } : undefined;
    const body = { name: name.trim(), ...(verification ? { verification } : {}) };
    const r = await post<{ url: string; name: string }>(`/rooms/${encodeURIComponent(roomId)}/event-sources`, body);
    setName('');
    setScheme('');
    setSecret('');
    setHeader('');
    onCreated({ name: r.name, url: r.url, why: 'created' });
  };
  return (
    <EditForm summary="Add event source…" label="Add event source" what="adding an event source" saved="Added." submit="Add" save={save}>
      <label class="block">
        <span class="label">Name</span>
        <input type="text" value={name} required maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label class="block">
        <span class="label">Verify senders with</span>
        <select value={scheme} onChange={(e) => setScheme(e.currentTarget.value)}>
          <option value="">nothing (the URL's token alone admits them)</option>
          {SCHEMES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      {scheme && (
        <label class="block">
          <span class="label">Signing secret (as the sender shows it)</span>
          <input type="password" class="mono" value={secret} required autoComplete="new-password" onInput={(e) => setSecret(e.currentTarget.value)} />
        </label>
      )}
      {needsHeader && (
        <label class="block">
          <span class="label">Signature header (the HTTP header the sender puts its signature in)</span>
          <input type="text" class="mono" value={header} required maxLength={100} placeholder="X-Signature" onInput={(e) => setHeader(e.currentTarget.value)} />
        </label>
      )}
    </EditForm>
  );
}
