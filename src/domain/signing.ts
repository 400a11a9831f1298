import { createHmac } from 'node:crypto';
import { standardWebhooksKey } from './secrets.js';

export interface SignatureHeaders {
  'X-Webhook-Signature': string;
  'X-Webhook-Hmac': string;
  'X-Webhook-Hmac-Algorithm': 'sha512';
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Every signature header for one delivery. `secrets` is newest first; during a rotation both the
 * new and the old secret sign, so receivers holding either one keep verifying.
 *
 * Two families of keys on purpose: the seed's `sha256=` / sha512 headers are keyed by the secret
 * string's UTF-8 bytes (that is what their published verification code does), Standard Webhooks by
 * the decoded `whsec_` payload (what its libraries do).
 */
export function signaturesFor(
  body: string,
  secrets: string[],
  eventId: string,
  timestampMs: number,
): SignatureHeaders {
  if (secrets.length === 0) throw new Error('signaturesFor needs at least one secret');
  const seconds = String(Math.floor(timestampMs / 1000));
  const signedContent = `${eventId}.${seconds}.${body}`;

  return {
    'X-Webhook-Signature': secrets
      .map((s) => `sha256=${createHmac('sha256', Buffer.from(s, 'utf8')).update(body, 'utf8').digest('hex')}`)
      .join(', '),
    'X-Webhook-Hmac': secrets
      .map((s) => createHmac('sha512', Buffer.from(s, 'utf8')).update(body, 'utf8').digest('hex'))
      .join(', '),
    'X-Webhook-Hmac-Algorithm': 'sha512',
    'webhook-id': eventId,
    'webhook-timestamp': seconds,
    // The Standard Webhooks spec separates several signatures with single spaces.
    'webhook-signature': secrets
      .map((s) => `v1,${createHmac('sha256', standardWebhooksKey(s)).update(signedContent, 'utf8').digest('base64')}`)
      .join(' '),
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
