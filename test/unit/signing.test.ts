import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { describe, it, expect } from 'vitest';
import { deliveryHeaders, signaturesFor } from '../../src/domain/signing.js';

// The receiver recipe published in the signed-lead seed, written out as their users would run it.
function verifyWebhookSignature(body: string, signature: string, secret: string): boolean {
  const expectedSignature = createHmac('sha256', secret).update(body).digest('hex');
  const receivedSignature = signature.replace('sha256=', '');
  return timingSafeEqual(Buffer.from(expectedSignature, 'hex'), Buffer.from(receivedSignature, 'hex'));
}

// The gateway seed's recipe: recompute the lowercase-hex HMAC-SHA512 of the raw body.
function verifyHmac(body: string, header: string, secret: string): boolean {
  return header === createHmac('sha512', secret).update(body).digest('hex');
}

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
    expect(new Webhook(NEW_SECRET).verify(body, h)).toEqual(JSON.parse(body));
    expect(() => new Webhook(OLD_SECRET).verify(body, h)).toThrow(/No matching signature/);
  });

  it('signs a free-form secret for Standard Webhooks with its UTF-8 bytes', () => {
    const secret = 'your-webhook-secret';
    const signed = signaturesFor(body, [secret], eventId, now);
    expect(new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' }).verify(body, signed)).toEqual(JSON.parse(body));
    expect(verifyWebhookSignature(body, signed['X-Webhook-Signature'], secret)).toBe(true);
  });
});

describe('signaturesFor: two secrets during rotation', () => {
  const now = Date.now();
  const h = signaturesFor(body, [NEW_SECRET, OLD_SECRET], eventId, now);
  const alone = (secret: string) => signaturesFor(body, [secret], eventId, now);

  it('lists every value, newest first', () => {
    expect(h['X-Webhook-Signature']).toBe(
      `${alone(NEW_SECRET)['X-Webhook-Signature']}, ${alone(OLD_SECRET)['X-Webhook-Signature']}`,
    );
    expect(h['X-Webhook-Hmac']).toBe(`${alone(NEW_SECRET)['X-Webhook-Hmac']}, ${alone(OLD_SECRET)['X-Webhook-Hmac']}`);
    expect(h['webhook-signature']).toBe(
      `${alone(NEW_SECRET)['webhook-signature']} ${alone(OLD_SECRET)['webhook-signature']}`,
    );
  });

  it('each listed sha256/sha512 value verifies with its own secret', () => {
    const [newSig, oldSig] = h['X-Webhook-Signature'].split(', ');
    expect(verifyWebhookSignature(body, newSig, NEW_SECRET)).toBe(true);
    expect(verifyWebhookSignature(body, oldSig, OLD_SECRET)).toBe(true);
    const [newHmac, oldHmac] = h['X-Webhook-Hmac'].split(', ');
    expect(verifyHmac(body, newHmac, NEW_SECRET)).toBe(true);
    expect(verifyHmac(body, oldHmac, OLD_SECRET)).toBe(true);
  });

  it('verifies with either secret alone under Standard Webhooks', () => {
    expect(new Webhook(NEW_SECRET).verify(body, h)).toEqual(JSON.parse(body));
    expect(new Webhook(OLD_SECRET).verify(body, h)).toEqual(JSON.parse(body));
    expect(() => new Webhook('whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=').verify(body, h)).toThrow();
  });

  it('refuses to sign with no secret', () => {
    expect(() => signaturesFor(body, [], eventId, now)).toThrow();
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
