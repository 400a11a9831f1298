import crypto, { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { describe, it, expect } from 'vitest';
import { deliveryHeaders, signaturesFor, type SignatureHeaders } from '../../src/domain/signing.js';

// The signed-lead seed's Node receiver recipe, verbatim but for the parameter types.
function verifyWebhookSignature(body: string, signature: string, secret: string) {
const expectedSignature = crypto
.createHmac('sha256', secret)
.update(body)
.digest('hex');
const receivedSignature = signature.replace('sha256=', '');
return crypto.timingSafeEqual(
Buffer.from(expectedSignature, 'hex'),
Buffer.from(receivedSignature, 'hex')
);
}

// The seed's Python recipe (`hmac.compare_digest(expected, signature.replace('sha256=', ''))`): the
// whole header value, as a string.
function verifyWebhookSignaturePython(body: string, signature: string, secret: string): boolean {
  return createHmac('sha256', secret).update(body).digest('hex') === signature.replace('sha256=', '');
}

// The gateway seed's recipe: recompute the lowercase-hex HMAC-SHA512 of the raw body.
function verifyHmac(body: string, header: string, secret: string): boolean {
  return header === createHmac('sha512', secret).update(body).digest('hex');
}

/** The Standard Webhooks trio, as the reference library takes it. */
const standard = (h: SignatureHeaders) => ({
  'webhook-id': h['webhook-id'],
  'webhook-timestamp': h['webhook-timestamp'],
  'webhook-signature': h['webhook-signature'] ?? '',
});

type Vector = {
  name: string;
  secrets: string[];
  body: string;
  eventId: string;
  timestampMs: number;
  expected: Record<string, string>;
};
const { vectors } = JSON.parse(
  readFileSync(new URL('./fixtures/signature-vectors.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] };

const NEW_SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const OLD_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const body = JSON.stringify({ event: 'LEAD_CREATED', data: { id: 'clp123abc456', name: 'Zoë' } });
const eventId = 'evt_01JC3Z8K2QHV0M3T6R7P4N5W8C';

describe('signaturesFor: fixed vectors', () => {
  it.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    expect(signaturesFor(v.body, v.secrets, v.eventId, v.timestampMs)).toEqual(v.expected);
  });

  it('agrees with the standardwebhooks package signer on the vectors', () => {
    const v = vectors[0];
    const wh = new Webhook(v.secrets[0]);
    expect(wh.sign(v.eventId, new Date(v.timestampMs), v.body)).toBe(v.expected['webhook-signature']);
  });
});

describe('signaturesFor: one secret', () => {
  const now = Date.now();
  const h = signaturesFor(body, [NEW_SECRET], eventId, now);

  it('passes the seed receiver recipe', () => {
    expect(h['X-Webhook-Signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(body, h['X-Webhook-Signature'], NEW_SECRET)).toBe(true);
    expect(verifyWebhookSignature(body, h['X-Webhook-Signature'], OLD_SECRET)).toBe(false);
    expect(verifyWebhookSignature(`${body} `, h['X-Webhook-Signature'], NEW_SECRET)).toBe(false);
  });

  it('carries a lowercase hex HMAC-SHA512', () => {
    expect(h['X-Webhook-Hmac']).toMatch(/^[0-9a-f]{128}$/);
    expect(h['X-Webhook-Hmac-Algorithm']).toBe('sha512');
    expect(verifyHmac(body, h['X-Webhook-Hmac'], NEW_SECRET)).toBe(true);
  });

  it('passes Standard Webhooks verification', () => {
    expect(h['webhook-id']).toBe(eventId);
    expect(h['webhook-timestamp']).toBe(String(Math.floor(now / 1000)));
    expect(new Webhook(NEW_SECRET).verify(body, standard(h))).toEqual(JSON.parse(body));
    expect(() => new Webhook(OLD_SECRET).verify(body, standard(h))).toThrow(/No matching signature/);
  });

  it('signs a free-form secret for Standard Webhooks with its UTF-8 bytes', () => {
    const secret = 'your-webhook-secret';
    const signed = signaturesFor(body, [secret], eventId, now);
    expect(new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' }).verify(body, standard(signed))).toEqual(JSON.parse(body));
    // The other way the reference library takes such a secret: base64 of its UTF-8 bytes.
    expect(new Webhook(Buffer.from(secret, 'utf8').toString('base64')).verify(body, standard(signed))).toEqual(JSON.parse(body));
    expect(verifyWebhookSignature(body, signed['X-Webhook-Signature'], secret)).toBe(true);
  });
});

describe('signaturesFor: two secrets during rotation', () => {
  const now = Date.now();
  const h = signaturesFor(body, [NEW_SECRET, OLD_SECRET], eventId, now);
  const alone = (secret: string) => signaturesFor(body, [secret], eventId, now);

  it('signs the seed headers with the newest secret alone, so their published recipes verify', () => {
    expect(h['X-Webhook-Signature']).toBe(alone(NEW_SECRET)['X-Webhook-Signature']);
    expect(h['X-Webhook-Hmac']).toBe(alone(NEW_SECRET)['X-Webhook-Hmac']);
    expect(verifyWebhookSignature(body, h['X-Webhook-Signature'], NEW_SECRET)).toBe(true);
    expect(verifyWebhookSignaturePython(body, h['X-Webhook-Signature'], NEW_SECRET)).toBe(true);
    expect(verifyHmac(body, h['X-Webhook-Hmac'], NEW_SECRET)).toBe(true);
    expect(verifyWebhookSignature(body, h['X-Webhook-Signature'], OLD_SECRET)).toBe(false);
    expect(verifyHmac(body, h['X-Webhook-Hmac'], OLD_SECRET)).toBe(false);
  });

  it('carries every secret in webhook-signature, space-separated, newest first', () => {
    expect(h['webhook-signature']).toBe(
      `${alone(NEW_SECRET)['webhook-signature']} ${alone(OLD_SECRET)['webhook-signature']}`,
    );
  });

  it('verifies with either secret alone under Standard Webhooks', () => {
    expect(new Webhook(NEW_SECRET).verify(body, standard(h))).toEqual(JSON.parse(body));
    expect(new Webhook(OLD_SECRET).verify(body, standard(h))).toEqual(JSON.parse(body));
    expect(() => new Webhook('whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=').verify(body, standard(h))).toThrow();
  });

  it('refuses to sign with no secret', () => {
    expect(() => signaturesFor(body, [], eventId, now)).toThrow();
  });
});

describe('signaturesFor: a whsec_ secret with no usable key (stored before such secrets were refused)', () => {
  const now = Date.now();
  const alone = (secret: string) => signaturesFor(body, [secret], eventId, now)['webhook-signature'];

  it.each(['whsec_', 'whsec_!!!!!!!!!!!!!!!!', 'whsec_====', 'whsec_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_'])(
    '%s leaves webhook-signature out rather than signing with an empty key',
    (bad) => {
      const h = signaturesFor(body, [bad], eventId, now);
      expect(h).not.toHaveProperty('webhook-signature');
      // The seed headers key by the whole string's UTF-8 bytes, which is a real key.
      expect(verifyWebhookSignature(body, h['X-Webhook-Signature'], bad)).toBe(true);
    },
  );

  it('signs with the usable keys only', () => {
    const h = signaturesFor(body, [NEW_SECRET, 'whsec_!!!!!!!!!!!!!!!!'], eventId, now);
    expect(h['webhook-signature']).toBe(alone(NEW_SECRET));
  });
});

describe('deliveryHeaders', () => {
  const base = { body, eventId, timestampMs: 1_700_000_000_123, secrets: [NEW_SECRET], version: '0.1.0' };

  it('sets the documented defaults and the signatures', () => {
    const h = deliveryHeaders(base);
    expect(h).toEqual({
      'Content-Type': 'application/json',
      'User-Agent': 'hookwise/0.1.0',
      'X-Webhook-Request-Id': eventId,
      'X-Webhook-Timestamp': '1700000000123',
      ...signaturesFor(body, [NEW_SECRET], eventId, 1_700_000_000_123),
    });
    expect(h['webhook-timestamp']).toBe('1700000000');
  });

  it('applies custom headers last, replacing defaults whatever their case', () => {
    const h = deliveryHeaders({
      ...base,
      customHeaders: { 'user-agent': 'acme-relay/2', 'X-Tenant': 'acme', 'CONTENT-TYPE': 'application/vnd.acme+json' },
    });
    expect(h['user-agent']).toBe('acme-relay/2');
    expect(h['X-Tenant']).toBe('acme');
    expect(h['CONTENT-TYPE']).toBe('application/vnd.acme+json');
    expect('User-Agent' in h).toBe(false);
    expect('Content-Type' in h).toBe(false);
    const names = Object.keys(h).map((k) => k.toLowerCase());
    expect(new Set(names).size).toBe(names.length);
    expect(h['X-Webhook-Signature']).toBe(deliveryHeaders(base)['X-Webhook-Signature']);
  });
});
