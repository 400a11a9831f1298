import { describe, expect, it } from 'vitest';
import { planMatch } from '../../src/domain/matching.js';

const def = (id: string, rule: unknown = null) => ({ id, name: id, description: `about ${id}`, rule: rule as never });

describe('planMatch', () => {
  it('needs no model when the first-ranked definition with a rule matches and nothing description-only ranks above it', () => {
    const plan = planMatch([def('a', { path: 'type', equals: 'x' }), def('b')], { type: 'x' });
    expect(plan).toEqual({ askable: [], fallback: { definitionId: 'a', reason: 'rule matched: type = "x"' } });
  });

  it('asks only about the description-only definitions ranked above the first matching rule', () => {
    const plan = planMatch([def('d1'), def('r1', { path: 'type', equals: 'y' }), def('d2'), def('r2', { path: 'type', equals: 'x' }), def('d3')], { type: 'x' });
    expect(plan.askable.map((d) => d.id)).toEqual(['d1', 'd2']);
    expect(plan.fallback?.definitionId).toBe('r2');
  });

  it('asks about every description-only definition when no rule matches', () => {
    const plan = planMatch([def('d1'), def('r1', { path: 'type', equals: 'y' }), def('d2')], { type: 'x' });
    expect(plan).toEqual({ askable: [expect.objectContaining({ id: 'd1' }), expect.objectContaining({ id: 'd2' })], fallback: null });
  });
});
