import type { Running } from './processes.js';

// A supervised process: started, and started again whenever it exits or is killed by anyone but us,
// after a short backoff, like docker-compose's `restart: unless-stopped`. stop() ends it for good.

export interface SupervisedSpec {
  name: string;
  /** What it is, for the state file: postgres, temporal-frontend, api, worker… */
  role: string;
  /** Starts the process (or adopts one already running, as PostgreSQL after `pg_ctl restart`). */
  start: () => Promise<Running>;
  /** Facts for the state file: ports, addresses, log file. */
  info?: Record<string, unknown>;
}

export type SupervisedStatus = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

export interface SupervisedState {
  name: string;
  role: string;
  pid: number | null;
  status: SupervisedStatus;
  /** How many times it was restarted after exiting on its own or being killed. */
  restarts: number;
  startedAt: string | null;
  lastExit: string | null;
  [info: string]: unknown;
}

export interface Supervised {
  name: string;
  state(): SupervisedState;
  /** The current process, if one runs. */
  current(): Running | null;
  /** Stops it and ends supervision (no restart). */
  stop(): Promise<void>;
}

/** Backoff after an exit: 0.5 s, 1 s, 2 s, 4 s, then 5 s while it keeps failing quickly. */
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 5_000;
/** A process that ran this long before exiting starts over at the shortest delay. */
const STABLE_AFTER_MS = 10_000;

export function supervise(
  spec: SupervisedSpec,
  hooks: { log: (line: string) => void; onChange: () => void; lastOutput?: () => string[] },
): Supervised {
  const state: SupervisedState = {
    ...spec.info,
    name: spec.name,
    role: spec.role,
    pid: null,
    status: 'starting',
    restarts: 0,
    startedAt: null,
    lastExit: null,
  };
  let current: Running | null = null;
  let stopping = false;
  let wake: (() => void) | null = null;
  const set = (patch: Partial<SupervisedState>) => {
    Object.assign(state, patch);
    hooks.onChange();
  };

  const loop = (async () => {
    let quickFailures = 0;
    while (!stopping) {
      set({ status: 'starting' });
      const startedAt = Date.now();
      let how: string;
      try {
        const running = await spec.start();
        current = running;
        if (stopping) break;
        set({ pid: running.pid, status: 'running', startedAt: new Date().toISOString() });
        how = await running.exited;
      } catch (e) {
        how = `could not be started: ${(e as Error).message}`;
      }
      current = null;
      set({ pid: null, lastExit: how });
      if (stopping) break;

      quickFailures = Date.now() - startedAt >= STABLE_AFTER_MS ? 0 : quickFailures + 1;
      const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, quickFailures - 1));
      set({ status: 'restarting', restarts: state.restarts + 1 });
      const output = hooks.lastOutput?.() ?? [];
      hooks.log(
        `${spec.name} ${how}; restarting in ${(delay / 1000).toFixed(1)}s (restart #${state.restarts})` +
          (output.length > 0 ? `\n  last output:\n${output.map((l) => `    ${l}`).join('\n')}` : ''),
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  })();

  let stopped: Promise<void> | undefined;
  return {
    name: spec.name,
    state: () => ({ ...state }),
    current: () => current,
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        set({ status: 'stopping' });
        wake?.();
        await current?.stop();
        await loop;
        // A start that was under way when we began stopping: the loop left it to us.
        await current?.stop();
        current = null;
        set({ pid: null, status: 'stopped' });
      })()),
  };
}
