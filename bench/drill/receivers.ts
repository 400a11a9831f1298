import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { drawFor } from './prng.js';

// The drill's webhook receivers: real HTTP servers on loopback. Each answers 500 to a fixed share of
// requests, decided by the seed, the request id and how many times that id was seen before (so a
// retried delivery is a new draw), and 200 otherwise. Every receipt is counted by request id.

export interface ReceiverStats {
  requests: number;
  answered500: number;
  /** Request ids answered 200 at least once. */
  delivered: number;
  /** 200 answers beyond the first for the same request id (at-least-once redeliveries). */
  duplicateReceipts: number;
}

export interface Receiver {
  name: string;
  url: string;
  /** How many 200 answers each request id (X-Webhook-Request-Id) got. */
  okReceipts: Map<string, number>;
  stats(): ReceiverStats;
  close(): Promise<void>;
}

export async function startReceiver(o: { name: string; seed: number; failRate: number }): Promise<Receiver> {
  const seen = new Map<string, number>();
  const okReceipts = new Map<string, number>();
  let requests = 0;
  let answered500 = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      const id = String(req.headers['x-webhook-request-id'] ?? '');
      const n = seen.get(id) ?? 0;
      seen.set(id, n + 1);
      if (drawFor(o.seed, `${o.name}|${id}|${n}`) < o.failRate) {
        answered500++;
        res.writeHead(500, { 'content-type': 'text/plain' }).end('drill: planned failure');
        return;
      }
      okReceipts.set(id, (okReceipts.get(id) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name: o.name,
    url: `http://127.0.0.1:${port}/${o.name}`,
    okReceipts,
    stats: () => {
      let duplicateReceipts = 0;
      for (const n of okReceipts.values()) duplicateReceipts += n - 1;
      return { requests, answered500, delivered: okReceipts.size, duplicateReceipts };
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
