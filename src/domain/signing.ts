import { createHmac } from 'node:crypto';
import { standardWebhooksKey } from './secrets.js';

export interface SignatureHeaders {
  'X-Webhook-Signature': string;
  'X-Webhook-Hmac': string;
  'X-Webhook-Hmac-Algorithm': 'sha512';
  'webhook-id': string;
  'webhook-timestamp': string;
  /** Absent only when no secret gives a usable key (a malformed `whsec_` stored before it was refused). */
  'webhook-signature'?: string;
}

/**
 * Every signature header for one delivery. `secrets` is newest first.
 *
 * During a rotation only `webhook-signature` carries a signature per active key (space-separated, as
 * the Standard Webhooks spec defines): that header is the zero-downtime path. The seed headers
 * `X-Webhook-Signature` and `X-Webhook-Hmac` carry one value, the newest key's, because the seeds'
 * published receiver code compares the whole header value and fails on a list.
 *
 * Two families of keys on purpose: the seed's `sha256=` / sha512 headers are keyed by the secret
 * string's UTF-8 bytes (that is what their published verification code does), Standard Webhooks by
 * the decoded `whsec_` payload (what its libraries do). A secret without a usable Standard Webhooks
 * key is left out of `webhook-signature` rather than signing with an empty key.
 */
export function signaturesFor(
  body: string,
  secrets: string[],
  eventId: string,
  timestampMs: number,
): SignatureHeaders {
  if (secrets.length === 0) throw new Error('signaturesFor needs at least one secret');
  const newest = Buffer.from(secrets[0], 'utf8');
  const seconds = String(Math.floor(timestampMs / 1000));
  const signedContent = `${eventId}.${seconds}.${body}`;
  const standard = secrets
    .map(standardWebhooksKey)
    .filter((key): key is Buffer => key !== null)
    .map((key) => `v1,${createHmac('sha256', key).update(signedContent, 'utf8').digest('base64')}`);

  return {
    'X-Webhook-Signature': `sha256=${createHmac('sha256', newest).update(body, 'utf8').digest('hex')}`,
    'X-Webhook-Hmac': createHmac('sha512', newest).update(body, 'utf8').digest('hex'),
    'X-Webhook-Hmac-Algorithm': 'sha512',
    'webhook-id': eventId,
    'webhook-timestamp': seconds,
    ...(standard.length > 0 ? { 'webhook-signature': standard.join(' ') } : {}),
  };
}

/**
 * The complete header set for a delivery POST. Custom headers come last and replace a default of
 * the same name whatever its case, so the request never carries two spellings of one header.
 */
export function deliveryHeaders(input: {
  body: string;
  eventId: string;
  timestampMs: number;
  secrets: string[];
  version: string;
  customHeaders?: Record<string, string>;
}): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': `hookwise/${input.version}`,
    'X-Webhook-Request-Id': input.eventId,
    'X-Webhook-Timestamp': String(input.timestampMs),
    ...signaturesFor(input.body, input.secrets, input.eventId, input.timestampMs),
  };
  for (const [name, value] of Object.entries(input.customHeaders ?? {})) {
    const lower = name.toLowerCase();
    for (const existing of Object.keys(headers)) {
      if (existing.toLowerCase() === lower) delete headers[existing];
    }
    headers[name] = value;
  }
  return headers;
}
