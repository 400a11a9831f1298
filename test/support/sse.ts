import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { waitFor } from './wait.js';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseClient {
  status: number;
  headers: IncomingHttpHeaders;
  /** Every event dispatched so far, in arrival order (comments and `retry:` are not events). */
  events: SseEvent[];
  /** The body as text, for a non-200 answer (an error envelope). */
  text(): Promise<string>;
  /** Waits until at least `n` events have arrived; returns them all. */
  waitForEvents(n: number, timeoutMs?: number): Promise<SseEvent[]>;
  /** The id of the last event received: what a reconnecting client sends as Last-Event-ID. */
  lastEventId(): string | undefined;
  close(): void;
}

/**
 * A small Server-Sent Events client over node:http (fetch buffers nothing we need, but a real socket
 * we can drop mid-stream is what reconnect tests want). Parses `id:` / `event:` / `data:` frames as
 * the EventSource spec does: fields until a blank line, `data` lines joined with `\n`, `:` comments
 * skipped, the last id carried over to events that send none.
 */
export async function openSse(url: string, opts: { key?: string; lastEventId?: string; headers?: Record<string, string> } = {}): Promise<SseClient> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, {
      method: 'GET',
      headers: {
        accept: 'text/event-stream',
        ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
        ...(opts.lastEventId !== undefined ? { 'last-event-id': opts.lastEventId } : {}),
        ...opts.headers,
      },
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
  res.setEncoding('utf8');

  const events: SseEvent[] = [];
  let lastId: string | undefined = opts.lastEventId;
  let buffer = '';
  let body = '';
  let pending: { id?: string; event?: string; data: string[] } = { data: [] };
  const ended = new Promise<void>((resolve) => {
    res.once('end', resolve);
    res.once('close', resolve);
    res.once('error', () => resolve());
  });

  const line = (l: string) => {
    if (l === '') {
      if (pending.id !== undefined) lastId = pending.id;
      if (pending.data.length > 0) {
        events.push({ id: lastId, event: pending.event ?? 'message', data: pending.data.join('\n') });
      }
      pending = { data: [] };
      return;
    }
    if (l.startsWith(':')) return;
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') pending.id = value;
    else if (field === 'event') pending.event = value;
    else if (field === 'data') pending.data.push(value);
  };

  res.on('data', (chunk: string) => {
    if (res.statusCode !== 200) {
      body += chunk;
      return;
    }
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const sep = buffer.startsWith('\r\n', nl) ? 2 : 1;
      line(buffer.slice(0, nl));
      buffer = buffer.slice(nl + sep);
    }
  });

  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    events,
    async text() {
      await ended;
      return body;
    },
    async waitForEvents(n, timeoutMs = 15_000) {
      await waitFor(() => events.length >= n, { timeoutMs, what: `${n} SSE event(s)` });
      return events;
    },
    lastEventId: () => lastId,
    close() {
      res.destroy();
    },
  };
}
