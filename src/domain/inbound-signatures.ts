import { createHmac, timingSafeEqual } from 'node:crypto';
import { standardWebhooksKey } from './secrets.js';

export const VERIFICATION_SCHEMES = ['stripe', 'github', 'standard-webhooks', 'hmac-sha256', 'hmac-sha512'] as const;
export type VerificationScheme = (typeof VERIFICATION_SCHEMES)[number];

/** An event source's opt-in verification. `header` names the digest header for the plain hmac schemes. */
export interface Verification {
  scheme: VerificationScheme;
  secret: string;
  header?: string;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };
/** Request headers as Node gives them (names lower-cased). */
export type InboundHeaders = Record<string, string | string[] | undefined>;

/** Stripe's default, and what Standard Webhooks libraries use: 5 minutes either way. */
const TOLERANCE_SECONDS = 300;

const OK: VerifyResult = { ok: true };
// Reasons go back to the sender in `{"ok": false, "error": ...}`: they name what failed, never a
// secret or the digest we expected.
const fail = (reason: string): VerifyResult => ({ ok: false, reason });
const MISMATCH = fail('signature mismatch');
const STALE = fail('timestamp outside the 5-minute tolerance');

/**
 * Checks an inbound delivery against its source's verification. Pure: the caller passes the raw body
 * exactly as received (re-serialised JSON would not match) and the clock.
 */
export function verifyInbound(v: Verification, rawBody: Buffer, headers: InboundHeaders, nowMs: number): VerifyResult {
  // An empty key makes an HMAC anyone can compute; fail closed rather than accept everything.
  if (typeof v.secret !== 'string' || v.secret.length === 0) return fail('verification secret is not configured');
  switch (v.scheme) {
    case 'stripe':
      return verifyStripe(v.secret, rawBody, headers, nowMs);
    case 'github':
      return verifyGithub(v.secret, rawBody, headers);
    case 'standard-webhooks':
      return verifyStandardWebhooks(v.secret, rawBody, headers, nowMs);
    case 'hmac-sha256':
      return verifyPlainHmac('sha256', v, rawBody, headers);
    case 'hmac-sha512':
      return verifyPlainHmac('sha512', v, rawBody, headers);
    default:
      // Schemes come from stored configuration, so an unknown one is possible at run time.
      return fail('unsupported verification scheme');
  }
}

function verifyStripe(secret: string, rawBody: Buffer, headers: InboundHeaders, nowMs: number): VerifyResult {
  const header = headerValue(headers, 'stripe-signature');
  if (header === undefined) return fail('missing Stripe-Signature header');

  let timestamp: string | undefined;
  const candidates: string[] = [];
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === 't') timestamp = value;
    // Other schemes (v0, future versions) are ignored, as Stripe's own libraries do.
    else if (key === 'v1') candidates.push(value);
  }
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp) || candidates.length === 0) {
    return fail('malformed Stripe-Signature header');
  }

  // Stripe keys with the whole secret string, `whsec_` included; the signed bytes are the raw body.
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${timestamp}.`, 'utf8')
    .update(rawBody)
    .digest('hex');
  // Several v1 entries appear while a Stripe endpoint secret is being rolled; any one may match.
  if (!candidates.some((c) => safeEqual(c.toLowerCase(), expected))) return MISMATCH;
  // Checked after the signature so that only authentic-but-old (replayed) requests get this reason.
  if (!withinTolerance(Number(timestamp), nowMs)) return STALE;
  return OK;
}

function verifyGithub(secret: string, rawBody: Buffer, headers: InboundHeaders): VerifyResult {
  const header = headerValue(headers, 'x-hub-signature-256');
  if (header === undefined) return fail('missing X-Hub-Signature-256 header');
  if (!header.startsWith('sha256=')) return fail('malformed X-Hub-Signature-256 header');
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(rawBody).digest('hex');
  return safeEqual(header.slice('sha256='.length).trim().toLowerCase(), expected) ? OK : MISMATCH;
}

function verifyStandardWebhooks(secret: string, rawBody: Buffer, headers: InboundHeaders, nowMs: number): VerifyResult {
  // A malformed `whsec_` stored before such secrets were refused: fail closed, never an empty key.
  const key = standardWebhooksKey(secret);
  if (key === null) return fail('verification secret is not a valid whsec_ secret');
  const id = headerValue(headers, 'webhook-id');
  const timestamp = headerValue(headers, 'webhook-timestamp');
  const signature = headerValue(headers, 'webhook-signature');
  const missing = [
    id === undefined ? 'webhook-id' : undefined,
    timestamp === undefined ? 'webhook-timestamp' : undefined,
    signature === undefined ? 'webhook-signature' : undefined,
  ].filter((name): name is string => name !== undefined);
  if (missing.length > 0) return fail(`missing ${missing.join(', ')} header${missing.length > 1 ? 's' : ''}`);
  if (!/^\d{1,12}$/.test(timestamp!)) return fail('malformed webhook-timestamp header');

  const expected = createHmac('sha256', key)
    .update(`${id}.${timestamp}.`, 'utf8')
    .update(rawBody)
    .digest('base64');
  // Space-separated `v1,<base64>` entries (several during a key rotation); other versions such as
  // the asymmetric `v1a` are skipped, as the reference libraries do. A sender that sends the header
  // as two lines reaches us joined by Node as `v1,A, v1,B`: the comma left on an entry is dropped
  // (base64 never ends in one).
  const matched = signature!
    .split(/\s+/)
    .map((entry) => entry.replace(/,$/, ''))
    .filter((entry) => entry.startsWith('v1,'))
    .some((entry) => safeEqual(entry.slice(3), expected));
  if (!matched) return MISMATCH;
  if (!withinTolerance(Number(timestamp), nowMs)) return STALE;
  return OK;
}

function verifyPlainHmac(
  algorithm: 'sha256' | 'sha512',
  v: Verification,
  rawBody: Buffer,
  headers: InboundHeaders,
): VerifyResult {
  if (!v.header) return fail('verification header is not configured');
  const header = headerValue(headers, v.header);
  if (header === undefined) return fail(`missing ${v.header} header`);
  const expected = createHmac(algorithm, Buffer.from(v.secret, 'utf8')).update(rawBody).digest('hex');
  const prefix = `${algorithm}=`;
  // A comma-separated list is accepted because some senders put one digest per secret there during
  // a rotation.
  const matched = header
    .split(',')
    .map((part) => part.trim())
    .map((part) => (part.toLowerCase().startsWith(prefix) ? part.slice(prefix.length) : part))
    .some((hex) => safeEqual(hex.toLowerCase(), expected));
  return matched ? OK : MISMATCH;
}

/** POST params as Twilio signs them: a name may come more than once. */
export type TwilioParams = Record<string, string | readonly string[]>;

/**
 * Twilio's `X-Twilio-Signature`: base64 HMAC-SHA1, keyed by the auth token, over the full URL Twilio
 * called followed by each POST param's name and value, sorted by name, with no separators; a name
 * sent more than once is followed by each of its distinct values, sorted (twilio-node's
 * toFormUrlEncodedParam). `url` must be exactly the URL Twilio called (scheme, host, port, query).
 */
export function twilioSignature(authToken: string, url: string, params: TwilioParams): string {
  // Default sort (UTF-16 code units) is what Twilio's own helper libraries use.
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => {
      const value = params[key];
      const values = typeof value === 'string' ? [value] : [...new Set(value)].sort();
      return acc + values.map((v) => key + v).join('');
    }, url);
  return createHmac('sha1', Buffer.from(authToken, 'utf8')).update(data, 'utf8').digest('base64');
}

export function verifyTwilioSignature(authToken: string, url: string, params: TwilioParams, signature: string | undefined): boolean {
  if (!authToken || typeof signature !== 'string' || signature.length === 0) return false;
  return safeEqual(signature, twilioSignature(authToken, url, params));
}

/**
 * A header from Node's IncomingHttpHeaders (keys lower-cased). Node gives arrays only for a few
 * headers; the first value is taken. Empty counts as missing.
 */
export function headerValue(headers: InboundHeaders, name: string): string | undefined {
  const raw = headers[name.toLowerCase()];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function withinTolerance(timestampSeconds: number, nowMs: number): boolean {
  return Math.abs(Math.floor(nowMs / 1000) - timestampSeconds) <= TOLERANCE_SECONDS;
}

/** Constant-time string equality; the length check first because timingSafeEqual throws on a mismatch. */
function safeEqual(received: string, expected: string): boolean {
  const a = Buffer.from(received, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks a request against every active key of a source or workspace, newest first: while a secret is
 * being rotated, a sender may sign with either. The reason given is the newest key's.
 */
export function verifyInboundWithKeys(
  v: Omit<Verification, 'secret'>,
  secrets: string[],
  rawBody: Buffer,
  headers: InboundHeaders,
  nowMs: number,
): VerifyResult {
  let newest: VerifyResult = fail('verification secret is not configured');
  for (const [i, secret] of secrets.entries()) {
    const verdict = verifyInbound({ ...v, secret }, rawBody, headers, nowMs);
    if (verdict.ok) return verdict;
    if (i === 0) newest = verdict;
  }
  return newest;
}
