import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { log } from './support.js';

// A CPU profile of the running process, for bench:ingress (its API during the max scenario) and
// bench:delivery --profile (each host process over the whole run).

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
}

/** Where a profile's self time went, by package (node_modules/<pkg>), node internals, hookwise's own code. */
export function summarizeProfile(profile: { nodes: ProfileNode[] }): Array<{ where: string; pct: number }> {
  const byWhere = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const url = n.callFrame.url;
    let where: string;
    const nm = url.lastIndexOf('node_modules/');
    if (nm >= 0) {
      const parts = url.slice(nm + 'node_modules/'.length).split('/');
      where = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
    } else if (url.startsWith('node:')) where = `node:${url.slice(5).split('/')[0] === 'internal' ? url.slice(5).split('/').slice(1, 2).join('') || 'internal' : url.slice(5)}`;
    else if (url.includes('/src/')) where = `hookwise ${url.slice(url.indexOf('/src/') + 1).split('/').slice(0, 2).join('/')}`;
    else if (url.includes('/bench/')) where = 'bench probes';
    else if (url === '') where = n.callFrame.functionName || '(anonymous native)';
    else where = url;
    byWhere.set(where, (byWhere.get(where) ?? 0) + hits);
  }
  return [...byWhere]
    .map(([where, hits]) => ({ where, pct: Math.round((hits / Math.max(1, total)) * 1000) / 10 }))
    .sort((a, b) => b.pct - a.pct);
}

/** Starts a CPU profile of this process; the returned function stops it, writes it to `file` and summarizes it. */
export async function startCpuProfile(file: string): Promise<() => Promise<Array<{ where: string; pct: number }>>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = (await session.post('Profiler.stop')) as { profile: { nodes: ProfileNode[] } };
    session.disconnect();
    await writeFile(file, JSON.stringify(profile));
    log(`CPU profile written to ${file}`);
    return summarizeProfile(profile);
  };
}
