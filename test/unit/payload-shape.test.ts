import { describe, it, expect } from 'vitest';
import { payloadShapeKey, valuesKey } from '../../src/domain/payload-shape.js';

const stripeEvent = (type: string, id: string, amount: number) => ({
  id,
  object: 'event',
  type,
  created: 1700000000,
  data: { object: { id: `in_${id}`, object: 'invoice', status: 'paid', amount_paid: amount } },
});

describe('valuesKey', () => {
  it('is equal exactly when the values at the deciding paths are', () => {
    const a = stripeEvent('invoice.paid', 'evt_1', 1500);
    const b = stripeEvent('invoice.paid', 'evt_2', 1500);
    const c = stripeEvent('invoice.paid', 'evt_3', 20);
    const paths = ['type', 'data.object.amount_paid'];
    expect(valuesKey(a, paths)).toBe(valuesKey(b, paths));
    expect(valuesKey(a, paths)).not.toBe(valuesKey(c, paths));
    expect(valuesKey(a, [])).toBe(valuesKey(c, []));
    // The paths themselves are part of the key, and missing differs from null.
    expect(valuesKey({ x: 1 }, ['x'])).not.toBe(valuesKey({ y: 1 }, ['y']));
    expect(valuesKey({ x: null }, ['x'])).not.toBe(valuesKey({}, ['x']));
    expect(valuesKey({ x: { deep: [1, 2] } }, ['x'])).toBe(valuesKey({ x: { deep: [1, 2] }, other: 3 }, ['x']));
  });
});

describe('payloadShapeKey', () => {
  it('is a sha256 hex digest', () => {
    expect(payloadShapeKey({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });

  const same: Array<[string, unknown, unknown]> = [
    ['different ids and amounts', stripeEvent('invoice.paid', 'evt_1', 100), stripeEvent('invoice.paid', 'evt_2', 999)],
    ['key order', { a: 1, b: 'x', c: { d: true, e: null } }, { c: { e: null, d: true }, b: 'y', a: 2 }],
    ['array length', { items: [{ id: 1 }] }, { items: [{ id: 2 }, { id: 3 }, { id: 4 }] }],
    ['array element order', { xs: [1, 'a'] }, { xs: ['b', 2, 3] }],
    ['string values', { name: 'Ada', email: 'a@x' }, { name: 'Grace', email: 'g@y' }],
    // Values, even the usual discriminators, are not structure: what decided an answer is keyed apart (valuesKey).
    ['Stripe event type', stripeEvent('invoice.paid', 'evt_1', 1), stripeEvent('invoice.payment_failed', 'evt_1', 1)],
    ['a nested status', { data: { status: 'paid' } }, { data: { status: 'open' } }],
    ['`type` casing', { type: 'Invoice.paid' }, { type: 'invoice.paid' }],
    ['capped array sample', { xs: [...Array(50).fill(1), 'tail'] }, { xs: Array(60).fill(1) }],
  ];
  it.each(same)('same key despite %s', (_name, a, b) => {
    expect(payloadShapeKey(a)).toBe(payloadShapeKey(b));
  });

  const different: Array<[string, unknown, unknown]> = [
    ['an extra key', { a: 1 }, { a: 1, b: 1 }],
    ['a renamed key', { a: 1 }, { b: 1 }],
    ['a value type', { a: 1 }, { a: '1' }],
    ['null vs object', { a: null }, { a: {} }],
    ['array vs object', { a: [] }, { a: {} }],
    ['empty vs non-empty array', { a: [] }, { a: [1] }],
    ['array element types', { a: [1] }, { a: [1, 'x'] }],
    ['top-level type', [], {}],
    ['a deep change within the depth cap', deep(10, { a: 1 }), deep(10, { b: 1 })],
  ];
  it.each(different)('different key for %s', (_name, a, b) => {
    expect(payloadShapeKey(a)).not.toBe(payloadShapeKey(b));
  });

  it('ignores structure below the depth cap', () => {
    expect(payloadShapeKey(deep(20, { a: 1 }))).toBe(payloadShapeKey(deep(20, { b: 'x' })));
  });

  it('treats a JSON-parsed __proto__ key as ordinary data', () => {
    expect(payloadShapeKey(JSON.parse('{"__proto__": {"a": 1}}'))).not.toBe(payloadShapeKey(JSON.parse('{"__proto__": {"b": 1}}')));
  });

  it('describes huge and very deep payloads within its budgets (no recursion limit hit)', () => {
    const wide = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, { v: [i, { w: i }] }]));
    const long = { xs: Array.from({ length: 200_000 }, (_, i) => ({ id: i, tags: ['a', 'b'] })) };
    expect(payloadShapeKey(wide)).toMatch(/^[0-9a-f]{64}$/);
    expect(payloadShapeKey(long)).toMatch(/^[0-9a-f]{64}$/);
    expect(payloadShapeKey(deep(100_000, { a: 1 }))).toMatch(/^[0-9a-f]{64}$/);
  });
});

/** `{n: {n: … value}}`, `levels` objects deep. */
function deep(levels: number, value: unknown): unknown {
  let v = value;
  for (let i = 0; i < levels; i++) v = { n: v };
  return v;
}
