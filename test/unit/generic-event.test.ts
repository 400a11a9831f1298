import { describe, it, expect } from 'vitest';
import {
  eventTypeSlug,
  normalizeGenericEvent,
  roleFor,
  type GenericRequest,
} from '../../src/domain/generic-event.js';

const WS = 'ws_123';

function req(overrides: Partial<GenericRequest> = {}): GenericRequest {
  return { workspaceId: WS, query: {}, headers: {}, payload: {}, signatureVerified: null, ...overrides };
}

describe('eventTypeSlug', () => {
  it.each([
    ['payment.succeeded', 'payment_succeeded'],
    ['Ticket Created!', 'ticket_created'],
    ['issues/opened', 'issues_opened'],
    ['received', 'received'],
    ['  ', 'unknown'],
    ['', 'unknown'],
    ['...', 'unknown'],
    ['customer.subscription.updated', 'customer_subscription_updated'],
    ['a..b--c  d', 'a_b_c_d'],
    ['__leading_and_trailing__', 'leading_and_trailing'],
    ['snake_case_kept', 'snake_case_kept'],
    ['CamelCase', 'camelcase'],
    ['Order#42 Paid', 'order_42_paid'],
    ['404', '404'],
    ['café.créé', 'caf_cr'],
    ['日本語', 'unknown'],
    ['\u212Aelvin', 'elvin'], // Kelvin sign lower-cases to ASCII "k" but is non-ASCII
    ['\u0130d', 'd'], // "İ" lower-cases to "i" + combining dot
    ['tab\tand\nnewline', 'tab_and_newline'],
  ])('%j → %j', (input, expected) => {
    expect(eventTypeSlug(input)).toBe(expected);
  });
});

describe('roleFor', () => {
  it.each([
    ['webhook.stripe', 'payment.succeeded', 'webhook.stripe.payment_succeeded'],
    ['webhook.zendesk', 'Ticket Created', 'webhook.zendesk.ticket_created'],
    ['webhook.generic', 'received', 'webhook.generic.received'],
    ['webhook.github', 'issues/opened', 'webhook.github.issues_opened'],
    ['webhook.generic', '!!', 'webhook.generic.unknown'],
  ])('%s + %j → %s', (sourceKind, eventType, expected) => {
    expect(roleFor(sourceKind, eventType)).toBe(expected);
  });

  it.each([
    [{ source: 'stripe' }, { type: 'payment.succeeded' }, 'webhook.stripe.payment_succeeded'],
    [{ source: 'zendesk' }, { event: 'ticket.created' }, 'webhook.zendesk.ticket_created'],
    [{}, {}, 'webhook.generic.received'],
  ])('seed example: query %j, payload %j → %s', (query, payload, expected) => {
    const e = normalizeGenericEvent(req({ query, payload }));
    expect(roleFor(e.sourceKind, e.eventType)).toBe(expected);
  });
});

describe('normalizeGenericEvent: source', () => {
  it.each<[string, GenericRequest['query'], string]>([
    ['absent', {}, 'generic'],
    ['undefined', { source: undefined }, 'generic'],
    ['empty', { source: '' }, 'generic'],
    ['blank', { source: '   ' }, 'generic'],
    ['plain', { source: 'stripe' }, 'stripe'],
    ['trimmed', { source: '  stripe  ' }, 'stripe'],
    ['lower-cased', { source: 'Zendesk' }, 'zendesk'],
    ['underscore and dash kept', { source: 'my_crm-v2' }, 'my_crm-v2'],
    ['dots replaced (no extra role segments)', { source: 'acme.crm' }, 'acme_crm'],
    ['runs collapse to one _', { source: 'Acme  CRM!!' }, 'acme_crm_'],
    ['non-ASCII replaced', { source: 'café' }, 'caf_'],
    ['array → first', { source: ['stripe', 'github'] }, 'stripe'],
    ['array with blank first → default', { source: ['', 'github'] }, 'generic'],
    ['empty array → default', { source: [] }, 'generic'],
  ])('%s', (_name, query, expected) => {
    const e = normalizeGenericEvent(req({ query }));
    expect(e.source).toBe(expected);
    expect(e.sourceKind).toBe(`webhook.${expected}`);
  });
});

describe('normalizeGenericEvent: eventType', () => {
  it.each<[string, GenericRequest['query'], Record<string, unknown>, string]>([
    ['query wins over everything', { event_type: 'q.evt' }, { event: 'p.event', type: 'p.type', action: 'p.action' }, 'q.evt'],
    ['query array → first', { event_type: ['first', 'second'] }, { event: 'p.event' }, 'first'],
    ['query empty → payload.event', { event_type: '' }, { event: 'p.event', type: 'p.type' }, 'p.event'],
    ['query blank → payload.event', { event_type: '  ' }, { event: 'p.event' }, 'p.event'],
    ['query trimmed', { event_type: ' q.evt ' }, {}, 'q.evt'],
    ['payload.event over type/action', {}, { event: 'p.event', type: 'p.type', action: 'p.action' }, 'p.event'],
    ['payload.event numeric', {}, { event: 42, type: 'p.type' }, '42'],
    ['payload.event empty → type', {}, { event: '', type: 'p.type' }, 'p.type'],
    ['payload.event object → type', {}, { event: { name: 'x' }, type: 'p.type' }, 'p.type'],
    ['payload.event array → type', {}, { event: ['x'], type: 'p.type' }, 'p.type'],
    ['payload.event null → type', {}, { event: null, type: 'p.type' }, 'p.type'],
    ['payload.event boolean → type', {}, { event: true, type: 'p.type' }, 'p.type'],
    ['payload.type over action', {}, { type: 'p.type', action: 'p.action' }, 'p.type'],
    ['payload.type numeric', {}, { type: 7 }, '7'],
    ['payload.type empty → action', {}, { type: '', action: 'opened' }, 'opened'],
    ['payload.type object → action', {}, { type: {}, action: 'opened' }, 'opened'],
    ['payload.action', {}, { action: 'opened' }, 'opened'],
    ['payload.action numeric (zero counts)', {}, { action: 0 }, '0'],
    ['payload.action empty → received', {}, { action: '' }, 'received'],
    ['payload.action array → received', {}, { action: [] }, 'received'],
    ['nothing → received', {}, {}, 'received'],
    ['all skipped → received', { event_type: '' }, { event: '', type: null, action: {} }, 'received'],
    ['original value kept (slug is separate)', {}, { type: 'Payment.Succeeded' }, 'Payment.Succeeded'],
  ])('%s', (_name, query, payload, expected) => {
    expect(normalizeGenericEvent(req({ query, payload })).eventType).toBe(expected);
  });
});

describe('normalizeGenericEvent: dedupeKey', () => {
  it.each<[string, GenericRequest['query'], GenericRequest['headers'], string | null]>([
    ['query wins', { dedupe_key: 'q-key' }, { 'x-webhook-id': 'wh-1', 'x-request-id': 'req-1' }, 'q-key'],
    ['query array → first', { dedupe_key: ['k1', 'k2'] }, {}, 'k1'],
    ['query trimmed', { dedupe_key: ' k1 ' }, {}, 'k1'],
    ['query empty → x-webhook-id', { dedupe_key: '' }, { 'x-webhook-id': 'wh-1', 'x-request-id': 'req-1' }, 'wh-1'],
    ['x-webhook-id over x-request-id', {}, { 'x-webhook-id': 'wh-1', 'x-request-id': 'req-1' }, 'wh-1'],
    ['x-webhook-id array → first', {}, { 'x-webhook-id': ['wh-a', 'wh-b'] }, 'wh-a'],
    ['x-webhook-id empty → x-request-id', {}, { 'x-webhook-id': '', 'x-request-id': 'req-1' }, 'req-1'],
    ['x-webhook-id blank → x-request-id', {}, { 'x-webhook-id': '  ', 'x-request-id': 'req-1' }, 'req-1'],
    ['x-webhook-id undefined → x-request-id', {}, { 'x-webhook-id': undefined, 'x-request-id': 'req-1' }, 'req-1'],
    ['x-request-id', {}, { 'x-request-id': 'req-1' }, 'req-1'],
    ['x-request-id array → first', {}, { 'x-request-id': ['req-a', 'req-b'] }, 'req-a'],
    ['header names matched case-insensitively', {}, { 'X-Webhook-Id': 'wh-1' }, 'wh-1'],
    ['unsigned: x-request-id over webhook-id', {}, { 'x-request-id': 'req-1', 'webhook-id': 'msg_1' }, 'req-1'],
    ['webhook-id (Standard Webhooks) last', {}, { 'webhook-id': 'msg_1' }, 'msg_1'],
    ['x-request-id empty → null', {}, { 'x-request-id': '' }, null],
    ['empty array → null', {}, { 'x-webhook-id': [] }, null],
    ['nothing → null', {}, {}, null],
    ['unrelated headers → null', {}, { 'x-correlation-id': 'c-1' }, null],
  ])('%s', (_name, query, headers, expected) => {
    expect(normalizeGenericEvent(req({ query, headers })).dedupeKey).toBe(expected);
  });

  // The Standard Webhooks signature covers webhook-id; the query and the other headers are not signed.
  it.each<[string, GenericRequest['query'], GenericRequest['headers'], string]>([
    ['signed: webhook-id over x-request-id', {}, { 'x-request-id': 'req-1', 'webhook-id': 'msg_1' }, 'msg_1'],
    ['signed: webhook-id over x-webhook-id', {}, { 'x-webhook-id': 'wh-1', 'webhook-id': 'msg_1' }, 'msg_1'],
    ['signed: webhook-id over the query', { dedupe_key: 'q-key' }, { 'webhook-id': 'msg_1' }, 'msg_1'],
    ['signed: webhook-id trimmed', {}, { 'webhook-id': ' msg_1 ' }, 'msg_1'],
  ])('%s', (_name, query, headers, expected) => {
    expect(normalizeGenericEvent(req({ query, headers, signatureVerified: true })).dedupeKey).toBe(expected);
  });

  it('does not read the dedupe key from the payload', () => {
    expect(normalizeGenericEvent(req({ payload: { id: 'evt_1', dedupe_key: 'k' } })).dedupeKey).toBeNull();
  });
});

describe('normalizeGenericEvent: sourceIdentifier', () => {
  it.each<[string, GenericRequest['query'], GenericRequest['headers'], Record<string, unknown>, string]>([
    ['explicit query wins', { source_identifier: 'cust_1', dedupe_key: 'k' }, { 'x-webhook-id': 'wh' }, { id: 'evt_1' }, 'cust_1'],
    ['query array → first', { source_identifier: ['a', 'b'] }, {}, {}, 'a'],
    ['query empty → dedupe key (query)', { source_identifier: '', dedupe_key: 'k' }, {}, { id: 'evt_1' }, 'k'],
    ['dedupe key from x-webhook-id', {}, { 'x-webhook-id': 'wh-1' }, { id: 'evt_1' }, 'wh-1'],
    ['dedupe key from x-request-id', {}, { 'x-request-id': 'req-1' }, { id: 'evt_1' }, 'req-1'],
    ['no dedupe key → payload.id string', {}, {}, { id: 'evt_1' }, 'evt_1'],
    ['payload.id number', {}, {}, { id: 12345 }, '12345'],
    ['payload.id zero counts', {}, {}, { id: 0 }, '0'],
    ['payload.id empty → default', {}, {}, { id: '' }, `generic:${WS}`],
    ['payload.id object → default', {}, {}, { id: { v: 1 } }, `generic:${WS}`],
    ['payload.id array → default', {}, {}, { id: [1] }, `generic:${WS}`],
    ['payload.id null → default', {}, {}, { id: null }, `generic:${WS}`],
    ['payload.id boolean → default', {}, {}, { id: true }, `generic:${WS}`],
    ['nothing → default', {}, {}, {}, `generic:${WS}`],
    ['default uses the normalized source', { source: ' Stripe ' }, {}, {}, `stripe:${WS}`],
  ])('%s', (_name, query, headers, payload, expected) => {
    expect(normalizeGenericEvent(req({ query, headers, payload })).sourceIdentifier).toBe(expected);
  });
});

describe('normalizeGenericEvent: headers', () => {
  const dropped = [
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
    'x-custom-signature-v2', // contains "signature"
    'x-webhook-secret', // contains "secret"
    'x-gitlab-token', // contains "token"
    'x-csrf-token',
    'connection',
    'keep-alive',
    'transfer-encoding',
    'upgrade',
    'te',
    'trailer',
    'content-length',
    'Authorization', // case-insensitive
    'X-Hub-Signature-256',
    'Stripe-Signature',
  ];
  it.each(dropped)('drops %s', (name) => {
    const e = normalizeGenericEvent(req({ headers: { [name]: 'sensitive', 'content-type': 'application/json' } }));
    expect(e.headers).toEqual({ 'content-type': 'application/json' });
  });

  it.each([
    ['content-type', 'application/json'],
    ['user-agent', 'Stripe/1.0 (+https://stripe.com/docs/webhooks)'],
    ['x-webhook-id', 'wh-1'],
    ['x-request-id', 'req-1'],
    ['x-github-event', 'issues'],
    ['x-forwarded-for', '203.0.113.7'],
    ['webhook-id', 'msg_1'],
    ['webhook-timestamp', '1700000000'],
    ['x-webhook-hmac-algorithm', 'sha512'],
    ['accept', '*/*'],
  ])('keeps %s', (name, value) => {
    expect(normalizeGenericEvent(req({ headers: { [name]: value } })).headers).toEqual({ [name]: value });
  });

  it.each<[string, string[], string]>([
    ['two values', ['a', 'b'], 'a, b'],
    ['one value', ['only'], 'only'],
    ['three values', ['x=1', 'y=2', 'z=3'], 'x=1, y=2, z=3'],
    ['empty array', [], ''],
  ])('joins array values: %s', (_name, value, expected) => {
    expect(normalizeGenericEvent(req({ headers: { 'x-multi': value } })).headers).toEqual({ 'x-multi': expected });
  });

  it('skips undefined values and lower-cases names', () => {
    const e = normalizeGenericEvent(req({ headers: { 'x-missing': undefined, 'X-Custom': 'v' } }));
    expect(e.headers).toEqual({ 'x-custom': 'v' });
  });

  it('keeps a mixed set minus the sensitive ones', () => {
    const e = normalizeGenericEvent(
      req({
        headers: {
          host: 'hooks.example.com',
          'content-type': 'application/json',
          'content-length': '123',
          authorization: 'Bearer abc',
          cookie: 'sid=1',
          'stripe-signature': 't=1,v1=abc',
          'x-webhook-id': 'wh-1',
          via: ['1.1 a', '1.1 b'],
        },
      }),
    );
    expect(e.headers).toEqual({
      host: 'hooks.example.com',
      'content-type': 'application/json',
      'x-webhook-id': 'wh-1',
      via: '1.1 a, 1.1 b',
    });
  });

  it.each<[string, number, number]>([
    ['under the limit', 10, 10],
    ['at the limit', 1024, 1024],
    ['over the limit', 5000, 1024],
  ])('limits each value to 1024 chars: %s', (_name, length, expected) => {
    const e = normalizeGenericEvent(req({ headers: { 'x-long': 'a'.repeat(length) } }));
    expect(e.headers['x-long']).toHaveLength(expected);
  });

  it('limits the joined value of an array header too', () => {
    const e = normalizeGenericEvent(req({ headers: { 'x-long': ['a'.repeat(800), 'b'.repeat(800)] } }));
    expect(e.headers['x-long']).toBe(`${'a'.repeat(800)}, ${'b'.repeat(222)}`);
  });

  it.each<[string, number, number]>([
    ['fewer than 100', 50, 50],
    ['exactly 100', 100, 100],
    ['more than 100', 250, 100],
  ])('keeps at most 100 headers: %s', (_name, count, expected) => {
    const headers: GenericRequest['headers'] = {};
    for (let i = 0; i < count; i++) headers[`x-h-${i}`] = String(i);
    const kept = normalizeGenericEvent(req({ headers })).headers;
    expect(Object.keys(kept)).toHaveLength(expected);
    expect(kept['x-h-0']).toBe('0');
  });

  it('dropped headers do not count towards the 100', () => {
    const headers: GenericRequest['headers'] = {};
    for (let i = 0; i < 150; i++) headers[`x-secret-${i}`] = 's';
    for (let i = 0; i < 100; i++) headers[`x-h-${i}`] = String(i);
    const kept = normalizeGenericEvent(req({ headers })).headers;
    expect(Object.keys(kept)).toHaveLength(100);
    expect(kept['x-h-99']).toBe('99');
  });

  it('a header named __proto__ is kept as data, not as a prototype', () => {
    const headers = JSON.parse('{"__proto__": "x", "a": "b"}') as GenericRequest['headers'];
    const kept = normalizeGenericEvent(req({ headers })).headers;
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
    expect(Object.hasOwn(kept, '__proto__')).toBe(true);
    expect(kept.a).toBe('b');
  });
});

describe('normalizeGenericEvent: verified', () => {
  it.each([[true], [false], [null]])('passes signatureVerified=%s through', (signatureVerified) => {
    expect(normalizeGenericEvent(req({ signatureVerified })).verified).toEqual({ signature: signatureVerified });
  });
});

describe('normalizeGenericEvent: whole envelope', () => {
  it('builds every field for a typical Stripe request', () => {
    const payload = { id: 'evt_1', type: 'payment.succeeded', data: { amount: 100 } };
    const e = normalizeGenericEvent({
      workspaceId: WS,
      query: { source: 'stripe' },
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=x' },
      payload,
      signatureVerified: true,
    });
    expect(e).toEqual({
      source: 'stripe',
      sourceKind: 'webhook.stripe',
      eventType: 'payment.succeeded',
      dedupeKey: null,
      sourceIdentifier: 'evt_1',
      headers: { 'content-type': 'application/json' },
      verified: { signature: true },
    });
    // The payload is read, never changed.
    expect(payload).toEqual({ id: 'evt_1', type: 'payment.succeeded', data: { amount: 100 } });
  });

  it('reads only own payload properties', () => {
    const payload = Object.create({ event: 'inherited', id: 'inherited' }) as Record<string, unknown>;
    const e = normalizeGenericEvent(req({ payload }));
    expect(e.eventType).toBe('received');
    expect(e.sourceIdentifier).toBe(`generic:${WS}`);
  });
});
