import { payloadShapeKey, valuesKey } from '../../src/domain/payload-shape.js';
import { resolvePath } from '../../src/domain/rules.js';
import { DEFINITIONS, type DefinitionSpec, type Fact } from './definitions.js';
import { Rand } from './rand.js';
import { SHAPES, type ShapeSpec } from './shapes.js';

// The event stream of bench:llm and its ground truth: which definition each event is, and which
// fields that answer depended on. The same ground truth drives the stand-in model (./model.ts), so
// the model is perfect and names exactly the fields its decision read.

export interface Truth {
  /** The name of the first definition, in priority order, that the event is; null for none. */
  definition: string | null;
  /** Every payload field whose value the answer depended on (sorted): what a perfect model names. */
  decidedBy: string[];
}

/**
 * Walks the definitions in priority order as a careful reader would: a definition for another kind of
 * payload is ruled out by the structure alone (no value read); otherwise its test reads the fields it
 * needs. The fields read until the first match (or the end) are what the answer depended on.
 */
export function decide(shape: ShapeSpec, payload: unknown, definitions: readonly DefinitionSpec[]): Truth {
  const read = new Set<string>();
  const get = (path: string) => {
    read.add(path);
    return resolvePath(payload, path);
  };
  const fact = (f: Fact) => shape.facts[f]?.(get);
  for (const d of definitions) {
    if (d.kinds.includes(shape.kind) && d.test(fact)) return { definition: d.name, decidedBy: [...read].sort() };
  }
  return { definition: null, decidedBy: [...read].sort() };
}

export interface StreamEvent {
  shape: number;
  payload: Record<string, unknown>;
  truth: Truth;
  /** hookwise's payload-shape key: what the match cache keys on besides the deciding values. */
  shapeKey: string;
  /** (shape, deciding paths and their values): events with the same pair need the same answer. */
  pair: string;
}

export interface Stream {
  shapes: readonly ShapeSpec[];
  definitions: readonly DefinitionSpec[];
  events: StreamEvent[];
  /** Shape key → index into `shapes`, for the stand-in model to know what it is reading. */
  shapeByKey: Map<string, number>;
}

export function generateStream(o: { events: number; shapes: number; definitions: number; seed: number }): Stream {
  if (o.shapes < 1 || o.shapes > SHAPES.length) throw new Error(`--shapes must be 1…${SHAPES.length}`);
  if (o.definitions < 1 || o.definitions > DEFINITIONS.length) throw new Error(`--definitions must be 1…${DEFINITIONS.length}`);
  const shapes = SHAPES.slice(0, o.shapes);
  const definitions = DEFINITIONS.slice(0, o.definitions);
  const r = new Rand(o.seed);

  // One structure per shape, and no two shapes alike: checked on a sample of each.
  const shapeByKey = new Map<string, number>();
  shapes.forEach((s, i) => {
    const key = payloadShapeKey(s.build(new Rand(o.seed + i + 1)));
    if (shapeByKey.has(key)) throw new Error(`shapes ${shapes[shapeByKey.get(key)!].name} and ${s.name} have the same structure`);
    shapeByKey.set(key, i);
  });

  const events: StreamEvent[] = [];
  for (let i = 0; i < o.events; i++) {
    const shape = r.int(shapes.length);
    const payload = shapes[shape].build(r);
    const shapeKey = payloadShapeKey(payload);
    if (shapeByKey.get(shapeKey) !== shape) throw new Error(`shape ${shapes[shape].name} produced a payload of another structure`);
    const truth = decide(shapes[shape], payload, definitions);
    events.push({ shape, payload, truth, shapeKey, pair: `${shapeKey}:${valuesKey(payload, truth.decidedBy)}` });
  }
  return { shapes, definitions, events, shapeByKey };
}
