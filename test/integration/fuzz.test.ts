import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { fillPath, listRoutes, seedOrg, type RouteInfo, type Seeded } from '../support/api-surface.js';
import { rawRequest, type RawResponse } from '../support/raw-http.js';

// A few thousand malformed requests across every route the app serves (read from its routers), with a
// seeded PRNG so a failure can be replayed: FUZZ_SEED=<n> FUZZ_REQUESTS=<n> npx vitest run <this file>
// (FUZZ_SLOW=<ms> prints requests slower than that).
// Whatever a client sends, the answer is a 4xx (or a 2xx), never a 5xx other than a documented 503,
// never a stack trace; and the process keeps serving.

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 3000);
const CONCURRENCY = 8;
const BATCH = 500;

/** Routes whose 503 is documented: "couldn't record it, retry", and readiness. */
const MAY_503 = new Set(['POST /webhooks/:token', 'POST /api/v1/webhooks/generic/:workspaceId', 'GET /readyz']);
const ERROR_CODES = new Set([
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'conflict',
  'payload_too_large',
  'validation_error',
  'unavailable',
]);
const STACK_TRACE = /\n\s+at\s|\bat .+\.(?:ts|js|mjs|cjs):\d+|node_modules|(?:Range|Type|Syntax|Reference)Error\b/;

// ---- the seeded PRNG and its helpers ------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)];
const chance = (p: number) => random() < p;

// ---- what goes into requests --------------------------------------------------------------------

const NASTY_STRINGS = [
  '',
  ' ',
  'a',
  'x'.repeat(250),
  'y'.repeat(5_000),
  'z'.repeat(70_000),
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00',
  '\udfff\ud800',
  '😀',
  '\u202eevil',
  '\r\nX-Injected: 1',
  '<script>alert(1)</script>',
  "'; DROP TABLE webhooks;--",
  '../../etc/passwd',
  '%00',
  '${jndi:ldap://x}',
  '__proto__',
  'constructor',
  '*',
  'webhook.*',
  'http://127.0.0.1:9/x',
  'https://[::127.0.0.1]/x',
  'https://example.com/' + 'p'.repeat(3000),
  'javascript:alert(1)',
  '1e309',
  '-1',
  'null',
  'stripe',
  'webhook.stripe.payment_succeeded',
];

function nastyValue(depth = 0): unknown {
  switch (int(depth > 2 ? 5 : 9)) {
    case 0:
    case 1:
      return pick(NASTY_STRINGS);
    case 2:
      return pick([0, -1, 1.5, -0, 1e308, -1e308, 2 ** 53 + 1, 1_000_001, -1_000_001, 7 * 86_400 + 1]);
    case 3:
      return pick([true, false, null]);
    case 4:
      return pick([[], {}, [[[]]], [''], [null]]);
    case 5:
      return Array.from({ length: int(4) }, () => nastyValue(depth + 1));
    case 6:
      return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(NASTY_STRINGS).slice(0, 300), nastyValue(depth + 1)]));
    case 7:
      return pick([Array.from({ length: 10_000 }, (_, i) => i), Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, i]))]);
    default:
      return { __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } };
  }
}

/** A body each route would accept, so mutations land on its real fields. */
function templateFor(route: RouteInfo, s: Seeded): Record<string, unknown> {
  const p = route.path;
  if (p === '/api/v1/webhooks' || p === '/api/v1/webhooks/:id') {
    return {
      url: 'http://127.0.0.1:9/fuzz',
      events: ['*'],
      sessionId: 's1',
      customHeaders: { 'X-Fuzz': '1' },
      retryPolicy: { attempts: 2, delaySeconds: 1, policy: 'fixed', scheduleSeconds: [1], maxDelaySeconds: 5 },
      rateLimit: { maxInFlight: 1, maxPerMinute: 10 },
      name: 'fuzz',
      active: true,
      secret: 'fuzz-secret-0123456789',
    };
  }
  if (p.endsWith('/rotate-secret')) return { secret: 'rotated-secret-0123456789' };
  if (p === '/api/v1/events') return { type: 'fuzz.event', sessionId: 's1', data: { a: 1 } };
  if (p.startsWith('/api/v1/chatbots/')) {
    return { name: 'bot', url: 'http://127.0.0.1:9/bot', eventTypes: ['lead.created'], maxRetries: 1, retryDelay: 1000, isActive: true };
  }
  if (p === '/api/v1/workspaces') return { name: 'fuzz ws' };
  if (p.endsWith('/rooms')) return { name: 'fuzz room', instructions: 'i', modelTier: 'fast', twilioAuthToken: 't' };
  if (p.endsWith('/event-sources')) return { name: 'src', verification: { scheme: 'hmac-sha256', secret: 's', header: 'x-sig' } };
  if (p.endsWith('/definitions')) {
    return { name: 'd', description: 'd', priority: 1, rule: { any: [{ path: 'type', in: ['a', 1, null] }] }, instructions: 'i' };
  }
  if (p.endsWith('/replies')) return { text: 'hi', author: 'me' };
  if (p.endsWith('/agents') || p === '/api/v1/agents/:id') {
    return { name: 'agent', instructions: 'i', roles: ['webhook.fuzz.thing'], modelTier: 'smart' };
  }
  if (p === '/webhooks/:token' || p === '/api/v1/webhooks/generic/:workspaceId') return { type: 'fuzz.event', id: 'e1', data: { ok: true } };
  if (p.startsWith('/webhooks/channel/twilio/')) return { From: '+1555', Body: 'hi', roomId: s.roomId };
  return {};
}

const RAW_BODIES: Array<string | Buffer> = [
  '',
  '{',
  '{"a":',
  '[1,2',
  "{'a': 1}",
  '{"a": 1,}',
  '\ufeff{}',
  'null',
  '"just a string"',
  '42',
  'true',
  '[]',
  '{"a":1}{"b":2}',
  '{"a":"\\ud800"}',
  '{"\\udc00":1}',
  '{"a":"\\u0000"}',
  '{"type":"a\\u0000b","data":{}}',
  '{"n": 1e999999}',
  '{"n": 123456789012345678901234567890}',
  '{"__proto__": {"admin": true}}',
  Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
  Buffer.from('{"a":"\xed\xa0\x80"}', 'latin1'),
  `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
  `{"data":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
  'a=1&b=%00&c=%ZZ&__proto__=x',
];

const PATH_IDS = ['%00', 'a%00b', '%ED%A0%80', '%ZZ', '%', 'a%2Fb', '..', '.', 'x'.repeat(5_000), '%F0%9F%98%80', "'", '%22', '%3Cx%3E', '%20', 'wh_' + '0'.repeat(26), 'null', '-1', '1e309', '%C0%AE'];
const QUERIES = [
  'limit=-1',
  'limit=abc',
  'limit=1e309',
  'limit=99999999999999999999',
  'limit=',
  'limit=1&limit=2',
  'status=bogus',
  'status=%00',
  'status=dead',
  'types=%00',
  'types=' + 'a,'.repeat(2_000),
  'lastEventId=%00',
  'lastEventId=99999999999999999999999',
  'lastEventId=-1',
  'lastEventId=evt_nope',
  'after=x',
  'access_token=garbage',
  'event_type=%00',
  'event_type=' + 'e'.repeat(5_000),
  'source=%00',
  'source=' + 's'.repeat(300),
  'source_identifier=%ED%A0%80',
  'dedupe_key=%00',
  `dedupe_key=k${int(1e9)}`,
  '__proto__[x]=1',
  'a[b][c]=d',
  '%ZZ=%ZZ',
];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/xml',
  'garbage',
  '',
];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];

interface FuzzRequest {
  route: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

function authHeader(s: Seeded, readOnlyKey: string): Record<string, string> {
  switch (int(10)) {
    case 0:
      return {};
    case 1:
      return { authorization: `Bearer ${readOnlyKey}` };
    case 2:
      return { authorization: pick(['Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer hw_nope', 'bearer  x y', `Bearer ${'k'.repeat(8_000)}`]) };
    case 3:
      return { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJvcmciOiJ4Iiwicm9sZSI6Im93bmVyIn0.' };
    default:
      return { authorization: `Bearer ${s.key}` };
  }
}

function makeBody(route: RouteInfo, s: Seeded): string | Buffer | undefined {
  const template = templateFor(route, s);
  switch (int(20)) {
    case 0:
    case 1:
    case 2:
      return pick(RAW_BODIES);
    case 3:
      return JSON.stringify(nastyValue());
    case 4:
      // Over every body limit (64 KB room events, 1 MB API and generic).
      return JSON.stringify({ ...template, pad: 'p'.repeat(pick([65 * 1024, 1024 * 1024 + 10])) });
    case 5:
      return undefined;
    case 6:
    case 7:
      return JSON.stringify(template);
    default: {
      // The template with some fields replaced, dropped or added.
      const body: Record<string, unknown> = { ...template };
      const keys = Object.keys(body);
      for (let i = 0, n = 1 + int(3); i < n; i++) {
        const action = int(4);
        if (action === 0 && keys.length) delete body[pick(keys)];
        else if (action === 1) body[pick(NASTY_STRINGS).slice(0, 100)] = nastyValue();
        else if (keys.length) body[pick(keys)] = nastyValue();
      }
      return JSON.stringify(body);
    }
  }
}

function makeRequest(routes: RouteInfo[], s: Seeded, readOnlyKey: string): FuzzRequest {
  const route = pick(routes);
  let path = fillPath(route.path, s);
  if (chance(0.25) && /:|\/(?:webhooks|deliveries|workspaces|rooms|event-sources|definitions|agents|chats|chatbots|twilio|generic)\//.test(route.path)) {
    // Replace one id-like segment with something that can't be an id.
    const segments = path.split('/');
    const idx = segments.length - 1 - int(Math.min(2, segments.length - 2));
    segments[idx] = pick(PATH_IDS);
    path = segments.join('/');
  }
  if (chance(0.3)) path += `?${Array.from({ length: 1 + int(2) }, () => pick(QUERIES)).join('&')}`;
  const method = chance(0.85) ? route.method : pick(METHODS);
  const headers: Record<string, string> = { ...authHeader(s, readOnlyKey) };
  let body: string | Buffer | undefined;
  if (method !== 'GET' && method !== 'HEAD' && (method !== 'DELETE' || chance(0.3))) {
    body = makeBody(route, s);
    const type = chance(0.7) ? 'application/json' : pick(CONTENT_TYPES);
    if (type) headers['content-type'] = type;
  }
  if (chance(0.1)) headers['content-encoding'] = pick(['gzip', 'deflate', 'br', 'identity', 'bogus']);
  if (chance(0.2)) {
    const name = pick(['x-webhook-id', 'x-request-id', 'webhook-id', 'webhook-signature', 'webhook-timestamp', 'x-twilio-signature', 'last-event-id', 'origin', 'x-forwarded-host', 'x-forwarded-proto', 'stripe-signature', 'x-sig']);
    headers[name] = pick(['', 'garbage', 'v1,' + 'A'.repeat(44), '1700000000', 'https://evil.example', `k${int(1e6)}`, 'é'.repeat(50)]);
  }
  if (chance(0.03)) headers.host = pick(['evil.example', 'a b', '[::1', 'h:99999', '']);
  return { route: `${route.method} ${route.path}`, method, path, headers, body };
}

/** What is wrong with an answer, or null. */
function problemWith(req: FuzzRequest, res: RawResponse): string | null {
  if (res.status >= 500 && !(res.status === 503 && MAY_503.has(req.route))) return `status ${res.status}`;
  if (STACK_TRACE.test(res.text)) return 'stack trace in the body';
  const isJson = String(res.headers['content-type']).includes('application/json');
  if (res.status >= 400 && isJson && req.method !== 'HEAD') {
    const code = res.body?.error?.code;
    if (!ERROR_CODES.has(code)) return `error body outside the envelope: ${res.text.slice(0, 120)}`;
  }
  return null;
}

const describeRequest = (r: FuzzRequest) =>
  `${r.method} ${r.path.slice(0, 120)} [${r.route}] ${JSON.stringify(r.headers).slice(0, 160)} body: ${
    r.body === undefined ? '-' : JSON.stringify(r.body.toString().slice(0, 120))
  }`;

// ---- the run ------------------------------------------------------------------------------------

let h: Hookwise;
let s: Seeded;
let readOnlyKey: string;
beforeAll(async () => {
  h = await startHookwise({ worker: false });
  s = await seedOrg(h);
  readOnlyKey = await h.newKey(s.orgId, ['read']);
});
afterAll(async () => {
  await h?.stop();
});

describe(`fuzz: ${REQUESTS} malformed requests (seed ${SEED})`, () => {
  const routes = [...listRoutes(), { method: 'GET', path: '/api/v1/events/ws' }, { method: 'GET', path: '/api/v1/no-such-route' }, { method: 'GET', path: '/nope' }];

  it('reads every route from the routers', () => {
    expect(routes.length).toBeGreaterThan(45);
    expect(routes).toContainEqual({ method: 'POST', path: '/api/v1/webhooks/generic/:workspaceId' });
  });

  it('answers every one without a 5xx (other than a documented 503) or a stack trace', async () => {
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    let batchEnd = 0;
    const worker = async () => {
      while (sent < batchEnd) {
        sent++;
        const req = makeRequest(routes, s, readOnlyKey);
        let res: RawResponse;
        const began = Date.now();
        try {
          res = await rawRequest(h.baseUrl, { method: req.method, path: req.path, headers: req.headers, body: req.body, timeoutMs: 15_000 });
        } catch (err) {
          // The server may close a connection on an oversized body before reading it: that's an answer.
          if (/ECONNRESET|EPIPE|socket hang up/.test(String(err))) continue;
          failures.push(`${describeRequest(req)} → ${String(err)}`);
          continue;
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (process.env.FUZZ_SLOW && Date.now() - began > Number(process.env.FUZZ_SLOW)) console.log(`slow ${Date.now() - began} ms: ${describeRequest(req)} → ${res.status}`);
        const problem = problemWith(req, res);
        if (problem) failures.push(`${describeRequest(req)} → ${problem}: ${res.text.slice(0, 200)}`);
      }
    };
    // In batches, each against a fresh org: the fuzz deletes, rotates and re-keys what it finds, and
    // later requests should still meet live resources.
    while (sent < REQUESTS) {
      if (sent > 0) {
        s = await seedOrg(h);
        readOnlyKey = await h.newKey(s.orgId, ['read']);
      }
      batchEnd = Math.min(REQUESTS, sent + BATCH);
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    }
    console.log(`fuzz seed ${SEED}: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    expect(failures.slice(0, 15), `${failures.length} failures`).toEqual([]);
  }, 120_000);

  it('malformed HTTP itself (bad request lines, oversized or invalid headers, odd upgrades) gets no 5xx', async () => {
    const { port } = new URL(h.baseUrl);
    const rawCases = [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/9.9\r\nHost: x\r\n\r\n',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(70_000)}\r\n\r\n`,
      'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n',
      'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      'GET //[ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n',
      'GET http://[/api/v1/events/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      `GET /api/v1/events/ws?access_token=${s.key}&after=%00 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      `GET /api/v1/events/ws?access_token=${s.key} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: bad\r\nSec-WebSocket-Version: 99\r\n\r\n`,
      'GET /api/v1/events/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nAuthorization: Bearer hw_nope\r\n\r\n',
    ];
    for (const raw of rawCases) {
      const { answer, timedOut } = await new Promise<{ answer: string; timedOut: boolean }>((resolve) => {
        const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(raw));
        let data = '';
        let timedOut = false;
        socket.on('data', (d) => (data += d.toString('latin1')));
        socket.on('close', () => resolve({ answer: data, timedOut }));
        socket.on('error', () => undefined);
        socket.setTimeout(5_000, () => {
          timedOut = true;
          socket.destroy();
        });
      });
      const what = `${JSON.stringify(raw.slice(0, 80))} → ${answer.slice(0, 120)}`;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
      expect(status >= 500, what).toBe(false);
      expect(answer).not.toMatch(STACK_TRACE);
      // Answered or closed by the server, not left hanging (a socket nobody owns also blocks shutdown).
      expect(timedOut, what).toBe(false);
    }
  });

  it('still serves afterwards: /healthz, /readyz and a normal request', async () => {
    expect((await rawRequest(h.baseUrl, { path: '/healthz' })).status).toBe(200);
    expect((await rawRequest(h.baseUrl, { path: '/readyz' })).status).toBe(200);
    const { key } = await h.newOrg();
    const ws = await h.request('POST', '/api/v1/workspaces', { key, body: { name: 'after the fuzz' } });
    expect(ws.status, ws.text).toBe(201);
  });

  it('logged no stack trace and found no schema gap (nothing reached PostgreSQL unchecked)', () => {
    const bad = h.logs.filter((l) => /\n\s+at\s|PostgreSQL refused/.test(l));
    expect(bad.slice(0, 5).map((l) => l.slice(0, 400))).toEqual([]);
  });
});
