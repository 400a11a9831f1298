import { currentToken, signOut } from './session';

// The console's only way to the server: the public /api/v1, with the caller's own bearer token.
// Errors arrive in the API's envelope {"error": {code, message, details}}; a 401 signs the tab out.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** The answer's Retry-After, in ms from now; null without one. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }

  /** Worth asking again: no answer at all, the server's 5xx, a 429. Any other 4xx would answer the same. */
  get transient(): boolean {
    return (this.status === 0 && this.code === 'network') || this.status >= 500 || this.status === 429;
  }

  /** The capability a 403 says is missing (`manage`, `read`, `send`). */
  get missingCapability(): string | null {
    return this.status === 403 ? String(this.details.required ?? 'required') : null;
  }
}

export const API_BASE = '/api/v1';

/** One request with an explicit token (the sign-in check) — no sign-out on 401. */
export async function request<T>(method: string, path: string, body: unknown, token: string | null): Promise<T> {
  let res: Response;
  try {
    res = await fetch(API_BASE + path, {
      method,
      headers: {
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'The API could not be reached. Is hookwise running?');
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: a proxy's error page, for instance
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | null)?.error;
    const retryAfter = retryAfterMs(res.headers.get('retry-after'));
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`, e?.details ?? {}, retryAfter);
  }
  return json as T;
}

/** Retry-After as delta-seconds or an HTTP-date, in ms from now; null when absent or unreadable. */
function retryAfterMs(header: string | null): number | null {
  if (header === null || header.trim() === '') return null;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** A request as the signed-in caller; a 401 ends the session (the sign-in page says why). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await request<T>(method, path, body, currentToken());
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) signOut(e.message);
    throw e;
  }
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => api<T>('POST', path, body);
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, body);

/** `?a=1&b=x` from the non-empty values. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

// --- the shapes the console reads (see README "API") ----------------------------------------------

export interface Page<T> {
  data: T[];
  nextCursor?: string;
}

export interface Webhook {
  id: string;
  name: string | null;
  url: string;
  events: string[];
  active: boolean;
  disabledReason: string | null;
  failingSince: number | null;
  successCount: number;
  failureCount: number;
  lastTriggeredAt: number | null;
  lastSuccessAt: number | null;
  rateLimit: { maxInFlight: number | null; maxPerMinute: number | null };
  retryPolicy: { policy?: string; attempts?: number; delaySeconds?: number; scheduleSeconds?: number[]; maxDelaySeconds?: number } | null;
  filter: unknown;
  signingKeys: Array<{ createdAt: number; expiresAt: number | null }>;
  previousSecretExpiresAt: number | null;
  secret?: string;
}

export type DeliveryStatus = 'pending' | 'retrying' | 'succeeded' | 'dead' | 'cancelled';

export interface Attempt {
  attemptNumber: number;
  status: 'in_flight' | 'succeeded' | 'failed' | 'lost';
  statusCode: number | null;
  latencyMs: number | null;
  error: string | null;
  responseBody: string | null;
  startedAt: number;
  finishedAt: number | null;
}

export interface Delivery {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attemptCount: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: number | null;
  replayOf: string | null;
  workflowId?: string;
  createdAt: number;
  completedAt: number | null;
  attempts?: Attempt[];
}

export interface Operation {
  id: string;
  kind: string;
  status: 'running' | 'completed';
  total: number;
  started: number;
  succeeded: number;
  failed: number;
  inFlight: number;
  createdAt: number;
  completedAt: number | null;
}

export interface StatsPoint {
  at: number;
  attempts: number;
  succeeded: number;
  failed: number;
  inFlight: number;
  dead: number;
  p50LatencyMs: number | null;
  p99LatencyMs: number | null;
}

export interface DeliveryStats {
  window: '1h' | '24h';
  bucketSeconds: number;
  totals: Omit<StatsPoint, 'at'> & { successRate: number | null };
  series: StatsPoint[];
}

export interface InboundStats {
  window: string;
  data: Array<{ kind: 'room' | 'generic'; id: string; name: string; roomId: string | null; workspaceId: string; sourceKind: string | null; accepted: number }>;
}

export interface Workspace {
  id: string;
  name: string;
  createdAt: number;
}

export interface Room {
  id: string;
  workspaceId: string;
  name: string;
  instructions: string;
  modelTier: string;
  twilioConfigured: boolean;
  createdAt: number;
}

export interface EventSource {
  id: string;
  roomId: string;
  name: string;
  verification: { scheme: string; header: string | null } | null;
  droppedCount: number;
  createdAt: number;
}

export interface Definition {
  id: string;
  sourceId: string;
  name: string;
  description: string;
  priority: number;
  /** A declarative rule (README "Rules"), or null: then only the model can match it. */
  rule: unknown;
  instructions: string | null;
}

export interface BacklogItem {
  id: string;
  sourceId: string;
  eventId: string;
  definitionId: string | null;
  priority: number;
  status: 'pending' | 'processing' | 'done' | 'failed';
  result: string | null;
  error: string | null;
  createdAt: number;
  completedAt: number | null;
}

export interface Backlog {
  data: BacklogItem[];
  depth: Record<string, number>;
  dropped: Record<string, number>;
}

export interface MatchLogEntry {
  eventId: string;
  sourceId: string;
  matched: string | null;
  reason: string;
  at: number;
}
