import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { spawnProcess, type Running } from './processes.js';
import type { TemporalServerBinaries } from './temporal-binaries.js';
import { setupTemporalSchemas } from './temporal-schema.js';
import {
  frontendAddress,
  pickProcessPorts,
  pickServicePorts,
  serverArgs,
  writeDynamicConfig,
  writeServerConfig,
  type PostgresTarget,
  type ServicePorts,
  type TemporalDatabases,
} from './temporal-server-config.js';
import { setTimeout as sleep } from 'node:timers/promises';

// The production Temporal server on one machine, all four services (frontend, history, matching,
// worker) in one process, on PostgreSQL. The cluster (src/main/cluster.ts) runs them as four
// processes from the same pieces.

export interface TemporalServerOptions {
  binaries: TemporalServerBinaries;
  postgres: PostgresTarget;
  databases: TemporalDatabases;
  /** A database the user can always connect to, for create-database. */
  defaultDatabase: string;
  /** Config files go here. */
  configDir: string;
  namespace: string;
  /** Used for the frontend when free (e.g. 7233). */
  preferredPort?: number;
  log: (line: string) => void;
}

export interface TemporalServerHandle {
  address: string;
  ports: ServicePorts;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 120_000;

export async function startTemporalServer(o: TemporalServerOptions): Promise<TemporalServerHandle> {
  const { log } = o;
  await setupTemporalSchemas({ ...o });
  const configDir = resolve(o.configDir);
  await mkdir(configDir, { recursive: true });
  const dynamicConfigFile = join(configDir, 'dynamicconfig.yaml');
  await writeDynamicConfig(dynamicConfigFile);

  // A port we picked can be taken before the server binds it; then pick again.
  for (let attempt = 1; ; attempt++) {
    const ports = await pickServicePorts(o.preferredPort);
    await writeServerConfig(configDir, { ports, process: await pickProcessPorts(), postgres: o.postgres, databases: o.databases, dynamicConfigFile });
    const address = frontendAddress(ports);
    const started = Date.now();
    log(`[temporal] starting Temporal server ${o.binaries.version} at ${address} (config: ${configDir})`);
    // Its log (warnings and up) goes to a file: a healthy server still logs transient errors while its
    // services find each other and when they stop. A failure to start shows the last lines.
    const logFile = createWriteStream(join(configDir, 'server.log'));
    const server = spawnProcess(o.binaries.server, serverArgs(configDir, 'all'), {
      cwd: configDir,
      onLine: (line) => logFile.write(line + '\n'),
    });
    void server.exited.then(() => logFile.end());
    try {
      await waitForFrontend(address, server, started + READY_TIMEOUT_MS);
      await ensureNamespace(address, o.namespace, server, started + READY_TIMEOUT_MS);
    } catch (e) {
      await server.stop();
      const portTaken = server.tail().some((l) => /address already in use/i.test(l));
      if (portTaken && attempt < 3) {
        log('[temporal] a port was taken meanwhile; retrying with other ports');
        continue;
      }
      throw new Error(`Temporal server ${(e as Error).message}.\nLast output:\n${server.tail().join('\n') || '(none)'}`);
    }
    log(`[temporal] server ready at ${address}, namespace ${o.namespace} (${((Date.now() - started) / 1000).toFixed(1)}s; log: ${logFile.path})`);
    return { address, ports, pid: server.pid, logFile: String(logFile.path), stop: server.stop };
  }
}

/** Waits until the frontend at `address` answers gRPC. Throws if `proc` exits first or time runs out. */
export async function waitForFrontend(address: string, proc: Pick<Running, 'exitInfo'> | null, deadline: number): Promise<void> {
  for (;;) {
    const exit = proc?.exitInfo();
    if (exit) throw new Error(exit);
    if (Date.now() > deadline) throw new Error(`did not answer at ${address} in time`);
    try {
      await withConnection(address, (c) => c.workflowService.getSystemInfo({}));
      return;
    } catch {
      await sleep(250);
    }
  }
}

/**
 * Registers `namespace` (an existing one is fine) and waits until the server describes it, so that
 * nobody gets the address before workflows can be started in it.
 */
export async function ensureNamespace(address: string, namespace: string, proc: Pick<Running, 'exitInfo'> | null, deadline: number): Promise<void> {
  let last = '';
  for (;;) {
    const exit = proc?.exitInfo();
    if (exit) throw new Error(exit);
    if (Date.now() > deadline) throw new Error(`did not register namespace ${namespace} in time (${last})`);
    try {
      await withConnection(address, async (c) => {
        try {
          await c.workflowService.registerNamespace({
            namespace,
            // How long closed workflows stay visible in the UI.
            workflowExecutionRetentionPeriod: msToTs('7 days'),
          });
        } catch (e) {
          if ((e as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw e;
        }
        await c.workflowService.describeNamespace({ namespace });
      });
      return;
    } catch (e) {
      last = (e as Error).message;
      await sleep(250);
    }
  }
}

async function withConnection<T>(address: string, fn: (c: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address, connectTimeout: 2000 });
  try {
    return await connection.withDeadline(Date.now() + 5000, () => fn(connection));
  } finally {
    await connection.close().catch(() => {});
  }
}
