import { describe, it, expect } from 'vitest';
import { describeRule, MAX_RULE_LIST, ruleMatches, ruleSchema, type Rule } from '../../src/domain/rules.js';

const stripe = {
  id: 'evt_1',
  type: 'invoice.paid',
  livemode: false,
  pending_webhooks: 0,
  request: null,
  data: { object: { id: 'in_1', status: 'paid', amount_paid: 1200, lines: { data: [{ id: 'il_1', quantity: 2 }] } } },
  items: [{ id: 'a' }, { id: 'b', tags: ['x'] }],
};

describe('ruleMatches', () => {
  const cases: Array<[string, Rule, boolean]> = [
    ['equals on a top-level string', { path: 'type', equals: 'invoice.paid' }, true],
    ['equals on another value', { path: 'type', equals: 'invoice.created' }, false],
    ['equals on a nested path', { path: 'data.object.status', equals: 'paid' }, true],
    ['equals on a number', { path: 'data.object.amount_paid', equals: 1200 }, true],
    ['equals is strict: no string/number coercion', { path: 'data.object.amount_paid', equals: '1200' }, false],
    ['equals on a boolean', { path: 'livemode', equals: false }, true],
    ['equals null matches a null value', { path: 'request', equals: null }, true],
    ['equals null does not match a missing path', { path: 'missing', equals: null }, false],
    ['numeric segment indexes an array', { path: 'items.0.id', equals: 'a' }, true],
    ['deeper array index', { path: 'items.1.tags.0', equals: 'x' }, true],
    ['array index out of range', { path: 'items.5.id', equals: 'a' }, false],
    ['non-numeric segment on an array', { path: 'items.first', exists: true }, false],
    ['array index inside nested data', { path: 'data.object.lines.data.0.quantity', equals: 2 }, true],
    ['path through a scalar', { path: 'type.length', exists: true }, false],
    ['in: member', { path: 'data.object.status', in: ['paid', 'open'] }, true],
    ['in: not a member', { path: 'data.object.status', in: ['void', 'open'] }, false],
    ['in: mixed scalars, strict', { path: 'data.object.amount_paid', in: ['1200', 1200] }, true],
    ['in: missing path', { path: 'nope', in: ['paid'] }, false],
    ['exists: true on a value', { path: 'data.object.id', exists: true }, true],
    ['exists: true on null (null exists)', { path: 'request', exists: true }, true],
    ['exists: true on zero', { path: 'pending_webhooks', exists: true }, true],
    ['exists: true on a missing path', { path: 'data.object.customer', exists: true }, false],
    ['exists: false on a missing path', { path: 'data.object.customer', exists: false }, true],
    ['exists: false on a present path', { path: 'data.id', exists: false }, true],
    ['exists: false on null', { path: 'request', exists: false }, false],
    ['prototype properties are not payload', { path: 'constructor', exists: true }, false],
    ['prototype properties deeper down', { path: 'data.toString', exists: true }, false],
    [
      'all: every rule holds',
      { all: [{ path: 'type', equals: 'invoice.paid' }, { path: 'data.object.status', in: ['paid'] }] },
      true,
    ],
    [
      'all: one fails',
      { all: [{ path: 'type', equals: 'invoice.paid' }, { path: 'data.object.status', equals: 'open' }] },
      false,
    ],
    ['any: one holds', { any: [{ path: 'type', equals: 'nope' }, { path: 'data.object.id', exists: true }] }, true],
    ['any: none holds', { any: [{ path: 'type', equals: 'nope' }, { path: 'zzz', exists: true }] }, false],
    [
      'nested all/any',
      {
        all: [
          { path: 'type', in: ['invoice.paid', 'invoice.payment_failed'] },
          { any: [{ path: 'livemode', equals: true }, { path: 'data.object.amount_paid', equals: 1200 }] },
        ],
      },
      true,
    ],
  ];

  it.each(cases)('%s', (_name, rule, expected) => {
    // Every case is also a valid rule per the schema.
    expect(ruleSchema.safeParse(rule).success).toBe(true);
    expect(ruleMatches(rule, stripe)).toBe(expected);
  });

  it('treats non-object payloads as having no paths', () => {
    expect(ruleMatches({ path: 'a', exists: true }, null)).toBe(false);
    expect(ruleMatches({ path: 'a', exists: false }, 'text')).toBe(true);
    expect(ruleMatches({ path: '0', equals: 'x' }, ['x'])).toBe(true);
  });

  it('reads own __proto__ keys from parsed JSON as plain data', () => {
    const payload = JSON.parse('{"__proto__": {"polluted": true}}');
    expect(ruleMatches({ path: '__proto__.polluted', equals: true }, payload)).toBe(true);
    expect(ruleMatches({ path: '__proto__.polluted', exists: true }, {})).toBe(false);
  });
});

/** A rule nested `depth` levels deep (a leaf is depth 1). */
const nested = (depth: number): unknown => {
  let rule: unknown = { path: 'type', exists: true };
  for (let i = 1; i < depth; i++) rule = i % 2 ? { all: [rule] } : { any: [rule] };
  return rule;
};

describe('ruleSchema', () => {
  const valid: Array<[string, unknown]> = [
    ['equals string', { path: 'type', equals: 'invoice.paid' }],
    ['equals null', { path: 'x', equals: null }],
    ['in', { path: 'data.object.status', in: ['paid', 'open', 3, true, null] }],
    ['exists', { path: 'data.id', exists: false }],
    ['all', { all: [{ path: 'a', exists: true }] }],
    ['any', { any: [{ path: 'a', exists: true }, { path: 'b', equals: 1 }] }],
    ['depth 8', nested(8)],
  ];
  it.each(valid)('accepts %s', (_name, rule) => {
    expect(ruleSchema.safeParse(rule).success).toBe(true);
  });

  const invalid: Array<[string, unknown]> = [
    ['not an object', 'type=invoice.paid'],
    ['null', null],
    ['empty object', {}],
    ['path without operator', { path: 'type' }],
    ['extra key', { path: 'type', equals: 'x', note: 'hi' }],
    ['two operators', { path: 'type', equals: 'x', exists: true }],
    ['empty path', { path: '', equals: 'x' }],
    ['empty path segment', { path: 'data..id', exists: true }],
    ['non-string path', { path: 3, equals: 'x' }],
    ['object as equals value', { path: 'a', equals: { b: 1 } }],
    ['empty in', { path: 'a', in: [] }],
    ['in with an object', { path: 'a', in: [{}] }],
    ['exists not boolean', { path: 'a', exists: 'yes' }],
    ['empty all', { all: [] }],
    ['empty any', { any: [] }],
    ['all and any together', { all: [{ path: 'a', exists: true }], any: [{ path: 'a', exists: true }] }],
    ['invalid child', { all: [{ path: 'a' }] }],
    ['all not an array', { all: { path: 'a', exists: true } }],
  ];
  it.each(invalid)('rejects %s', (_name, rule) => {
    expect(ruleSchema.safeParse(rule).success).toBe(false);
  });

  it('rejects nesting deeper than 8 with a clear message', () => {
    const result = ruleSchema.safeParse(nested(9));
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toEqual(['rule is nested too deeply (max depth 8)']);
  });

  it('refuses absurdly deep input cheaply', () => {
    const result = ruleSchema.safeParse(nested(100_000));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/too deeply/);
  });

  it('counts `all` and `any` both toward the depth, even on one (invalid) object', () => {
    // Once only `all` was measured: zod then recursed into a deep `any` until the stack ran out.
    const result = ruleSchema.safeParse({ all: [{ path: 'a', exists: true }], any: [nested(100_000)] });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toEqual(['rule is nested too deeply (max depth 8)']);
  });

  const leaf = { path: 'a', exists: true };
  const many = <T>(n: number, item: (i: number) => T) => Array.from({ length: n }, (_, i) => item(i));
  it.each<[string, unknown, Array<string | number>]>([
    ['in', { path: 'type', in: many(MAX_RULE_LIST + 1, (i) => `t${i}`) }, ['in']],
    ['all', { all: many(MAX_RULE_LIST + 1, () => leaf) }, ['all']],
    ['any, nested', { all: [leaf, { any: many(MAX_RULE_LIST + 1, () => leaf) }] }, ['all', 1, 'any']],
    ['in, nested', { any: [leaf, { all: [{ path: 'x', in: many(MAX_RULE_LIST + 1, (i) => i) }] }] }, ['any', 1, 'all', 0, 'in']],
  ])('caps %s at 1000 entries with one clear issue naming the list', (_name, rule, path) => {
    expect(MAX_RULE_LIST).toBe(1000);
    const key = path.at(-1);
    const result = ruleSchema.safeParse(rule);
    expect(result.success).toBe(false);
    expect(result.error!.issues).toEqual([expect.objectContaining({ path, message: `"${key}" has too many entries (max 1000)` })]);
  });

  it('accepts lists of exactly 1000 entries', () => {
    expect(ruleSchema.safeParse({ path: 'type', in: many(MAX_RULE_LIST, (i) => i) }).success).toBe(true);
    expect(ruleSchema.safeParse({ any: [{ all: many(MAX_RULE_LIST, () => leaf) }, leaf] }).success).toBe(true);
  });

  it('parses to the typed rule', () => {
    const rule = { any: [{ path: 'type', equals: 'a' }, { path: 'type', in: ['b'] }] };
    expect(ruleSchema.parse(rule)).toEqual(rule);
  });
});

describe('describeRule', () => {
  const cases: Array<[Rule, string]> = [
    [{ path: 'type', equals: 'invoice.paid' }, 'type = "invoice.paid"'],
    [{ path: 'amount', equals: 12 }, 'amount = 12'],
    [{ path: 'x', equals: null }, 'x = null'],
    [{ path: 'data.object.status', in: ['paid', 'open'] }, 'data.object.status in ["paid", "open"]'],
    [{ path: 'data.id', exists: true }, 'data.id exists'],
    [{ path: 'data.id', exists: false }, 'data.id does not exist'],
    [{ all: [{ path: 'a', equals: 1 }, { path: 'b', exists: true }] }, 'a = 1 AND b exists'],
    [{ any: [{ path: 'a', equals: 1 }] }, 'a = 1'],
    [
      { all: [{ path: 'type', equals: 'x' }, { any: [{ path: 'a', equals: 1 }, { path: 'b', equals: 2 }] }] },
      'type = "x" AND (a = 1 OR b = 2)',
    ],
  ];
  it.each(cases)('%j → %s', (rule, text) => {
    expect(describeRule(rule)).toBe(text);
  });

  it('stays short for huge rules', () => {
    const rule: Rule = { path: 'type', in: Array.from({ length: 500 }, (_, i) => `event.number.${i}`) };
    const text = describeRule(rule);
    expect(text.length).toBeLessThanOrEqual(300);
    expect(text.endsWith('…')).toBe(true);
  });
});

describe('ruleSchema: text PostgreSQL can store (rules are jsonb)', () => {
  it.each([
    ['NUL in equals', { path: 'type', equals: 'a\u0000b' }, ['equals']],
    ['NUL in path', { path: 'a\u0000b', exists: true }, ['path']],
    ['a lone surrogate in equals', { path: 'type', equals: '\ud800' }, ['equals']],
    ['a lone surrogate in in', { path: 'type', in: ['ok', '\udc00'] }, ['in', 1]],
    ['NUL deep in a group', { any: [{ path: 'a', exists: true }, { all: [{ path: 'b', equals: 'x\u0000' }] }] }, ['any', 1, 'all', 0, 'equals']],
  ])('refuses %s, naming the field', (_what, rule, path) => {
    const result = ruleSchema.safeParse(rule);
    expect(result.success).toBe(false);
    expect(result.error!.issues).toEqual([expect.objectContaining({ path, message: expect.stringMatching(/NUL .* surrogates/) })]);
  });

  it('accepts other text, surrogate pairs included', () => {
    expect(ruleSchema.safeParse({ path: 'emoji', in: ['😀', 'ça', '\t'] }).success).toBe(true);
  });
});
