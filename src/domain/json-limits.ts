import { isStorableText, UNSTORABLE_TEXT } from './storable-text.js';

/**
 * The deepest JSON any request may carry: 64 nested objects or arrays (`{}` is depth 1). Real event
 * payloads stay far below it (Stripe's deepest is about 8). Past a few thousand levels,
 * `JSON.stringify`, the pg driver and recursive code throw `RangeError`, so a deeper document is
 * refused at the door, before anything stores or forwards it.
 */
export const MAX_JSON_DEPTH = 64;

export type JsonProblem = { kind: 'depth' | 'text'; path: string };

/**
 * The first thing about a parsed JSON value that hookwise won't take: nesting deeper than `maxDepth`,
 * or (with `text: true`) a key or string value PostgreSQL can't store. Iterative, with an explicit
 * stack, so a 100,000-level document costs a loop, not the call stack; it stops at the first problem.
 */
export function findJsonProblem(value: unknown, o: { maxDepth?: number; text?: boolean } = {}): JsonProblem | null {
  const maxDepth = o.maxDepth ?? MAX_JSON_DEPTH;
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: '' }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const v = node.value;
    if (typeof v === 'string') {
      if (o.text && !isStorableText(v)) return { kind: 'text', path: node.path };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    const depth = node.depth + 1;
    if (depth > maxDepth) return { kind: 'depth', path: node.path };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], depth, path: join(node.path, String(i)) });
    } else {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i];
        const path = join(node.path, key);
        if (o.text && !isStorableText(key)) return { kind: 'text', path };
        stack.push({ value: (v as Record<string, unknown>)[key], depth, path });
      }
    }
  }
  return null;
}

/** The same check's depth half: true when `value` nests deeper than `maxDepth`. */
export function exceedsJsonDepth(value: unknown, maxDepth = MAX_JSON_DEPTH): boolean {
  return findJsonProblem(value, { maxDepth })?.kind === 'depth';
}

/** Readable problem text for answers: `nested too deeply at a.b.c (max depth 64)`. */
export function describeJsonProblem(p: JsonProblem, maxDepth = MAX_JSON_DEPTH): string {
  const where = p.path ? ` at ${shorten(p.path)}` : '';
  return p.kind === 'depth'
    ? `nested too deeply${where} (max depth ${maxDepth})`
    : `contains text that cannot be stored${where}: keys and strings ${UNSTORABLE_TEXT}`;
}

const join = (parent: string, key: string) => (parent === '' ? key : `${parent}.${key}`);

/** Paths of hostile documents can be megabytes long and hold the bad text itself: answers carry a readable head. */
function shorten(path: string): string {
  const head = path.length > 200 ? `${path.slice(0, 200)}…` : path;
  return (head.replaceAll('\u0000', '\\u0000') as string & { toWellFormed(): string }).toWellFormed();
}
