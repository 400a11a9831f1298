import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.js';
import { consoleAssets, CONSOLE_CSP } from '../../src/api/console.js';
import { errorHandler } from '../../src/api/error-handler.js';

// How src/api/console.ts serves the built console: content types, caching, the CSP, the SPA
// fallback, what it says when the console isn't built, and that no path leaves the assets folder.

const SECRET = 'TOP-SECRET-do-not-serve';
let root: string;
const servers: Server[] = [];

/** The middleware as app.ts mounts it, over `dir`, with the API's error envelope behind it. */
async function serve(dir: string): Promise<string> {
  const app = new Koa();
  app.use(errorHandler(() => {}));
  app.use(consoleAssets(dir));
  app.use((ctx) => {
    if (ctx.path === '/api/v1/ping') ctx.body = { pong: true };
  });
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A raw request: fetch() would normalise `..` out of the path before sending it. */
function raw(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

let base: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hookwise-console-serving-'));
  const dist = join(root, 'dist');
  await mkdir(join(dist, 'assets'), { recursive: true });
  await writeFile(join(dist, 'index.html'), '<!doctype html><title>console</title><script type="module" src="/console/assets/main-AB12CD34.js"></script>');
  await writeFile(join(dist, 'assets', 'main-AB12CD34.js'), 'console.log("hi")');
  await writeFile(join(dist, 'assets', 'main-EF56GH78.css'), 'body{}');
  await writeFile(join(dist, 'assets', 'favicon-1234abcd.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(join(dist, 'assets', '.hidden'), SECRET);
  // Files a traversal would go for: next to dist, and above it.
  await writeFile(join(root, 'secret.txt'), SECRET);
  await writeFile(join(dist, 'secret.txt'), SECRET);
  base = await serve(dist);
});

afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  await rm(root, { recursive: true, force: true });
});

describe('serving the console', () => {
  it('answers every page path with index.html, not cached, under a strict CSP', async () => {
    for (const path of ['/console', '/console/', '/console/webhooks', '/console/deliveries/dlv_123?x=1', '/console/no/such/page']) {
      const res = await raw(base, 'GET', path);
      expect(res.status, path).toBe(200);
      expect(res.body).toContain('<title>console</title>');
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).toContain("connect-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
  });

  it('serves hashed assets with their content types, cached for good, and answers 304 to a current copy', async () => {
    const js = await raw(base, 'GET', '/console/assets/main-AB12CD34.js');
    expect(js.status).toBe(200);
    expect(js.body).toBe('console.log("hi")');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await raw(base, 'GET', '/console/assets/main-EF56GH78.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await raw(base, 'GET', '/console/assets/favicon-1234abcd.svg')).headers['content-type']).toBe('image/svg+xml');

    const again = await raw(base, 'GET', '/console/assets/main-AB12CD34.js', { 'if-none-match': String(js.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    const head = await raw(base, 'HEAD', '/console');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('answers a missing asset with a 404 in the API envelope, never with the page', async () => {
    const res = await raw(base, 'GET', '/console/assets/main-NOPE.js');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).error.code).toBe('not_found');
  });

  it('never serves a file outside the assets folder, however the path is written', async () => {
    const attempts = [
      '/console/assets/../secret.txt',
      '/console/assets/../../secret.txt',
      '/console/assets/..%2fsecret.txt',
      '/console/assets/..%2F..%2Fsecret.txt',
      '/console/assets/%2e%2e/secret.txt',
      '/console/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/console/assets/%252e%252e%252fsecret.txt',
      '/console/assets/..%5csecret.txt',
      '/console/assets/..\\secret.txt',
      '/console/assets/%2fetc%2fpasswd',
      '/console/assets//etc/passwd',
      '/console/assets/.hidden',
      '/console/assets/secret.txt%00.js',
      '/console/assets/%E0%A4%A',
      '/console/assets/',
      '/console/../secret.txt',
      '/console/%2e%2e/secret.txt',
    ];
    for (const path of attempts) {
      const res = await raw(base, 'GET', path);
      expect(res.body, path).not.toContain(SECRET);
      expect(res.body, path).not.toContain('root:');
      expect([200, 400, 404], path).toContain(res.status);
      // Anything under /assets/ is an asset or nothing; only page paths get index.html.
      if (path.startsWith('/console/assets/')) expect(res.status, path).toBe(404);
    }
  });

  it('takes only GET and HEAD, and leaves every other path to the API', async () => {
    const post = await raw(base, 'POST', '/console/webhooks');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(post.body).error.code).toBe('method_not_allowed');
    expect((await raw(base, 'GET', '/api/v1/ping')).body).toBe('{"pong":true}');
    expect((await raw(base, 'GET', '/consoles')).status).toBe(404);
  });

  it('says how to build the console when it is not built', async () => {
    const empty = await serve(join(root, 'not-built'));
    const res = await raw(empty, 'GET', '/console/overview');
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('The console is not built');
    expect(res.body).toContain('npm run build:console');
    expect((await raw(empty, 'GET', '/console/assets/main-AB12CD34.js')).status).toBe(404);
  });
});

describe('building the console', () => {
  it('writes index.html last, pointing at hashed assets that exist, with no inline script or style', async () => {
    const out = join(root, 'built');
    const files = await buildConsole(out);
    expect(files.at(-1)).toBe('index.html');
    const html = await readFile(join(out, 'index.html'), 'utf8');
    const refs = [...html.matchAll(/(?:src|href)="\/console\/assets\/([^"]+)"/g)].map((m) => m[1]);
    expect(refs).toHaveLength(3);
    for (const ref of refs) {
      expect(ref).toMatch(/^[a-z]+-[A-Za-z0-9]{8}\.(js|css|svg)$/);
      expect(files).toContain(`assets/${ref}`);
    }
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style=/);

    // Served as app.ts serves it: every asset the page names loads.
    const built = await serve(out);
    for (const ref of refs) expect((await raw(built, 'GET', `/console/assets/${ref}`)).status).toBe(200);
  });
});
