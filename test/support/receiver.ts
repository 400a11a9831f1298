import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** How the receiver answers the n-th request (0-based); `hang` never answers. */
export type Reply = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | 'hang';

/**
 * A real HTTP server on loopback that records every request, raw body included, and answers from a
 * script: `replies` in order, then `fallback` for every later request.
 */
export async function startReceiver(
  script: { replies?: Reply[]; fallback?: Reply } = {},
): Promise<{
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** The most requests this receiver has held unanswered at once. */
  maxConcurrent(): number;
  /** Starts counting maxConcurrent afresh from the requests open now. */
  resetMaxConcurrent(): void;
  setScript(s: { replies?: Reply[]; fallback?: Reply }): void;
  close(): Promise<void>;
}> {
  let replies = [...(script.replies ?? [])];
  let fallback: Reply = script.fallback ?? { status: 200 };
  const requests: ReceivedRequest[] = [];
  const hanging: ServerResponse[] = [];
  let open = 0;
  let maxOpen = 0;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const reply = replies.shift() ?? fallback;
      if (reply === 'hang') {
        hanging.push(res);
        return;
      }
      maxOpen = Math.max(maxOpen, ++open);
      const send = () => {
        open--;
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body ?? '');
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    requests,
    maxConcurrent: () => maxOpen,
    resetMaxConcurrent: () => {
      maxOpen = open;
    },
    setScript(s) {
      replies = [...(s.replies ?? [])];
      fallback = s.fallback ?? { status: 200 };
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
