import { API_BASE, ApiError, query } from './api';
import { currentToken, signOut } from './session';

// The org's live event stream, GET /api/v1/events/stream, read with fetch rather than EventSource:
// every message is a *named* SSE event (`event: <type>`), and EventSource can only listen to names
// it knows in advance. fetch also sends the key as a header, so it never sits in a URL.

export interface StreamMessage {
  /** The org's sequence number (the SSE id). */
  seq: string;
  type: string;
  data: string;
}

export interface TailOptions {
  types: string;
  onOpen: () => void;
  onMessage: (m: StreamMessage) => void;
  /** Connection lost; it is retried after `retryMs` from where it stopped. */
  onRetry: (retryMs: number, reason: string) => void;
  /** Gave up: the key lacks `read`, or was refused. */
  onFatal: (error: ApiError) => void;
}

/** Follows the stream until the returned stop() is called, resuming with Last-Event-ID after a drop. */
export function tailEvents(o: TailOptions): () => void {
  const abort = new AbortController();
  let lastId: string | null = null;
  let retryMs = 2000;

  const once = async () => {
    const res = await fetch(API_BASE + '/events/stream' + query({ types: o.types }), {
      headers: {
        accept: 'text/event-stream',
        authorization: `Bearer ${currentToken() ?? ''}`,
        ...(lastId ? { 'last-event-id': lastId } : {}),
      },
      cache: 'no-store',
      signal: abort.signal,
    });
    if (!res.ok || !res.body) {
      const e = ((await res.json().catch(() => null)) as { error?: { code: string; message: string; details?: Record<string, unknown> } } | null)?.error;
      throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? res.statusText, e?.details);
    }
    o.onOpen();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let id: string | null = null;
        let type = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') id = val;
          else if (field === 'event') type = val;
          else if (field === 'data') data.push(val);
          else if (field === 'retry' && /^\d+$/.test(val)) retryMs = Number(val);
        }
        if (id !== null) lastId = id;
        if (data.length) o.onMessage({ seq: id ?? '', type, data: data.join('\n') });
      }
    }
  };

  void (async () => {
    while (!abort.signal.aborted) {
      try {
        await once();
        if (abort.signal.aborted) return;
        o.onRetry(retryMs, 'the stream ended');
      } catch (e) {
        if (abort.signal.aborted) return;
        if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 400 || e.status === 422)) {
          if (e.status === 401) signOut(e.message);
          o.onFatal(e);
          return;
        }
        o.onRetry(retryMs, (e as Error).message);
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
  })();
  return () => abort.abort();
}
