import { createHash } from 'node:crypto';

/**
 * A cache key for LLM match answers: two payloads get the same key when they have the same structure
 * and the same discriminator values. Structure alone is not enough — every Stripe event has the same
 * envelope and only `type` tells `invoice.paid` from `customer.deleted` — so short string values of
 * the usual discriminator fields are part of the key, at any depth. Other values (ids, amounts, names)
 * are not, so the cache actually gets hits.
 */

const DISCRIMINATORS = new Set(['type', 'event', 'event_type', 'action', 'status', 'object', 'kind']);
const MAX_DISCRIMINATOR_LENGTH = 100;
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
const VERSION = 'shape-v1';

export function payloadShapeKey(payload: unknown): string {
  const budget = { nodes: MAX_NODES };
  return createHash('sha256').update(`${VERSION}\n${describe(payload, 0, budget)}`).digest('hex');
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
    const parts: string[] = [];
    for (const key of keys.slice(0, MAX_KEYS)) {
      const child = record[key];
      let part = `${JSON.stringify(key.slice(0, MAX_KEY_LENGTH))}:${describe(child, depth + 1, budget)}`;
      if (DISCRIMINATORS.has(key) && typeof child === 'string' && child.length <= MAX_DISCRIMINATOR_LENGTH) {
        part += `=${JSON.stringify(child)}`;
      }
      parts.push(part);
    }
    if (keys.length > MAX_KEYS) parts.push(`+${keys.length - MAX_KEYS}`);
    return `{${parts.join(',')}}`;
  }
  // string, number, boolean (and, for totality, whatever else a non-JSON caller passes in).
  return typeof value;
}
