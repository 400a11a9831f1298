import { PassThrough } from 'node:stream';
import { doc } from '../openapi.js';
import { requireCapability } from '../auth.js';
import type { ApiRouter } from '../context.js';
import { typeFilter, type EventFeed } from '../../stream/event-feed.js';

const HEARTBEAT_MS = 15_000;

/**
 * `GET /api/v1/events/stream`: the org's events as Server-Sent Events. Each event's SSE id is its
 * seq; a client that reconnects with `Last-Event-ID` (browsers do it themselves) gets exactly what it
 * missed, in order. `?types=a,b,webhook.*` filters by type.
 */
export function streamRoutes(router: ApiRouter, feed: EventFeed): void {
  router.get('/events/stream', doc({ summary: 'The org’s events as Server-Sent Events; Last-Event-ID resumes exactly', description: 'Query: `types` (comma-separated, `prefix*` allowed), `lastEventId`, and `access_token` (for browsers, this route only).', response: 'text/event-stream' }), requireCapability('read'), async (ctx) => {
    const { organizationId } = ctx.state.principal;
    const lastEventId = ctx.get('last-event-id') || (typeof ctx.query.lastEventId === 'string' ? ctx.query.lastEventId : null);
    const from = await feed.startAt(organizationId, lastEventId);
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
    const subscription = feed.subscribe(organizationId, from, filter, (e) => out.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${e.body}\n\n`));
    out.on('drain', () => subscription.resume());
    const heartbeat = setInterval(() => out.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const stop = () => {
      clearInterval(heartbeat);
      subscription.close();
      out.end();
    };
    ctx.req.once('close', stop);
    out.once('error', stop);
  });
}
