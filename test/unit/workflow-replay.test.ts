import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';

// Histories recorded from earlier code (`npm run histories:record`, test/replay/) replayed against
// today's workflows: a change that would break a run in flight at a deploy (a command added, removed
// or reordered without `patched()`) fails here instead of in production.

const DIR = join(import.meta.dirname, '../replay/histories');

it('every recorded history replays on the current workflow code', async () => {
  const index: Record<string, { workflowId: string; workflowType: string }> = JSON.parse(await readFile(join(DIR, 'index.json'), 'utf8'));
  const names = Object.keys(index).sort();
  // One of each workflow that runs per event, at least.
  expect(new Set(names.map((n) => index[n].workflowType))).toEqual(new Set(['deliverWebhook', 'ingestRoomEvent', 'roomScheduler', 'ingestGenericEvent', 'agentRun']));
  const histories = await Promise.all(
    names.map(async (name) => ({ workflowId: index[name].workflowId, history: temporal.api.history.v1.History.decode(await readFile(join(DIR, `${name}.pb`))) })),
  );
  const failures: string[] = [];
  let replayed = 0;
  for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: inject('workflowBundlePath') } }, histories)) {
    replayed++;
    if (r.error) failures.push(`${names[histories.findIndex((x) => x.workflowId === r.workflowId)]}: ${r.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(names.length);
});
