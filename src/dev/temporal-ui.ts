import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { freePortsInRange } from './free-port.js';
import { spawnProcess, type Running } from './processes.js';
import { setTimeout as sleep } from 'node:timers/promises';

// The Temporal UI server (github.com/temporalio/ui-server) in front of a frontend: config in
// <dir>/development.yaml, started as `server --root <dir> --config . --env development start`.

export interface UiConfigOptions {
  temporalAddress: string;
  port: number;
  namespace: string;
}

export async function writeUiConfig(dir: string, o: UiConfigOptions): Promise<void> {
  await mkdir(dir, { recursive: true });
  const url = uiUrl(o.port);
  const config = {
    temporalGrpcAddress: o.temporalAddress,
    host: '127.0.0.1',
    port: o.port,
    enableUi: true,
    defaultNamespace: o.namespace,
    // Plain http on loopback: the CSRF cookie must not require https.
    cors: { allowOrigins: [url], cookieInsecure: true },
    refreshInterval: '1m',
    notifyOnNewVersion: false,
    hideLogs: true,
  };
  await writeFile(join(dir, 'development.yaml'), JSON.stringify(config, null, 2) + '\n');
}

export const uiArgs = (dir: string): string[] => ['--root', dir, '--config', '.', '--env', 'development', 'start'];
export const uiUrl = (port: number): string => `http://127.0.0.1:${port}`;

export async function pickUiPort(preferred?: number): Promise<number> {
  const [port] = await freePortsInRange(1, [preferred]);
  return port;
}

/** Waits until the UI serves its page. */
export async function waitForUi(url: string, proc: Pick<Running, 'exitInfo'> | null, deadline: number): Promise<void> {
  for (;;) {
    const exit = proc?.exitInfo();
    if (exit) throw new Error(`Temporal UI ${exit}`);
    if (Date.now() > deadline) throw new Error(`Temporal UI did not answer at ${url} in time`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not yet
    }
    await sleep(250);
  }
}

export interface TemporalUiHandle {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startTemporalUi(o: {
  binary: string;
  temporalAddress: string;
  namespace: string;
  dir: string;
  preferredPort?: number;
  log: (line: string) => void;
}): Promise<TemporalUiHandle> {
  const dir = resolve(o.dir);
  const port = await pickUiPort(o.preferredPort);
  await writeUiConfig(dir, { temporalAddress: o.temporalAddress, port, namespace: o.namespace });
  const url = uiUrl(port);
  const started = Date.now();
  const ui = spawnProcess(o.binary, uiArgs(dir), { cwd: dir });
  try {
    await waitForUi(url, ui, started + 30_000);
  } catch (e) {
    await ui.stop();
    throw new Error(`${(e as Error).message}\nLast output:\n${ui.tail().join('\n') || '(none)'}`);
  }
  o.log(`[temporal-ui] ready at ${url} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  return { url, pid: ui.pid, stop: ui.stop };
}
