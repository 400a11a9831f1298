import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Connection } from '@temporalio/client';
import { freePorts } from './free-port.js';
import { dynamicConfigArgs } from './temporal-server-config.js';
import { killWithParent } from './processes.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TemporalDevServerOptions {
  cliPath: string;
  /** SQLite file for persistent state; in-memory when omitted. */
  dbFile?: string;
  ui: boolean;
  port?: number;
  uiPort?: number;
  /** Extra namespace to create besides `default`. */
  namespace?: string;
  log?: (line: string) => void;
}

export interface TemporalDevServer {
  address: string;
  uiUrl: string | null;
  pid: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

/**
 * Starts `temporal server start-dev` bound to 127.0.0.1 and resolves once its frontend answers
 * gRPC calls and the namespace exists. The server is killed if this process goes away.
 */
export async function startTemporalDevServer(o: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const log = o.log ?? ((line: string) => console.error(line));
  const namespace = o.namespace ?? 'default';
  let port = o.port;
  let uiPort = o.ui ? o.uiPort : undefined;
  if (port === undefined || (o.ui && uiPort === undefined)) {
    const [a, b] = await freePorts(2);
    port ??= a;
    if (o.ui) uiPort ??= b === port ? a : b;
  }

  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port)];
  if (o.ui) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  if (o.dbFile !== undefined) {
    const dbFile = resolve(o.dbFile);
    mkdirSync(dirname(dbFile), { recursive: true });
    args.push('--db-filename', dbFile);
  }
  args.push('--namespace', 'default');
  if (namespace !== 'default') args.push('--namespace', namespace);
  args.push('--log-level', 'warn');
  // The same dynamic config as the production engine's (why each: src/dev/temporal-server-config.ts).
  args.push(...dynamicConfigArgs());

  const address = `127.0.0.1:${port}`;
  const uiUrl = o.ui ? `http://127.0.0.1:${uiPort}` : null;
  log(`[temporal] starting dev server: ${o.cliPath} ${args.join(' ')}`);

  const started = Date.now();
  const tail: string[] = [];
  let ready = false;
  // Own process group: a terminal Ctrl-C goes to our process only, which then stops things in order.
  const child = spawn(o.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let exitInfo: string | null = null;
  const exited = new Promise<void>((res) => {
    child.once('error', (e) => {
      exitInfo ??= `failed to start: ${e.message}`;
      res();
    });
    child.once('exit', (code, signal) => {
      exitInfo ??= `exited with ${code ?? signal}`;
      res();
    });
  });
  let stopping: Promise<void> | undefined;
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      // stdout is only a banner, and output before readiness or during shutdown is only interesting
      // on failure (shutdown logs a burst of harmless warnings); warnings while running do matter.
      if (ready && stopping === undefined && stream === child.stderr) log(`[temporal] ${line}`);
    });
  }
  const cleanup = killWithParent(child.pid, 'SIGTERM');

  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (exitInfo === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      cleanup();
    })());

  const fail = async (why: string): Promise<never> => {
    await stop();
    throw new Error(
      `Temporal dev server ${why}.\nCommand: ${o.cliPath} ${args.join(' ')}\nLast output:\n${tail.join('\n') || '(none)'}`,
    );
  };

  const deadline = started + READY_TIMEOUT_MS;
  for (;;) {
    if (exitInfo !== null) return fail(exitInfo);
    if (Date.now() > deadline) return fail(`was not ready within ${READY_TIMEOUT_MS / 1000}s`);
    if ((await canConnect(port)) && (await answersGrpc(address, namespace)) && (uiPort === undefined || (await canConnect(uiPort)))) break;
    await Promise.race([exited, sleep(250)]);
  }
  ready = true;
  log(`[temporal] dev server ready at ${address}${uiUrl ? `, UI ${uiUrl}` : ''} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  return { address, uiUrl, pid: child.pid ?? -1, stop };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      res(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function answersGrpc(address: string, namespace: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 2000 });
    const c = connection;
    await c.withDeadline(Date.now() + 3000, async () => {
      await c.workflowService.getSystemInfo({});
      // The namespace is registered during start-up; workers fail confusingly if we hand out the address earlier.
      await c.workflowService.describeNamespace({ namespace });
    });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => {});
  }
}
