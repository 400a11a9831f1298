import type { Db } from '../src/db/pool.js';
import { statementKind } from './sql-kinds.js';

// Who waits on whom in PostgreSQL while a phase runs: pg_stat_activity sampled every SAMPLE_MS,
// counting the app database's backends that wait on a heavyweight lock (a row or a transaction id:
// what two transactions touching the same row do) or a lightweight lock, by the statement waiting.

const SAMPLE_MS = 100;

export interface LockWaits {
  samples: number;
  /** Backends waiting, on average per sample. */
  meanWaiting: number;
  /** The most frequent waits: `<statement kind> (<wait event>)` and in how many samples × backends. */
  top: Array<{ what: string; samples: number }>;
}

export function lockSampler(db: Db, database: string): { stop(): Promise<LockWaits> } {
  let samples = 0;
  let waiting = 0;
  const byWhat = new Map<string, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      try {
        const { rows } = await db.query(
          `SELECT wait_event_type AS type, wait_event AS event, query FROM pg_stat_activity
            WHERE datname = $1 AND state = 'active' AND wait_event_type IN ('Lock', 'LWLock')`,
          [database],
        );
        samples++;
        waiting += rows.length;
        for (const r of rows as Array<{ type: string; event: string; query: string }>) {
          const what = `${statementKind(r.query ?? '')} (${r.type}: ${r.event})`;
          byWhat.set(what, (byWhat.get(what) ?? 0) + 1);
        }
      } catch {
        // A sample lost to a busy machine is just a sample fewer.
      }
      await new Promise((r) => setTimeout(r, Math.max(0, SAMPLE_MS - (performance.now() - t0))));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return {
        samples,
        meanWaiting: samples === 0 ? 0 : Math.round((waiting / samples) * 100) / 100,
        top: [...byWhat]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 5)
          .map(([what, n]) => ({ what, samples: n })),
      };
    },
  };
}
