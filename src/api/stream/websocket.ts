import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { AppError } from '../../errors.js';
import { hasCapability, type Authenticator } from '../auth.js';
import { bearerToken } from '../../bearer-token.js';
import { typeFilter, type EventFeed } from '../../stream/event-feed.js';
import { requestUrl } from '../request-url.js';
import { atAccessEnd } from './access-end.js';

export const WEBSOCKET_PATH = '/api/v1/events/ws';
const MAX_BUFFERED_BYTES = 1024 * 1024;
// The server reads nothing from clients: a larger message is refused (1009) instead of buffered (ws's default is 100 MiB).
const MAX_CLIENT_MESSAGE_BYTES = 4 * 1024;

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 429: 'Too Many Requests', 503: 'Service Unavailable' };

/** Until ws takes the socket over, its errors (a client resetting the connection) are only its end. */
function onSocketError(this: Duplex): void {
  this.destroy();
}

/**
 * The same events as the SSE stream, over a WebSocket at /api/v1/events/ws: each message is one event
 * envelope, exactly the JSON a webhook receives. Browsers cannot set headers on a WebSocket, so the
 * token may also come as `?access_token=`; `?types=` filters, `?after=<seq or event id>` resumes.
 */
export function attachEventSocket(server: Server, feed: EventFeed, authenticator: Authenticator): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE_BYTES });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node takes its own 'error' listener off a socket it hands to 'upgrade': without one, a client
    // that resets the connection while it is authenticated raises an uncaught error, ending the process.
    socket.on('error', onSocketError);
    const url = requestUrl(req.url);
    if (url?.pathname !== WEBSOCKET_PATH) {
      socket.destroy();
      return;
    }
    const refuse = (e: AppError) => {
      socket.end(
        `HTTP/1.1 ${e.status} ${STATUS_TEXT[e.status] ?? 'Error'}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n` +
          JSON.stringify({ error: { code: e.code, message: e.message, details: e.details } }),
      );
    };
    const token = bearerToken(req.headers.authorization ?? '') ?? url.searchParams.get('access_token');
    if (!token) return refuse(new AppError('unauthorized', 'send Authorization: Bearer <token> or ?access_token='));
    authenticator
      .principalFor(token)
      .then(async (principal) => {
        if (!hasCapability(principal, 'read')) return refuse(new AppError('forbidden', 'the event stream needs the `read` capability'));
        feed.ensureRoomFor(principal.organizationId);
        const from = await feed.startAt(principal.organizationId, url.searchParams.get('after'));
        // Gone while it was authenticated: nothing to upgrade, nothing to subscribe. Nor when the server
        // began to shut down meanwhile: its close() waits for every socket, and no longer sees this one.
        if (socket.destroyed) return;
        if (!server.listening) return void socket.destroy();
        socket.off('error', onSocketError);
        wss.handleUpgrade(req, socket, head, (ws) => {
          // A slow client: stop reading once this much is queued for it, and go on once it has drained.
          let waiting: NodeJS.Timeout | undefined;
          const subscription = feed.subscribe(principal.organizationId, from, typeFilter(url.searchParams.get('types') ?? undefined), (e) => {
            ws.send(e.body);
            if (ws.bufferedAmount < MAX_BUFFERED_BYTES) return true;
            waiting = setInterval(() => {
              if (ws.bufferedAmount >= MAX_BUFFERED_BYTES / 2) return;
              clearInterval(waiting);
              subscription.resume();
            }, 50);
            return false;
          });
          // A login token's stream ends when the token expires, an API key's when it is revoked (1008: policy violation).
          const cancelAccessEnd = atAccessEnd(principal, authenticator, (why) => {
            stop();
            ws.close(1008, why);
          });
          const stop = () => {
            clearInterval(waiting);
            cancelAccessEnd();
            subscription.close();
          };
          ws.on('close', stop);
          ws.on('error', stop);
        });
      })
      .catch((err) => refuse(err instanceof AppError ? err : new AppError('unauthorized', 'could not authenticate')));
  });
  return wss;
}
