import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Db } from '../../src/db/pool.js';
import type { PollingActivities, PollingSchedulerInput, pollingRoomScheduler } from './polling-scheduler.js';

// bench:rooms' baseline, run in the benchmark's own process: a worker for pollingRoomScheduler
// (polling-scheduler.ts) on a task queue of its own, its table, and the starting and terminating of one
// workflow per room. Its items are done as hookwise's are: one chat completion from the same stand-in
// model, then the row is marked done.

export const POLLING_WORKFLOW_PATH = fileURLToPath(new URL('./polling-scheduler.ts', import.meta.url));
const TABLE = 'bench_rooms_polling_items';

export async function createBaselineTable(db: Db): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (
    id bigserial PRIMARY KEY, room_id text NOT NULL, status text NOT NULL DEFAULT 'pending',
    created_at timestamptz NOT NULL DEFAULT now(), done_at timestamptz)`);
  // The poll every tick is an index probe that finds nothing, as a well-built poller's would be.
  await db.query(`CREATE INDEX IF NOT EXISTS ${TABLE}_pending ON ${TABLE} (room_id) WHERE status = 'pending'`);
}

export async function insertBaselineItem(db: Db, roomId: string): Promise<void> {
  await db.query(`INSERT INTO ${TABLE} (room_id) VALUES ($1)`, [roomId]);
}

export async function baselineProgress(db: Db): Promise<{ done: number; total: number; firstCreated: number | null; lastDone: number | null }> {
  const { rows } = await db.query(
    `SELECT count(*) FILTER (WHERE status = 'done')::int AS done, count(*)::int AS total,
            (extract(epoch FROM min(created_at)) * 1000)::float8 AS "firstCreated",
            (extract(epoch FROM max(done_at)) * 1000)::float8 AS "lastDone"
       FROM ${TABLE}`,
  );
  return rows[0];
}

function activities(db: Db, llmBaseUrl: string): PollingActivities {
  return {
    async pollRoomBacklog({ roomId }) {
      const { rows } = await db.query(`SELECT id FROM ${TABLE} WHERE room_id = $1 AND status = 'pending' ORDER BY id`, [roomId]);
      for (const { id } of rows as Array<{ id: string }>) {
        const res = await fetch(`${llmBaseUrl}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
          body: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: `item ${id} of room ${roomId}` }] }),
        });
        if (!res.ok) throw new Error(`model answered ${res.status}`);
        await res.json();
        await db.query(`UPDATE ${TABLE} SET status = 'done', done_at = now() WHERE id = $1 AND status = 'pending'`, [id]);
      }
      return rows.length;
    },
  };
}

export interface BaselineRun {
  startRooms(roomIds: string[], tickMs: number, perSecond: number): Promise<void>;
  terminateAll(): Promise<void>;
  /** Stops the worker (first, so that terminated workflows' last tasks are not answered), then the connections. */
  stop(): Promise<void>;
}

export async function startBaseline(o: {
  address: string;
  namespace: string;
  taskQueue: string;
  bundlePath: string;
  db: Db;
  llmBaseUrl: string;
}): Promise<BaselineRun> {
  const native = await NativeConnection.connect({ address: o.address });
  const worker = await Worker.create({
    connection: native,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    workflowBundle: { codePath: o.bundlePath },
    activities: activities(o.db, o.llmBaseUrl),
    // As hookwise's worker (src/roots/worker.ts), so worker settings are not what differs.
    maxConcurrentActivityTaskExecutions: 200,
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: o.address });
  const client = new Client({ connection, namespace: o.namespace });
  const started: string[] = [];
  let stopping: Promise<void> | undefined;
  const run: BaselineRun = {
    async startRooms(roomIds, tickMs, perSecond) {
      const t0 = performance.now();
      let next = 0;
      const lane = async () => {
        while (next < roomIds.length) {
          const i = next++;
          const due = t0 + (i * 1000) / perSecond;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          const input: PollingSchedulerInput = { roomId: roomIds[i], tickMs };
          const workflowId = `polling-scheduler:${roomIds[i]}`;
          await client.workflow.start<typeof pollingRoomScheduler>('pollingRoomScheduler', { taskQueue: o.taskQueue, workflowId, args: [input] });
          started.push(workflowId);
        }
      };
      await Promise.all(Array.from({ length: 16 }, lane));
    },
    async terminateAll() {
      let next = 0;
      const lane = async () => {
        while (next < started.length) {
          const id = started[next++];
          await client.workflow
            .getHandle(id)
            .terminate('bench:rooms is done')
            .catch(() => undefined);
        }
      };
      await Promise.all(Array.from({ length: 16 }, lane));
      started.length = 0;
    },
    stop() {
      return (stopping ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
        await run.terminateAll();
        await connection.close();
        await native.close();
      })());
    },
  };
  return run;
}
