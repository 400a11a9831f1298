/**
 * Starts workflows after the sender has had its answer. An inbound event is acknowledged once its row
 * is committed in PostgreSQL; the workflow start (a round trip to Temporal that costs far more than the
 * insert) runs here, a bounded number at a time. When the queue is full, or the process dies, nothing is
 * lost: the row is still unstarted, and the worker's recovery loop starts it.
 */
export function createBackgroundStarter(options: {
  concurrency?: number;
  maxQueued?: number;
  log: (line: string) => void;
  /** Counts starts left to recovery, by flow. */
  deferred?: (flow: string) => void;
}) {
  const concurrency = options.concurrency ?? 32;
  const maxQueued = options.maxQueued ?? 10_000;
  const queue: Array<{ flow: string; what: string; start: () => Promise<unknown> }> = [];
  let active = 0;
  let overflowed = 0;
  let idle: Array<() => void> = [];

  function pump(): void {
    while (active < concurrency && queue.length > 0) {
      const job = queue.shift()!;
      active++;
      job
        .start()
        .catch((err) => {
          options.deferred?.(job.flow);
          options.log(`${job.what}: workflow not started yet (${(err as Error).message}); recovery will start it`);
        })
        .finally(() => {
          active--;
          pump();
          if (active === 0 && queue.length === 0) {
            for (const resolve of idle) resolve();
            idle = [];
          }
        });
    }
  }

  return {
    submit(flow: string, what: string, start: () => Promise<unknown>): void {
      if (queue.length >= maxQueued) {
        options.deferred?.(flow);
        if (overflowed++ % 1000 === 0) options.log(`background starter full (${maxQueued} queued); recovery will start the rest`);
        return;
      }
      queue.push({ flow, what, start });
      pump();
    },
    /** Resolves once everything submitted so far has been tried (for shutdown and tests). */
    drained(): Promise<void> {
      if (active === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}

export type BackgroundStarter = ReturnType<typeof createBackgroundStarter>;
