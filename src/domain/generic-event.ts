/**
 * Normalisation for the generic ingress (`POST /api/v1/webhooks/generic/:workspaceId`): turns query
 * params, headers and a JSON-object payload into the envelope fields the inbox stores, with the
 * seed's fallbacks, plus the role name agents are routed by. Pure: the route does the I/O.
 */

export interface GenericRequest {
  workspaceId: string;
  /** Koa's `ctx.query`: a param given twice arrives as an array. */
  query: Record<string, string | string[] | undefined>;
  /** Node's lower-cased `IncomingHttpHeaders`. */
  headers: Record<string, string | string[] | undefined>;
  /** Already checked to be a JSON object; stored unchanged elsewhere, only read here. */
  payload: Record<string, unknown>;
  /**
   * `null`: the workspace has no signing secret, so nothing was checked. `true`: a Standard Webhooks
   * signature verified, and it covers the `webhook-id` header.
   */
  signatureVerified: boolean | null;
}

export interface GenericEnvelopeFields {
  source: string;
  sourceKind: string;
  eventType: string;
  dedupeKey: string | null;
  sourceIdentifier: string;
  headers: Record<string, string>;
  verified: { signature: boolean | null };
}

const DEFAULT_SOURCE = 'generic';
const DEFAULT_EVENT_TYPE = 'received';
const MAX_HEADER_VALUE_LENGTH = 1024;
const MAX_HEADERS = 100;

/** Stored headers end up in logs, UIs and outbound events: never keep credentials or signatures. */
const DROPPED_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'webhook-signature',
  'x-webhook-signature',
  'x-webhook-hmac',
  'x-hub-signature',
  'x-hub-signature-256',
  'stripe-signature',
  'x-twilio-signature',
  'x-slack-signature',
  'x-shopify-hmac-sha256',
  'x-signature',
  // Hop-by-hop and framing headers describe this one HTTP connection, not the event.
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'content-length',
]);
/** Catches vendor-specific names the list can't anticipate (x-foo-signature, x-gitlab-token, …). */
const DROPPED_SUBSTRINGS = ['signature', 'secret', 'token'];

export function eventTypeSlug(eventType: string): string {
  // Replace before lower-casing: some non-ASCII letters lower-case to ASCII (Kelvin sign → "k",
  // "İ" → "i̇"), and they must count as "other characters".
  const slug = eventType
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toLowerCase()
    .replace(/^_+|_+$/g, '');
  return slug === '' ? 'unknown' : slug;
}

export function roleFor(sourceKind: string, eventType: string): string {
  return `${sourceKind}.${eventTypeSlug(eventType)}`;
}

export function normalizeGenericEvent(r: GenericRequest): GenericEnvelopeFields {
  const source = normalizeSource(queryParam(r.query, 'source'));
  const eventType =
    queryParam(r.query, 'event_type') ??
    payloadString(r.payload, 'event') ??
    payloadString(r.payload, 'type') ??
    payloadString(r.payload, 'action') ??
    DEFAULT_EVENT_TYPE;
  // A verified signature covers webhook-id and nothing else here: the query and the other headers
  // could be changed (a proxy adds a fresh x-request-id) to get a retry or a replay in twice.
  // Unsigned, after the seed's two headers, the Standard Webhooks message id: a sender's retries repeat it.
  const dedupeKey =
    r.signatureVerified === true
      ? (headerValue(r.headers, 'webhook-id') ?? null)
      : (queryParam(r.query, 'dedupe_key') ??
        headerValue(r.headers, 'x-webhook-id') ??
        headerValue(r.headers, 'x-request-id') ??
        headerValue(r.headers, 'webhook-id') ??
        null);
  const sourceIdentifier =
    queryParam(r.query, 'source_identifier') ?? dedupeKey ?? payloadString(r.payload, 'id') ?? `${source}:${r.workspaceId}`;
  return {
    source,
    sourceKind: `webhook.${source}`,
    eventType,
    dedupeKey,
    sourceIdentifier,
    headers: sanitizeHeaders(r.headers),
    verified: { signature: r.signatureVerified },
  };
}

function normalizeSource(raw: string | undefined): string {
  // `.` is replaced too, so a source can't add segments to the dotted role name.
  return (raw ?? DEFAULT_SOURCE).toLowerCase().replace(/[^a-z0-9_-]+/g, '_');
}

/** Values are trimmed and blank ones treated as absent, so the next fallback applies. */
function nonBlank(value: string): string | undefined {
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function queryParam(query: GenericRequest['query'], name: string): string | undefined {
  if (!Object.hasOwn(query, name)) return undefined;
  const value = query[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? nonBlank(first) : undefined;
}

function headerValue(headers: GenericRequest['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    const first = Array.isArray(value) ? value[0] : value;
    const found = typeof first === 'string' ? nonBlank(first) : undefined;
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Only strings and numbers identify anything; objects, arrays, booleans and null are skipped. */
function payloadString(payload: Record<string, unknown>, key: string): string | undefined {
  if (!Object.hasOwn(payload, key)) return undefined;
  const value = payload[key];
  if (typeof value === 'string') return nonBlank(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function isDroppedHeader(lowerName: string): boolean {
  return DROPPED_HEADERS.has(lowerName) || DROPPED_SUBSTRINGS.some((s) => lowerName.includes(s));
}

function sanitizeHeaders(headers: GenericRequest['headers']): Record<string, string> {
  const kept: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (kept.length >= MAX_HEADERS) break;
    if (value === undefined) continue;
    const lowerName = name.toLowerCase();
    if (isDroppedHeader(lowerName)) continue;
    const joined = Array.isArray(value) ? value.join(', ') : value;
    kept.push([lowerName, joined.slice(0, MAX_HEADER_VALUE_LENGTH)]);
  }
  // fromEntries defines own properties, so a header named "__proto__" can't touch the prototype.
  return Object.fromEntries(kept);
}
