import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { lookup } from 'node:dns/promises';
import { afterAll, describe, it, expect } from 'vitest';
import { postWebhook } from '../../src/delivery/http-sender.js';

// A real name that resolves to loopback without being called "localhost" (this machine's own
// hostname, from /etc/hosts), to prove the refusal happens on the resolved address (the DNS-rebinding
// case), not on the spelling of the host.
const REBIND_HOST = hostname();

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type Received = { method?: string; url?: string; headers: IncomingMessage['headers']; body: string };

const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: Handler): Promise<{ url: string; port: number; received: Received[]; server: Server; connections: () => number }> {
  const received: Received[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res);
    });
  });
  server.on('connection', () => connections++);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, port, received, server, connections: () => connections };
}

const open = { allowHttp: true, allowPrivate: true, timeoutMs: 2000 };
const send = (url: string, over: Partial<Parameters<typeof postWebhook>[0]> = {}) =>
  postWebhook({ url, body: '{"event":"LEAD_CREATED"}', headers: { 'Content-Type': 'application/json', 'X-Test': 'yes' }, ...open, ...over });

describe('postWebhook', () => {
  it('posts the body and headers and reports a 200', async () => {
    const srv = await serve((_req, res) => res.end('OK'));
    const r = await send(srv.url);
    expect(r).toMatchObject({ statusCode: 200, error: null, retryAfterSeconds: null, responseBody: 'OK' });
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    expect(srv.received).toHaveLength(1);
    expect(srv.received[0]).toMatchObject({ method: 'POST', url: '/hook', body: '{"event":"LEAD_CREATED"}' });
    expect(srv.received[0].headers['x-test']).toBe('yes');
    expect(srv.received[0].headers['content-length']).toBe('24');
  });

  it('reuses the keep-alive connection', async () => {
    const srv = await serve((_req, res) => res.end('OK'));
    await send(srv.url);
    await send(srv.url);
    expect(srv.received).toHaveLength(2);
    expect(srv.connections()).toBe(1);
  });

  it('reports a 500 with its body and no Retry-After', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(500, { 'Retry-After': '30' });
      res.end('boom');
    });
    expect(await send(srv.url)).toMatchObject({ statusCode: 500, error: null, retryAfterSeconds: null, responseBody: 'boom' });
  });

  it('keeps only the first 1024 characters of the response body', async () => {
    const srv = await serve((_req, res) => res.end('é'.repeat(5000)));
    const r = await send(srv.url);
    expect(r.responseBody).toBe('é'.repeat(1024));
  });

  it('does not follow a redirect', async () => {
    const target = await serve((_req, res) => res.end('should not be reached'));
    const srv = await serve((_req, res) => {
      res.writeHead(302, { Location: target.url });
      res.end();
    });
    const r = await send(srv.url);
    expect(r).toMatchObject({ statusCode: 302, error: null });
    expect(target.received).toHaveLength(0);
  });

  it('gives up after the timeout', async () => {
    const srv = await serve(() => {
      /* never answers */
    });
    const r = await send(srv.url, { timeoutMs: 150 });
    expect(r).toMatchObject({ statusCode: null, error: 'timeout after 150 ms' });
    expect(r.latencyMs).toBeGreaterThanOrEqual(140);
    expect(r.latencyMs).toBeLessThan(1500);
  });

  it('reports a refused connection', async () => {
    const srv = await serve((_req, res) => res.end());
    await new Promise((r) => srv.server.close(r));
    const r = await send(srv.url);
    expect(r.statusCode).toBeNull();
    expect(r.error).toMatch(/connection refused.*ECONNREFUSED/);
  });

  it('parses Retry-After seconds on 429', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(429, { 'Retry-After': '120' });
      res.end();
    });
    expect(await send(srv.url)).toMatchObject({ statusCode: 429, retryAfterSeconds: 120, error: null });
  });

  it('parses a Retry-After HTTP-date on 503', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(503, { 'Retry-After': new Date(Date.now() + 120_000).toUTCString() });
      res.end();
    });
    const r = await send(srv.url);
    expect(r.statusCode).toBe(503);
    expect(r.retryAfterSeconds).toBeGreaterThanOrEqual(118);
    expect(r.retryAfterSeconds).toBeLessThanOrEqual(120);
  });

  it('ignores an unparseable Retry-After', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(503, { 'Retry-After': 'soon' });
      res.end();
    });
    expect(await send(srv.url)).toMatchObject({ statusCode: 503, retryAfterSeconds: null });
  });

  it('turns a header Node rejects into an error result', async () => {
    const srv = await serve((_req, res) => res.end());
    const r = await send(srv.url, { headers: { 'X-Bad': 'a\r\nInjected: 1' } });
    expect(r.statusCode).toBeNull();
    expect(r.error).toMatch(/^invalid request:/);
    expect(srv.received).toHaveLength(0);
  });
});

describe('postWebhook refusals', () => {
  const strict = { allowHttp: true, allowPrivate: false };

  it('refuses a loopback IP without connecting', async () => {
    const srv = await serve((_req, res) => res.end());
    const r = await send(srv.url, strict);
    expect(r).toEqual({
      statusCode: null,
      latencyMs: 0,
      error: 'target address 127.0.0.1 is loopback; set HOOKWISE_ALLOW_PRIVATE_TARGETS=true to allow it',
      retryAfterSeconds: null,
      responseBody: null,
    });
    expect(srv.received).toHaveLength(0);
  });

  it('refuses localhost', async () => {
    const srv = await serve((_req, res) => res.end());
    const r = await send(`http://localhost:${srv.port}/hook`, strict);
    expect(r.error).toMatch(/localhost is loopback/);
    expect(srv.received).toHaveLength(0);
  });

  it('refuses a hostname once it resolves to loopback, and connects to it when private targets are allowed', async () => {
    // Precondition: the machine's hostname is a loopback name, as Debian's /etc/hosts makes it.
    expect((await lookup(REBIND_HOST)).address).toMatch(/^127\./);
    const srv = await serve((_req, res) => res.end('OK'));
    const url = `http://${REBIND_HOST}:${srv.port}/hook`;
    const refused = await send(url, strict);
    expect(refused.statusCode).toBeNull();
    expect(refused.error).toBe(
      `target host ${REBIND_HOST} resolves to ${(await lookup(REBIND_HOST)).address}, which is loopback; set HOOKWISE_ALLOW_PRIVATE_TARGETS=true to allow it`,
    );
    expect(srv.received).toHaveLength(0);

    const allowed = await send(url, { allowHttp: true, allowPrivate: true });
    expect(allowed).toMatchObject({ statusCode: 200, error: null });
    expect(srv.received).toHaveLength(1);
    expect(srv.received[0].headers.host).toBe(`${REBIND_HOST}:${srv.port}`);
  });

  it('refuses the metadata address', async () => {
    const r = await send('http://169.254.169.254/latest/meta-data/', strict);
    expect(r.error).toBe(
      'target address 169.254.169.254 is link-local; set HOOKWISE_ALLOW_PRIVATE_TARGETS=true to allow it',
    );
  });

  it('refuses plain http unless allowed', async () => {
    const srv = await serve((_req, res) => res.end());
    const r = await send(srv.url, { allowHttp: false, allowPrivate: true });
    expect(r.error).toBe('target url must use https; set HOOKWISE_ALLOW_HTTP=true to allow plain http');
    expect(srv.received).toHaveLength(0);
  });
});
