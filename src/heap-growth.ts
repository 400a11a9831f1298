import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full collection before it
 * collects again. V8's own choice (0) lets a worker's heap triple between collections (60 → 177 MiB
 * in `npm run bench:soak`), which reads as growth to whoever watches resident memory or sets a
 * container limit; a fixed percentage keeps memory near the live set for more frequent collections.
 * V8 reads the flag at each collection, so setting it at start takes effect.
 */
export function applyHeapGrowth(percent: number): void {
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
