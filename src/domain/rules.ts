import { z } from 'zod';
import { storableString, UNSTORABLE_TEXT } from './storable-text.js';
import { findJsonProblem } from './json-limits.js';

/**
 * Declarative event-definition rules: checked against the parsed inbound payload without an LLM.
 * `{"path": "type", "equals": "invoice.paid"}`, `{"path": …, "in": [...]}`, `{"path": …, "exists": true}`,
 * combined with `{"all": [...]}` / `{"any": [...]}`.
 */

export type RuleScalar = string | number | boolean | null;

export type Rule =
  | { path: string; equals: RuleScalar }
  | { path: string; in: RuleScalar[] }
  | { path: string; exists: boolean }
  | { all: Rule[] }
  | { any: Rule[] };

export const MAX_RULE_DEPTH = 8;
/** Entries in one `in`, `all` or `any` list: matching runs on every event, so a rule stays small. */
export const MAX_RULE_LIST = 1000;

// Rules are stored as jsonb: strings must be text PostgreSQL can store (no NUL, no unpaired surrogates).
const scalar = z.union([storableString().max(10_000), z.number(), z.boolean(), z.null()]);

const path = storableString()
  .min(1, { message: 'path must not be empty' })
  .max(500, { message: 'path is too long (max 500 characters)' })
  // `a..b` or a trailing dot can never resolve; reject it rather than let the rule silently never match.
  .refine((p) => p.split('.').every((s) => s.length > 0), { message: 'path has an empty segment' });

const ruleNode: z.ZodType<Rule> = z.lazy(() =>
  z.union([
    z.strictObject({ path, equals: scalar }),
    z.strictObject({ path, in: z.array(scalar).min(1, { message: '"in" needs at least one value' }).max(MAX_RULE_LIST) }),
    z.strictObject({ path, exists: z.boolean() }),
    z.strictObject({ all: z.array(ruleNode).min(1, { message: '"all" needs at least one rule' }).max(MAX_RULE_LIST) }),
    z.strictObject({ any: z.array(ruleNode).min(1, { message: '"any" needs at least one rule' }).max(MAX_RULE_LIST) }),
  ]),
);

/**
 * Nesting depth of a raw rule (a leaf is 1), stopping once past the limit so hostile input stays cheap.
 * Both `all` and `any` count: an object with both is invalid, but zod would still descend into each.
 */
function rawDepth(value: unknown, limit: number): number {
  if (limit < 0 || value === null || typeof value !== 'object' || Array.isArray(value)) return 1;
  let deepest = 0;
  for (const key of ['all', 'any']) {
    const children = (value as Record<string, unknown>)[key];
    if (!Array.isArray(children)) continue;
    for (const child of children) {
      deepest = Math.max(deepest, rawDepth(child, limit - 1));
      if (deepest > limit) return 1 + deepest;
    }
  }
  return 1 + deepest;
}

const LISTS = ['in', 'all', 'any'] as const;

/** The first `in`, `all` or `any` list longer than MAX_RULE_LIST (the depth is already bounded), or null. */
function longList(value: unknown, at: Array<string | number> = []): { path: Array<string | number>; key: string } | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  for (const key of LISTS) {
    const list = (value as Record<string, unknown>)[key];
    if (!Object.hasOwn(value, key) || !Array.isArray(list)) continue;
    if (list.length > MAX_RULE_LIST) return { path: [...at, key], key };
    if (key === 'in') continue;
    for (let i = 0; i < list.length; i++) {
      const found = longList(list[i], [...at, key, i]);
      if (found) return found;
    }
  }
  return null;
}

/**
 * The depth check runs before the recursive schema so a pathologically deep rule is refused with one
 * clear message instead of a wall of union errors (or a deep recursion inside zod). So do the list
 * length check and the text check (rules are stored as jsonb): a union error would say neither which
 * list is too long nor which string can't be stored.
 */
export const ruleSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    if (rawDepth(value, MAX_RULE_DEPTH) > MAX_RULE_DEPTH) {
      ctx.addIssue({ code: 'custom', message: `rule is nested too deeply (max depth ${MAX_RULE_DEPTH})`, abort: true });
      return;
    }
    const long = longList(value);
    if (long) {
      ctx.addIssue({ code: 'custom', message: `"${long.key}" has too many entries (max ${MAX_RULE_LIST})`, path: long.path, abort: true });
      return;
    }
    const bad = findJsonProblem(value, { text: true });
    if (bad?.kind === 'text') ctx.addIssue({ code: 'custom', message: UNSTORABLE_TEXT, path: bad.path, abort: true });
  })
  .pipe(ruleNode);

/** Resolves a dot path; numeric segments index arrays. Only own properties, so `constructor` etc. never leak in. */
export function resolvePath(payload: unknown, dotPath: string): unknown {
  let current: unknown = payload;
  for (const segment of dotPath.split('.')) {
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(segment)) return undefined;
      current = current[Number(segment)];
    } else if (current !== null && typeof current === 'object') {
      if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
      current = (current as Record<string, unknown>)[segment];
    } else {
      return undefined;
    }
  }
  return current;
}

export function ruleMatches(rule: Rule, payload: unknown): boolean {
  if ('all' in rule) return rule.all.every((r) => ruleMatches(r, payload));
  if ('any' in rule) return rule.any.some((r) => ruleMatches(r, payload));
  const value = resolvePath(payload, rule.path);
  if ('equals' in rule) return value === rule.equals;
  if ('in' in rule) return rule.in.some((v) => v === value);
  return (value !== undefined) === rule.exists;
}

const MAX_DESCRIPTION = 300;

/** Short text for the match log, e.g. `type = "invoice.paid"`. */
export function describeRule(rule: Rule): string {
  const text = describe(rule, true);
  return text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 1)}…` : text;
}

function describe(rule: Rule, top: boolean): string {
  if ('all' in rule || 'any' in rule) {
    const [parts, joiner] = 'all' in rule ? [rule.all, ' AND '] : [rule.any, ' OR '];
    const inner = parts.map((r) => describe(r, false)).join(joiner);
    // A single child needs no grouping; nested groups keep parentheses so precedence reads unambiguously.
    return top || parts.length === 1 ? inner : `(${inner})`;
  }
  if ('equals' in rule) return `${rule.path} = ${JSON.stringify(rule.equals)}`;
  if ('in' in rule) return `${rule.path} in [${rule.in.map((v) => JSON.stringify(v)).join(', ')}]`;
  return rule.exists ? `${rule.path} exists` : `${rule.path} does not exist`;
}
