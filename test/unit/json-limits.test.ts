import { describe, expect, it } from 'vitest';
import { describeJsonProblem, exceedsJsonDepth, findJsonProblem, MAX_JSON_DEPTH } from '../../src/domain/json-limits.js';

/** `levels` nested objects (or arrays), built without recursion: {"a":{"a":…{}}}. */
function nested(levels: number, kind: 'object' | 'array' = 'object'): unknown {
  let value: unknown = kind === 'object' ? {} : [];
  for (let i = 1; i < levels; i++) value = kind === 'object' ? { a: value } : [value];
  return value;
}

describe('findJsonProblem: nesting depth', () => {
  it('counts containers: a scalar is 0, {} is 1', () => {
    expect(exceedsJsonDepth('x', 0)).toBe(false);
    expect(exceedsJsonDepth({}, 0)).toBe(true);
    expect(exceedsJsonDepth({}, 1)).toBe(false);
    expect(exceedsJsonDepth({ a: [1, { b: null }] }, 3)).toBe(false);
    expect(exceedsJsonDepth({ a: [1, { b: {} }] }, 3)).toBe(true);
  });

  it(`accepts exactly MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) levels and refuses one more, for objects and arrays`, () => {
    for (const kind of ['object', 'array'] as const) {
      expect(findJsonProblem(nested(MAX_JSON_DEPTH, kind))).toBeNull();
      expect(findJsonProblem(nested(MAX_JSON_DEPTH + 1, kind))).toMatchObject({ kind: 'depth' });
    }
  });

  it('is iterative: 100,000 levels are refused without overflowing the stack', () => {
    // JSON.parse builds this fine; JSON.stringify of it throws RangeError, which is the defect's 500.
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(findJsonProblem(deep)).toMatchObject({ kind: 'depth' });
    expect(exceedsJsonDepth(nested(100_000))).toBe(true);
  });

  it('names where the limit was crossed', () => {
    const problem = findJsonProblem({ ok: 1, deep: nested(5) }, { maxDepth: 3 });
    expect(problem).toEqual({ kind: 'depth', path: ['deep', 'a', 'a'] });
    expect(describeJsonProblem(problem!, 3)).toBe('nested too deeply at deep.a.a (max depth 3)');
  });

  it('ignores text unless asked', () => {
    expect(findJsonProblem({ 'a\u0000': 'b\ud800' })).toBeNull();
  });
});

describe('findJsonProblem: storable text', () => {
  it.each([
    ['NUL in a value', { a: 'x\u0000y' }, ['a']],
    ['NUL in a key', { 'k\u0000': 1 }, ['k\u0000']],
    ['a lone high surrogate', { list: ['ok', '\ud800'] }, ['list', 1]],
    ['a lone low surrogate in a key', { n: { '\udc00': true } }, ['n', '\udc00']],
    ['a top-level string', '\u0000', []],
  ])('finds %s', (_what, value, path) => {
    expect(findJsonProblem(value, { text: true })).toEqual({ kind: 'text', path });
  });

  it('accepts proper text, including surrogate pairs and other control characters', () => {
    expect(findJsonProblem({ emoji: '😀', tab: '\t', bell: '\u0007', 'ключ': 'значение' }, { text: true })).toBeNull();
  });

  it('shows bad characters in a path readably', () => {
    const p = findJsonProblem({ 'a\u0000': { '\ud800': 'x\u0000' } }, { text: true })!;
    expect(describeJsonProblem(p)).toContain('a\\u0000');
    expect(describeJsonProblem({ kind: 'text', path: ['x\ud800'] })).toContain('x\ufffd');
    expect(describeJsonProblem({ kind: 'text', path: ['p'.repeat(10_000)] }).length).toBeLessThan(400);
  });
});
