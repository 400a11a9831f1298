import http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body, or null when the body isn't JSON. */
  body: any;
}

/**
 * One HTTP/1.1 request with exactly the headers given (fetch won't send a chosen Host, and it
 * normalises methods and bodies): for tests about what the server does with hostile requests.
 */
export function rawRequest(
  baseUrl: string,
  o: { method?: string; path: string; headers?: Record<string, string | string[]>; body?: string | Buffer; timeoutMs?: number },
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: o.method ?? 'GET',
        path: o.path,
        headers: o.headers,
        agent: false,
        // Header values a hostile client sends are exactly what the tests are about.
        insecureHTTPParser: true,
      },
      (res) => {
        // A stream (SSE) never ends by itself: its headers are the answer.
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '', body: null });
          req.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = null;
          try {
            body = text ? JSON.parse(text) : null;
          } catch {
            body = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
        res.on('error', reject);
      },
    );
    // A WebSocket handshake that succeeded: 101 is the answer; the socket isn't needed.
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, headers: res.headers, text: '', body: null });
    });
    req.setTimeout(o.timeoutMs ?? 30_000, () => req.destroy(new Error(`no answer to ${o.method ?? 'GET'} ${o.path.slice(0, 80)}`)));
    req.on('error', reject);
    req.end(o.body);
  });
}
