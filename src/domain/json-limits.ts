import { isStorableText, UNSTORABLE_TEXT } from './storable-text.js';

/**
 * The deepest JSON any request may carry: 64 nested objects or arrays (`{}` is depth 1). Real event
 * payloads stay far below it (Stripe's deepest is about 8). Past a few thousand levels,
 * `JSON.stringify`, the pg driver and recursive code throw `RangeError`, so a deeper document is
 * refused at the door, before anything stores or forwards it.
 */
export const MAX_JSON_DEPTH = 64;

export type JsonPath = Array<string | number>;
export type JsonProblem = { kind: 'depth' | 'text'; path: JsonPath };

type Node = { value: unknown; depth: number; key: string | number | null; parent: Node | null };

/**
 * The first thing about a parsed JSON value that hookwise won't take: nesting deeper than `maxDepth`,
 * or (with `text: true`) a key or string value PostgreSQL can't store. Iterative, with an explicit
 * stack, so a 100,000-level document costs a loop, not the call stack; it stops at the first problem.
 */
export function findJsonProblem(value: unknown, o: { maxDepth?: number; text?: boolean } = {}): JsonProblem | null {
  const maxDepth = o.maxDepth ?? MAX_JSON_DEPTH;
  const stack: Node[] = [{ value, depth: 0, key: null, parent: null }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const v = node.value;
    if (typeof v === 'string') {
      if (o.text && !isStorableText(v)) return { kind: 'text', path: pathOf(node) };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    const depth = node.depth + 1;
    if (depth > maxDepth) return { kind: 'depth', path: pathOf(node) };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], depth, key: i, parent: node });
    } else {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i];
        const child: Node = { value: (v as Record<string, unknown>)[key], depth, key, parent: node };
        if (o.text && !isStorableText(key)) return { kind: 'text', path: pathOf(child) };
        stack.push(child);
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
  const where = p.path.length > 0 ? ` at ${readablePath(p.path)}` : '';
  return p.kind === 'depth'
    ? `nested too deeply${where} (max depth ${maxDepth})`
    : `contains text that cannot be stored${where}: keys and strings ${UNSTORABLE_TEXT}`;
}

/**
 * `a.b.0.c`, shortened: paths of hostile documents can be long and hold the bad text itself, so
 * answers carry a readable, well-formed head.
 */
export function readablePath(path: JsonPath): string {
  const joined = path.join('.');
  const head = joined.length > 200 ? `${joined.slice(0, 200)}…` : joined;
  return (head.replaceAll('\u0000', '\\u0000') as string & { toWellFormed(): string }).toWellFormed();
}

function pathOf(node: Node): JsonPath {
  const path: JsonPath = [];
  for (let n: Node | null = node; n && n.key !== null; n = n.parent) path.push(n.key);
  return path.reverse();
}
