import { createHash } from 'node:crypto';
import { resolvePath } from './rules.js';

/**
 * Keys for reusing LLM match answers. An answer is reused for a payload with the same structure
 * (payloadShapeKey: keys and value types, no values) whose values at the fields the model said its
 * choice depended on are the same (valuesKey). Structure alone is never enough: "an invoice over 1,000"
 * depends on the amount, and every invoice has the same structure.
 */

const MAX_DEPTH = 12;
/** Keys per object that are described; the rest are summarised by their count. */
const MAX_KEYS = 200;
/** Elements per array whose shapes are unioned; arrays are usually homogeneous, so a sample suffices. */
const MAX_ARRAY_SAMPLE = 50;
/** Distinct element shapes per array before the union is summarised. */
const MAX_UNION = 10;
const MAX_KEY_LENGTH = 200;
/** Total values visited per payload, so a huge payload costs bounded work. */
const MAX_NODES = 10_000;

// Bump when the description changes, so old cache entries stop matching rather than mislead.
const VERSION = 'shape-v2';

export function payloadShapeKey(payload: unknown): string {
  const budget = { nodes: MAX_NODES };
  return createHash('sha256').update(`${VERSION}\n${describe(payload, 0, budget)}`).digest('hex');
}

/** The "path" that stands for the whole payload (an answer that named no deciding fields). */
export const WHOLE_PAYLOAD = '$';

/**
 * The values a payload has at the given paths. Two payloads with the same key have the same values
 * there, so an answer that depended only on them holds for both. A missing field and a null differ.
 */
export function valuesKey(payload: unknown, paths: readonly string[]): string {
  const values = paths.map((p) => {
    const v = p === WHOLE_PAYLOAD ? payload : resolvePath(payload, p);
    return [p, v === undefined ? { $missing: true } : v];
  });
  return createHash('sha256').update(JSON.stringify(values)).digest('hex');
}

/**
 * Whether every path resolves in the payload. A path that resolves in none (a bracket path such as
 * `lines[0].amount`, a typo) reads as missing in every payload, so keying an answer on it would reuse
 * that answer whatever the payload's values: such an answer is keyed on the whole payload instead.
 */
export function resolvesAll(payload: unknown, paths: readonly string[]): boolean {
  return paths.every((p) => p === WHOLE_PAYLOAD || resolvePath(payload, p) !== undefined);
}

function describe(value: unknown, depth: number, budget: { nodes: number }): string {
  if (budget.nodes-- <= 0) return '…';
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    if (depth >= MAX_DEPTH) return 'array<…>';
    const shapes = new Set<string>();
    const n = Math.min(value.length, MAX_ARRAY_SAMPLE);
    for (let i = 0; i < n; i++) shapes.add(describe(value[i], depth + 1, budget));
    const sorted = [...shapes].sort();
    const union = sorted.length > MAX_UNION ? [...sorted.slice(0, MAX_UNION), `+${sorted.length - MAX_UNION}`] : sorted;
    return `array<${union.join('|')}>`;
  }
  if (typeof value === 'object') {
    if (depth >= MAX_DEPTH) return '{…}';
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    const parts = keys.slice(0, MAX_KEYS).map((key) => `${JSON.stringify(key.slice(0, MAX_KEY_LENGTH))}:${describe(record[key], depth + 1, budget)}`);
    if (keys.length > MAX_KEYS) parts.push(`+${keys.length - MAX_KEYS}`);
    return `{${parts.join(',')}}`;
  }
  // string, number, boolean (and, for totality, whatever else a non-JSON caller passes in).
  return typeof value;
}
