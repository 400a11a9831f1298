import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// HOOKWISE_HEAP_GROWTH_PERCENT: the same allocation pattern (a live set, and garbage that lives long
// enough to be promoted) peaks lower with a fixed growth than with V8's own choice. In a fresh process
// each, since the flag is process-wide.
const MODULE = fileURLToPath(new URL('../../src/heap-growth.ts', import.meta.url));
const CHILD = `
import { applyHeapGrowth } from ${JSON.stringify(MODULE)};
applyHeapGrowth(Number(process.env.PERCENT));
const live = [];
for (let i = 0; i < 300_000; i++) live.push({ a: i, b: 'x' + i });
const ring = new Array(40).fill(null);
let peak = 0;
for (let r = 0; r < 600; r++) {
  const batch = [];
  for (let i = 0; i < 5_000; i++) batch.push({ i, s: 'y' + i + r });
  ring[r % ring.length] = batch;
  peak = Math.max(peak, process.memoryUsage().heapUsed);
}
process.stdout.write(String(peak + live.length * 0));
`;

function peakHeap(percent: number): number {
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    env: { ...process.env, PERCENT: String(percent) },
    encoding: 'utf8',
  });
  return Number(out);
}

describe('applyHeapGrowth', () => {
  it('keeps the heap nearer its live set than V8’s own growth does', () => {
    const v8Own = peakHeap(0);
    const fixed = peakHeap(25);
    expect(v8Own).toBeGreaterThan(0);
    expect(fixed).toBeLessThan(v8Own * 0.8);
  }, 60_000);
});
