import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';

// Histories recorded from earlier code (`npm run histories:record`: test/replay/histories/<commit>/)
// replayed against today's workflows: a change that would break a run in flight at a deploy (a
// command added, removed or reordered without `patched()`) fails here instead of in production.

const ROOT = join(import.meta.dirname, '../replay/histories');

interface Recorded {
  name: string;
  workflowId: string;
  workflowType: string;
  history: temporal.api.history.v1.History;
}

async function recordedSets(): Promise<Recorded[]> {
  const out: Recorded[] = [];
  for (const set of (await readdir(ROOT)).sort()) {
    const index: Record<string, { workflowId: string; workflowType: string }> = JSON.parse(await readFile(join(ROOT, set, 'index.json'), 'utf8'));
    for (const [name, entry] of Object.entries(index)) {
      out.push({ name: `${set}/${name}`, ...entry, history: temporal.api.history.v1.History.decode(await readFile(join(ROOT, set, `${name}.pb`))) });
    }
  }
  return out;
}

it('every recorded history replays on the current workflow code', async () => {
  const recorded = await recordedSets();
  // Every workflow that runs per event, the retired agentRun and deliverWebhook included (runs of them may be in flight).
  expect(new Set(recorded.map((r) => r.workflowType))).toEqual(new Set(['deliverEvent', 'deliverWebhook', 'ingestRoomEvent', 'roomScheduler', 'ingestGenericEvent', 'agentRun']));
  const failures: string[] = [];
  let replayed = 0;
  // Two sets may hold the same workflow id; the replayer is given a unique one per history.
  const histories = recorded.map((r, i) => ({ workflowId: `${i}:${r.workflowId}`, history: r.history }));
  for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: inject('workflowBundlePath') } }, histories)) {
    replayed++;
    if (r.error) failures.push(`${recorded[Number(r.workflowId.split(':')[0])].name}: ${r.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(recorded.length);
});
