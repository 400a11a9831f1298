import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { expect } from 'vitest';
import type { Hookwise } from './hookwise.js';
import { startReceiver, type Reply } from './receiver.js';
import { waitFor } from './wait.js';

// What the integration tests set up over and over: an org to call the API as, workspaces and rooms
// with their sources and definitions, receivers subscribed to an org, posts to both ingress routes,
// and the checks every refusal gets. Each helper asserts what its callers relied on.

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

export interface ApiResponse {
  status: number;
  body: any;
  text: string;
}

export interface OrgApi {
  h: Hookwise;
  orgId: string;
  key: string;
  /**
   * A request as this org (or with another `key`) whose status must be < 300, or exactly `status`
   * when given; resolves to the body.
   */
  call(method: string, path: string, body?: unknown, opts?: { key?: string; status?: number }): Promise<any>;
  /** A POST that must answer 201 Created; resolves to what it created. */
  create(path: string, body?: unknown): Promise<any>;
  /** The answer as it is, for tests about refusals. */
  request(method: string, path: string, opts?: { body?: unknown; key?: string; headers?: Record<string, string> }): Promise<ApiResponse>;
}

/** A fresh org (or the one given) and the calls a test makes as it. */
export async function orgApi(h: Hookwise, org?: { orgId: string; key: string }): Promise<OrgApi> {
  const { orgId, key } = org ?? (await h.newOrg());
  const request: OrgApi['request'] = (method, path, o = {}) => h.request(method, path, { key: o.key ?? key, body: o.body, headers: o.headers });
  const call: OrgApi['call'] = async (method, path, body, o = {}) => {
    const res = await h.request(method, path, { key: o.key ?? key, body });
    if (o.status === undefined) expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(300);
    else expect(res.status, `${method} ${path}: ${res.text}`).toBe(o.status);
    return res.body;
  };
  return { h, orgId, key, call, request, create: (path, body) => call('POST', path, body, { status: 201 }) };
}

/** The error envelope every refusal answers with: `{error: {code, message, details}}`, a message that says something. */
export function expectError(res: { status: number; body: any; text?: string }, status: number, code: string): void {
  expect(res.status, res.text ?? JSON.stringify(res.body)).toBe(status);
  expect(res.body).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object) } });
  expect(res.body.error.message.length).toBeGreaterThan(0);
}

/** The API's error handler logs every 500 (`… failed: …`); a test that sends anything a caller might checks there was none. */
export function expectNoServerErrors(h: Hookwise): void {
  expect(h.logs.filter((l) => l.includes('failed:'))).toEqual([]);
}

/** A count(*) AS n query's n. */
export async function countRows(h: Hookwise, sql: string, params: unknown[]): Promise<number> {
  return Number((await h.db.query(sql, params)).rows[0].n);
}

/**
 * A receiver on loopback and a webhook of the org subscribed to it (every event unless `events`).
 * The caller closes the receiver.
 */
export async function subscribeReceiver(
  api: OrgApi,
  opts: { events?: string[]; script?: { replies?: Reply[]; fallback?: Reply }; webhook?: Record<string, unknown> } = {},
): Promise<{ receiver: Receiver; webhook: any }> {
  const receiver = await startReceiver(opts.script);
  const webhook = await api.call('POST', '/api/v1/webhooks', { url: receiver.url, events: opts.events ?? ['*'], ...opts.webhook });
  return { receiver, webhook };
}

export interface DefinitionSpec {
  name: string;
  priority: number;
  /** Defaults to `the <name> event`. */
  description?: string;
  rule?: unknown;
  instructions?: string;
}

export interface RoomFixture {
  workspaceId: string;
  roomId: string;
  sourceId: string;
  /** The source's ingress token and URL (`/webhooks/<token>`). */
  token: string;
  url: string;
  room: any;
  source: any;
  /** Definition ids by name, in the order given. */
  definitions: Record<string, string>;
}

/**
 * A room with one event source and its definitions, in a new workspace (or `workspaceId`). Every
 * create must answer 201.
 */
export async function roomFixture(
  api: OrgApi,
  opts: {
    workspaceId?: string;
    workspaceName?: string;
    room?: { name?: string; instructions?: string; twilioAuthToken?: string; modelTier?: string };
    source?: { name?: string; verification?: Record<string, string> };
    definitions?: DefinitionSpec[];
  } = {},
): Promise<RoomFixture> {
  const workspaceId = opts.workspaceId ?? (await api.create('/api/v1/workspaces', { name: opts.workspaceName ?? 'rooms' })).id;
  const room = await api.create(`/api/v1/workspaces/${workspaceId}/rooms`, { name: 'room', instructions: 'Handle events.', ...opts.room });
  const source = await api.create(`/api/v1/rooms/${room.id}/event-sources`, { name: 'source', ...opts.source });
  const definitions: Record<string, string> = {};
  for (const d of opts.definitions ?? []) {
    const created = await api.create(`/api/v1/event-sources/${source.id}/definitions`, {
      name: d.name,
      description: d.description ?? `the ${d.name} event`,
      priority: d.priority,
      ...(d.rule ? { rule: d.rule } : {}),
      ...(d.instructions ? { instructions: d.instructions } : {}),
    });
    definitions[d.name] = created.id;
  }
  return { workspaceId, roomId: room.id, sourceId: source.id, token: source.token, url: source.url, room, source, definitions };
}

const baseUrlOf = (target: Hookwise | string) => (typeof target === 'string' ? target : target.baseUrl);

/**
 * `POST /api/v1/webhooks/generic/:workspaceId` as a raw node:http request, so that every header
 * (Cookie included) goes out exactly as given. `accepted: true` asserts 202 {accepted: true}.
 */
export function postGeneric(
  target: Hookwise | string,
  workspaceId: string,
  body: string | object,
  opts: { query?: string | Record<string, string>; headers?: Record<string, string>; accepted?: boolean } = {},
): Promise<ApiResponse> {
  const qs = typeof opts.query === 'string' ? opts.query : opts.query ? `?${new URLSearchParams(opts.query)}` : '';
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const answer = new Promise<ApiResponse>((resolve, reject) => {
    const req = httpRequest(`${baseUrlOf(target)}/api/v1/webhooks/generic/${workspaceId}${qs}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...opts.headers },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseJson(text), text }));
      res.on('error', reject);
    });
    req.end(raw);
  });
  if (!opts.accepted) return answer;
  return answer.then((res) => {
    expect(res.status, res.text).toBe(202);
    expect(res.body).toEqual({ accepted: true });
    return res;
  });
}

/**
 * `POST /webhooks/:token` (a room event source's ingress), JSON unless `headers` says otherwise.
 * `accepted: true` asserts 200 {ok: true, eventId}.
 */
export async function postRoomEvent(
  target: Hookwise | string,
  token: string,
  body: string | Buffer | object,
  opts: { headers?: Record<string, string>; accepted?: boolean } = {},
): Promise<ApiResponse & { contentType: string | null }> {
  const res = await fetch(`${baseUrlOf(target)}/webhooks/${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await res.text();
  const answer = { status: res.status, body: parseJson(text), text, contentType: res.headers.get('content-type') };
  if (opts.accepted) {
    expect(answer.status, text).toBe(200);
    expect(answer.body).toMatchObject({ ok: true, eventId: expect.any(String) });
  }
  return answer;
}

/**
 * Runs `fn` while PostgreSQL refuses the room event rows of this source (a trigger that raises on
 * insert; the token lookup still works), so the ingress takes its fallback: the event's workflow start
 * is its only record, and the workflow's first step retries writing the row until the trigger is gone.
 * `onlyPayloadsWith`: refuse only rows whose payload holds this text (a sender's later, other body is taken).
 */
export async function whileRoomEventRowsRefused<T>(h: Hookwise, sourceId: string, fn: () => Promise<T>, opts: { onlyPayloadsWith?: string } = {}): Promise<T> {
  const name = `refuse_${sourceId.toLowerCase()}`;
  const payloadHolds = opts.onlyPayloadsWith === undefined ? '' : ` AND strpos(NEW.payload::text, ${literal(opts.onlyPayloadsWith)}) > 0`;
  await h.db.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
  await h.db.query(`CREATE TRIGGER ${name} BEFORE INSERT ON room_events FOR EACH ROW WHEN (NEW.source_id = ${literal(sourceId)}${payloadHolds}) EXECUTE FUNCTION ${name}()`);
  try {
    return await fn();
  } finally {
    await h.db.query(`DROP TRIGGER ${name} ON room_events`);
    await h.db.query(`DROP FUNCTION ${name}()`);
  }
}

/** A SQL string literal (DDL takes no parameters). */
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The room's backlog (`?status=` when given), answered 200. */
export async function roomBacklog(api: OrgApi, roomId: string, status?: string): Promise<any> {
  return api.call('GET', `/api/v1/rooms/${roomId}/backlog${status ? `?status=${status}` : ''}`, undefined, { status: 200 });
}

/** Waits for the room's match log to have an entry for the event; resolves to it. */
export async function matchLogEntry(api: OrgApi, roomId: string, eventId: string, timeoutMs = 20_000): Promise<any> {
  return waitFor(
    async () => (await api.call('GET', `/api/v1/rooms/${roomId}/match-log`, undefined, { status: 200 })).data.find((e: any) => e.eventId === eventId) ?? null,
    { timeoutMs, what: `match log entry for ${eventId}` },
  );
}

/** Twilio's published scheme: base64 HMAC-SHA1 (auth token) of the URL followed by the sorted params' names and values. */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k], url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
