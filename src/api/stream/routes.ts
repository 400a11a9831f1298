import { PassThrough } from 'node:stream';
import { doc } from '../openapi.js';
import { requireCapability } from '../auth.js';
import type { ApiRouter } from '../context.js';
import { typeFilter, type EventFeed } from '../../stream/event-feed.js';
import type { LoggedEvent } from '../../db/event-log.js';
import { atAccessEnd } from './access-end.js';

const HEARTBEAT_MS = 15_000;

/**
 * One event as an SSE frame. A type may hold CR or LF (API publishes and the generic ingress let them
 * through), and each would start a field of its own — a forged `id:` or `data:` — so they become
 * spaces. The data line is JSON, which escapes them.
 */
function frame(e: LoggedEvent): string {
  return `id: ${e.seq}\nevent: ${e.type.replace(/[\r\n]/g, ' ')}\ndata: ${e.body}\n\n`;
}

/**
 * `GET /api/v1/events/stream`: the org's events as Server-Sent Events. Each event's SSE id is its
 * seq; a client that reconnects with `Last-Event-ID` (browsers do it themselves) gets exactly what it
 * missed, in order. `?types=a,b,webhook.*` filters by type.
 */
export function streamRoutes(router: ApiRouter, feed: EventFeed): void {
  router.get('/events/stream', doc({ summary: 'The org’s events as Server-Sent Events; Last-Event-ID resumes exactly', description: 'Query: `types` (comma-separated, `prefix*` allowed), `lastEventId`, and `access_token` (for browsers, this route only).', response: 'text/event-stream', errors: { 429: 'Too many event streams open for the org on this API process (`details.limit`)' } }), requireCapability('read'), async (ctx) => {
    const { principal, authenticator } = ctx.state;
    const { organizationId } = principal;
    const lastEventId = ctx.get('last-event-id') || (typeof ctx.query.lastEventId === 'string' ? ctx.query.lastEventId : null);
    feed.ensureRoomFor(organizationId);
    const from = await feed.startAt(organizationId, lastEventId);
    // A client that left while it was authenticated or its start looked up is past its 'close': a
    // subscription made now would poll and beat for nobody, forever.
    if (ctx.res.destroyed) return;
    const filter = typeFilter(typeof ctx.query.types === 'string' ? ctx.query.types : undefined);

    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    ctx.status = 200;
    const out = new PassThrough();
    ctx.body = out;
    // Tell browsers how soon to reconnect, and flush the headers now.
    out.write('retry: 2000\n\n');

    // write() says false once the socket's buffer is full: the feed then waits for 'drain'.
    const subscription = feed.subscribe(organizationId, from, filter, (e) => out.write(frame(e)));
    out.on('drain', () => subscription.resume());
    const heartbeat = setInterval(() => out.write(': keep-alive\n\n'), HEARTBEAT_MS);
    // A login token's stream ends when the token expires: the browser reconnects and needs a fresh one.
    // An API key's ends when the key is revoked: the reconnect is then refused.
    const cancelAccessEnd = atAccessEnd(principal, authenticator, () => stop());
    const stop = () => {
      clearInterval(heartbeat);
      cancelAccessEnd();
      subscription.close();
      out.end();
    };
    // The response's 'close': the client left, or the stream ended. (The request's own 'close' comes
    // early, once a body was read, e.g. a GET sent with a JSON body.)
    ctx.res.once('close', stop);
    out.once('error', stop);
  });
}
