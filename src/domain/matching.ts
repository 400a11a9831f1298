import { describeRule, ruleMatches, type Rule } from './rules.js';

export interface Definition {
  id: string;
  name: string;
  description: string;
  rule: Rule | null;
}

export interface MatchPlan {
  /** Description-only definitions ranked above the first matching rule: only a model can judge them. */
  askable: Array<{ id: string; name: string; description: string }>;
  /** The highest-ranked definition whose rule matches: the answer when the model picks none of `askable`. */
  fallback: { definitionId: string; reason: string } | null;
}

/**
 * Priority decides (definitions come in priority order): rules are checked without a model, and only
 * the description-only definitions ranked above the first matching rule need one.
 */
export function planMatch(definitions: readonly Definition[], payload: unknown): MatchPlan {
  const firstRule = definitions.findIndex((d) => d.rule !== null && ruleMatches(d.rule, payload));
  const ranked = firstRule === -1 ? definitions : definitions.slice(0, firstRule);
  const rule = firstRule === -1 ? null : definitions[firstRule];
  return {
    askable: ranked.filter((d) => d.rule === null).map(({ id, name, description }) => ({ id, name, description })),
    fallback: rule ? { definitionId: rule.id, reason: `rule matched: ${describeRule(rule.rule!)}` } : null,
  };
}
